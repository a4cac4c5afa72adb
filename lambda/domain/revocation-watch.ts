import type { CachedKeyLookup } from './cached-key-lookup';
import type { KnownKeys } from './known-keys';

/** Revocations announced this long before the last poll are read again: clocks and writes are not instant. */
const OVERLAP_MS = 5_000;

/**
 * Keeps a container's cache from outliving a revocation: at most once per interval, before a decision, it reads
 * the keys revoked since its last look and drops them from the cache, so their next use reads the table and is
 * refused. Costs one small read per container per interval, and only while requests arrive. A failed read is
 * retried at the next interval; meanwhile the cache TTL still bounds how long a revoked key can work.
 */
export class RevocationWatch {
  private lastPollMs: number;

  constructor(
    private readonly revokedSince: (sinceMs: number) => Promise<string[]>,
    private readonly lookup: Pick<CachedKeyLookup, 'forget'>,
    private readonly intervalMs: number,
    startedAtMs: number,
    /** The known-key set, whose additions are read in the same beat, so that it stays fresh while requests arrive. */
    private readonly known?: Pick<KnownKeys, 'sync'>,
  ) {
    this.lastPollMs = startedAtMs;
  }

  async catchUp(nowMs: number): Promise<void> {
    if (nowMs - this.lastPollMs < this.intervalMs) return;
    const sinceMs = this.lastPollMs - OVERLAP_MS;
    this.lastPollMs = nowMs;
    const [revoked] = await Promise.all([this.revokedSince(sinceMs).catch(() => [] as string[]), this.known?.sync()]);
    for (const keyHash of revoked) this.lookup.forget(keyHash);
  }
}
