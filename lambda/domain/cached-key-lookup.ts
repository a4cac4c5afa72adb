import type { KeyVersion } from './key-version';
import { LruCache } from './lru-cache';
import { TokenBucket } from './token-bucket';
import type { FindKeyVersion } from './verify-key';

export interface KeyCacheSettings {
  /** How long a version read from the table is used without reading it again. */
  readonly positiveTtlMs: number;
  /** How long "no such key" is remembered. */
  readonly negativeTtlMs: number;
  /** When the table cannot be read, how old a remembered version may be and still be used. */
  readonly staleWindowMs: number;
  /** Entries per cache (found and absent are kept apart, so unknown keys cannot evict known ones). */
  readonly maxEntries: number;
  /** Table reads per second for keys this container does not know. */
  readonly lookupRatePerSecond: number;
}

/** Where a lookup's answer came from. `stale`: the table failed and a recently read version was used. */
export type LookupSource = 'cache' | 'table' | 'stale';

export type LookupResult =
  | { readonly kind: 'found'; readonly version: KeyVersion; readonly source: LookupSource; readonly failure?: string }
  | { readonly kind: 'absent'; readonly source: 'cache' | 'table' }
  | { readonly kind: 'failed'; readonly failure: string }
  | { readonly kind: 'throttled' };

interface FoundEntry {
  readonly version: KeyVersion;
  readonly readAtMs: number;
}

/**
 * Key versions by hash, read through a per-container cache. The window is not judged here: the caller
 * checks it on every use, so a cached version is never accepted past its own end.
 */
export class CachedKeyLookup {
  private readonly found: LruCache<string, FoundEntry>;
  private readonly absent: LruCache<string, number>;
  private readonly unknownKeyLookups: TokenBucket;

  constructor(
    private readonly findByHash: FindKeyVersion,
    private readonly settings: KeyCacheSettings,
    nowMs: number,
  ) {
    this.found = new LruCache(settings.maxEntries);
    this.absent = new LruCache(settings.maxEntries);
    this.unknownKeyLookups = new TokenBucket(settings.lookupRatePerSecond, nowMs);
  }

  async lookup(keyHash: string, nowMs: number): Promise<LookupResult> {
    const known = this.found.get(keyHash);
    if (known !== undefined && nowMs - known.readAtMs < this.settings.positiveTtlMs) {
      return { kind: 'found', version: known.version, source: 'cache' };
    }
    const absentSinceMs = this.absent.get(keyHash);
    if (absentSinceMs !== undefined && nowMs - absentSinceMs < this.settings.negativeTtlMs) return { kind: 'absent', source: 'cache' };
    if (known === undefined && !this.unknownKeyLookups.tryTake(nowMs)) return { kind: 'throttled' };

    let version: KeyVersion | undefined;
    try {
      version = await this.findByHash(keyHash);
    } catch (error) {
      const failure = error instanceof Error ? error.name : 'unknown error';
      if (known !== undefined && nowMs - known.readAtMs < this.settings.staleWindowMs) {
        return { kind: 'found', version: known.version, source: 'stale', failure };
      }
      return { kind: 'failed', failure };
    }
    if (version === undefined) {
      this.found.delete(keyHash);
      this.absent.set(keyHash, nowMs);
      return { kind: 'absent', source: 'table' };
    }
    this.absent.delete(keyHash);
    this.found.set(keyHash, { version, readAtMs: nowMs });
    return { kind: 'found', version, source: 'table' };
  }
}
