import type { Environment } from './env';
import { readVariables, wholeNumberVariable, type SettingsOf } from './variables';
import { KEY_TABLE_NAME } from './shared-settings';

/** The first-key function's timeout; the wait below must end inside it, with time left to answer. */
export const FIRST_KEY_FUNCTION_TIMEOUT_SECONDS = 300;
const ANSWER_MARGIN_SECONDS = 30;

/** The first-key function's environment, declared once for the function and the construct. */
export const FIRST_KEY_VARIABLES = {
  /** Where client registrations are written. */
  keyTableName: KEY_TABLE_NAME,
  /** How long to wait for the secret to be free and for its first rotation to complete. */
  timeoutSeconds: wholeNumberVariable('FIRST_KEY_TIMEOUT_SECONDS', 240, { min: 10, max: FIRST_KEY_FUNCTION_TIMEOUT_SECONDS - ANSWER_MARGIN_SECONDS }),
  pollIntervalSeconds: wholeNumberVariable('FIRST_KEY_POLL_INTERVAL_SECONDS', 2, { min: 1, max: 30 }),
} as const;

export type FirstKeyConfig = SettingsOf<typeof FIRST_KEY_VARIABLES>;

export function readFirstKeyConfig(env: Environment): FirstKeyConfig {
  return readVariables(FIRST_KEY_VARIABLES, env);
}
