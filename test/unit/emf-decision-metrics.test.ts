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
});
