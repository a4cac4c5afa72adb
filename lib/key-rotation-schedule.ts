import { Duration } from 'aws-cdk-lib';
import { InvalidKeyrollPropsError } from './errors';

const CRON_FIELDS = 6;
const MIN_RATE = Duration.hours(4);
const MAX_RATE = Duration.days(1000);

/**
 * When Secrets Manager rotates a client's key: a rate or a cron expression, and the window within which
 * the rotation starts (Secrets Manager picks a random moment in it).
 */
export class KeyRotationSchedule {
  /** Every `interval`, from 4 hours to 1000 days, in whole hours. */
  static rate(interval: Duration, options: { readonly window?: Duration } = {}): KeyRotationSchedule {
    const hours = interval.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < MIN_RATE.toHours() || hours > MAX_RATE.toHours()) {
      throw new InvalidKeyrollPropsError(`rotation rate must be whole hours from 4 hours to 1000 days; got ${interval.toHumanString()}`);
    }
    const expression = hours % 24 === 0 ? `rate(${hours / 24} days)` : `rate(${hours} hours)`;
    return new KeyRotationSchedule(expression, validWindow(options.window));
  }

  /** A cron expression with the six fields Secrets Manager takes, e.g. `0 4 ? * MON *` (Mondays, 04:00 UTC). */
  static cron(fields: string, options: { readonly window?: Duration } = {}): KeyRotationSchedule {
    if (fields.trim().split(/\s+/).length !== CRON_FIELDS) {
      throw new InvalidKeyrollPropsError(`a rotation cron expression has 6 fields (minutes hours day-of-month month day-of-week year); got "${fields}"`);
    }
    return new KeyRotationSchedule(`cron(${fields.trim()})`, validWindow(options.window));
  }

  private constructor(
    /** The RotationRules ScheduleExpression. */
    readonly expression: string,
    /** The RotationRules Duration (`4h`), when one is set. */
    readonly window?: string,
  ) {}
}

function validWindow(window: Duration | undefined): string | undefined {
  if (window === undefined) return undefined;
  const hours = window.toHours({ integral: false });
  if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
    throw new InvalidKeyrollPropsError(`a rotation window is 1 to 24 whole hours; got ${window.toHumanString()}`);
  }
  return `${hours}h`;
}
