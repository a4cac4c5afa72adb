import type { Logger } from '@aws-lambda-powertools/logger';
import type { DeliveryOutcome, KeyDelivery } from '../domain/key-delivery';
import { CLIENT_ID_PATTERN } from '../domain/client-settings';
import type { SourceBudgets } from '../domain/source-budget';

/** The delivery route: `GET /v1/clients/<clientId>/key`, with a key of that client in the key header. */
const ROUTE = /^\/v1\/clients\/([^/]+)\/key$/;

export interface FunctionUrlResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What each refusal tells the caller: a stable code and what to do, never which check failed beyond that. */
const REFUSALS: Record<number, { readonly code: string; readonly message: string }> = {
  401: { code: 'key_not_accepted', message: 'Send a key of this client that is still in its window, in the key header. If none is left, ask the API operator for a new key.' },
  403: { code: 'delivery_not_allowed', message: 'This key cannot receive this client\'s key: key delivery is not enabled for the client, or the key belongs to another client.' },
  404: { code: 'not_found', message: 'The delivery route is GET /v1/clients/<clientId>/key.' },
  429: { code: 'rate_limited', message: 'Too many deliveries for this client this minute; try again in a minute.' },
};
const TOO_MANY_FROM_SOURCE = { code: 'rate_limited', message: 'Too many requests from this address; try again in a few seconds.' };

/**
 * The key delivery function, behind a Lambda function URL (payload 2.0). It parses the request, asks the domain,
 * and answers 200 with the JWE (`application/jose`) or a JSON refusal. Logs say who asked and what happened, never a key.
 */
export function createDeliveryHandler(deps: { readonly delivery: KeyDelivery; readonly keyHeader: string; readonly sources: SourceBudgets; readonly clock: () => number; readonly logger: Logger }) {
  return async (event: unknown): Promise<FunctionUrlResponse> => {
    const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
    const path = typeof fields['rawPath'] === 'string' ? fields['rawPath'] : '';
    const http = ((fields['requestContext'] as Record<string, unknown> | undefined)?.['http'] ?? {}) as Record<string, unknown>;
    const method = (http['method'] ?? 'GET') as string;
    // Per source, before anything reads the table: a flood from one address costs no read and no key check.
    if (!deps.sources.allows(typeof http['sourceIp'] === 'string' ? http['sourceIp'] : '', deps.clock())) {
      return { statusCode: 429, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '1' }, body: JSON.stringify({ error: TOO_MANY_FROM_SOURCE.code, message: TOO_MANY_FROM_SOURCE.message }) };
    }
    const clientId = ROUTE.exec(path)?.[1];
    if (method !== 'GET' || clientId === undefined || !CLIENT_ID_PATTERN.test(clientId)) return refusal(404);
    const headers = (typeof fields['headers'] === 'object' && fields['headers'] !== null ? fields['headers'] : {}) as Record<string, unknown>;
    const presented = Object.entries(headers).find(([name]) => name.toLowerCase() === deps.keyHeader)?.[1];
    const value = typeof presented === 'string' ? presented.trim() : undefined;
    // With Authorization as the key header the key comes as a Bearer token, as the authorizer reads it.
    const presentedKey = deps.keyHeader === 'authorization' ? (/^bearer\s+(\S+)$/i.exec(value ?? '')?.[1] ?? value) : value;
    const outcome: DeliveryOutcome = await deps.delivery.deliver({ clientId, presentedKey });
    if (outcome.kind === 'refused') {
      deps.logger.warn('key delivery refused', { clientId, reason: outcome.reason, status: outcome.status });
      return refusal(outcome.status);
    }
    deps.logger.info('key delivered', { clientId, versionId: outcome.versionId });
    return { statusCode: 200, headers: { 'content-type': 'application/jose', 'cache-control': 'no-store' }, body: outcome.envelope };
  };
}

function refusal(status: number): FunctionUrlResponse {
  const { code, message } = REFUSALS[status] ?? { code: 'error', message: 'Try again later.' };
  return { statusCode: status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ error: code, message }) };
}
