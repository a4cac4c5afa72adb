/**
 * The rotation schedules Secrets Manager accepts, checked in one place for the construct, `keyroll clients add
 * --schedule` and `keyroll doctor` (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html):
 * `rate(...)` from 4 hours to 1000 days; cron with 0 in the minutes field, `*` in the year field and `?` in
 * exactly one day field; a window (Duration) of whole hours that runs neither into the next window nor past the
 * end of the UTC day. Each check throws a ScheduleError saying what is wrong.
 */

const MIN_RATE_HOURS = 4;
const MAX_RATE_DAYS = 1000;

/** A schedule Secrets Manager would refuse. */
export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

/** The ScheduleExpression of `rate(hours)`, checked; the window in whole hours when one is set. */
export function rateExpression(hours: number, windowHours: number | undefined): string {
  if (!Number.isInteger(hours) || hours < MIN_RATE_HOURS || hours > MAX_RATE_DAYS * 24) throw new ScheduleError(`rotation rate must be whole hours from 4 hours to 1000 days; got ${hours} hours`);
  const inDays = hours % 24 === 0;
  checkWindowHours(windowHours);
  // A rate in hours repeats within the day: the window must end before the next one starts.
  if (windowHours !== undefined && !inDays && windowHours > hours) throw new ScheduleError(`a rotation window of ${windowHours} hours runs into the next window of rate(${hours} hours)`);
  return inDays ? `rate(${hours / 24} days)` : `rate(${hours} hours)`;
}

/** The ScheduleExpression of a six-field cron, checked. */
export function cronExpression(fields: string, windowHours: number | undefined): string {
  const parts = fields.trim().split(/\s+/);
  const [minutes, hours, dayOfMonth, , dayOfWeek, year] = parts;
  if (parts.length !== 6 || minutes === undefined || hours === undefined || dayOfMonth === undefined || dayOfWeek === undefined || year === undefined) {
    throw new ScheduleError(`a rotation cron expression has 6 fields (minutes hours day-of-month month day-of-week year); got "${fields}"`);
  }
  if (minutes !== '0') throw new ScheduleError(`a rotation cron expression must have 0 in the minutes field (windows start on the hour); got "${fields}"`);
  if (year !== '*') throw new ScheduleError(`a rotation cron expression must have * in the year field; got "${fields}"`);
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) throw new ScheduleError(`a rotation cron expression needs ? in exactly one of day-of-month and day-of-week; got "${fields}"`);
  checkWindowHours(windowHours);
  const starts = startHours(hours, fields);
  // Without a Duration, Secrets Manager closes the window after an hour (schedules in hours) or at the end of the day.
  const effectiveWindow = windowHours ?? (starts.length > 1 ? 1 : 24 - (starts[0] ?? 0));
  for (let i = 1; i < starts.length; i++) {
    const gap = (starts[i] ?? 0) - (starts[i - 1] ?? 0);
    if (effectiveWindow > gap) throw new ScheduleError(`a rotation window of ${effectiveWindow} hours runs into the next window, ${gap} hours later; got "${fields}"`);
  }
  const last = starts[starts.length - 1] ?? 0;
  if (last + effectiveWindow > 24) throw new ScheduleError(`a rotation window of ${effectiveWindow} hours starting at ${last}:00 runs past the end of the UTC day; got "${fields}"`);
  return `cron(${parts.join(' ')})`;
}

/** Checks a ScheduleExpression and Duration as Secrets Manager holds them (`rate(30 days)`, `cron(0 4 ? * MON *)`, `4h`). */
export function checkScheduleExpression(expression: string, duration: string | undefined): void {
  const windowHours = duration === undefined || duration === '' ? undefined : parseWindow(duration);
  const rate = /^rate\((\d+) (hours?|days?)\)$/.exec(expression.trim());
  if (rate !== null) {
    rateExpression(Number(rate[1]) * (rate[2]?.startsWith('day') === true ? 24 : 1), windowHours);
    return;
  }
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron !== null) {
    cronExpression(cron[1] ?? '', windowHours);
    return;
  }
  throw new ScheduleError(`a rotation schedule is rate(N days), rate(N hours) or cron(6 fields); got "${expression}"`);
}

function parseWindow(duration: string): number {
  const match = /^(\d+)h$/.exec(duration.trim());
  if (match === null) throw new ScheduleError(`a rotation window is written in whole hours, e.g. 4h; got "${duration}"`);
  return Number(match[1]);
}

function checkWindowHours(windowHours: number | undefined): void {
  if (windowHours !== undefined && (!Number.isInteger(windowHours) || windowHours < 1 || windowHours > 24)) {
    throw new ScheduleError(`a rotation window is 1 to 24 whole hours; got ${windowHours} hours`);
  }
}

/** The hours of the day at which the cron's windows start, ascending: `*`, `N`, `a-b`, `a/b`, `a-b/c`, lists. */
function startHours(field: string, fields: string): number[] {
  const hours = new Set<number>();
  for (const part of field.split(',')) {
    const match = /^(\*|\d{1,2})(?:-(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(part);
    if (match === null) throw new ScheduleError(`the hours field of a rotation cron expression must be 0-23, with * , - or /; got "${fields}"`);
    const from = match[1] === '*' ? 0 : Number(match[1]);
    const to = match[2] !== undefined ? Number(match[2]) : match[1] === '*' || match[3] !== undefined ? 23 : from;
    const step = match[3] === undefined ? 1 : Number(match[3]);
    if (from > 23 || to > 23 || from > to || step < 1) throw new ScheduleError(`the hours field of a rotation cron expression must be 0-23; got "${fields}"`);
    for (let hour = from; hour <= to; hour += step) hours.add(hour);
  }
  return [...hours].sort((a, b) => a - b);
}
