import { httpUrlVariable, optionalTopicArnVariable, readVariables, wholeNumberVariable, type SettingsOf } from './variables';
import type { Environment } from './env';
import { API_KEY_HEADER, CLIENT_TOPIC_ARN, GRACE_PERIOD_SECONDS, KEY_PREFIX, KEY_TABLE_NAME } from './shared-settings';

/** The rotation function's environment, declared once for the function and the construct. */
export const ROTATION_VARIABLES = {
  keyTableName: KEY_TABLE_NAME,
  clientTopicArn: CLIENT_TOPIC_ARN,
  /** Where `rotation.failed` goes; no failure notices when unset. */
  operationsTopicArn: optionalTopicArnVariable('OPERATIONS_TOPIC_ARN'),
  gracePeriodSeconds: GRACE_PERIOD_SECONDS,
  keyPrefix: KEY_PREFIX,
  /** When set, testSecret calls this URL with the pending key and requires a 2xx answer. */
  probeUrl: httpUrlVariable('PROBE_URL'),
  probeTimeoutMs: wholeNumberVariable('PROBE_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
  apiKeyHeader: API_KEY_HEADER,
} as const;

/** The rotation function's configuration, read once when the container starts. */
export type RotationConfig = SettingsOf<typeof ROTATION_VARIABLES>;

export function readRotationConfig(env: Environment): RotationConfig {
  return readVariables(ROTATION_VARIABLES, env);
}
