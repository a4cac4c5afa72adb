import type { KeyVersion } from './key-version';
import { ApproximateLruCache } from './approximate-lru-cache';
import { TokenBucket } from './token-bucket';
import type { FindKeyVersion, LookupResult } from './accept-key';

export interface KeyCacheSettings {
  /** How long a version read from the table is used without reading it again. */
  readonly positiveTtlMs: number;
  /** How long "no such key" is remembered. */
  readonly negativeTtlMs: number;
  /** When the table cannot be read, how old a remembered version may be and still be used. */
  readonly staleWindowMs: number;
  /** Entries per cache (found and absent are kept apart, so unknown keys cannot evict known ones), and sources tracked. */
  readonly maxEntries: number;
  /**
   * Table reads per second, per request source, that may come back "not found". Only unknown keys spend it:
   * a key the table knows never does, so valid keys are never refused because of other traffic.
   */
  readonly unknownKeysPerSourcePerSecond: number;
}

/** Requests whose source is not known share one budget. */
export const UNKNOWN_SOURCE = '-';

interface FoundEntry {
  readonly version: KeyVersion;
  readonly readAtMs: number;
}

/**
 * Key versions by hash, read through a per-container cache. The window is not judged here: the caller
 * checks it on every use, so a cached version is never accepted past its own end.
 *
 * Unknown keys are bounded per source: a source (the client IP) whose lookups came back "not found" more
 * than its budget allows gets its further unknown keys refused without a read, until the budget refills.
 * Keys this container has read before, and sources that present known keys, are never held back.
 */
export class CachedKeyLookup {
  private readonly found: ApproximateLruCache<string, FoundEntry>;
  private readonly absent: ApproximateLruCache<string, number>;
  private readonly unknownKeyBudgets: ApproximateLruCache<string, TokenBucket>;

  constructor(
    private readonly findByHash: FindKeyVersion,
    private readonly settings: KeyCacheSettings,
  ) {
    this.found = new ApproximateLruCache(settings.maxEntries);
    this.absent = new ApproximateLruCache(settings.maxEntries);
    this.unknownKeyBudgets = new ApproximateLruCache(settings.maxEntries);
  }

  async lookup(keyHash: string, nowMs: number, source: string = UNKNOWN_SOURCE): Promise<LookupResult> {
    const known = this.found.get(keyHash);
    if (known !== undefined && nowMs - known.readAtMs < this.settings.positiveTtlMs) {
      return { kind: 'found', version: known.version, source: 'cache' };
    }
    const absentSinceMs = this.absent.get(keyHash);
    if (absentSinceMs !== undefined && nowMs - absentSinceMs < this.settings.negativeTtlMs) return { kind: 'absent', source: 'cache' };
    const budget = this.unknownKeyBudgets.get(source);
    if (known === undefined && budget !== undefined && !budget.hasToken(nowMs)) return { kind: 'throttled' };

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
      this.spendUnknownKeyBudget(source, budget, nowMs);
      return { kind: 'absent', source: 'table' };
    }
    this.absent.delete(keyHash);
    this.found.set(keyHash, { version, readAtMs: nowMs });
    return { kind: 'found', version, source: 'table' };
  }

  /** Drops what this container knows of a key, so that its next use reads the table (a revocation was announced). */
  forget(keyHash: string): void {
    this.found.delete(keyHash);
  }

  private spendUnknownKeyBudget(source: string, budget: TokenBucket | undefined, nowMs: number): void {
    if (budget !== undefined) {
      budget.tryTake(nowMs);
      return;
    }
    const fresh = new TokenBucket(this.settings.unknownKeysPerSourcePerSecond, nowMs);
    fresh.tryTake(nowMs);
    this.unknownKeyBudgets.set(source, fresh);
  }
}
