import type { Environment } from './env';
import { readVariables, wholeNumberVariable, type SettingsOf } from './variables';
import { API_KEY_HEADER, KEY_PREFIX, KEY_TABLE_NAME } from './shared-settings';

/** The key delivery function's environment, declared once for the function and the construct. */
export const DELIVERY_VARIABLES = {
  keyTableName: KEY_TABLE_NAME,
  keyPrefix: KEY_PREFIX,
  apiKeyHeader: API_KEY_HEADER,
  /** Deliveries per client per minute; more get 429. */
  deliveriesPerMinute: wholeNumberVariable('DELIVERIES_PER_MINUTE', 6, { min: 1, max: 600 }),
} as const;

export type DeliveryConfig = SettingsOf<typeof DELIVERY_VARIABLES>;

export function readDeliveryConfig(env: Environment): DeliveryConfig {
  return readVariables(DELIVERY_VARIABLES, env);
}
