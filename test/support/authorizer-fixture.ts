import { Logger } from '@aws-lambda-powertools/logger';
import restRequest from '../fixtures/events/rest-request.json';
import restToken from '../fixtures/events/rest-token.json';
import httpRequest from '../fixtures/events/http-request.json';
import { displayKey, generateApiKey, hashApiKey, type ApiKey } from '../../lambda/domain/api-key';
import { CachedKeyLookup, type KeyCacheSettings } from '../../lambda/domain/cached-key-lookup';
import type { AuthorizationDecision } from '../../lambda/domain/key-authorizer';
import { KeyAuthorizer } from '../../lambda/domain/key-authorizer';
import type { KeyVersion } from '../../lambda/domain/key-version';
import { RouteScopes } from '../../lambda/domain/route-scopes';
import type { FindKeyVersion } from '../../lambda/domain/accept-key';
import { createAuthorizerHandler } from '../../lambda/handlers/authorizer-handler';
import type { TestClock } from './rotation-fixture';

export const STAGE_ARN = 'arn:aws:execute-api:eu-west-1:111122223333:abc123def4/prod';
export const DEFAULT_CACHE: KeyCacheSettings = { positiveTtlMs: 30_000, negativeTtlMs: 5_000, staleWindowMs: 300_000, maxEntries: 1000, unknownKeysPerSourcePerSecond: 1000 };

/** A REST REQUEST event for a route, with these headers (single-value) added. */
export function restEvent(headers: Record<string, string>, route: { method?: string; path?: string } = {}, multiValueHeaders?: Record<string, string[]>) {
  const method = route.method ?? 'GET';
  const path = route.path ?? '/hello';
  return {
    ...restRequest,
    methodArn: `${STAGE_ARN}/${method}${path}`,
    httpMethod: method,
    path,
    headers: { ...restRequest.headers, ...headers },
    multiValueHeaders: { ...restRequest.multiValueHeaders, ...(multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]))) },
  };
}

export function tokenEvent(token: string) {
  return { ...restToken, authorizationToken: token };
}

/** An HTTP API (payload 2.0) event: header names arrive in lower case, repeated headers joined by commas. */
export function httpEvent(headers: Record<string, string>, route: { method?: string; path?: string } = {}) {
  const method = route.method ?? 'GET';
  const path = route.path ?? '/hello';
  return {
    ...httpRequest,
    routeArn: `arn:aws:execute-api:eu-west-1:111122223333:abc123def4/$default/${method}${path}`,
    routeKey: `${method} ${path}`,
    rawPath: path,
    headers: { ...httpRequest.headers, ...headers },
    requestContext: { ...httpRequest.requestContext, routeKey: `${method} ${path}`, http: { ...httpRequest.requestContext.http, method, path } },
  };
}

/** A key and the version the table holds for it. */
export function keyVersion(overrides: Partial<KeyVersion> = {}, key: ApiKey = generateApiKey()): { key: ApiKey; version: KeyVersion } {
  return {
    key,
    version: {
      keyHash: hashApiKey(key),
      clientId: 'acme',
      versionId: 'v1',
      keyDisplay: displayKey(key),
      scopes: [],
      notBeforeMs: 0,
      ...overrides,
    },
  };
}

/** The real authorizer over an in-memory key table; decisions and log records are kept for assertions. */
export function buildAuthorizer(options: {
  readonly clock: TestClock;
  readonly versions?: readonly KeyVersion[];
  readonly findByHash?: FindKeyVersion;
  readonly routeScopes?: string;
  readonly httpApiSimpleResponses?: boolean;
  readonly cache?: KeyCacheSettings;
  readonly logger?: Logger;
  /** The key header, lower case; default `x-api-key`. */
  readonly keyHeader?: string;
}) {
  const byHash = new Map((options.versions ?? []).map((version) => [version.keyHash, version]));
  const reads: string[] = [];
  const findByHash: FindKeyVersion =
    options.findByHash ??
    (async (keyHash) => {
      reads.push(keyHash);
      return byHash.get(keyHash);
    });
  const decisions: AuthorizationDecision[] = [];
  const handler = createAuthorizerHandler({
    authorizer: new KeyAuthorizer({
      lookup: new CachedKeyLookup(findByHash, options.cache ?? DEFAULT_CACHE),
      routes: RouteScopes.parse(options.routeScopes),
      keyPrefix: 'kr',
    }),
    keyHeader: options.keyHeader ?? 'x-api-key',
    httpApiSimpleResponses: options.httpApiSimpleResponses ?? true,
    logger: options.logger ?? new Logger({ serviceName: 'keyroll-authorizer-test', logLevel: 'SILENT' }),
    recorder: { record: (decision) => decisions.push(decision) },
    clock: options.clock.now,
  });
  return { handler, decisions, reads, byHash };
}

/** What a handler call came to: a response, or the error it threw. */
export async function outcomeOf(call: Promise<unknown>): Promise<{ response?: unknown; error?: unknown }> {
  try {
    return { response: await call };
  } catch (error) {
    return { error };
  }
}
