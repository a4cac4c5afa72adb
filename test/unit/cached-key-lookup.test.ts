import { CachedKeyLookup, type KeyCacheSettings } from '../../lambda/domain/cached-key-lookup';
import type { KeyVersion } from '../../lambda/domain/key-version';

const settings: KeyCacheSettings = { positiveTtlMs: 30_000, negativeTtlMs: 5_000, staleWindowMs: 300_000, maxEntries: 100, unknownKeysPerSourcePerSecond: 10 };
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
    const lookup = new CachedKeyLookup(findByHash, settings);
    await expect(lookup.lookup('known', 0)).resolves.toEqual({ kind: 'found', version, source: 'table' });
    await expect(lookup.lookup('known', 29_999)).resolves.toEqual({ kind: 'found', version, source: 'cache' });
    expect(state.reads).toBe(1);
    await expect(lookup.lookup('known', 30_000)).resolves.toEqual({ kind: 'found', version, source: 'table' });
    expect(state.reads).toBe(2);
  });

  it('remembers an unknown key only for the negative TTL', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings);
    await expect(lookup.lookup('unknown', 0)).resolves.toEqual({ kind: 'absent', source: 'table' });
    await expect(lookup.lookup('unknown', 4_999)).resolves.toEqual({ kind: 'absent', source: 'cache' });
    await expect(lookup.lookup('unknown', 5_000)).resolves.toEqual({ kind: 'absent', source: 'table' });
    expect(state.reads).toBe(2);
  });

  it('keeps recently read keys working through a table outage, for the stale window only', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings);
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
    const lookup = new CachedKeyLookup(findByHash, settings);
    await expect(lookup.lookup('known', 0)).resolves.toEqual({ kind: 'failed', failure: 'ProvisionedThroughputExceededException' });
  });

  it('bounds the table reads a flood of unknown keys from one source costs, and keeps serving known keys', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings);
    await lookup.lookup('known', 0, '198.51.100.1');
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const nowMs = Math.floor(i / 10); // 10,000 distinct keys in one second
      const { kind } = await lookup.lookup(`flood-${i}`, nowMs, '203.0.113.66');
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      if (i % 1000 === 0) await expect(lookup.lookup('known', nowMs, '203.0.113.66')).resolves.toMatchObject({ kind: 'found', source: 'cache' });
    }
    // One second's budget (10) plus the refill over that second (10), plus the first read of the known key.
    expect(state.reads).toBeLessThanOrEqual(21);
    expect(outcomes.get('throttled')).toBeGreaterThan(9_900);
  });

  it('never holds back a source that has not spent its budget on unknown keys', async () => {
    const { findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, settings);
    for (let i = 0; i < 1_000; i++) await lookup.lookup(`flood-${i}`, 0, '203.0.113.66');
    await expect(lookup.lookup('known', 0, '198.51.100.1')).resolves.toMatchObject({ kind: 'found', source: 'table' });
    await expect(lookup.lookup('unknown-elsewhere', 0, '198.51.100.1')).resolves.toEqual({ kind: 'absent', source: 'table' });
  });

  it('reads a key the table knows even from a source whose budget is spent: only "not found" spends it', async () => {
    const { state, findByHash } = table();
    const lookup = new CachedKeyLookup(findByHash, { ...settings, unknownKeysPerSourcePerSecond: 1 });
    await expect(lookup.lookup('unknown-1', 0, 'nat')).resolves.toEqual({ kind: 'absent', source: 'table' });
    await expect(lookup.lookup('unknown-2', 0, 'nat')).resolves.toEqual({ kind: 'throttled' });
    // A key already read by this container is refreshed whatever the budget.
    await lookup.lookup('known', 0, 'elsewhere');
    await expect(lookup.lookup('known', 30_000, 'nat')).resolves.toMatchObject({ kind: 'found', source: 'table' });
    await expect(lookup.lookup('unknown-3', 1_000, 'nat')).resolves.toEqual({ kind: 'absent', source: 'table' });
    expect(state.reads).toBe(4);
  });
});
