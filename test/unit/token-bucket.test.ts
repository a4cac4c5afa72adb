import { TokenBucket } from '../../lambda/domain/token-bucket';

describe('Token bucket', () => {
  it('allows a one-second burst, then the rate', () => {
    const bucket = new TokenBucket(5, 0);
    expect(Array.from({ length: 7 }, () => bucket.tryTake(0))).toEqual([true, true, true, true, true, false, false]);
    expect(bucket.tryTake(199)).toBe(false);
    expect(bucket.tryTake(200)).toBe(true);
    expect(bucket.tryTake(10_000)).toBe(true);
  });

  it('tells whether a take would succeed without taking', () => {
    const bucket = new TokenBucket(1, 0);
    expect(bucket.hasToken(0)).toBe(true);
    expect(bucket.hasToken(0)).toBe(true);
    expect(bucket.tryTake(0)).toBe(true);
    expect(bucket.hasToken(999)).toBe(false);
    expect(bucket.hasToken(1000)).toBe(true);
  });

  it('never stores more than one second of tokens, however long it was idle', () => {
    const bucket = new TokenBucket(3, 0);
    const taken = Array.from({ length: 10 }, () => bucket.tryTake(3_600_000)).filter(Boolean).length;
    expect(taken).toBe(3);
  });

  it('does not refill when the clock goes backwards', () => {
    const bucket = new TokenBucket(1, 1_000);
    expect(bucket.tryTake(1_000)).toBe(true);
    expect(bucket.tryTake(0)).toBe(false);
  });
});
