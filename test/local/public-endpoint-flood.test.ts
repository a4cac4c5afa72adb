import { floodFailures, runFlood, type FloodFigures } from '../../proof/flood';

/**
 * A flood of 1,000 forged requests a second (leak reports signed by made-up GitHub key ids, key-delivery calls
 * with made-up keys, from 20 source addresses) against local keyroll's two function URLs, throttled as Lambda
 * throttles them by their reserved concurrency, while two clients call the API and are rotated and a genuine
 * report arrives. `npm run flood` runs it longer.
 */
describe('A flood on the public endpoints (local mode)', () => {
  const SECONDS = 8;
  let figures: FloodFigures;

  beforeAll(async () => {
    figures = await runFlood({ seconds: SECONDS, ratePerSecond: 1_000 });
  }, 90_000);

  it('refuses no client call made with a valid key, through two rotations', () => {
    expect(figures.rotations).toBe(2);
    expect(figures.api.calls).toBeGreaterThan(SECONDS * 25 * 2 * 0.8);
    expect(figures.api.byStatus).toEqual({ '200': figures.api.calls });
    expect(floodFailures(figures)).toEqual([]);
  });

  it('throttles the flood at the URLs by their reserved concurrency, and accepts none of it', () => {
    for (const endpoint of ['leakReports', 'delivery'] as const) {
      expect(figures.forged[endpoint].sent).toBeGreaterThan(SECONDS * 500 * 0.9);
      expect(figures.forged[endpoint].errors).toBe(0);
      expect(figures.forged[endpoint].byStatus['200']).toBeUndefined();
      expect(figures.functionUrls[endpoint].throttles).toBeGreaterThan(figures.forged[endpoint].sent / 2);
      expect(figures.functionUrls[endpoint].peakInvocationsPerSecond).toBeLessThanOrEqual(figures.invokedPerSecondBound[endpoint]);
    }
  });

  it('fetches GitHub\'s keys no more often than the stated bound, and still acts on a genuine report', () => {
    expect(figures.githubKeyFetches).toBeGreaterThanOrEqual(1);
    expect(figures.githubKeyFetches).toBeLessThanOrEqual(figures.githubKeyFetchBound);
    expect(figures.genuineReport.leakedKeyRefused).toBe(true);
  });
});
