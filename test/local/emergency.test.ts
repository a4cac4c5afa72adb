import { runEmergencyDrill, type DrillResult } from '../../local/emergency-drill';

/**
 * `keyroll rotate --emergency` end to end, on the local machinery with the construct's default cache TTLs
 * (API Gateway 60 s, authorizer 30 s): while a client keeps calling with its key, the command ends that key;
 * no request with it is accepted after the command returns. `npm run drill -- --runs 50` measures the same over 50 runs.
 */
describe('Emergency rotation', () => {
  let result: DrillResult;

  beforeAll(async () => {
    result = await runEmergencyDrill({ runs: 5, observeMs: 2_000, requestIntervalMs: 20 });
  }, 120_000);

  it('refuses the old key everywhere by the time the command returns, though the caches would keep it for a minute', () => {
    expect(result.boundsMs).toEqual([0, 0, 0, 0, 0]);
    expect(result.requests).toBeGreaterThan(5 * 50);
  });
});
