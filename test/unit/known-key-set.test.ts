import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { KnownKeySet, knownKeyPrefix } from '../../lambda/domain/known-key-set';

const hashOf = (n: number) => createHash('sha256').update(String(n)).digest('hex');

describe('Class: KnownKeySet', () => {
  it('holds every key it was given, by full hash or by prefix, and no other (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 3_000 }), (numbers) => {
        const set = new KnownKeySet();
        const [outside, ...inside] = numbers;
        for (const n of inside) set.add(hashOf(n));
        expect(set.size).toBe(inside.length);
        for (const n of inside) expect(set.has(hashOf(n)) && set.has(knownKeyPrefix(hashOf(n)))).toBe(true);
        expect(set.has(hashOf(outside ?? -1))).toBe(false);
      }),
      { numRuns: 20 },
    );
  });

  it('counts a key added twice once, growing as it fills', () => {
    const set = new KnownKeySet();
    for (let n = 0; n < 100_000; n++) set.add(hashOf(n));
    set.add(hashOf(7));
    expect(set.size).toBe(100_000);
  });
});
