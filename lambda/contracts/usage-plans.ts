import { createHash } from 'node:crypto';

/**
 * Per-client usage plans, declared once for the construct, the authorizer and the CLI. Each client with a plan
 * has one API Gateway API key whose value is derived from the install and the client id, never from a key
 * version, so the `usageIdentifierKey` the authorizer returns, and with it the plan's throttle and quota
 * counters, stay the same across rotations.
 *
 * The value is an identifier, not a credential: it is in the template, and with the API's key source
 * `AUTHORIZER` API Gateway takes it only from the authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html).
 */
export function usageIdentifierKey(namespace: string, clientId: string): string {
  // API key values are at least 20 characters; letters and digits only, to be safe in every API.
  return `kru${createHash('sha256').update(`${namespace}\n${clientId}`).digest('hex').slice(0, 40)}`;
}

/** The API key's name in API Gateway, for operators reading the console. */
export function usagePlanApiKeyName(clientId: string): string {
  return `keyroll-${clientId}`;
}

/** A usage plan's name: letters, digits, `_` and `-`. */
export const USAGE_PLAN_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const QUOTA_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];
