import { Duration } from 'aws-cdk-lib';
import { InvalidKeyrollPropsError } from '../lambda/domain/errors';
import { cronExpression, rateExpression, ScheduleError } from '../lambda/domain/rotation-schedule';

/**
 * When Secrets Manager rotates a client's key: a rate or a cron expression, and the window within which
 * the rotation starts (Secrets Manager picks a moment in it). The rules Secrets Manager applies are checked in
 * `lambda/domain/rotation-schedule.ts`, shared with the CLI
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html).
 */
export class KeyRotationSchedule {
  /** Every `interval`, from 4 hours to 1000 days, in whole hours. Rate windows start at midnight UTC. */
  static rate(interval: Duration, options: { readonly window?: Duration } = {}): KeyRotationSchedule {
    const hours = interval.toHours({ integral: false });
    if (!Number.isInteger(hours)) throw new InvalidKeyrollPropsError(`rotation rate must be whole hours from 4 hours to 1000 days; got ${interval.toHumanString()}`);
    const windowHours = windowHoursOf(options.window);
    return new KeyRotationSchedule(asPropsError(() => rateExpression(hours, windowHours), interval), windowHours);
  }

  /** A cron expression with the six fields Secrets Manager takes, e.g. `0 4 ? * MON *` (Mondays, 04:00 UTC). */
  static cron(fields: string, options: { readonly window?: Duration } = {}): KeyRotationSchedule {
    const windowHours = windowHoursOf(options.window);
    return new KeyRotationSchedule(asPropsError(() => cronExpression(fields, windowHours)), windowHours);
  }

  /** The RotationRules Duration (`4h`), when one is set. */
  readonly window?: string;

  private constructor(
    /** The RotationRules ScheduleExpression. */
    readonly expression: string,
    windowHours: number | undefined,
  ) {
    if (windowHours !== undefined) this.window = `${windowHours}h`;
  }
}

function windowHoursOf(window: Duration | undefined): number | undefined {
  if (window === undefined) return undefined;
  const hours = window.toHours({ integral: false });
  if (!Number.isInteger(hours) || hours < 1 || hours > 24) throw new InvalidKeyrollPropsError(`a rotation window is 1 to 24 whole hours; got ${window.toHumanString()}`);
  return hours;
}

function asPropsError(check: () => string, interval?: Duration): string {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ScheduleError)) throw error;
    // The rate message names hours; a prop given in days reads better as given.
    const message = interval !== undefined && error.message.startsWith('rotation rate') ? `rotation rate must be whole hours from 4 hours to 1000 days; got ${interval.toHumanString()}` : error.message;
    throw new InvalidKeyrollPropsError(message, { cause: error });
  }
}
