import { InvalidAuthorizerEventError } from '../domain/errors';
import type { RouteTarget } from '../domain/key-authorizer';
import { windowEndMs, type KeyVersion } from '../domain/key-version';
import { ApproximateLruCache } from '../domain/approximate-lru-cache';
import type { Permissions } from '../domain/route-scopes';

/*
 * API Gateway's Lambda authorizer events and answers: REST REQUEST and TOKEN (payload 1.0) and HTTP API
 * (payload 2.0), read without trusting their shape, and the policy, simple and context forms of the answer.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */

/** REST REQUEST or TOKEN authorizer (payload 1.0), or HTTP API authorizer (payload 2.0). */
export type AuthorizerEventKind = 'rest-request' | 'rest-token' | 'http';

export interface AuthorizerRequest {
  readonly kind: AuthorizerEventKind;
  readonly target: RouteTarget;
  /** Every key the request presents, in the key header (any case, any number of times) or as a Bearer token. */
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
const BEARER = /^\s*bearer\s+(\S+)\s*$/i;
const AUTHORIZATION = 'authorization';

/** Reads what the decision needs from any of the three event formats, without trusting its shape. */
export function parseAuthorizerEvent(event: unknown, keyHeader: string): AuthorizerRequest {
  if (typeof event !== 'object' || event === null) throw new InvalidAuthorizerEventError('the event is not an object');
  const fields = event as Record<string, unknown>;
  if (isHttpApiEvent(event)) {
    return withSource(
      { kind: 'http', target: parseRouteArn(fields['routeArn']), presentedKeys: keysInHeaders([fields['headers']], keyHeader) },
      field(field(fields['requestContext'], 'http'), 'sourceIp'),
    );
  }
  if (fields['type'] === 'TOKEN') {
    const token = fields['authorizationToken'];
    if (typeof token !== 'string') throw new InvalidAuthorizerEventError('a TOKEN event without a string authorizationToken');
    const value = BEARER.exec(token)?.[1] ?? token.trim();
    return { kind: 'rest-token', target: parseRouteArn(fields['methodArn']), presentedKeys: value === '' ? [] : [value] };
  }
  if (fields['type'] === 'REQUEST') {
    return withSource(
      { kind: 'rest-request', target: parseRouteArn(fields['methodArn']), presentedKeys: keysInHeaders([fields['headers'], fields['multiValueHeaders']], keyHeader) },
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

function parseRouteArn(value: unknown): RouteTarget {
  if (typeof value !== 'string') throw new InvalidAuthorizerEventError('the method or route ARN is not a string');
  const known = parsedRoutes.get(value);
  if (known !== undefined) return known;
  const match = ROUTE_ARN.exec(value);
  const stageArn = match?.[1];
  const method = match?.[2];
  if (stageArn === undefined || method === undefined) throw new InvalidAuthorizerEventError('the method or route ARN is not an execute-api ARN');
  const target = { stageArn, method, path: match?.[3] ?? '/' };
  parsedRoutes.set(value, target);
  return target;
}

/**
 * Collects the key header's values under any capitalisation, from single- and multi-value header maps,
 * and Bearer tokens from Authorization. HTTP APIs join repeated headers with commas, and keys never hold
 * one, so values are split on commas: two different keys in one request are then seen, and refused.
 */
function keysInHeaders(headerMaps: readonly unknown[], keyHeader: string): string[] {
  const keys: string[] = [];
  for (const headers of headerMaps) {
    if (typeof headers !== 'object' || headers === null) continue;
    const byName = headers as Record<string, unknown>;
    for (const name in byName) {
      // Only names of the right length can match, so most headers are passed over without a lower-case copy.
      const isAuthorization = name.length === AUTHORIZATION.length && name.toLowerCase() === AUTHORIZATION;
      // With apiKeyHeader 'authorization', the key comes as a Bearer token there.
      const isKeyHeader = !isAuthorization && name.length === keyHeader.length && name.toLowerCase() === keyHeader;
      if (!isKeyHeader && !isAuthorization) continue;
      const value = byName[name];
      if (Array.isArray(value)) {
        for (const item of value) collectKeys(item, isKeyHeader, keys);
      } else {
        collectKeys(value, isKeyHeader, keys);
      }
    }
  }
  return keys;
}

function collectKeys(value: unknown, isKeyHeader: boolean, keys: string[]): void {
  if (typeof value !== 'string') return;
  if (!isKeyHeader) {
    const bearer = BEARER.exec(value)?.[1];
    if (bearer !== undefined) keys.push(bearer);
  } else if (!value.includes(',')) {
    const key = value.trim();
    if (key !== '') keys.push(key);
  } else {
    for (const part of value.split(',')) if (part.trim() !== '') keys.push(part.trim());
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
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: permissions.allow },
          ...(permissions.deny.length === 0 ? [] : [{ Action: 'execute-api:Invoke' as const, Effect: 'Deny' as const, Resource: permissions.deny }]),
        ],
      };
      this.policies.set(permissions, policy);
    }
    return policy;
  }
}
