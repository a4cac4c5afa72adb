import type { KeyCacheSettings } from '../domain/cached-key-lookup';
import { RouteScopes } from '../domain/route-scopes';
import { booleanFlag, ConfigurationError, optionalString, requiredString, wholeNumber, type Environment } from './env';
import { readApiKeyHeader, readKeyPrefix } from './shared-settings';

/** The authorizer's configuration, read once when the container starts. */
export interface AuthorizerConfig {
  readonly keyTableName: string;
  readonly keyPrefix: string;
  /** Lower case: header names are compared case-insensitively. */
  readonly apiKeyHeader: string;
  readonly cache: KeyCacheSettings;
  readonly routeScopes: RouteScopes;
  /** HTTP API authorizers answer `{isAuthorized}` (simple responses) or an IAM policy. */
  readonly httpApiSimpleResponses: boolean;
  readonly metricsFlushIntervalMs: number;
  readonly metricsNamespace: string;
}

export function readAuthorizerConfig(env: Environment): AuthorizerConfig {
  return {
    keyTableName: requiredString(env, 'KEY_TABLE_NAME'),
    keyPrefix: readKeyPrefix(env),
    apiKeyHeader: readApiKeyHeader(env),
    cache: {
      positiveTtlMs: 1000 * wholeNumber(env, 'CACHE_TTL_SECONDS', 30, { min: 0, max: 3600 }),
      negativeTtlMs: 1000 * wholeNumber(env, 'NEGATIVE_CACHE_TTL_SECONDS', 5, { min: 0, max: 300 }),
      staleWindowMs: 1000 * wholeNumber(env, 'STALE_WINDOW_SECONDS', 300, { min: 0, max: 86_400 }),
      maxEntries: wholeNumber(env, 'CACHE_MAX_ENTRIES', 10_000, { min: 1, max: 1_000_000 }),
      lookupRatePerSecond: wholeNumber(env, 'LOOKUP_RATE_PER_SECOND', 100, { min: 1, max: 100_000 }),
    },
    routeScopes: parseRouteScopes(optionalString(env, 'ROUTE_SCOPES')),
    httpApiSimpleResponses: booleanFlag(env, 'HTTP_API_SIMPLE_RESPONSES', true),
    metricsFlushIntervalMs: 1000 * wholeNumber(env, 'METRICS_FLUSH_INTERVAL_SECONDS', 60, { min: 1, max: 3600 }),
    metricsNamespace: optionalString(env, 'POWERTOOLS_METRICS_NAMESPACE') ?? 'keyroll',
  };
}

function parseRouteScopes(json: string | undefined): RouteScopes {
  try {
    return RouteScopes.parse(json);
  } catch (error) {
    throw new ConfigurationError(`environment variable ROUTE_SCOPES: ${error instanceof Error ? error.message : String(error)}`);
  }
}
