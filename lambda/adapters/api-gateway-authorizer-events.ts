import { InvalidAuthorizerEventError } from '../domain/errors';
import type { RouteTarget } from '../domain/route-scopes';
import { windowEndMs, type KeyVersion } from '../domain/key-version';
import { ApproximateLruCache } from '../domain/approximate-lru-cache';
import type { Permissions } from '../domain/route-scopes';

/*
 * API Gateway's Lambda authorizer events and answers: REST REQUEST and TOKEN (payload 1.0) and HTTP API
 * (payload 2.0), read without trusting their shape, and the policy, simple and context forms of the answer.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */

export interface AuthorizerRequest {
  readonly target: RouteTarget;
  /** Every value the key header carries (any case, any number of times, comma-joined parts apart); `''` for an empty one. */
  readonly presentedKeys: readonly string[];
  /** The caller's IP address, when the event gives one: it bounds what the caller's unknown keys cost. */
  readonly sourceIp?: string;
}

/** The context API Gateway passes on to the integration and to access logs: strings only. */
export interface AuthorizerContext {
  readonly clientId: string;
  readonly keyVersion: string;
  /** Space-separated. */
  readonly scopes: string;
  /** ISO-8601, or empty while the key's window is open-ended. */
  readonly keyExpiresAt: string;
}

export interface PolicyResponse {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: '2012-10-17';
    readonly Statement: readonly { readonly Action: 'execute-api:Invoke'; readonly Effect: 'Allow' | 'Deny'; readonly Resource: readonly string[] }[];
  };
  readonly context: AuthorizerContext;
  /** The client's API Gateway API key, for its usage plan (REST APIs with the key source `AUTHORIZER`). */
  readonly usageIdentifierKey?: string;
}

export interface SimpleResponse {
  readonly isAuthorized: boolean;
  readonly context?: AuthorizerContext;
}

const ROUTE_ARN = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/([^/]+)(\/.*)?$/;
const BEARER = /^\s*bearer\s+(\S*)\s*$/i;
const AUTHORIZATION = 'authorization';

/**
 * Reads what the decision needs from any of the three event formats, without trusting its shape. The key is
 * read from the key header alone, the authorizer's identity source: API Gateway caches the answer under that
 * header's value, so a key from anywhere else (a Bearer token beside `x-api-key: ,`) would let every request
 * with the same header value ride on it. With `apiKeyHeader: 'authorization'` the header holds `Bearer <key>`.
 */
export function parseAuthorizerEvent(event: unknown, keyHeader: string): AuthorizerRequest {
  if (typeof event !== 'object' || event === null) throw new InvalidAuthorizerEventError('the event is not an object');
  const fields = event as Record<string, unknown>;
  if (isHttpApiEvent(event)) {
    const http = field(fields['requestContext'], 'http');
    return withSource(
      {
        target: parseRouteArn(fields['routeArn'], field(http, 'method'), [field(http, 'path'), fields['rawPath']], field(fields['requestContext'], 'stage')),
        presentedKeys: keysInHeaders([fields['headers']], keyHeader),
      },
      field(http, 'sourceIp'),
    );
  }
  if (fields['type'] === 'TOKEN') {
    const token = fields['authorizationToken'];
    if (typeof token !== 'string') throw new InvalidAuthorizerEventError('a TOKEN event without a string authorizationToken');
    const value = BEARER.exec(token)?.[1] ?? token.trim();
    return { target: parseRouteArn(fields['methodArn'], undefined, [], undefined), presentedKeys: [value] };
  }
  if (fields['type'] === 'REQUEST') {
    return withSource(
      {
        target: parseRouteArn(fields['methodArn'], fields['httpMethod'], [fields['path']], undefined),
        presentedKeys: keysInHeaders([fields['headers'], fields['multiValueHeaders']], keyHeader),
      },
      field(field(fields['requestContext'], 'identity'), 'sourceIp'),
    );
  }
  throw new InvalidAuthorizerEventError('the event is neither a REQUEST nor a TOKEN authorizer event');
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** A source IP is an address, never anything long enough to hold a key. */
function withSource(request: AuthorizerRequest, sourceIp: unknown): AuthorizerRequest {
  return typeof sourceIp === 'string' && /^[0-9A-Fa-f.:]{2,45}$/.test(sourceIp) ? { ...request, sourceIp } : request;
}

/** An HTTP API authorizer event (payload 2.0), known before the rest of it is checked. */
export function isHttpApiEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'version' in event && event.version === '2.0' && 'type' in event && event.type === 'REQUEST';
}

/** A container sees the same few routes again and again; their parsed form is kept. */
const parsedRoutes = new ApproximateLruCache<string, RouteTarget>(512);

