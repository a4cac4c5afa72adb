import { DEFAULT_KEY_PREFIX, isValidKeyPrefix } from '../domain/api-key';
import { check, optionalString, type Environment } from './env';

export const DEFAULT_API_KEY_HEADER = 'x-api-key';

/** `KEY_PREFIX`: the prefix keys are issued with and checked against. */
export function readKeyPrefix(env: Environment): string {
  return check('KEY_PREFIX', optionalString(env, 'KEY_PREFIX') ?? DEFAULT_KEY_PREFIX, isValidKeyPrefix, '2 to 16 lower-case letters or digits, starting with a letter');
}

/** `API_KEY_HEADER`, in lower case: header names are compared case-insensitively. */
export function readApiKeyHeader(env: Environment): string {
  return check('API_KEY_HEADER', (optionalString(env, 'API_KEY_HEADER') ?? DEFAULT_API_KEY_HEADER).toLowerCase(), (v) => /^[a-z0-9-]{1,64}$/.test(v), 'an HTTP header name');
}
