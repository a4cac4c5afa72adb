import { optionalHttpUrl, requiredString, wholeNumber, type Environment } from './env';
import { readApiKeyHeader, readGracePeriodSeconds, readKeyPrefix, readOptionalTopicArn, readTopicArn } from './shared-settings';

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
    clientTopicArn: readTopicArn(env, 'CLIENT_TOPIC_ARN'),
    operationsTopicArn: readOptionalTopicArn(env, 'OPERATIONS_TOPIC_ARN'),
    gracePeriodSeconds: readGracePeriodSeconds(env),
    keyPrefix: readKeyPrefix(env),
    probeUrl: optionalHttpUrl(env, 'PROBE_URL'),
    probeTimeoutMs: wholeNumber(env, 'PROBE_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
    apiKeyHeader: readApiKeyHeader(env),
  };
}
