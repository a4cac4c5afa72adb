import { clockSkewCheck } from '../../lambda/domain/install-checks';

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
