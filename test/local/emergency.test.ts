import { Duration } from 'aws-cdk-lib';
import { runEmergencyDrill, type DrillResult } from '../../local/emergency-drill';

/**
 * `keyroll rotate --emergency` end to end, 50 times, on the local machinery with the construct's default cache
 * TTLs (API Gateway 60 s, authorizer 30 s): two callers keep using the client's current key and every key an
 * emergency ended; each ended key is watched for 5 s (the target bound) after its command returned. Then the
 * runs where something goes wrong: a rotation already in progress, a rotation function that fails.
 */
describe('Emergency rotation', () => {
  let result: DrillResult;

  beforeAll(async () => {
    result = await runEmergencyDrill({ runs: 20, observeMs: 5_000, requestIntervalMs: 20, thenModes: ['busy', 'failing-rotation'] });
  }, 300_000);

  it('refuses each ended key everywhere by the time its command returns, though the caches would keep it for a minute', () => {
    expect(result.boundsMs).toEqual(Array.from({ length: 22 }, () => 0));
    expect(result.maxMs).toBe(0);
    // Every ended key was tried, again and again, after its command returned.
    expect(result.revokedKeyRequests).toBeGreaterThan(20 * 20);
  });

  it('refuses the ended key at once too when the rotation is busy or failing, and says so (exit 5)', () => {
    expect(result.byMode.busy).toMatchObject({ runs: 1, maxMs: 0, exitCodes: [5] });
    expect(result.byMode['failing-rotation']).toMatchObject({ runs: 1, maxMs: 0, exitCodes: [5] });
    expect(result.byMode.normal).toMatchObject({ runs: 20, maxMs: 0 });
  });

  it('never refuses the key that is current when the request is sent', () => {
    expect(result.currentKeyRefusals).toBe(0);
    expect(result.requests).toBeGreaterThan(20 * 50);
  });
});

describe('Emergency rotation when API Gateway\'s caches cannot be flushed', () => {
  it('exits 5, and the ended key is refused once the cached answer expires: within the result TTL (2 s here)', async () => {
    const result = await runEmergencyDrill({ runs: 0, observeMs: 5_000, requestIntervalMs: 20, thenModes: ['failing-flush', 'failing-flush'], resultsCacheTtl: Duration.seconds(2) });
    expect(result.byMode['failing-flush']?.exitCodes).toEqual([5, 5]);
    expect(result.byMode['failing-flush']?.maxMs).toBeLessThanOrEqual(2_000);
    expect(result.currentKeyRefusals).toBe(0);
  }, 120_000);
});
