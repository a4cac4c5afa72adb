import { KNOWN_KEYS_FEED_OVERLAP_MS } from '../contracts/known-keys';
import { KnownKeySet } from './known-key-set';

/** Where an authorizer container learns which keys exist: a snapshot, then the additions since. */
export interface KnownKeySource {
  /** Every known key's prefix, and when the set was last made complete (undefined: never yet, so not to be trusted). */
  loadKnownKeys(): Promise<{ readonly prefixes: readonly string[]; readonly completeSinceMs?: number }>;
  /** The prefixes added from the minute of `sinceMs` on (a consistent read). */
  knownKeysAddedSince(sinceMs: number): Promise<readonly string[]>;
}

/**
 * What the set says of a key the container has not cached: `known` (read it, whatever the caller's budget),
 * `unknown` (refuse it without a read: the set was synced within the window, and a new key is presented only
 * after that long), `stale` (sync first), `unsure` (no complete set: the per-source budget decides, as before).
 */
export type KnownKeyAnswer = 'known' | 'unknown' | 'stale' | 'unsure';

/** Snapshots are loaded again this often while none is complete (a new install, before the monitor's first run). */
const RELOAD_INCOMPLETE_MS = 60_000;

/**
 * The hashes of every key version keyroll has registered, in each authorizer container: a valid key is never
 * refused because of other traffic (it is read whatever the caller's budget), and an unknown key costs no read
 * while the set is fresh and at most one small sync per window when it is not.
 */
export class KnownKeys {
  private readonly set = new KnownKeySet();
  private complete = false;
  private loading: Promise<void> | undefined;
  private syncing: Promise<boolean> | undefined;
  /** When the last successful read of the additions started: every key registered before then is in the set. */
  private syncedAtMs = Number.NEGATIVE_INFINITY;
  private loadedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly source: KnownKeySource,
    private readonly windowMs: number,
    private readonly clock: () => number,
  ) {}

  get size(): number {
    return this.set.size;
  }

  get byteLength(): number {
    return this.set.byteLength;
  }

  /** Starts loading the snapshot, in the background; the first requests meanwhile go by the budget. */
  start(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Waits for a load in progress, if there is one. */
  async loaded(): Promise<void> {
    await this.loading;
  }

  classify(keyHash: string, nowMs: number): KnownKeyAnswer {
    if (!this.complete) {
      if (nowMs - this.loadedAtMs >= RELOAD_INCOMPLETE_MS) void this.start();
      return 'unsure';
    }
    if (this.set.has(keyHash)) return 'known';
    return nowMs - this.syncedAtMs <= this.windowMs ? 'unknown' : 'stale';
  }

  /** Reads the additions since the last sync (one at a time: callers share it); false when the read failed. */
  sync(): Promise<boolean> {
    this.syncing ??= this.readAdditions().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async load(): Promise<void> {
    const startMs = this.clock();
    this.loadedAtMs = startMs;
    try {
      const { prefixes, completeSinceMs } = await this.source.loadKnownKeys();
      for (const prefix of prefixes) this.set.add(prefix);
      // Keys registered while the snapshot was read are in the additions; a set is trusted once it is known to be complete.
      if (await this.readAdditions(startMs)) this.complete = completeSinceMs !== undefined && completeSinceMs <= startMs;
    } catch {
      // Retried by a later classify; meanwhile the budget decides.
    }
  }

  private async readAdditions(fromMs: number = this.syncedAtMs): Promise<boolean> {
    const startMs = this.clock();
    const sinceMs = Number.isFinite(fromMs) ? fromMs - KNOWN_KEYS_FEED_OVERLAP_MS : startMs - KNOWN_KEYS_FEED_OVERLAP_MS;
    try {
      for (const prefix of await this.source.knownKeysAddedSince(sinceMs)) this.set.add(prefix);
      this.syncedAtMs = Math.max(this.syncedAtMs, startMs);
      return true;
    } catch {
      return false;
    }
  }
}
