import { CachedKeyLookup, type KeyCacheSettings } from '../../lambda/domain/cached-key-lookup';
import type { KeyVersion } from '../../lambda/domain/key-version';
import { LruCache } from '../../lambda/domain/lru-cache';
import { TokenBucket } from '../../lambda/domain/token-bucket';

const settings: KeyCacheSettings = { positiveTtlMs: 30_000, negativeTtlMs: 5_000, staleWindowMs: 300_000, maxEntries: 100, lookupRatePerSecond: 10 };
const version: KeyVersion = { keyHash: 'known', clientId: 'acme', versionId: 'v1', keyDisplay: 'kr_AbCd…', scopes: [], notBeforeMs: 0 };

/** A key table that counts its reads and can be made to fail. */
function table() {
  const state = { reads: 0, failing: false };
  const findByHash = async (keyHash: string) => {
    state.reads++;
    if (state.failing) throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    return keyHash === 'known' ? version : undefined;
  };
  return { state, findByHash };
}

describe('Cached key lookup', () => {
  it('reads a known key once per TTL', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings, 0);
    await expect(lookup.lookup('known', 0)).resolves.toEqual({ kind: 'found', version, source: 'table' });
    await expect(lookup.lookup('known', 29_999)).resolves.toEqual({ kind: 'found', version, source: 'cache' });
    expect(state.reads).toBe(1);
    await expect(lookup.lookup('known', 30_000)).resolves.toEqual({ kind: 'found', version, source: 'table' });
    expect(state.reads).toBe(2);
  });

  it('remembers an unknown key only for the negative TTL', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings, 0);
    await expect(lookup.lookup('unknown', 0)).resolves.toEqual({ kind: 'absent', source: 'table' });
    await expect(lookup.lookup('unknown', 4_999)).resolves.toEqual({ kind: 'absent', source: 'cache' });
    await expect(lookup.lookup('unknown', 5_000)).resolves.toEqual({ kind: 'absent', source: 'table' });
    expect(state.reads).toBe(2);
  });

  it('keeps recently read keys working through a table outage, for the stale window only', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings, 0);
    await lookup.lookup('known', 0);
    state.failing = true;
    await expect(lookup.lookup('known', 31_000)).resolves.toEqual({
      kind: 'found',
      version,
      source: 'stale',
      failure: 'ProvisionedThroughputExceededException',
    });
    await expect(lookup.lookup('known', 299_999)).resolves.toMatchObject({ kind: 'found', source: 'stale' });
    await expect(lookup.lookup('known', 300_000)).resolves.toEqual({ kind: 'failed', failure: 'ProvisionedThroughputExceededException' });
  });

  it('refuses keys it has not read when the table fails', async () => {
    const { state, findByHash } = table();
    state.failing = true;
    const lookup = new CachedKeyLookup(findByHash, settings, 0);
    await expect(lookup.lookup('known', 0)).resolves.toEqual({ kind: 'failed', failure: 'ProvisionedThroughputExceededException' });
  });

  it('bounds table reads during a flood of unknown keys, and keeps serving known keys', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings, 0);
    await lookup.lookup('known', 0);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const nowMs = Math.floor(i / 10); // 10,000 distinct keys in one second
      const { kind } = await lookup.lookup(`flood-${i}`, nowMs);
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      if (i % 1000 === 0) await expect(lookup.lookup('known', nowMs)).resolves.toMatchObject({ kind: 'found', source: 'cache' });
    }
    // One second's budget (10) plus the refill over that second (10), plus the first read of the known key.
    expect(state.reads).toBeLessThanOrEqual(21);
    expect(outcomes.get('throttled')).toBeGreaterThan(9_900);
  });

  it('refreshes a known key whose entry expired even when the unknown-key budget is spent', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, { ...settings, lookupRatePerSecond: 1 }, 0);
    await lookup.lookup('known', 0);
    await expect(lookup.lookup('unknown-1', 0)).resolves.toEqual({ kind: 'throttled' });
    await expect(lookup.lookup('known', 30_000)).resolves.toMatchObject({ kind: 'found', source: 'table' });
    expect(state.reads).toBe(2);
  });
});

describe('LRU cache', () => {
  it('never holds more than its capacity, evicting the least recently used', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1);
    cache.set('d', 4);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(3);
  });

  it('refuses a capacity that cannot bound anything', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});

describe('Token bucket', () => {
  it('allows a one-second burst, then the rate', () => {
    const bucket = new TokenBucket(5, 0);
    expect(Array.from({ length: 7 }, () => bucket.tryTake(0))).toEqual([true, true, true, true, true, false, false]);
    expect(bucket.tryTake(199)).toBe(false);
    expect(bucket.tryTake(200)).toBe(true);
    expect(bucket.tryTake(10_000)).toBe(true);
  });
});
