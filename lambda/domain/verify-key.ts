import { hashApiKey, parseApiKey, type ApiKey, type KeyFormatFailure } from './api-key';
import { windowStatus, type KeyVersion } from './key-version';

/** The outcome of checking a presented key. Only `valid` lets a request through. */
export type Verification =
  | { readonly status: 'valid'; readonly version: KeyVersion }
  | { readonly status: 'malformed'; readonly reason: KeyFormatFailure }
  | { readonly status: 'not_found' }
  | { readonly status: 'not_yet_valid' | 'expired' | 'revoked'; readonly version: KeyVersion };

export type VerificationStatus = Verification['status'];

/** Finds a key version by the SHA-256 of its key; the caller decides about consistency and caching. */
export type FindKeyVersion = (keyHash: string) => Promise<KeyVersion | undefined>;

/**
 * Verifies a presented key: format and checksum first (no I/O for a malformed key), then one lookup by
 * hash, then the version's window. The authorizer and the rotation's testSecret both run this.
 */
export async function verifyKey(
  candidate: string | undefined,
  options: { readonly prefix: string; readonly findByHash: FindKeyVersion; readonly nowMs: number },
): Promise<Verification> {
  const parsed = parseApiKey(candidate, options.prefix);
  if (!parsed.ok) return { status: 'malformed', reason: parsed.reason };
  return verifyParsedKey(parsed.key, options);
}

/** {@link verifyKey} for a key that has already passed {@link parseApiKey}. */
export async function verifyParsedKey(
  key: ApiKey,
  options: { readonly findByHash: FindKeyVersion; readonly nowMs: number },
): Promise<Verification> {
  const version = await options.findByHash(hashApiKey(key));
  if (version === undefined) return { status: 'not_found' };
  return { status: windowStatus(version, options.nowMs), version };
}
