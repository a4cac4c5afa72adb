import { clockSkewCheck } from '../../lambda/domain/install-checks';
import { checkScheduleExpression } from '../../lambda/domain/rotation-schedule';

describe('doctor: clock skew', () => {
  it.each<[string, number, number | undefined, boolean]>([
    ['in step', 1_000_000, 1_000_000, true],
    ['a second apart (the Date header\'s resolution)', 1_000_900, 1_000_000, true],
    ['5.9 s ahead: within the limit once the header\'s second is allowed for', 1_005_900, 1_000_000, true],
    ['eight seconds behind', 992_000, 1_000_000, false],
    ['a minute ahead', 1_060_000, 1_000_000, false],
    ['not measured', 1_000_000, undefined, true],
  ])('%s', (_name, localMs, serviceMs, ok) => {
    const result = clockSkewCheck(localMs, serviceMs);
    expect(result.ok).toBe(ok);
    expect(result.fix === '').toBe(ok);
  });
});

describe('Schedules as Secrets Manager holds them (doctor, clients add --schedule)', () => {
  it.each<[string, string | undefined]>([
    ['rate(30 days)', '4h'],
    ['rate(12 hours)', undefined],
    ['cron(0 4 ? * MON *)', '2h'],
    ['cron(0 0/8 * * ? *)', '1h'],
  ])('accepts %s with window %s', (expression, duration) => {
    expect(() => checkScheduleExpression(expression, duration)).not.toThrow();
  });

  it.each<[string, string | undefined, string]>([
    ['rate(2 hours)', undefined, 'from 4 hours to 1000 days'],
    ['rate(8 hours)', '12h', 'runs into the next window'],
    ['cron(30 4 ? * MON *)', undefined, '0 in the minutes field'],
    ['cron(0 22 ? * MON *)', '4h', 'past the end of the UTC day'],
    ['rate(30 days)', '90m', 'whole hours'],
    ['every month', undefined, 'rate(N days), rate(N hours) or cron(6 fields)'],
  ])('refuses %s with window %s', (expression, duration, message) => {
    expect(() => checkScheduleExpression(expression, duration)).toThrow(message);
  });
});
