import type { Logger } from '@aws-lambda-powertools/logger';
import { KeyrollError } from '../domain/errors';
import type { AuthorizationDecision, KeyAuthorizer, RouteTarget } from '../domain/key-authorizer';
import { windowEndMs, type KeyVersion } from '../domain/key-version';
import { LruCache } from '../domain/lru-cache';
import type { Permissions } from '../domain/route-scopes';

/** The event is not one API Gateway sends to a Lambda authorizer. Never reaches the caller. */
export class InvalidAuthorizerEventError extends KeyrollError {
  override readonly name = 'InvalidAuthorizerEventError';
}

/** REST REQUEST or TOKEN authorizer (payload 1.0), or HTTP API authorizer (payload 2.0). */
export type AuthorizerEventKind = 'rest-request' | 'rest-token' | 'http';

export interface AuthorizerRequest {
  readonly kind: AuthorizerEventKind;
  readonly target: RouteTarget;
  /** Every key the request presents, in the key header (any case, any number of times) or as a Bearer token. */
  readonly presentedKeys: readonly string[];
}

/** Counts decisions; must not write on every request. */
export interface DecisionRecorder {
  record(decision: AuthorizationDecision, nowMs: number): void;
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
}

export interface SimpleResponse {
  readonly isAuthorized: boolean;
  readonly context?: AuthorizerContext;
}

/** The refusal that becomes `throw new Error('Unauthorized')`. */
const REFUSAL = Symbol('refusal');
type Refusal = typeof REFUSAL;
const ROUTE_ARN = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/([^/]+)(\/.*)?$/;
const BEARER = /^\s*bearer\s+(\S+)\s*$/i;
const AUTHORIZATION = 'authorization';

/** Reads what the decision needs from any of the three event formats, without trusting its shape. */
export function parseAuthorizerEvent(event: unknown, keyHeader: string): AuthorizerRequest {
  if (typeof event !== 'object' || event === null) throw new InvalidAuthorizerEventError('the event is not an object');
  const fields = event as Record<string, unknown>;
  if (isHttpApiEvent(event)) {
    return { kind: 'http', target: parseRouteArn(fields['routeArn']), presentedKeys: keysInHeaders([fields['headers']], keyHeader) };
  }
  if (fields['type'] === 'TOKEN') {
    const token = fields['authorizationToken'];
    if (typeof token !== 'string') throw new InvalidAuthorizerEventError('a TOKEN event without a string authorizationToken');
    const value = BEARER.exec(token)?.[1] ?? token.trim();
    return { kind: 'rest-token', target: parseRouteArn(fields['methodArn']), presentedKeys: value === '' ? [] : [value] };
  }
  if (fields['type'] === 'REQUEST') {
    return {
      kind: 'rest-request',
      target: parseRouteArn(fields['methodArn']),
      presentedKeys: keysInHeaders([fields['headers'], fields['multiValueHeaders']], keyHeader),
    };
  }
  throw new InvalidAuthorizerEventError('the event is neither a REQUEST nor a TOKEN authorizer event');
}

/** An HTTP API authorizer event (payload 2.0), known before the rest of it is checked. */
function isHttpApiEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'version' in event && event.version === '2.0' && 'type' in event && event.type === 'REQUEST';
}

/** A container sees the same few routes again and again; their parsed form is kept. */
const parsedRoutes = new LruCache<string, RouteTarget>(512);

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
      const isKeyHeader = name.length === keyHeader.length && name.toLowerCase() === keyHeader;
      if (!isKeyHeader && !(name.length === AUTHORIZATION.length && name.toLowerCase() === AUTHORIZATION)) continue;
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

/**
 * The authorizer: parse the event, decide, count, log refusals, answer in the event's format. A refusal
 * is `throw new Error('Unauthorized')` (401), except for HTTP API simple responses (`isAuthorized: false`);
 * nothing else is ever thrown, so no request can end in a 500 from here.
 */
