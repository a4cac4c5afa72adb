import { ConfigurationError } from '../domain/errors';
import type { Environment } from './env';
import { parsedVariable, readVariables, stringVariableWithDefault, topicArnVariable, wholeNumberVariable } from './variables';
import { DEFAULT_MISSED_ROTATION_MIN_REFUSALS } from '../domain/monitor';
import { CLIENT_TOPIC_ARN, GRACE_PERIOD_SECONDS, KEY_TABLE_NAME } from './shared-settings';

const HOUR_MS = 3600 * 1000;
const LEAD_HOURS = /^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$/;

/** The prefix of every secret name of one install: `keyroll/<stack>/<construct>/`. */
export const SECRET_NAME_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,400}\/$/;

/** The monitor's environment, declared once for the function and the construct. */
export const MONITOR_VARIABLES = {
  keyTableName: KEY_TABLE_NAME,
  clientTopicArn: CLIENT_TOPIC_ARN,
  operationsTopicArn: topicArnVariable('OPERATIONS_TOPIC_ARN'),
  defaultGracePeriodSeconds: GRACE_PERIOD_SECONDS,
  /** Descending, in milliseconds; written as comma-separated whole hours. */
  reminderLeadsMs: parsedVariable<readonly number[]>(
    'REMINDER_LEAD_HOURS',
    (text = '24,1') => {
      if (!LEAD_HOURS.test(text) || !text.split(',').every((hours) => Number(hours) >= 1)) {
        throw new ConfigurationError(`environment variable REMINDER_LEAD_HOURS must be comma-separated whole hours, each at least 1; got "${text}"`);
      }
      return [...new Set(text.split(',').map((hours) => Number(hours) * HOUR_MS))].sort((a, b) => b - a);
    },
    (leadsMs) => leadsMs.map((ms) => ms / HOUR_MS).join(','),
    '24,1',
  ),
  stuckAfterMinutes: wholeNumberVariable('ROTATION_STUCK_AFTER_MINUTES', 60, { min: 15, max: 7 * 24 * 60 }),
  /** Only this install's secrets are listed: a second install in the account has its own prefix. */
  /** Reported refusals of an ended key that make `rotation.missed`. */
  missedRotationMinRefusals: wholeNumberVariable('MISSED_ROTATION_MIN_REFUSALS', DEFAULT_MISSED_ROTATION_MIN_REFUSALS, { min: 1, max: 100_000 }),
  secretNamePrefix: stringVariableWithDefault('SECRET_NAME_PREFIX', 'keyroll/', (v) => SECRET_NAME_PREFIX_PATTERN.test(v), 'a secret name prefix ending in "/"'),
} as const;

export interface MonitorConfig {
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  readonly operationsTopicArn: string;
  readonly defaultGracePeriodSeconds: number;
  /** Descending, in milliseconds. */
  readonly reminderLeadsMs: readonly number[];
  readonly stuckAfterMs: number;
  readonly secretNamePrefix: string;
  readonly missedRotationMinRefusals: number;
}

export function readMonitorConfig(env: Environment): MonitorConfig {
  const { stuckAfterMinutes, ...settings } = readVariables(MONITOR_VARIABLES, env);
  return { ...settings, stuckAfterMs: stuckAfterMinutes * 60 * 1000 };
}
