import { DEFAULT_KEY_PREFIX, isValidKeyPrefix } from '../domain/api-key';
import { check, optionalString, requiredString, wholeNumber, type Environment } from './env';

export const DEFAULT_API_KEY_HEADER = 'x-api-key';
export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 3600;

/** `KEY_PREFIX`: the prefix keys are issued with and checked against. */
export function readKeyPrefix(env: Environment): string {
  return check('KEY_PREFIX', optionalString(env, 'KEY_PREFIX') ?? DEFAULT_KEY_PREFIX, isValidKeyPrefix, '2 to 16 lower-case letters or digits, starting with a letter');
}

/** `API_KEY_HEADER`, in lower case: header names are compared case-insensitively. */
export function readApiKeyHeader(env: Environment): string {
  return check('API_KEY_HEADER', (optionalString(env, 'API_KEY_HEADER') ?? DEFAULT_API_KEY_HEADER).toLowerCase(), (v) => /^[a-z0-9-]{1,64}$/.test(v), 'an HTTP header name');
}

/** `GRACE_PERIOD_SECONDS`: the grace period of clients without their own tag. */
export function readGracePeriodSeconds(env: Environment): number {
  return wholeNumber(env, 'GRACE_PERIOD_SECONDS', DEFAULT_GRACE_PERIOD_SECONDS, { min: 0, max: 366 * 24 * 3600 });
}

/** A required SNS topic ARN. */
export function readTopicArn(env: Environment, name: string): string {
  return check(name, requiredString(env, name), isArn, 'an SNS topic ARN');
}

/** An SNS topic ARN that may be left unset. */
export function readOptionalTopicArn(env: Environment, name: string): string | undefined {
  const value = optionalString(env, name);
  return value === undefined ? undefined : check(name, value, isArn, 'an SNS topic ARN');
}

function isArn(value: string): boolean {
  return value.startsWith('arn:');
}