export function createAuthorizerHandler(deps: {
  readonly authorizer: KeyAuthorizer;
  readonly keyHeader: string;
  readonly httpApiSimpleResponses: boolean;
  readonly logger: Logger;
  readonly recorder: DecisionRecorder;
  readonly clock: () => number;
}) {
  const contexts = new WeakMap<KeyVersion, AuthorizerContext>();
  const policies = new WeakMap<Permissions, PolicyResponse['policyDocument']>();
  const contextOf = (version: KeyVersion): AuthorizerContext => {
    let context = contexts.get(version);
    if (context === undefined) {
      const endMs = windowEndMs(version);
      context = {
        clientId: version.clientId,
        keyVersion: version.versionId,
        scopes: version.scopes.join(' '),
        keyExpiresAt: endMs === undefined ? '' : new Date(endMs).toISOString(),
      };
      contexts.set(version, context);
    }
    return context;
  };
  const policyOf = (permissions: Permissions): PolicyResponse['policyDocument'] => {
    let policy = policies.get(permissions);
    if (policy === undefined) {
      policy = {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: permissions.allow },
          ...(permissions.deny.length === 0 ? [] : [{ Action: 'execute-api:Invoke' as const, Effect: 'Deny' as const, Resource: permissions.deny }]),
        ],
      };
      policies.set(permissions, policy);
    }
    return policy;
  };

  /** Every path ends in an answer or a refusal; an unexpected error is logged and refused, never thrown. */
  async function answer(event: unknown): Promise<PolicyResponse | SimpleResponse | Refusal> {
    // Even a refusal of a malformed event answers in the format the API expects.
    const simple = deps.httpApiSimpleResponses && isHttpApiEvent(event);
    try {
      const request = parseRequest(event);
      if (request === undefined) return simple ? { isAuthorized: false } : REFUSAL;
      const nowMs = deps.clock();
      const decision = await deps.authorizer.authorize(request.presentedKeys, request.target, nowMs);
      deps.recorder.record(decision, nowMs);
      if (decision.outcome === 'unauthorized') {
        deps.logger.warn('request refused', {
          reason: decision.reason,
          key: decision.presented,
          ...(decision.version === undefined ? {} : { clientId: decision.version.clientId, versionId: decision.version.versionId }),
          ...(decision.failure === undefined ? {} : { failure: decision.failure }),
        });
        return simple ? { isAuthorized: false } : REFUSAL;
      }
      const { version } = decision;
      if (decision.outcome === 'forbidden') {
        deps.logger.warn('request forbidden', {
          reason: 'missing_scope',
          missingScopes: decision.missingScopes,
          clientId: version.clientId,
          versionId: version.versionId,
          key: version.keyDisplay,
          route: `${request.target.method} ${request.target.path}`,
        });
      }
      if (decision.source === 'stale') {
        deps.logger.warn('allowed on a stale cache entry: the key table could not be read', {
          failure: decision.failure,
          clientId: version.clientId,
          versionId: version.versionId,
        });
      }
      if (simple) return decision.outcome === 'allow' ? { isAuthorized: true, context: contextOf(version) } : { isAuthorized: false };
      return { principalId: version.clientId, policyDocument: policyOf(decision.permissions), context: contextOf(version) };
    } catch (error) {
      deps.logger.error('authorizer failed; refusing the request', error instanceof Error ? error : String(error));
      countInternalError();
      return simple ? { isAuthorized: false } : REFUSAL;
    }
  }

  /** Counting must not turn a refusal into a 500, so a failure to count is only logged. */
  function countInternalError(): void {
    try {
      deps.recorder.record({ outcome: 'unauthorized', reason: 'internal_error', presented: '-' }, deps.clock());
    } catch (error) {
      deps.logger.error('could not count an internal error', error instanceof Error ? error : String(error));
    }
  }

  function parseRequest(event: unknown): AuthorizerRequest | undefined {
    try {
      return parseAuthorizerEvent(event, deps.keyHeader);
    } catch (error) {
      deps.recorder.record({ outcome: 'unauthorized', reason: 'malformed_event', presented: '-' }, deps.clock());
      deps.logger.warn('request refused', { reason: 'malformed_event', detail: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  }

  return async (event: unknown): Promise<PolicyResponse | SimpleResponse> => {
    const response = await answer(event);
    // API Gateway answers 401 only to this exact error message; any other error would be a 500.
    if (response === REFUSAL) throw new Error('Unauthorized');
    return response;
  };
}
