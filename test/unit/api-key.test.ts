import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CHECKSUM_LENGTH,
  displayKey,
  generateApiKey,
  hashApiKey,
  parseApiKey,
  RANDOM_LENGTH,
  type ApiKey,
} from '../../lambda/domain/api-key';
import { acceptKey, directLookup } from '../../lambda/domain/accept-key';
import { InvalidKeyPrefixError } from '../../lambda/domain/errors';
import { keyVersion } from '../support/authorizer-fixture';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const prefixArb = fc.stringMatching(/^[a-z][a-z0-9]{1,15}$/);
/** Byte sources for the generator that always hold at least one usable byte, so generation terminates. */
const randomSourceArb = fc.uint8Array({ minLength: 1, maxLength: 96 }).filter((bytes) => bytes.some((byte) => byte < 248));

function cyclingSource(bytes: Uint8Array): (size: number) => Buffer {
  let offset = 0;
  return (size) => {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = bytes[offset++ % bytes.length] ?? 0;
    return out;
  };
}

function mustParse(candidate: string, prefix?: string): ApiKey {
  const parsed = parseApiKey(candidate, prefix);
  if (!parsed.ok) throw new Error(`expected a valid key, got ${parsed.reason}`);
  return parsed.key;
}

describe('API key format', () => {
  it('keeps accepting keys issued before (checksums made by the earlier hand-written CRC-32)', () => {
    expect(parseApiKey('kr_77777777777777777777777777777777777777777774Fni6i')).toEqual({ ok: true, key: 'kr_77777777777777777777777777777777777777777774Fni6i' });
    expect(parseApiKey('acme_05AFKPUZejoty38DINSXchmrw16BGLQVafkpuz49EJO10YNkS', 'acme')).toMatchObject({ ok: true });
    expect(parseApiKey('kr_77777777777777777777777777777777777777777774Fni6j')).toEqual({ ok: false, reason: 'bad_checksum' });
  });

  it('generates keys of the documented shape: prefix, underscore, 43 random and 6 checksum base62 characters', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^kr_[0-9A-Za-z]{49}$/);
    expect(key).toHaveLength(3 + RANDOM_LENGTH + CHECKSUM_LENGTH);
    expect(RANDOM_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(256);
  });

  it('draws every random character from the crypto RNG, skipping bytes that would bias base62', () => {
    // 248..255 are rejected; 0 → '0', 61 → 'z', 62 → '0' (62 mod 62), 247 → 247 mod 62 = 61 → 'z'.
    const key = generateApiKey('kr', cyclingSource(Uint8Array.from([248, 255, 0, 61, 62, 247])));
    expect(key.slice(3, 3 + RANDOM_LENGTH)).toBe('0z0z'.repeat(11).slice(0, RANDOM_LENGTH));
  });

  it('never repeats a key across many generations', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateApiKey()));
    expect(keys.size).toBe(2000);
  });

  it('refuses a prefix that could not be parsed back', () => {
    for (const prefix of ['', 'k', 'KR', 'k_r', '1kr', 'a'.repeat(17)]) {
      expect(() => generateApiKey(prefix)).toThrow(InvalidKeyPrefixError);
    }
  });

  it('always validates the keys it generates, for any prefix and any random bytes', () => {
    fc.assert(
      fc.property(prefixArb, randomSourceArb, (prefix, bytes) => {
        const key = generateApiKey(prefix, cyclingSource(bytes));
        expect(parseApiKey(key, prefix)).toEqual({ ok: true, key });
      }),
      { numRuns: 500 },
    );
  });

  it('rejects any single-character change, by the checksum or the format, so it never reaches a lookup', () => {
    const anyChar = fc.oneof(fc.constantFrom(...BASE62.split('')), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }));
    fc.assert(
      fc.property(prefixArb, randomSourceArb, fc.nat(), anyChar, (prefix, bytes, at, replacement) => {
        const key = generateApiKey(prefix, cyclingSource(bytes));
        const index = at % key.length;
        fc.pre(key[index] !== replacement);
        const mutated = key.slice(0, index) + replacement + key.slice(index + 1);
        const parsed = parseApiKey(mutated, prefix);
        expect(parsed.ok).toBe(false);
        if (index > prefix.length && BASE62.includes(replacement)) expect(parsed).toEqual({ ok: false, reason: 'bad_checksum' });
      }),
      { numRuns: 1000 },
    );
  });

  it('never accepts a changed key even where a lookup happens: the table holds only the original', async () => {
    await fc.assert(
      fc.asyncProperty(randomSourceArb, fc.nat(), fc.constantFrom(...BASE62.split('')), async (bytes, at, replacement) => {
        const key = generateApiKey('kr', cyclingSource(bytes));
        const index = 3 + (at % (key.length - 3));
        fc.pre(key[index] !== replacement);
        const mutated = key.slice(0, index) + replacement + key.slice(index + 1);
        const stored = keyVersion({}, key).version;
        const findByHash = async (keyHash: string) => (keyHash === stored.keyHash ? stored : undefined);
        const acceptance = await acceptKey(mutated, { prefix: 'kr', lookup: directLookup(findByHash), nowMs: 1 });
        expect(acceptance.accepted).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  describe('parseApiKey gives the reason for each failure', () => {
    const valid = generateApiKey();
    const body = valid.slice(3);

    it.each([
      ['missing', 'nothing', undefined],
      ['missing', 'an empty string', ''],
      ['wrong_prefix', 'another system\'s prefix', `sk_${body}`],
      ['wrong_prefix', 'the prefix in capitals', `KR_${body}`],
      ['wrong_prefix', 'no prefix', body],
      ['bad_length', 'one character too many', `${valid}0`],
      ['bad_length', 'one character too few', valid.slice(0, -1)],
      ['bad_length', 'a 100 kB value', `kr_${'a'.repeat(100_000)}`],
      ['bad_characters', 'a dash', `kr_${body.slice(0, 10)}-${body.slice(11)}`],
      ['bad_characters', 'a non-ASCII letter', `kr_${body.slice(0, 10)}é${body.slice(11)}`],
      ['bad_characters', 'a space', `kr_${body.slice(0, 10)} ${body.slice(11)}`],
      ['bad_checksum', 'a changed checksum', `kr_${body.slice(0, -1)}${body.endsWith('0') ? '1' : '0'}`],
    ])('%s for %s', (reason, _label, candidate) => {
      expect(parseApiKey(candidate)).toEqual({ ok: false, reason });
    });

    it('checks the prefix it is given, not the default', () => {
      const key = generateApiKey('acme');
      expect(parseApiKey(key, 'acme').ok).toBe(true);
      expect(parseApiKey(key)).toEqual({ ok: false, reason: 'wrong_prefix' });
    });
  });

  it('hashes a key to the hex SHA-256 of its text', () => {
    const key = generateApiKey();
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('displays a key as its prefix and four characters only', () => {
    const key = mustParse(generateApiKey('acme'), 'acme');
    const shown = displayKey(key);
    expect(shown).toBe(`${key.slice(0, 9)}…`);
    expect(key.includes(shown.slice(0, -1))).toBe(true);
    expect(shown.length).toBeLessThan(key.length / 4);
  });
});
