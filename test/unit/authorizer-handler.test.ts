import { Logger } from '@aws-lambda-powertools/logger';
import { ENDED_KEY_REPORT_MESSAGE } from '../../lambda/contracts/ended-key-report';
import { generateApiKey } from '../../lambda/domain/api-key';
import type { PolicyResponse } from '../../lambda/handlers/authorizer-handler';
import { HOUR_MS, TestClock } from '../support/rotation-fixture';
import { buildAuthorizer, httpEvent, keyVersion, outcomeOf, restEvent, STAGE_ARN, tokenEvent } from '../support/authorizer-fixture';

/** A well-formed key with its last checksum character changed. */
function withBadChecksum(): string {
  const key = generateApiKey();
  return `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
}

/** The exact refusal API Gateway turns into a 401. */
function expectUnauthorized(outcome: { response?: unknown; error?: unknown }) {
  expect(outcome.response).toBeUndefined();
  expect(outcome.error).toBeInstanceOf(Error);
  expect(outcome.error).toEqual(new Error('Unauthorized'));
}

describe('Authorizer: decisions', () => {
  const clock = new TestClock();
  const valid = keyVersion({ scopes: ['read'] });

  it('allows a valid key with a policy over the whole stage, the client as principal, and string context', async () => {
    const { handler } = buildAuthorizer({ clock, versions: [valid.version] });
    const response = (await handler(restEvent({ 'x-api-key': valid.key }))) as PolicyResponse;
    expect(response).toEqual({
      principalId: 'acme',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${STAGE_ARN}/*`] }] },
      context: { clientId: 'acme', keyVersion: 'v1', scopes: 'read', keyExpiresAt: '' },
    });
    expect(Object.values(response.context).every((value) => typeof value === 'string')).toBe(true);
    const serialized = JSON.stringify(response);
    expect(serialized).not.toContain(valid.key);
    expect(serialized).not.toContain(valid.version.keyHash);
  });

  it('tells the integration when the key stops working', async () => {
    const closing = keyVersion({ notAfterMs: clock.nowMs + HOUR_MS });
    const { handler } = buildAuthorizer({ clock, versions: [closing.version] });
    const response = (await handler(restEvent({ 'x-api-key': closing.key }))) as PolicyResponse;
    expect(response.context.keyExpiresAt).toBe(new Date(clock.nowMs + HOUR_MS).toISOString());
  });

  it.each(['x-api-key', 'X-Api-Key', 'X-API-KEY'])('finds the key in the header %s', async (name) => {
    const { handler } = buildAuthorizer({ clock, versions: [valid.version] });
    await expect(handler(restEvent({ [name]: valid.key }))).resolves.toMatchObject({ principalId: 'acme' });
  });

  it.each(['Bearer', 'bearer', 'BEARER'])('finds the key as an Authorization: %s token when the key header is Authorization', async (scheme) => {
    const { handler } = buildAuthorizer({ clock, versions: [valid.version], keyHeader: 'authorization' });
    await expect(handler(restEvent({ Authorization: `${scheme} ${valid.key}` }))).resolves.toMatchObject({ principalId: 'acme' });
    expectUnauthorized(await outcomeOf(handler(restEvent({ Authorization: valid.key }))));
  });

  it('reads the key from the key header only, the identity source API Gateway caches by: a Bearer token beside it is ignored', async () => {
    const { handler, decisions } = buildAuthorizer({ clock, versions: [valid.version] });
    expectUnauthorized(await outcomeOf(handler(restEvent({ Authorization: `Bearer ${valid.key}` }))));
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': ',', Authorization: `Bearer ${valid.key}` }))));
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': `${valid.key},` }))));
    expect(decisions.map((d) => d.outcome === 'unauthorized' && d.reason)).toEqual(['missing', 'missing', 'ambiguous']);
  });

  it('accepts the same key presented twice, in a multi-value header or joined by a comma', async () => {
    const { handler } = buildAuthorizer({ clock, versions: [valid.version] });
    await expect(handler(restEvent({ 'x-api-key': valid.key }, {}, { 'X-Api-Key': [valid.key, valid.key] }))).resolves.toMatchObject({ principalId: 'acme' });
    await expect(handler(restEvent({ 'x-api-key': `${valid.key}, ${valid.key}` }))).resolves.toMatchObject({ principalId: 'acme' });
  });

  it('refuses two different keys in one request, even if both are valid', async () => {
    const other = keyVersion({ clientId: 'other' });
    const { handler, decisions } = buildAuthorizer({ clock, versions: [valid.version, other.version] });
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': valid.key }, {}, { 'x-api-key': [valid.key, other.key] }))));
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': `${valid.key},${other.key}` }))));
    expect(decisions.map((d) => d.outcome === 'unauthorized' && d.reason)).toEqual(['ambiguous', 'ambiguous']);
  });

  it.each<[string, Record<string, string>]>([
    ['missing', {}],
    ['missing', { 'x-api-key': '   ' }],
    ['missing', { Authorization: 'Basic dXNlcjpwYXNz' }],
    ['wrong_prefix', { 'x-api-key': `sk_${generateApiKey().slice(3)}` }],
    ['bad_length', { 'x-api-key': `${generateApiKey()}x` }],
    ['bad_characters', { 'x-api-key': `kr_${'é'.repeat(49)}` }],
    ['bad_checksum', { 'x-api-key': withBadChecksum() }],
    ['not_found', { 'x-api-key': generateApiKey() }],
  ])('refuses with 401 (%s), reading the table only for a well-formed key', async (reason, headers) => {
    const { handler, decisions, reads } = buildAuthorizer({ clock, versions: [valid.version] });
    expectUnauthorized(await outcomeOf(handler(restEvent(headers))));
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'unauthorized', reason })]);
    expect(reads).toHaveLength(reason === 'not_found' ? 1 : 0);
  });

  it.each([
    ['not_yet_valid', { notBeforeMs: Date.UTC(2030, 0, 1) }],
    ['expired', { notAfterMs: Date.UTC(2026, 0, 1) }],
    ['expired', { expiresAtMs: Date.UTC(2026, 0, 1) }],
    ['revoked', { revokedAtMs: 1, notAfterMs: Date.UTC(2030, 0, 1) }],
  ])('refuses a known key that is %s', async (reason, overrides) => {
    const version = keyVersion(overrides);
    const { handler, decisions } = buildAuthorizer({ clock, versions: [version.version] });
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': version.key }))));
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'unauthorized', reason, version: version.version })]);
  });

  it('never accepts a cached key past the end of its window', async () => {
    const local = new TestClock();
    const closing = keyVersion({ notAfterMs: local.nowMs + 10_000 });
    const { handler, reads } = buildAuthorizer({ clock: local, versions: [closing.version] });
    await expect(handler(restEvent({ 'x-api-key': closing.key }))).resolves.toMatchObject({ principalId: 'acme' });
    local.advance(9_999);
    await expect(handler(restEvent({ 'x-api-key': closing.key }))).resolves.toMatchObject({ principalId: 'acme' });
    local.advance(1);
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': closing.key }))));
    expect(reads).toHaveLength(1);
  });

  it('reads a key once per cache TTL and an unknown key once per negative TTL', async () => {
    const local = new TestClock();
    const unknown = generateApiKey();
    const { handler, reads } = buildAuthorizer({ clock: local, versions: [valid.version] });
    for (let i = 0; i < 5; i++) {
      await handler(restEvent({ 'x-api-key': valid.key }));
      await outcomeOf(handler(restEvent({ 'x-api-key': unknown })));
    }
    expect(reads).toHaveLength(2);
    local.advance(5_000);
    await outcomeOf(handler(restEvent({ 'x-api-key': unknown })));
    expect(reads).toHaveLength(3);
  });

  it('refuses malformed events with 401, never another error', async () => {
    const { handler, decisions } = buildAuthorizer({ clock, versions: [valid.version] });
    for (const event of [null, 'x', 42, [], {}, { type: 'TOKEN' }, { type: 'REQUEST', methodArn: 'arn:aws:s3:::bucket' }, { ...restEvent({ 'x-api-key': valid.key }), methodArn: undefined }]) {
      expectUnauthorized(await outcomeOf(handler(event)));
    }
    expect(decisions.every((d) => d.outcome === 'unauthorized' && d.reason === 'malformed_event')).toBe(true);
  });

  it('refuses with 401 when the key table fails and nothing recent is known', async () => {
    const { handler, decisions } = buildAuthorizer({
      clock,
      findByHash: async () => {
        throw Object.assign(new Error('down'), { name: 'InternalServerError' });
      },
    });
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': valid.key }))));
    expect(decisions).toEqual([expect.objectContaining({ reason: 'lookup_failed', failure: 'InternalServerError' })]);
  });

  it('refuses with 401 when anything unexpected happens inside, and counts it', async () => {
    const { handler, decisions } = buildAuthorizer({ clock, findByHash: () => Promise.reject('not even an Error') });
    expectUnauthorized(await outcomeOf(handler(restEvent({ 'x-api-key': valid.key }))));
    expect(decisions).toEqual([expect.objectContaining({ reason: 'lookup_failed' })]);
    const corrupt = {
      ...valid.version,
      get notBeforeMs(): number {
        throw new Error('boom');
      },
    };
    const broken = buildAuthorizer({ clock, versions: [corrupt] });
    expectUnauthorized(await outcomeOf(broken.handler(restEvent({ 'x-api-key': valid.key }))));
    expect(broken.decisions).toEqual([expect.objectContaining({ reason: 'internal_error' })]);
  });
});