/**
 * The route from the method or route ARN, with every spelling of the method and path the event gives: scope
 * rules apply when any of them matches, so an event whose fields disagree can only need more scopes. A stage
 * named in the request path (HTTP APIs on a named stage) is a spelling without it too.
 */
function parseRouteArn(value: unknown, requestMethod: unknown, requestPaths: readonly unknown[], stage: unknown): RouteTarget {
  if (typeof value !== 'string') throw new InvalidAuthorizerEventError('the method or route ARN is not a string');
  const paths = requestPaths.filter((path): path is string => typeof path === 'string' && path.startsWith('/'));
  const method = typeof requestMethod === 'string' && requestMethod !== '' ? requestMethod : undefined;
  const cacheKey = paths.length === 0 && method === undefined ? value : `${value} ${method ?? ''} ${paths.join(' ')}`;
  const known = parsedRoutes.get(cacheKey);
  if (known !== undefined) return known;
  const match = ROUTE_ARN.exec(value);
  const stageArn = match?.[1];
  const arnMethod = match?.[2];
  if (stageArn === undefined || arnMethod === undefined) throw new InvalidAuthorizerEventError('the method or route ARN is not an execute-api ARN');
  const spellings = [match?.[3] ?? '/'];
  for (const path of paths) {
    if (!spellings.includes(path)) spellings.push(path);
    const withoutStage = typeof stage === 'string' && stage !== '$default' && path.startsWith(`/${stage}/`) ? path.slice(stage.length + 1) : undefined;
    if (withoutStage !== undefined && !spellings.includes(withoutStage)) spellings.push(withoutStage);
  }
  // The ARN's method is the route's (`*` for ANY on some APIs); the request's own method is the one that matters.
  const target = { stageArn, methodArn: value, method: method ?? arnMethod, paths: spellings };
  parsedRoutes.set(cacheKey, target);
  return target;
}

/**
 * Collects every value of the key header under any capitalisation, from single- and multi-value header maps.
 * HTTP APIs join repeated headers with commas, and keys never hold one, so values are split on commas; an
 * empty part is kept as an empty value, which refuses the request. Only with `apiKeyHeader: 'authorization'`
 * is the value a Bearer token, and then one without it holds no key.
 */
function keysInHeaders(headerMaps: readonly unknown[], keyHeader: string): string[] {
  const keys: string[] = [];
  const bearer = keyHeader === AUTHORIZATION;
  for (const headers of headerMaps) {
    if (typeof headers !== 'object' || headers === null) continue;
    const byName = headers as Record<string, unknown>;
    for (const name in byName) {
      // Only names of the right length can match, so most headers are passed over without a lower-case copy.
      if (name.length !== keyHeader.length || name.toLowerCase() !== keyHeader) continue;
      const value = byName[name];
      if (Array.isArray(value)) {
        for (const item of value) collectKeys(item, bearer, keys);
      } else {
        collectKeys(value, bearer, keys);
      }
    }
  }
  return keys;
}

function collectKeys(value: unknown, bearer: boolean, keys: string[]): void {
  if (typeof value !== 'string') return;
  for (const part of value.includes(',') ? value.split(',') : [value]) {
    keys.push(bearer ? (BEARER.exec(part)?.[1] ?? '') : part.trim());
  }
}

/** The context API Gateway passes on for a key version, and the policy for a key's permissions, each built once. */
export class AuthorizerResponses {
  private readonly contexts = new WeakMap<KeyVersion, AuthorizerContext>();
  private readonly policies = new WeakMap<Permissions, PolicyResponse['policyDocument']>();

  contextOf(version: KeyVersion): AuthorizerContext {
    let context = this.contexts.get(version);
    if (context === undefined) {
      const endMs = windowEndMs(version);
      context = {
        clientId: version.clientId,
        keyVersion: version.versionId,
        scopes: version.scopes.join(' '),
        keyExpiresAt: endMs === undefined ? '' : new Date(endMs).toISOString(),
      };
      this.contexts.set(version, context);
    }
    return context;
  }

  policyOf(permissions: Permissions): PolicyResponse['policyDocument'] {
    let policy = this.policies.get(permissions);
    if (policy === undefined) {
      policy = {
        Version: '2012-10-17',
        Statement: [
          ...(permissions.allow.length === 0 ? [] : [{ Action: 'execute-api:Invoke' as const, Effect: 'Allow' as const, Resource: permissions.allow }]),
          ...(permissions.deny.length === 0 ? [] : [{ Action: 'execute-api:Invoke' as const, Effect: 'Deny' as const, Resource: permissions.deny }]),
        ],
      };
      this.policies.set(permissions, policy);
    }
    return policy;
  }
}
