import type { Environment } from './env';
import { readVariables, type SettingsOf } from './variables';
import { KEY_TABLE_NAME, METRICS_NAMESPACE } from './shared-settings';

/** The usage counter's environment, declared once for the function and the construct. */
export const USAGE_VARIABLES = {
  keyTableName: KEY_TABLE_NAME,
  metricsNamespace: METRICS_NAMESPACE,
} as const;

export type UsageConfig = SettingsOf<typeof USAGE_VARIABLES>;

export function readUsageConfig(env: Environment): UsageConfig {
  return readVariables(USAGE_VARIABLES, env);
}