describe('Authorizer: scopes', () => {
  const clock = new TestClock();
  const routeScopes = JSON.stringify({ 'POST /orders': 'write' });
  const reader = keyVersion({ scopes: ['read'] });
  const writer = keyVersion({ scopes: ['read', 'write'], clientId: 'writer' });

  it('answers a key without the route\'s scope with a policy that denies exactly that method ARN (403), and allows the method ARNs it may call', async () => {
    const { handler, decisions } = buildAuthorizer({ clock, versions: [reader.version], routeScopes });
    await expect(handler(restEvent({ 'x-api-key': reader.key }, { method: 'POST', path: '/orders' }))).resolves.toMatchObject({
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${STAGE_ARN}/POST/orders`] }] },
    });
    await expect(handler(restEvent({ 'x-api-key': reader.key }, { method: 'GET', path: '/orders' }))).resolves.toMatchObject({
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${STAGE_ARN}/GET/orders`] }] },
    });
    expect(decisions.map((d) => d.outcome)).toEqual(['forbidden', 'allow']);
  });

  it('gives a key with every scope a policy for the method it calls, without a Deny', async () => {
    const { handler } = buildAuthorizer({ clock, versions: [writer.version], routeScopes });
    const response = (await handler(restEvent({ 'x-api-key': writer.key }, { method: 'POST', path: '/orders' }))) as PolicyResponse;
    expect(response.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${STAGE_ARN}/POST/orders`] }]);
    expect(response.context.scopes).toBe('read write');
  });
});

describe('Authorizer: event formats', () => {
  const clock = new TestClock();
  const valid = keyVersion();

  it('reads a TOKEN event, with or without the Bearer scheme', async () => {
    const { handler } = buildAuthorizer({ clock, versions: [valid.version] });
    await expect(handler(tokenEvent(valid.key))).resolves.toMatchObject({ principalId: 'acme' });
    await expect(handler(tokenEvent(`Bearer ${valid.key}`))).resolves.toMatchObject({ principalId: 'acme' });
    expectUnauthorized(await outcomeOf(handler(tokenEvent(''))));
  });

  it('answers an HTTP API with a simple response: true with context, false for every refusal', async () => {
    const scoped = keyVersion({ scopes: [] });
    const { handler } = buildAuthorizer({ clock, versions: [valid.version, scoped.version], routeScopes: JSON.stringify({ 'POST /orders': 'write' }) });
    await expect(handler(httpEvent({ 'x-api-key': valid.key }))).resolves.toEqual({
      isAuthorized: true,
      context: { clientId: 'acme', keyVersion: 'v1', scopes: '', keyExpiresAt: '' },
    });
    await expect(handler(httpEvent({ 'x-api-key': generateApiKey() }))).resolves.toEqual({ isAuthorized: false });
    await expect(handler(httpEvent({}))).resolves.toEqual({ isAuthorized: false });
    await expect(handler(httpEvent({ 'x-api-key': scoped.key }, { method: 'POST', path: '/orders' }))).resolves.toEqual({ isAuthorized: false });
  });

  it('sees two keys that an HTTP API joined into one header value, and refuses them', async () => {
    const other = keyVersion({ clientId: 'other' });
    const { handler, decisions } = buildAuthorizer({ clock, versions: [valid.version, other.version] });
    await expect(handler(httpEvent({ 'x-api-key': `${valid.key},${other.key}` }))).resolves.toEqual({ isAuthorized: false });
    expect(decisions).toEqual([expect.objectContaining({ reason: 'ambiguous' })]);
  });

  it('answers an HTTP API with an IAM policy when simple responses are off, and throws Unauthorized to refuse', async () => {
    const { handler } = buildAuthorizer({ clock, versions: [valid.version], httpApiSimpleResponses: false });
    await expect(handler(httpEvent({ 'x-api-key': valid.key }))).resolves.toMatchObject({
      principalId: 'acme',
      policyDocument: { Statement: [{ Effect: 'Allow', Resource: ['arn:aws:execute-api:eu-west-1:111122223333:abc123def4/$default/*'] }] },
    });
    expectUnauthorized(await outcomeOf(handler(httpEvent({ 'x-api-key': generateApiKey() }))));
  });
});

describe('Authorizer: logs', () => {
  it('logs one structured line per refusal with the reason and a safe description of the key, and none per allow', async () => {
    const clock = new TestClock();
    const valid = keyVersion();
    const revoked = keyVersion({ revokedAtMs: 1, clientId: 'leaky', versionId: 'v7' });
    const lines: string[] = [];
    const notAKey = 'sk_live_51HxYz-this-is-someone-elses-secret';
    const capture = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    const captureErr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    try {
      const logger = new Logger({ serviceName: 'keyroll-authorizer', logLevel: 'INFO' });
      const { handler } = buildAuthorizer({ clock, versions: [valid.version, revoked.version], logger });
      await handler(restEvent({ 'x-api-key': valid.key }));
      await handler(restEvent({ 'x-api-key': valid.key }));
      expect(lines).toEqual([]);
      const requests: Record<string, string>[] = [{ 'x-api-key': revoked.key }, { 'x-api-key': notAKey }, {}];
      for (const headers of requests) await outcomeOf(handler(restEvent(headers)));
    } finally {
      capture.mockRestore();
      captureErr.mockRestore();
    }
    const records = lines.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toEqual([
      expect.objectContaining({ level: 'WARN', message: 'request refused', reason: 'revoked', key: revoked.version.keyDisplay, clientId: 'leaky', versionId: 'v7' }),
      expect.objectContaining({ level: 'WARN', message: 'request refused', reason: 'wrong_prefix', key: `(${notAKey.length} characters, not a kr key)` }),
      expect.objectContaining({ level: 'WARN', message: 'request refused', reason: 'missing', key: 'no key' }),
    ]);
    const text = lines.join('');
    expect(text).not.toContain(revoked.key);
    expect(text).not.toContain(revoked.key.slice(7));
    expect(text).not.toContain(revoked.version.keyHash);
    expect(text).not.toContain('sk_live');
  });

  it('reports a client still presenting an ended key: one line per version per minute per container, with the count, never the key', async () => {
    const clock = new TestClock();
    const ended = keyVersion({ clientId: 'acme', versionId: 'v1', notAfterMs: clock.nowMs - 1 });
    const lines: string[] = [];
    const capture = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    const captureErr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    try {
      const logger = new Logger({ serviceName: 'keyroll-authorizer', logLevel: 'INFO' });
      const { handler } = buildAuthorizer({ clock, versions: [ended.version], logger });
      for (let i = 0; i < 30; i++) {
        await outcomeOf(handler(restEvent({ 'x-api-key': ended.key })));
        clock.advance(3_000); // 30 requests over 90 s
      }
    } finally {
      capture.mockRestore();
      captureErr.mockRestore();
    }
    const reports = lines
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record['message'] === ENDED_KEY_REPORT_MESSAGE);
    const startedAt = new Date(clock.nowMs - 90_000).toISOString();
    expect(reports.map(({ clientId, versionId, refused, since }) => ({ clientId, versionId, refused, since }))).toEqual([
      { clientId: 'acme', versionId: 'v1', refused: 1, since: startedAt },
      { clientId: 'acme', versionId: 'v1', refused: 20, since: startedAt },
    ]);
    expect(lines.join('')).not.toContain(ended.key);
    expect(lines.join('')).not.toContain(ended.version.keyHash);
  });
});

