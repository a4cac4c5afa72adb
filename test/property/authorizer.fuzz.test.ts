import fc from 'fast-check';
import type { PolicyResponse, SimpleResponse } from '../../lambda/handlers/authorizer-handler';
import { FUZZ_ROUTE_SCOPES, fuzzEventArbitrary, fuzzKeys, oracle, record } from '../../proof/authorizer-cases';
import { buildAuthorizer, outcomeOf } from '../support/authorizer-fixture';
import { TestClock } from '../support/rotation-fixture';

/**
 * At least 10,000 random and adversarial authorizer events. For each, an oracle (the specification, stated
 * plainly) says allow, forbidden or refuse, and the handler must answer exactly that: never an Allow for a
 * key that is not valid, never any error other than `Unauthorized`.
 */

const clock = new TestClock();
const fuzz = fuzzKeys(clock.nowMs);
const eventArb = fuzzEventArbitrary(fuzz);

// ---- the property ------------------------------------------------------------------------------

describe('Authorizer fuzz (property)', () => {
  it('answers every event as the specification says, and never with another error than Unauthorized', async () => {
    const { handler } = buildAuthorizer({
      clock,
      versions: fuzz.versions,
      routeScopes: JSON.stringify(FUZZ_ROUTE_SCOPES),
      cache: { positiveTtlMs: 30_000, negativeTtlMs: 5_000, staleWindowMs: 300_000, maxEntries: 1000, unknownKeysPerSourcePerSecond: 1_000_000 },
    });
    const seen = { allow: 0, forbidden: 0, refuse: 0 };
    await fc.assert(
      fc.asyncProperty(eventArb, async (event) => {
        clock.advance(10); // time moves, so cache entries expire and are read again
        const expected = oracle(fuzz, event);
        const isSimple = record(event)?.['version'] === '2.0' && record(event)?.['type'] === 'REQUEST';
        const { response, error } = await outcomeOf(handler(event));
        seen[expected.result]++;
        if (error !== undefined) {
          expect(error).toEqual(new Error('Unauthorized'));
          expect(isSimple).toBe(false);
          expect(expected.result).toBe('refuse');
          return;
        }
        if (isSimple) {
          const simple = response as SimpleResponse;
          expect(simple.isAuthorized).toBe(expected.result === 'allow');
          if (expected.result === 'allow') expect(simple.context?.clientId).toBe(expected.owner.clientId);
          return;
        }
        expect(expected.result).not.toBe('refuse');
        if (expected.result === 'refuse') return;
        const policy = response as PolicyResponse;
        expect(policy.principalId).toBe(expected.owner.clientId);
        expect(policy.context.keyVersion).toBe(expected.owner.versionId);
        const effect = expected.result === 'allow' ? 'Allow' : 'Deny';
        expect(policy.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: effect, Resource: [expected.methodArn] }]);
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 12_000) },
    );
    // The generator must actually reach every outcome, or the property says little (about 4 % of events are
    // allowed and 2 % forbidden: bounds well below, so that a random run cannot miss them by chance).
    expect(seen.allow).toBeGreaterThan(300);
    expect(seen.forbidden).toBeGreaterThan(100);
    expect(seen.refuse).toBeGreaterThan(5000);
  }, 120_000);
});
