import { check, optionalHttpUrl, optionalString, requiredString, wholeNumber, type Environment } from './env';
import { readApiKeyHeader, readKeyPrefix } from './shared-settings';

export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 3600;

/** The rotation function's configuration, read once when the container starts. */
export interface RotationConfig {
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  /** Where `rotation.failed` goes; no failure notices when unset. */
  readonly operationsTopicArn?: string;
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
    operationsTopicArn: optionalTopicArn(env, 'OPERATIONS_TOPIC_ARN'),
    gracePeriodSeconds: wholeNumber(env, 'GRACE_PERIOD_SECONDS', DEFAULT_GRACE_PERIOD_SECONDS, { min: 0, max: 366 * 24 * 3600 }),
    keyPrefix: readKeyPrefix(env),
    probeUrl: optionalHttpUrl(env, 'PROBE_URL'),
    probeTimeoutMs: wholeNumber(env, 'PROBE_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
    apiKeyHeader: readApiKeyHeader(env),
  };
}

function optionalTopicArn(env: Environment, name: string): string | undefined {
  const value = optionalString(env, name);
  return value === undefined ? undefined : check(name, value, (v) => v.startsWith('arn:'), 'an SNS topic ARN');
}
