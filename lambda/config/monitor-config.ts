import { check, optionalString, requiredString, wholeNumber, type Environment } from './env';
import { readGracePeriodSeconds, readTopicArn } from './shared-settings';

export interface MonitorConfig {
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  readonly operationsTopicArn: string;
  readonly defaultGracePeriodSeconds: number;
  /** Descending, in milliseconds. */
  readonly reminderLeadsMs: readonly number[];
  readonly stuckAfterMs: number;
}

export function readMonitorConfig(env: Environment): MonitorConfig {
  const leads = optionalString(env, 'REMINDER_LEAD_HOURS') ?? '24,1';
  check('REMINDER_LEAD_HOURS', leads, (v) => /^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$/.test(v) && v.split(',').every((h) => Number(h) >= 1), 'comma-separated whole hours, each at least 1');
  return {
    keyTableName: requiredString(env, 'KEY_TABLE_NAME'),
    clientTopicArn: readTopicArn(env, 'CLIENT_TOPIC_ARN'),
    operationsTopicArn: readTopicArn(env, 'OPERATIONS_TOPIC_ARN'),
    defaultGracePeriodSeconds: readGracePeriodSeconds(env),
    reminderLeadsMs: [...new Set(leads.split(',').map((hours) => Number(hours) * 3600 * 1000))].sort((a, b) => b - a),
    stuckAfterMs: 60 * 1000 * wholeNumber(env, 'ROTATION_STUCK_AFTER_MINUTES', 60, { min: 15, max: 7 * 24 * 60 }),
  };
}
