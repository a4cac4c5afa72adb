import { Metrics } from '@aws-lambda-powertools/metrics';
import { EmfDecisionMetrics } from '../../lambda/adapters/emf-decision-metrics';
import type { AuthorizationDecision } from '../../lambda/domain/key-authorizer';
import type { KeyVersion } from '../../lambda/domain/key-version';

const version: KeyVersion = { keyHash: 'h', clientId: 'acme', versionId: 'v1', keyDisplay: 'kr_AbCd…', scopes: [], notBeforeMs: 0 };
const allowedFromCache: AuthorizationDecision = { outcome: 'allow', version, permissions: { allow: [], deny: [] }, source: 'cache', missingScopes: [] };

function captureStdout() {
  const writes: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (writes.push(String(chunk)), true));
  return { writes, restore: () => spy.mockRestore() };
}

describe('EMF decision metrics', () => {
  it('writes nothing per request, then one EMF record per flush interval with every count', () => {
    const out = captureStdout();
    try {
      const recorder = new EmfDecisionMetrics(new Metrics({ namespace: 'keyroll', serviceName: 'keyroll-authorizer' }), 60_000, 0);
      for (let i = 0; i < 1000; i++) recorder.record(allowedFromCache, i);
      recorder.record({ outcome: 'unauthorized', reason: 'not_found', presented: 'kr_AbCd…', source: 'table' }, 1000);
      recorder.record({ outcome: 'unauthorized', reason: 'lookup_failed', presented: 'kr_AbCd…', failure: 'ThrottlingException' }, 1001);
      recorder.record({ ...allowedFromCache, outcome: 'forbidden', missingScopes: ['write'] }, 1002);
      expect(out.writes).toEqual([]);

      recorder.record({ ...allowedFromCache, source: 'stale', failure: 'ThrottlingException' }, 60_000);

      expect(out.writes).toHaveLength(1);
      const emf = JSON.parse(out.writes[0] ?? '{}') as Record<string, unknown>;
      expect(emf).toMatchObject({
        Allowed: 1001,
        Forbidden: 1,
        Refused: 2,
        RefusedNotFound: 1,
        RefusedLookupFailed: 1,
        LookupFailed: 2,
        CacheHit: 1001,
        CacheMiss: 1,
        StaleAllowed: 1,
        service: 'keyroll-authorizer',
        _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'keyroll', Dimensions: [['service']] })] },
      });
      recorder.record(allowedFromCache, 60_001);
      expect(out.writes).toHaveLength(1);
    } finally {
      out.restore();
    }
  });

  it('also counts refusals of ended keys per usage plan, one record per plan with the UsagePlan dimension', () => {
    const out = captureStdout();
    try {
      const recorder = new EmfDecisionMetrics(new Metrics({ namespace: 'keyroll', serviceName: 'keyroll-authorizer' }), 60_000, 0);
      const ended = (usagePlan?: string): AuthorizationDecision => ({ outcome: 'unauthorized', reason: 'expired', presented: 'kr_AbCd…', version: { ...version, ...(usagePlan === undefined ? {} : { usagePlan }) }, source: 'cache' });
      for (let i = 0; i < 3; i++) recorder.record(ended('gold'), i);
      recorder.record(ended('free'), 10);
      recorder.record(ended(), 11);
      recorder.record({ outcome: 'unauthorized', reason: 'revoked', presented: 'kr_AbCd…', version: { ...version, usagePlan: 'gold' }, source: 'cache' }, 12);
      recorder.flush(60_000);

      const records = out.writes.map((write) => JSON.parse(write) as Record<string, unknown>);
      const byPlan = records.filter((record) => record['UsagePlan'] !== undefined);
      expect(byPlan).toEqual([
        expect.objectContaining({ UsagePlan: 'gold', RefusedExpired: 3, service: 'keyroll-authorizer', _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Dimensions: [expect.arrayContaining(['service', 'UsagePlan'])] })] }) }),
        expect.objectContaining({ UsagePlan: 'free', RefusedExpired: 1 }),
      ]);
      // The install-wide counts are unchanged: every ended-key refusal, with or without a plan.
      expect(records.find((record) => record['UsagePlan'] === undefined)).toMatchObject({ RefusedExpired: 5, RefusedRevoked: 1 });
    } finally {
      out.restore();
    }
  });
});
