import { ApproximateLruCache } from '../../lambda/domain/approximate-lru-cache';

describe('Approximate LRU cache', () => {
  it('never holds more than its capacity, evicting an entry not read recently', () => {
    const cache = new ApproximateLruCache<string, number>(3);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1);
    cache.set('d', 4);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(3);
  });

  it('keeps an entry read again and again while newer ones come and go', () => {
    const cache = new ApproximateLruCache<string, number>(100);
    cache.set('hot', 1);
    for (let i = 0; i < 10_000; i++) {
      cache.set(`cold-${i}`, i);
      expect(cache.get('hot')).toBe(1);
    }
  });

  it('replaces the value of a key set twice, without growing', () => {
    const cache = new ApproximateLruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('a', 2);
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBe(2);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
  });

  it('refuses a capacity that cannot bound anything', () => {
    expect(() => new ApproximateLruCache(0)).toThrow(RangeError);
    expect(() => new ApproximateLruCache(1.5)).toThrow(RangeError);
  });
});
