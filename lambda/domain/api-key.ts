import { InvalidKeyPrefixError } from './errors';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * keyroll API keys: `<prefix>_<random><checksum>`.
 *
 * - `random` is 43 base62 characters drawn from the crypto RNG (43 × log2(62) ≈ 256.03 bits).
 * - `checksum` is the CRC-32 of `<prefix>_<random>` in 6 base62 characters. CRC-32 detects every
 *   single-character change, so a mistyped key is refused before any lookup, and secret scanners can
 *   recognise a leaked key by its shape alone.
 *
 * Keys are high-entropy, so they are stored and looked up as plain SHA-256 (a slow hash adds nothing).
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_BODY = /^[0-9A-Za-z]+$/;
const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,15}$/;

export const DEFAULT_KEY_PREFIX = 'kr';
export const RANDOM_LENGTH = 43;
export const CHECKSUM_LENGTH = 6;
/** Characters of the random part shown by {@link displayKey}: about 24 of the 256 bits. */
const DISPLAY_LENGTH = 4;

/** A string that has passed {@link parseApiKey}. Only that function makes one. */
export type ApiKey = string & { readonly __brand: 'ApiKey' };

/** Why a presented string is not a well-formed key. */
export type KeyFormatFailure = 'missing' | 'wrong_prefix' | 'bad_length' | 'bad_characters' | 'bad_checksum';

export type ParsedApiKey = { readonly ok: true; readonly key: ApiKey } | { readonly ok: false; readonly reason: KeyFormatFailure };

export function isValidKeyPrefix(prefix: string): boolean {
  return PREFIX_PATTERN.test(prefix);
}

/** Generates a new key from the crypto RNG. */
export function generateApiKey(prefix: string = DEFAULT_KEY_PREFIX, random: (size: number) => Buffer = randomBytes): ApiKey {
  if (!isValidKeyPrefix(prefix)) throw new InvalidKeyPrefixError(prefix);
  let body = '';
  while (body.length < RANDOM_LENGTH) {
    for (const byte of random(RANDOM_LENGTH)) {
      // 248 = 4 × 62: rejecting the top 8 byte values keeps every base62 character equally likely.
      if (byte < 248 && body.length < RANDOM_LENGTH) body += BASE62.charAt(byte % 62);
    }
  }
  const head = `${prefix}_${body}`;
  return `${head}${checksumOf(head)}` as ApiKey;
}

/**
 * Checks the shape of a presented key, cheapest test first, and says what is wrong with it.
 * Never throws: any input, however long or strange, gets a verdict.
 */
export function parseApiKey(candidate: string | undefined, prefix: string = DEFAULT_KEY_PREFIX): ParsedApiKey {
  if (candidate === undefined || candidate.length === 0) return { ok: false, reason: 'missing' };
  const head = `${prefix}_`;
  if (!candidate.startsWith(head)) return { ok: false, reason: 'wrong_prefix' };
  if (candidate.length !== head.length + RANDOM_LENGTH + CHECKSUM_LENGTH) return { ok: false, reason: 'bad_length' };
  const body = candidate.slice(head.length);
  if (!BASE62_BODY.test(body)) return { ok: false, reason: 'bad_characters' };
  const checked = candidate.slice(0, head.length + RANDOM_LENGTH);
  if (checksumOf(checked) !== candidate.slice(checked.length)) return { ok: false, reason: 'bad_checksum' };
  return { ok: true, key: candidate as ApiKey };
}

/**
 * The SHA-256 of a key, hex: the only form of a key that leaves Secrets Manager. It takes any string so
 * that keys issued under an earlier prefix can still be found; callers on the request path parse first.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A form that is safe to log and show: the prefix and the first characters of the random part (`kr_AbCd…`). */
export function displayKey(key: ApiKey): string {
  const separator = key.indexOf('_');
  return `${key.slice(0, separator + 1 + DISPLAY_LENGTH)}…`;
}

/**
 * Describes any presented value safely for logs: the display form when it starts like a key of this
 * prefix, otherwise only its length. A value that is not a key may be some other secret, so none of it is shown.
 */
export function describeCandidate(candidate: string, prefix: string): string {
  const head = `${prefix}_`;
  const start = candidate.slice(head.length, head.length + DISPLAY_LENGTH);
  if (candidate.startsWith(head) && start.length === DISPLAY_LENGTH && BASE62_BODY.test(start)) return `${head}${start}…`;
  return `(${candidate.length} characters, not a ${prefix} key)`;
}

/** Somewhere in `text`, something with the shape of a key of any prefix (the prefix, `_`, 49 base62 characters). */
export function containsKeyShapedText(text: string): boolean {
  return KEY_SHAPED.test(text);
}
const KEY_SHAPED = new RegExp(`[a-z][a-z0-9]{1,15}_[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}`);

/** zlib's CRC-32 (IEEE 802.3) of the ASCII text, base62 in CHECKSUM_LENGTH characters. */
function checksumOf(text: string): string {
  let value = crc32(text);
  let encoded = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    encoded = BASE62.charAt(value % 62) + encoded;
    value = Math.floor(value / 62);
  }
  return encoded;
}
