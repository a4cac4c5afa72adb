import { DEFAULT_KEY_PREFIX, isValidKeyPrefix } from '../domain/api-key';
import { check, optionalHttpUrl, optionalString, requiredString, wholeNumber, type Environment } from './env';

export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 3600;
export const DEFAULT_API_KEY_HEADER = 'x-api-key';

/** The rotation function's configuration, read once when the container starts. */
export interface RotationConfig {
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  readonly gracePeriodSeconds: number;
  readonly keyPrefix: string;
  /** When set, testSecret calls this URL with the pending key and requires a 2xx answer. */
  readonly probeUrl?: string;
  readonly probeTimeoutMs: number;
  readonly apiKeyHeader: string;
}

export function readRotationConfig(env: Environment): RotationConfig {
  return {
    keyTableName: requiredString(env, 'KEY_TABLE_NAME'),
    clientTopicArn: check('CLIENT_TOPIC_ARN', requiredString(env, 'CLIENT_TOPIC_ARN'), (v) => v.startsWith('arn:'), 'an SNS topic ARN'),
    gracePeriodSeconds: wholeNumber(env, 'GRACE_PERIOD_SECONDS', DEFAULT_GRACE_PERIOD_SECONDS, { min: 0, max: 366 * 24 * 3600 }),
    keyPrefix: check(
      'KEY_PREFIX',
      optionalString(env, 'KEY_PREFIX') ?? DEFAULT_KEY_PREFIX,
      isValidKeyPrefix,
      '2 to 16 lower-case letters or digits, starting with a letter',
    ),
    probeUrl: optionalHttpUrl(env, 'PROBE_URL'),
    probeTimeoutMs: wholeNumber(env, 'PROBE_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
    apiKeyHeader: check(
      'API_KEY_HEADER',
      (optionalString(env, 'API_KEY_HEADER') ?? DEFAULT_API_KEY_HEADER).toLowerCase(),
      (v) => /^[a-z0-9-]{1,64}$/.test(v),
      'an HTTP header name',
    ),
  };
}
