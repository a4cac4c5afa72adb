import type { KeyCacheSettings } from '../domain/cached-key-lookup';
import { RouteScopes } from '../domain/route-scopes';
import { ENDED_KEY_REPORT_INTERVAL_MS } from '../domain/ended-key-reports';
import type { Environment } from './env';
import { booleanVariable, parsedVariable, readVariables, stringVariableWithDefault, wholeNumberVariable } from './variables';
import { API_KEY_HEADER, KEY_PREFIX, KEY_TABLE_NAME, KNOWN_KEYS_WINDOW_MS, METRICS_NAMESPACE, REVOCATION_POLL_MS } from './shared-settings';

/** The authorizer's environment, declared once for the function and the construct. */
export const AUTHORIZER_VARIABLES = {
  keyTableName: KEY_TABLE_NAME,
  keyPrefix: KEY_PREFIX,
  apiKeyHeader: API_KEY_HEADER,
  cacheTtlSeconds: wholeNumberVariable('CACHE_TTL_SECONDS', 30, { min: 0, max: 3600 }),
  negativeCacheTtlSeconds: wholeNumberVariable('NEGATIVE_CACHE_TTL_SECONDS', 5, { min: 0, max: 300 }),
  staleWindowSeconds: wholeNumberVariable('STALE_WINDOW_SECONDS', 300, { min: 0, max: 86_400 }),
  cacheMaxEntries: wholeNumberVariable('CACHE_MAX_ENTRIES', 10_000, { min: 1, max: 1_000_000 }),
  /** Table reads per second, per source IP, for keys the table does not know (charged on "not found" only). */
  unknownKeysPerSourcePerSecond: wholeNumberVariable('UNKNOWN_KEYS_PER_SOURCE_PER_SECOND', 10, { min: 1, max: 10_000 }),
  revocationPollMs: REVOCATION_POLL_MS,
  knownKeysWindowMs: KNOWN_KEYS_WINDOW_MS,
  routeScopes: parsedVariable('ROUTE_SCOPES', (json) => RouteScopes.parse(json), (routes) => routes.serialize(), '{}'),
  /** HTTP API authorizers answer `{isAuthorized}` (simple responses) or an IAM policy. */
  httpApiSimpleResponses: booleanVariable('HTTP_API_SIMPLE_RESPONSES', true),
  metricsFlushIntervalSeconds: wholeNumberVariable('METRICS_FLUSH_INTERVAL_SECONDS', 60, { min: 1, max: 3600 }),
  metricsNamespace: METRICS_NAMESPACE,
  /** How often a container reports refusals of one ended key version, at most. */
  endedKeyReportSeconds: wholeNumberVariable('ENDED_KEY_REPORT_SECONDS', ENDED_KEY_REPORT_INTERVAL_MS / 1000, { min: 10, max: 3600 }),
  /** Set when the install has usage plans: REST answers then carry each client's `usageIdentifierKey`. */
  usagePlanKeyNamespace: stringVariableWithDefault('USAGE_PLAN_KEY_NAMESPACE', '', (v) => v.length <= 400, 'at most 400 characters'),
} as const;

/** The authorizer's configuration, read once when the container starts. */
export interface AuthorizerConfig {
  readonly keyTableName: string;
  readonly keyPrefix: string;
  /** Lower case: header names are compared case-insensitively. */
  readonly apiKeyHeader: string;
  readonly cache: KeyCacheSettings;
  /** 0: no polling of revocations. */
  readonly revocationPollMs: number;
  /** 0: no known-key set. */
  readonly knownKeysWindowMs: number;
  readonly routeScopes: RouteScopes;
  readonly httpApiSimpleResponses: boolean;
  readonly metricsFlushIntervalMs: number;
  readonly metricsNamespace: string;
  readonly endedKeyReportIntervalMs: number;
  /** Empty: no usage plans. */
  readonly usagePlanKeyNamespace: string;
}

export function readAuthorizerConfig(env: Environment): AuthorizerConfig {
  const settings = readVariables(AUTHORIZER_VARIABLES, env);
  return {
    keyTableName: settings.keyTableName,
    keyPrefix: settings.keyPrefix,
    apiKeyHeader: settings.apiKeyHeader,
    cache: {
      positiveTtlMs: 1000 * settings.cacheTtlSeconds,
      negativeTtlMs: 1000 * settings.negativeCacheTtlSeconds,
      staleWindowMs: 1000 * settings.staleWindowSeconds,
      maxEntries: settings.cacheMaxEntries,
      unknownKeysPerSourcePerSecond: settings.unknownKeysPerSourcePerSecond,
    },
    revocationPollMs: settings.revocationPollMs,
    knownKeysWindowMs: settings.knownKeysWindowMs,
    routeScopes: settings.routeScopes,
    httpApiSimpleResponses: settings.httpApiSimpleResponses,
    metricsFlushIntervalMs: 1000 * settings.metricsFlushIntervalSeconds,
    metricsNamespace: settings.metricsNamespace,
    endedKeyReportIntervalMs: 1000 * settings.endedKeyReportSeconds,
    usagePlanKeyNamespace: settings.usagePlanKeyNamespace,
  };
}
