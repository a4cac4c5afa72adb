import { describeCandidate, hashApiKey, parseApiKey, type KeyFormatFailure } from './api-key';
import { windowStatus, type KeyVersion } from './key-version';

/**
 * Where a lookup's answer came from. `stale`: the table failed and a recently read version was used;
 * `known-set`: an unknown key, refused on the container's set of known keys without a read.
 */
export type LookupSource = 'cache' | 'table' | 'stale' | 'known-set';

/** A key version looked up by key hash, through a cache or straight from the table. */
export type LookupResult =
  | { readonly kind: 'found'; readonly version: KeyVersion; readonly source: LookupSource; readonly failure?: string }
  /** `known-set`: the container's set of known keys says no such key exists, so the table was not read. */
  | { readonly kind: 'absent'; readonly source: 'cache' | 'table' | 'known-set' }
  | { readonly kind: 'failed'; readonly failure: string }
  | { readonly kind: 'throttled' };

export type KeyLookup = (keyHash: string) => Promise<LookupResult>;

/** Finds a key version by the SHA-256 of its key; the caller decides about consistency and caching. */
export type FindKeyVersion = (keyHash: string) => Promise<KeyVersion | undefined>;

/** Why a presented key is not accepted. Logged and counted; an API caller only ever sees "Unauthorized". */
export type KeyRefusal = KeyFormatFailure | 'not_found' | 'not_yet_valid' | 'expired' | 'revoked' | 'lookup_failed' | 'lookup_throttled';

export type Acceptance =
  | { readonly accepted: true; readonly version: KeyVersion; readonly source: LookupSource; readonly failure?: string }
  | {
      readonly accepted: false;
      readonly reason: KeyRefusal;
      /** Safe to log: a key's display form, or a description of what was presented. */
      readonly presented: string;
      readonly version?: KeyVersion;
      readonly source?: LookupSource;
      readonly failure?: string;
    };

/**
 * The one definition of "this key is accepted", run by the authorizer on every request and by the rotation
 * before it lets a key become current: well-formed with a good checksum (no I/O otherwise), found by hash,
 * inside its window and not revoked.
 */
export async function acceptKey(candidate: string, options: { readonly prefix: string; readonly lookup: KeyLookup; readonly nowMs: number }): Promise<Acceptance> {
  const parsed = parseApiKey(candidate, options.prefix);
  if (!parsed.ok) return { accepted: false, reason: parsed.reason, presented: describeCandidate(candidate, options.prefix) };
  const result = await options.lookup(hashApiKey(parsed.key));
  switch (result.kind) {
    case 'absent':
      return { accepted: false, reason: 'not_found', presented: describeCandidate(candidate, options.prefix), source: result.source };
    case 'failed':
      return { accepted: false, reason: 'lookup_failed', presented: describeCandidate(candidate, options.prefix), failure: result.failure };
    case 'throttled':
      return { accepted: false, reason: 'lookup_throttled', presented: describeCandidate(candidate, options.prefix) };
    case 'found':
      break;
  }
  const { version, source, failure } = result;
  const status = windowStatus(version, options.nowMs);
  if (status !== 'valid') return { accepted: false, reason: status, presented: version.keyDisplay, version, source };
  return failure === undefined ? { accepted: true, version, source } : { accepted: true, version, source, failure };
}

/** A lookup straight from the table, with no cache: what the rotation uses (its reads are consistent). */
export function directLookup(findByHash: FindKeyVersion): KeyLookup {
  return async (keyHash) => {
    const version = await findByHash(keyHash);
    return version === undefined ? { kind: 'absent', source: 'table' } : { kind: 'found', version, source: 'table' };
  };
}
