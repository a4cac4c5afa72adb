import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyProvider, type KeyProviderEvent } from '../../client/key-provider';
import type { CurrentKey, KeySource } from '../../client/key-source';
import { buildNotification } from '../../lambda/domain/notifications';

/** A key source whose answers the test sets; it counts reads and can be made to fail or to wait. */
class ScriptedSource implements KeySource {
  readonly description = 'scripted';
  reads = 0;
  failing = false;
  current: CurrentKey = { key: 'kr_one', versionId: 'v1' };
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.gate = undefined;
  }
  async currentKey(): Promise<CurrentKey> {
    this.reads++;
    if (this.gate !== undefined) await this.gate;
    if (this.failing) throw new Error('ThrottlingException: Rate exceeded');
    return this.current;
  }
}

function provider(source: ScriptedSource, options: { clock?: { nowMs: number }; header?: string } = {}) {
  const events: KeyProviderEvent[] = [];
  const clock = options.clock ?? { nowMs: 0 };
  const keys = new KeyProvider({ source, clientId: 'acme', refreshIntervalMs: 60_000, clock: () => clock.nowMs, onEvent: (event) => events.push(event), ...(options.header === undefined ? {} : { header: options.header }) });
  return { keys, events, clock };
}

describe('KeyProvider: when it reads its source', () => {
  it('reads on first use, then at most once per refresh interval', async () => {
    const source = new ScriptedSource();
    const { keys, clock, events } = provider(source);
    await expect(keys.key()).resolves.toBe('kr_one');
    clock.nowMs = 59_999;
    await keys.key();
    expect(source.reads).toBe(1);
    source.current = { key: 'kr_two', versionId: 'v2' };
    clock.nowMs = 60_000;
    await expect(keys.key()).resolves.toBe('kr_two');
    expect(source.reads).toBe(2);
    expect(events).toEqual([
      { type: 'switched', toVersionId: 'v1', reason: 'first-use' },
      { type: 'switched', fromVersionId: 'v1', toVersionId: 'v2', reason: 'interval' },
    ]);
  });

  it('lets concurrent callers share one read', async () => {
    const source = new ScriptedSource();
    const { keys } = provider(source);
    source.hold();
    const callers = Array.from({ length: 20 }, () => keys.key());
    source.release();
    expect(new Set(await Promise.all(callers))).toEqual(new Set(['kr_one']));
    source.hold();
    const refreshes = Array.from({ length: 20 }, () => keys.refresh());
    source.release();
    await Promise.all(refreshes);
    expect(source.reads).toBe(2);
  });

  it('keeps the key it has when a refresh fails, and says so; fails only when it never had one', async () => {
    const source = new ScriptedSource();
    source.failing = true;
    const { keys, events, clock } = provider(source);
    await expect(keys.key()).rejects.toThrow('ThrottlingException');
    source.failing = false;
    await keys.key();
    source.failing = true;
    clock.nowMs = 120_000;
    await expect(keys.key()).resolves.toBe('kr_one');
    expect(events.filter((event) => event.type === 'refresh-failed')).toEqual([
      { type: 'refresh-failed', reason: 'first-use', error: 'Error: ThrottlingException: Rate exceeded' },
      { type: 'refresh-failed', reason: 'interval', error: 'Error: ThrottlingException: Rate exceeded', keptVersionId: 'v1' },
    ]);
  });

  it('refreshes on key.rotated for its client, and ignores other clients\' notifications', async () => {
    const source = new ScriptedSource();
    const { keys, events } = provider(source);
    await keys.key();
    source.current = { key: 'kr_two', versionId: 'v2' };
    await keys.handleNotification(buildNotification('key.rotated', { clientId: 'globex', versionId: 'g2' }, 0));
    expect(source.reads).toBe(1);
    await keys.handleNotification(buildNotification('key.rotated', { clientId: 'acme', versionId: 'v2' }, 0, { previousVersionId: 'v1', expiresAtMs: 3_600_000 }));
    await expect(keys.key()).resolves.toBe('kr_two');
    expect(events.at(-1)).toEqual({ type: 'switched', fromVersionId: 'v1', toVersionId: 'v2', reason: 'notification' });
  });

  it('refreshes on key.refused: a client caught still sending its ended key picks up its current one', async () => {
    const source = new ScriptedSource();
    const { keys, events } = provider(source);
    await keys.key();
    source.current = { key: 'kr_two', versionId: 'v2' };
    await keys.handleNotification(buildNotification('key.refused', { clientId: 'acme', versionId: 'v1' }, 0, { refusals: { refused: 5, firstRefusedMs: 0, lastRefusedMs: 60_000 } }));
    await expect(keys.key()).resolves.toBe('kr_two');
    expect(events.at(-1)).toEqual({ type: 'switched', fromVersionId: 'v1', toVersionId: 'v2', reason: 'notification' });
  });

  it('refreshes before a known end of its key, spaced so that a source with nothing newer is not hammered', async () => {
    const source = new ScriptedSource();
    const { keys, clock } = provider(source);
    await keys.key();
    await keys.handleNotification(buildNotification('key.expiring', { clientId: 'acme', versionId: 'v1' }, 0, { expiresAtMs: 3_000_000 }, 'max-age'));
    expect(source.reads).toBe(2);
    clock.nowMs = 3_000_000 - 5 * 60_000 - 1;
    for (let i = 0; i < 5; i++) await keys.key();
    expect(source.reads).toBe(3); // the refresh interval (60 s) had passed
    clock.nowMs += 1;
    await keys.key();
    expect(source.reads).toBe(3); // within the margin, but the last read is not 30 s old
    clock.nowMs += 30_000;
    await keys.key();
    expect(source.reads).toBe(4);
  });
});

