/**
 * The authorizer Lambda's entry point: configuration, the DynamoDB client, caches and wiring, once per
 * container. It reads the key table and nothing else: no Secrets Manager, no writes.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { EmfDecisionMetrics } from '../adapters/emf-decision-metrics';
import { readAuthorizerConfig } from '../config/authorizer-config';
import { CachedKeyLookup } from '../domain/cached-key-lookup';
import { KeyAuthorizer } from '../domain/key-authorizer';
import { KnownKeys } from '../domain/known-keys';
import { RevocationWatch } from '../domain/revocation-watch';
import { createAuthorizerHandler } from '../handlers/authorizer-handler';
import { usageIdentifierKey } from '../contracts/usage-plans';

const config = readAuthorizerConfig(process.env);
// Short timeouts and one retry: a slow table must not hold requests, the stale window covers outages.
const keyTable = new DynamoKeyTable(
  new DynamoDBClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 500, requestTimeout: 1_000 } }),
  config.keyTableName,
);
const startedAtMs = Date.now();

// The set of every key's hash prefix, loaded in the background: until it is, unknown keys go by the budget.
const knownKeys = config.knownKeysWindowMs === 0 ? undefined : new KnownKeys(keyTable, config.knownKeysWindowMs, Date.now);
void knownKeys?.start();
const lookup = new CachedKeyLookup((keyHash) => keyTable.findByHash(keyHash), config.cache, knownKeys);

export const handler = createAuthorizerHandler({
  authorizer: new KeyAuthorizer({
    lookup,
    routes: config.routeScopes,
    keyPrefix: config.keyPrefix,
    ...(config.revocationPollMs === 0 ? {} : { revocations: new RevocationWatch((sinceMs) => keyTable.revokedSince(sinceMs), lookup, config.revocationPollMs, startedAtMs, knownKeys) }),
  }),
  keyHeader: config.apiKeyHeader,
  httpApiSimpleResponses: config.httpApiSimpleResponses,
  logger: new Logger({ serviceName: 'keyroll-authorizer' }),
  recorder: new EmfDecisionMetrics(
    new Metrics({ namespace: config.metricsNamespace, serviceName: 'keyroll-authorizer' }),
    config.metricsFlushIntervalMs,
    startedAtMs,
  ),
  clock: Date.now,
  endedKeyReportIntervalMs: config.endedKeyReportIntervalMs,
  ...(config.usagePlanKeyNamespace === '' ? {} : { usageIdentifierKeyOf: usageIdentifierKeys(config.usagePlanKeyNamespace) }),
});

/** One hash per client per container. */
function usageIdentifierKeys(namespace: string): (clientId: string) => string {
  const known = new Map<string, string>();
  return (clientId) => {
    let key = known.get(clientId);
    if (key === undefined) {
      key = usageIdentifierKey(namespace, clientId);
      if (known.size < 100_000) known.set(clientId, key);
    }
    return key;
  };
}
