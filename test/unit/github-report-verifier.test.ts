import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchGitHubKeys, GitHubKeysUnavailableError, GitHubReportVerifier, GITHUB_KEYS_POLICY, LeakReportRejectedError, type PublicKeysFetcher, type PublishedKey } from '../../lambda/adapters/github-secret-scanning';
import { TestClock } from '../support/rotation-fixture';

const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const published = (id: string, keys: ReturnType<typeof pair>): PublishedKey => ({ key_identifier: id, key: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
const BODY = JSON.stringify([{ token: 'kr_x', type: 'keyroll_api_key', url: 'https://github.com/o/r', source: 'content' }]);
const signed = (keys: ReturnType<typeof pair>) => sign('sha256', Buffer.from(BODY), keys.privateKey).toString('base64');

/** GitHub's key list as a scripted fetcher: what it publishes now, whether it is down, and how often it was asked. */
function scriptedGitHub(initial: PublishedKey[]) {
  const state = { keys: initial, down: false, fetches: 0 };
  const fetcher: PublicKeysFetcher = async () => {
    state.fetches++;
    if (state.down) throw new Error('GitHub\'s secret scanning keys answered 502');
    return { keys: state.keys };
  };
  return { state, fetcher };
}

/** The partner endpoint cannot be made deaf (issue 20, part 2): the key list survives floods and failed fetches. */
describe('GitHub\'s published keys, as the leak report endpoint keeps them', () => {
  const current = pair();

  it('fetches no more than the policy allows however many unknown key ids a flood names: at most 6 extra an hour', async () => {
    const clock = new TestClock();
    const github = scriptedGitHub([published('current', current)]);
    const verifier = new GitHubReportVerifier(github.fetcher, clock.now);
    // An hour of forged reports, 3 a second, each naming a key id of its own.
    for (let second = 0; second < 3600; second++) {
      for (let i = 0; i < 3; i++) await expect(verifier.verify(BODY, `made-up-${second}-${i}`, 'c2ln')).rejects.toThrow(LeakReportRejectedError);
      clock.advance(1_000);
    }
    // The first load, one refetch per 10 minutes for unknown ids, and the hourly refresh.
    expect(github.state.fetches).toBeLessThanOrEqual(1 + 6 + 1);
    await expect(verifier.verify(BODY, 'current', signed(current))).resolves.toHaveLength(1);
  });

  it('keeps the last good keys when a refetch fails, so genuine reports are still checked', async () => {
    const clock = new TestClock();
    const github = scriptedGitHub([published('current', current)]);
    const verifier = new GitHubReportVerifier(github.fetcher, clock.now);
    await verifier.verify(BODY, 'current', signed(current));
    github.state.down = true;
    clock.advance(GITHUB_KEYS_POLICY.refreshAfterMs);
    await expect(verifier.verify(BODY, 'current', signed(current))).resolves.toHaveLength(1);
    await expect(verifier.verify(BODY, 'unknown', 'c2ln')).rejects.toThrow(LeakReportRejectedError);
    await expect(verifier.verify(BODY, 'current', signed(current))).resolves.toHaveLength(1);
  });

  it('trusts a key GitHub adds within 10 minutes, and stops trusting a withdrawn one at the next fetch (within the hour)', async () => {
    const clock = new TestClock();
    const next = pair();
    const github = scriptedGitHub([published('current', current)]);
    const verifier = new GitHubReportVerifier(github.fetcher, clock.now);
    await verifier.verify(BODY, 'current', signed(current));
    github.state.keys = [published('next', next)];
    // A report by the new key names an unknown id: fetched again once 10 minutes have passed since the last fetch.
    await expect(verifier.verify(BODY, 'next', signed(next))).rejects.toThrow('a key GitHub does not publish');
    clock.advance(GITHUB_KEYS_POLICY.unknownKeyRefetchAfterMs);
    await expect(verifier.verify(BODY, 'next', signed(next))).resolves.toHaveLength(1);
    await expect(verifier.verify(BODY, 'current', signed(current))).rejects.toThrow('a key GitHub does not publish');

    // Without a new key to look for, the hourly refresh drops the withdrawn one.
    const quiet = scriptedGitHub([published('current', current)]);
    const refreshing = new GitHubReportVerifier(quiet.fetcher, clock.now);
    await refreshing.verify(BODY, 'current', signed(current));
    quiet.state.keys = [published('next', next)];
    clock.advance(GITHUB_KEYS_POLICY.refreshAfterMs);
    await expect(refreshing.verify(BODY, 'current', signed(current))).rejects.toThrow('a key GitHub does not publish');
  });

  it('answers unavailable (503) while it has never read the keys, and asks GitHub again at most once a minute', async () => {
    const clock = new TestClock();
    const github = scriptedGitHub([published('current', current)]);
    github.state.down = true;
    const verifier = new GitHubReportVerifier(github.fetcher, clock.now);
    for (let i = 0; i < 100; i++) await expect(verifier.verify(BODY, 'current', signed(current))).rejects.toThrow(GitHubKeysUnavailableError);
    expect(github.state.fetches).toBe(1);
    github.state.down = false;
    clock.advance(GITHUB_KEYS_POLICY.unloadedRetryAfterMs);
    await expect(verifier.verify(BODY, 'current', signed(current))).resolves.toHaveLength(1);
    expect(github.state.fetches).toBe(2);
  });
});

describe('Fetching GitHub\'s keys over HTTP', () => {
  const keys = pair();
  const list = JSON.stringify({ public_keys: [{ ...published('k1', keys), is_current: true }] });

  async function serve(handler: Parameters<typeof createServer>[1]) {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  it('asks conditionally with the entity tag it was given, and reads a 304 as "nothing new"', async () => {
    const seen: (string | undefined)[] = [];
    const server = await serve((request, response) => {
      const tag = request.headers['if-none-match'];
      seen.push(typeof tag === 'string' ? tag : undefined);
      if (tag === '"v1"') return void response.writeHead(304).end();
      response.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' }).end(list);
    });
    try {
      const fetchKeys = fetchGitHubKeys(server.url);
      await expect(fetchKeys(undefined)).resolves.toEqual({ keys: [published('k1', keys)], entityTag: '"v1"' });
      await expect(fetchKeys('"v1"')).resolves.toEqual({ notModified: true });
      expect(seen).toEqual([undefined, '"v1"']);
    } finally {
      await server.close();
    }
  });

  it('gives up after its timeout, and follows no redirect', async () => {
    const slow = await serve(() => undefined);
    const moved = await serve((_request, response) => void response.writeHead(302, { location: 'http://example.com/keys' }).end());
    try {
      await expect(fetchGitHubKeys(slow.url, 200)(undefined)).rejects.toThrow();
      await expect(fetchGitHubKeys(moved.url)(undefined)).rejects.toThrow();
    } finally {
      await Promise.all([slow.close(), moved.close()]);
    }
  });
});
