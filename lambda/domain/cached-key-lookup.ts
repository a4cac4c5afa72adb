import type { KeyVersion } from './key-version';
import { ApproximateLruCache } from './approximate-lru-cache';
import { TokenBucket } from './token-bucket';
import type { FindKeyVersion, LookupResult } from './accept-key';
import type { KnownKeys } from './known-keys';

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
 * With the known-key set (`known`), a key the set holds is read whatever else its source sends, and one it does
 * not hold is refused without a read while the set is fresh (after one sync otherwise): valid keys are never
 * refused because of other traffic, and unknown keys cost no read. Without a complete set (a new install
 * before its first backfill, or a set that cannot be loaded), unknown keys are bounded per source as before: a
 * source whose lookups came back "not found" more than its budget allows gets its further unknown keys refused
 * without a read, until the budget refills; keys this container has read before are never held back.
 */
export class CachedKeyLookup {
  private readonly found: ApproximateLruCache<string, FoundEntry>;
  private readonly absent: ApproximateLruCache<string, number>;
  private readonly unknownKeyBudgets: ApproximateLruCache<string, TokenBucket>;

  constructor(
    private readonly findByHash: FindKeyVersion,
    private readonly settings: KeyCacheSettings,
    private readonly known?: KnownKeys,
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
    let answer = known === undefined ? await this.askKnownKeys(keyHash, nowMs) : 'known';
    let budget = answer === 'known' ? undefined : this.unknownKeyBudgets.get(source);
    if (known === undefined && budget !== undefined && !budget.hasToken(nowMs) && this.known !== undefined) {
      // A fresh container whose set is still loading: rather than refuse a key that may be valid, wait for the set.
      await this.known.loaded();
      answer = await this.askKnownKeys(keyHash, nowMs);
      if (answer === 'known') budget = undefined;
    }
    if (answer === 'unknown') {
      this.absent.set(keyHash, nowMs);
      return { kind: 'absent', source: 'known-set' };
    }
    if (known === undefined && budget !== undefined && !budget.hasToken(nowMs)) return { kind: 'throttled' };
    return this.read(keyHash, nowMs, source, known, answer === 'known');
  }

  /** The set's answer, after a sync when it is stale; `unsure` when it cannot say (then the budget decides). */
  private async askKnownKeys(keyHash: string, nowMs: number): Promise<'known' | 'unknown' | 'unsure'> {
    if (this.known === undefined) return 'unsure';
    const answer = this.known.classify(keyHash, nowMs);
    if (answer !== 'stale') return answer;
    if (!(await this.known.sync())) return 'unsure';
    const again = this.known.classify(keyHash, nowMs);
    return again === 'stale' ? 'unsure' : again;
  }

  private async read(keyHash: string, nowMs: number, source: string, known: FoundEntry | undefined, inKnownSet: boolean): Promise<LookupResult> {
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
      if (!inKnownSet) this.spendUnknownKeyBudget(source, this.unknownKeyBudgets.get(source), nowMs);
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
