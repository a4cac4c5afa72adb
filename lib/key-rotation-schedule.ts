import { Duration } from 'aws-cdk-lib';
import { InvalidKeyrollPropsError } from '../lambda/domain/errors';

const MIN_RATE_HOURS = 4;
const MAX_RATE_DAYS = 1000;

/**
 * When Secrets Manager rotates a client's key: a rate or a cron expression, and the window within which
 * the rotation starts (Secrets Manager picks a moment in it). Checked against what Secrets Manager accepts
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html): cron with 0 in
 * the minutes field, `*` in the year field and `?` in one of the two day fields; a window of whole hours
 * that runs neither into the next window nor past the end of the UTC day.
 */
export class KeyRotationSchedule {
  /** Every `interval`, from 4 hours to 1000 days, in whole hours. Rate windows start at midnight UTC. */
  static rate(interval: Duration, options: { readonly window?: Duration } = {}): KeyRotationSchedule {
    const hours = interval.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < MIN_RATE_HOURS || hours > MAX_RATE_DAYS * 24) {
      throw new InvalidKeyrollPropsError(`rotation rate must be whole hours from 4 hours to 1000 days; got ${interval.toHumanString()}`);
    }
    const inDays = hours % 24 === 0;
    const windowHours = validWindowHours(options.window);
    if (windowHours !== undefined) {
      // A rate in hours repeats within the day: the window must end before the next one starts.
      if (!inDays && windowHours > hours) {
        throw new InvalidKeyrollPropsError(`a rotation window of ${windowHours} hours runs into the next window of rate(${hours} hours)`);
      }
    }
    return new KeyRotationSchedule(inDays ? `rate(${hours / 24} days)` : `rate(${hours} hours)`, windowHours);
  }

  /** A cron expression with the six fields Secrets Manager takes, e.g. `0 4 ? * MON *` (Mondays, 04:00 UTC). */
  static cron(fields: string, options: { readonly window?: Duration } = {}): KeyRotationSchedule {
    const parts = fields.trim().split(/\s+/);
    const [minutes, hours, dayOfMonth, , dayOfWeek, year] = parts;
    if (parts.length !== 6 || minutes === undefined || hours === undefined || dayOfMonth === undefined || dayOfWeek === undefined || year === undefined) {
      throw new InvalidKeyrollPropsError(`a rotation cron expression has 6 fields (minutes hours day-of-month month day-of-week year); got "${fields}"`);
    }
    if (minutes !== '0') throw new InvalidKeyrollPropsError(`a rotation cron expression must have 0 in the minutes field (windows start on the hour); got "${fields}"`);
    if (year !== '*') throw new InvalidKeyrollPropsError(`a rotation cron expression must have * in the year field; got "${fields}"`);
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      throw new InvalidKeyrollPropsError(`a rotation cron expression needs ? in exactly one of day-of-month and day-of-week; got "${fields}"`);
    }
    const starts = startHours(hours, fields);
    const windowHours = validWindowHours(options.window);
    // Without a Duration, Secrets Manager closes the window after an hour (schedules in hours) or at the end of the day.
    const effectiveWindow = windowHours ?? (starts.length > 1 ? 1 : 24 - (starts[0] ?? 0));
    for (let i = 1; i < starts.length; i++) {
      const gap = (starts[i] ?? 0) - (starts[i - 1] ?? 0);
      if (effectiveWindow > gap) {
        throw new InvalidKeyrollPropsError(`a rotation window of ${effectiveWindow} hours runs into the next window, ${gap} hours later; got "${fields}"`);
      }
    }
    const last = starts[starts.length - 1] ?? 0;
    if (last + effectiveWindow > 24) {
      throw new InvalidKeyrollPropsError(`a rotation window of ${effectiveWindow} hours starting at ${last}:00 runs past the end of the UTC day; got "${fields}"`);
    }
    return new KeyRotationSchedule(`cron(${parts.join(' ')})`, windowHours);
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

function validWindowHours(window: Duration | undefined): number | undefined {
  if (window === undefined) return undefined;
  const hours = window.toHours({ integral: false });
  if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
    throw new InvalidKeyrollPropsError(`a rotation window is 1 to 24 whole hours; got ${window.toHumanString()}`);
  }
  return hours;
}

/** The hours of the day at which the cron's windows start, ascending: `*`, `N`, `a-b`, `a/b`, `a-b/c`, lists. */
function startHours(field: string, fields: string): number[] {
  const hours = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^(\*|\d{1,2})(?:-(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(part);
    if (match === null) throw new InvalidKeyrollPropsError(`the hours field of a rotation cron expression must be 0-23, with * , - or /; got "${fields}"`);
    const from = match[1] === '*' ? 0 : Number(match[1]);
    const to = match[2] !== undefined ? Number(match[2]) : match[1] === '*' || match[3] !== undefined ? 23 : from;
    const step = match[3] === undefined ? 1 : Number(match[3]);
    if (from > 23 || to > 23 || from > to || step < 1) throw new InvalidKeyrollPropsError(`the hours field of a rotation cron expression must be 0-23; got "${fields}"`);
    for (let hour = from; hour <= to; hour += step) hours.add(hour);
  }
  return [...hours].sort((a, b) => a - b);
}