describe('KeyProvider.fetch', () => {
  let server: Server;
  let url: string;
  const seen: IncomingHttpHeaders[] = [];
  let answer: (key: string | undefined) => number;

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      const key = request.headers['x-api-key'] ?? request.headers['authorization'];
      response.statusCode = answer(typeof key === 'string' ? key : undefined);
      request.resume();
      request.on('end', () => response.end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
  });

  it('sends the key in its header, and on a 401 refreshes once and retries once with the new key', async () => {
    const source = new ScriptedSource();
    const { keys, events } = provider(source);
    await keys.key();
    source.current = { key: 'kr_two', versionId: 'v2' };
    answer = (key) => (key === 'kr_two' ? 200 : 401);
    const response = await keys.fetch(url, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    expect(seen.map((headers) => [headers['x-api-key'], headers['content-type']])).toEqual([
      ['kr_one', 'application/json'],
      ['kr_two', 'application/json'],
    ]);
    expect(events.slice(-2)).toEqual([
      { type: 'switched', fromVersionId: 'v1', toVersionId: 'v2', reason: 'unauthorized' },
      { type: 'retried-after-401', versionId: 'v2' },
    ]);
  });

  it('retries a 401 only once, and never a 403', async () => {
    const source = new ScriptedSource();
    const { keys } = provider(source);
    answer = () => 401;
    expect((await keys.fetch(url)).status).toBe(401);
    expect(seen).toHaveLength(2);
    seen.length = 0;
    answer = () => 403;
    expect((await keys.fetch(url)).status).toBe(403);
    expect(seen).toHaveLength(1);
  });

  it('sends Authorization: Bearer when that is the key header', async () => {
    const source = new ScriptedSource();
    const { keys } = provider(source, { header: 'Authorization' });
    answer = () => 200;
    await keys.fetch(url);
    expect(seen[0]?.['authorization']).toBe('Bearer kr_one');
  });
});

describe('KeyProvider.fetch and redirects', () => {
  const servers: Server[] = [];
  const seenBy: Record<'home' | 'elsewhere', { path: string; method: string; key: string | undefined }[]> = { home: [], elsewhere: [] };
  let home: string;
  let elsewhere: string;

  const start = (name: 'home' | 'elsewhere', host: string) =>
    new Promise<string>((resolve) => {
      const server = createServer((request, response) => {
        const key = request.headers['x-api-key'];
        seenBy[name].push({ path: request.url ?? '', method: request.method ?? '', key: typeof key === 'string' ? key : undefined });
        request.resume();
        if (request.url === '/to-elsewhere') response.writeHead(302, { location: `${elsewhere}/stolen` });
        else if (request.url === '/to-home') response.writeHead(307, { location: '/landed' });
        else if (request.url === '/see-other') response.writeHead(303, { location: '/landed' });
        else response.writeHead(200);
        response.end();
      });
      servers.push(server);
      server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`));
    });

  beforeAll(async () => {
    home = await start('home', '127.0.0.1');
    elsewhere = await start('elsewhere', '127.0.0.2');
  });
  afterAll(() => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))));
  beforeEach(() => {
    seenBy.home.length = 0;
    seenBy.elsewhere.length = 0;
  });

  it('never sends the key to another origin: the caller gets the redirect instead', async () => {
    const keys = new KeyProvider({ source: new ScriptedSource() });
    const response = await keys.fetch(`${home}/to-elsewhere`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${elsewhere}/stolen`);
    expect(seenBy.elsewhere).toEqual([]);
  });

  it('follows a redirect within the origin, with the key, keeping the method for 307 and turning a 303 into GET', async () => {
    const keys = new KeyProvider({ source: new ScriptedSource() });
    expect((await keys.fetch(`${home}/to-home`, { method: 'PUT', body: 'x' })).status).toBe(200);
    expect((await keys.fetch(`${home}/see-other`, { method: 'POST', body: 'x' })).status).toBe(200);
    expect(seenBy.home).toEqual([
      { path: '/to-home', method: 'PUT', key: 'kr_one' },
      { path: '/landed', method: 'PUT', key: 'kr_one' },
      { path: '/see-other', method: 'POST', key: 'kr_one' },
      { path: '/landed', method: 'GET', key: 'kr_one' },
    ]);
  });

  it('leaves redirects to the caller when it asks for them', async () => {
    const keys = new KeyProvider({ source: new ScriptedSource() });
    expect((await keys.fetch(`${home}/to-home`, { redirect: 'manual' })).status).toBe(307);
    expect(seenBy.home).toHaveLength(1);
  });
});
