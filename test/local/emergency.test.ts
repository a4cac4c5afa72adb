import { runEmergencyDrill, type DrillResult } from '../../local/emergency-drill';

/**
 * `keyroll rotate --emergency` end to end, 50 times, on the local machinery with the construct's default cache
 * TTLs (API Gateway 60 s, authorizer 30 s): two callers keep using the client's current key and every key an
 * emergency ended; each ended key is watched for 5 s (the target bound) after its command returned.
 */
describe('Emergency rotation', () => {
  let result: DrillResult;

  beforeAll(async () => {
    result = await runEmergencyDrill({ runs: 50, observeMs: 5_000, requestIntervalMs: 20 });
  }, 300_000);

  it('refuses each ended key everywhere by the time its command returns, though the caches would keep it for a minute', () => {
    expect(result.boundsMs).toEqual(Array.from({ length: 50 }, () => 0));
    expect(result.maxMs).toBe(0);
    // Every ended key was tried, again and again, after its command returned.
    expect(result.revokedKeyRequests).toBeGreaterThan(50 * 20);
  });

  it('never refuses the key that is current when the request is sent', () => {
    expect(result.currentKeyRefusals).toBe(0);
    expect(result.requests).toBeGreaterThan(50 * 50);
  });
});
