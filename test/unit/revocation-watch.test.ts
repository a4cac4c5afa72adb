import { CachedKeyLookup } from '../../lambda/domain/cached-key-lookup';
import { KeyAuthorizer } from '../../lambda/domain/key-authorizer';
import type { KeyVersion } from '../../lambda/domain/key-version';
import { RevocationWatch } from '../../lambda/domain/revocation-watch';
import { RouteScopes } from '../../lambda/domain/route-scopes';
import { DEFAULT_CACHE, keyVersion, STAGE_ARN } from '../support/authorizer-fixture';

/** The revocation feed: an authorizer container drops a revoked key from its cache within one poll interval. */
describe('RevocationWatch', () => {
  function container() {
    const { key, version } = keyVersion();
    const table = new Map<string, KeyVersion>([[version.keyHash, version]]);
    const feed: { keyHash: string; atMs: number }[] = [];
    const reads: number[] = [];
    let feedFails = false;
    const lookup = new CachedKeyLookup(async (hash) => table.get(hash), DEFAULT_CACHE);
    const watch = new RevocationWatch(
      async (sinceMs) => {
        reads.push(sinceMs);
        if (feedFails) throw new Error('ProvisionedThroughputExceededException');
        return feed.filter((entry) => entry.atMs >= sinceMs).map((entry) => entry.keyHash);
      },
      lookup,
      1_000,
      0,
    );
    const authorizer = new KeyAuthorizer({ lookup, routes: RouteScopes.parse(undefined), keyPrefix: 'kr', revocations: watch });
    const outcome = async (nowMs: number) => (await authorizer.authorize([key], { stageArn: STAGE_ARN, methodArn: `${STAGE_ARN}/GET/hello`, method: 'GET', paths: ['/hello'] }, nowMs)).outcome;
    const revoke = (atMs: number) => {
      table.set(version.keyHash, { ...version, revokedAtMs: atMs, revokedReason: 'leaked' });
      feed.push({ keyHash: version.keyHash, atMs });
    };
    return { outcome, revoke, reads, setFeedFails: (fails: boolean) => (feedFails = fails) };
  }

  it('drops a revoked key that the cache still holds at the next poll, well before the cache TTL', async () => {
    const c = container();
    expect(await c.outcome(100)).toBe('allow');
    c.revoke(500);
    expect(await c.outcome(900)).toBe('allow'); // cached, and the next poll is not due
    expect(await c.outcome(1_000)).toBe('unauthorized');
    expect(DEFAULT_CACHE.positiveTtlMs).toBeGreaterThan(1_000);
  });

  it('reads the feed at most once per interval, however many requests arrive', async () => {
    const c = container();
    for (let nowMs = 0; nowMs < 5_000; nowMs += 10) await c.outcome(nowMs);
    expect(c.reads).toHaveLength(4);
  });

  it('keeps deciding when the feed cannot be read, and catches up at the next interval', async () => {
    const c = container();
    await c.outcome(100);
    c.revoke(200);
    c.setFeedFails(true);
    expect(await c.outcome(1_100)).toBe('allow');
    c.setFeedFails(false);
    expect(await c.outcome(2_100)).toBe('unauthorized');
  });
});
