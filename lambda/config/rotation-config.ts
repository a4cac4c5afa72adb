import { secureUrlVariable, optionalTopicArnVariable, parsedVariable, readVariables, wholeNumberVariable, type SettingsOf } from './variables';
import { ConfigurationError } from '../domain/errors';
import type { Environment } from './env';
import { API_KEY_HEADER, CLIENT_TOPIC_ARN, GRACE_PERIOD_SECONDS, KEY_PREFIX, KEY_TABLE_NAME, KNOWN_KEYS_WINDOW_MS, METRICS_NAMESPACE } from './shared-settings';

/** The rotation function's environment, declared once for the function and the construct. */
export const ROTATION_VARIABLES = {
  keyTableName: KEY_TABLE_NAME,
  clientTopicArn: CLIENT_TOPIC_ARN,
  /** Where `rotation.failed` goes; no failure notices when unset. */
  operationsTopicArn: optionalTopicArnVariable('OPERATIONS_TOPIC_ARN'),
  gracePeriodSeconds: GRACE_PERIOD_SECONDS,
  keyPrefix: KEY_PREFIX,
  /** When set, testSecret calls this URL with the pending key and requires a 2xx answer. */
  probeUrl: secureUrlVariable('PROBE_URL'),
  probeTimeoutMs: wholeNumberVariable('PROBE_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
  apiKeyHeader: API_KEY_HEADER,
  /** Multi-region installs: the key table's replica regions; testSecret and finishSecret wait until each has the key. */
  replicaRegions: parsedVariable<readonly string[]>(
    'KEY_TABLE_REPLICA_REGIONS',
    (text = '') => {
      const regions = text.split(',').map((region) => region.trim()).filter((region) => region !== '');
      const bad = regions.find((region) => !REGION_PATTERN.test(region));
      if (bad !== undefined) throw new ConfigurationError(`environment variable KEY_TABLE_REPLICA_REGIONS must be comma-separated region names; got "${bad}"`);
      return [...new Set(regions)];
    },
    (regions) => regions.join(','),
    'eu-west-1,ap-southeast-2',
  ),
  /** How long a step waits for the replicas, at most, before failing so that Secrets Manager retries; under the function's 60 s timeout. */
  replicaWaitSeconds: wholeNumberVariable('REPLICA_WAIT_SECONDS', 30, { min: 1, max: 50 }),
  metricsNamespace: METRICS_NAMESPACE,
  /** The authorizers' known-key window: a new key is first presented this long (plus 0.5 s) after it is added. */
  knownKeysWindowMs: KNOWN_KEYS_WINDOW_MS,
} as const;

/** An AWS region name: `eu-west-1`, `us-gov-west-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The rotation function's configuration, read once when the container starts. */
export type RotationConfig = SettingsOf<typeof ROTATION_VARIABLES>;

export function readRotationConfig(env: Environment): RotationConfig {
  return readVariables(ROTATION_VARIABLES, env);
}
