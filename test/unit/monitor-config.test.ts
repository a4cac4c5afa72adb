import { ConfigurationError } from '../../lambda/domain/errors';
import { readMonitorConfig } from '../../lambda/config/monitor-config';

const minimal = {
  KEY_TABLE_NAME: 'keyroll-keys',
  CLIENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:keyroll-clients',
  OPERATIONS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:keyroll-operations',
};
const HOUR_MS = 3_600_000;

describe('monitor function configuration', () => {
  it('applies the documented defaults', () => {
    expect(readMonitorConfig(minimal)).toEqual({
      keyTableName: 'keyroll-keys',
      clientTopicArn: minimal.CLIENT_TOPIC_ARN,
      operationsTopicArn: minimal.OPERATIONS_TOPIC_ARN,
      defaultGracePeriodSeconds: 86_400,
      reminderLeadsMs: [24 * HOUR_MS, HOUR_MS],
      stuckAfterMs: 60 * 60_000,
      secretNamePrefix: 'keyroll/',
      missedRotationMinRefusals: 3,
    });
  });

  it('reads every setting; lead times in any order, without repeats', () => {
    expect(readMonitorConfig({ ...minimal, GRACE_PERIOD_SECONDS: '600', REMINDER_LEAD_HOURS: ' 1, 72,24 ,1', ROTATION_STUCK_AFTER_MINUTES: '30' })).toMatchObject({
      defaultGracePeriodSeconds: 600,
      reminderLeadsMs: [72 * HOUR_MS, 24 * HOUR_MS, HOUR_MS],
      stuckAfterMs: 30 * 60_000,
    });
  });

  it.each([
    [{ KEY_TABLE_NAME: '' }, /KEY_TABLE_NAME is required/],
    [{ OPERATIONS_TOPIC_ARN: undefined }, /OPERATIONS_TOPIC_ARN is required/],
    [{ CLIENT_TOPIC_ARN: 'keyroll-clients' }, /CLIENT_TOPIC_ARN .*an SNS topic ARN/],
    [{ REMINDER_LEAD_HOURS: '24h' }, /REMINDER_LEAD_HOURS .*comma-separated whole hours/],
    [{ REMINDER_LEAD_HOURS: '0' }, /REMINDER_LEAD_HOURS/],
    // Below 15 minutes, a label read minutes stale could make a rotation in progress look abandoned.
    [{ ROTATION_STUCK_AFTER_MINUTES: '5' }, /ROTATION_STUCK_AFTER_MINUTES/],
    [{ SECRET_NAME_PREFIX: 'keyroll' }, /SECRET_NAME_PREFIX .*ending in "\/"/],
  ])('refuses %j with an error naming the variable', (override, message) => {
    expect(() => readMonitorConfig({ ...minimal, ...override })).toThrow(ConfigurationError);
    expect(() => readMonitorConfig({ ...minimal, ...override })).toThrow(message);
  });
});
