import fc from 'fast-check';
import { generateApiKey } from '../../lambda/domain/api-key';
import type { KeyVersion } from '../../lambda/domain/key-version';
import type { PolicyResponse, SimpleResponse } from '../../lambda/handlers/authorizer-handler';
import { buildAuthorizer, keyVersion, outcomeOf } from '../support/authorizer-fixture';
import { TestClock } from '../support/rotation-fixture';

/**
 * At least 10,000 random and adversarial authorizer events. For each, an oracle (the specification, stated
 * plainly) says allow, forbidden or refuse, and the handler must answer exactly that: never an Allow for a
 * key that is not valid, never any error other than `Unauthorized`.
 */

const clock = new TestClock();
const DAY_MS = 24 * 3600 * 1000;
const keys = {
  current: keyVersion({ clientId: 'acme', versionId: 'v2', scopes: ['read'] }),
  inGrace: keyVersion({ clientId: 'acme', versionId: 'v1', scopes: ['read'], notAfterMs: clock.nowMs + DAY_MS }),
  otherClient: keyVersion({ clientId: 'globex', versionId: 'g1', scopes: ['read', 'write'] }),
  expired: keyVersion({ clientId: 'acme', versionId: 'v0', notAfterMs: clock.nowMs - DAY_MS }),
  revoked: keyVersion({ clientId: 'acme', versionId: 'leaked', revokedAtMs: clock.nowMs - DAY_MS }),
  notYetValid: keyVersion({ clientId: 'acme', versionId: 'future', notBeforeMs: clock.nowMs + DAY_MS }),
  abandoned: keyVersion({ clientId: 'acme', versionId: 'pending', revokedAtMs: clock.nowMs - 1, revokedReason: 'rotation-abandoned' }),
};
const tableVersions = Object.values(keys).map(({ version }) => version);
const validKeys = new Map<string, KeyVersion>([keys.current, keys.inGrace, keys.otherClient].map(({ key, version }) => [key, version]));
const ROUTE_SCOPES = { 'POST /orders': 'write' };

// ---- what a request may carry ------------------------------------------------------------------

const knownKeyArb = fc.constantFrom(...Object.values(keys).map(({ key }) => key as string));
const mutatedKeyArb = fc
  .tuple(knownKeyArb, fc.nat(), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }))
  .map(([key, at, character]) => key.slice(0, at % key.length) + character + key.slice((at % key.length) + 1));
const valueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: knownKeyArb },
  { weight: 3, arbitrary: mutatedKeyArb },
  { weight: 1, arbitrary: fc.constant(null).map(() => generateApiKey()) },
  { weight: 2, arbitrary: fc.string({ maxLength: 80, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', ',', 'kr_', 'null', 'undefined', 'Bearer', 'Bearer ') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => `kr_${'A'.repeat(n)}`) },
  { weight: 1, arbitrary: fc.tuple(knownKeyArb, knownKeyArb).map(([a, b]) => `${a},${b}`) },
  { weight: 1, arbitrary: knownKeyArb.map((key) => `  ${key}  `) },
);
const headerNameArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('x-api-key', 'X-Api-Key', 'X-API-KEY', 'x-API-key') },
  { weight: 3, arbitrary: fc.constantFrom('authorization', 'Authorization', 'AUTHORIZATION') },
  { weight: 2, arbitrary: fc.constantFrom('x-api-key ', 'x_api_key', 'x-api-keys', 'api-key', 'X-Amz-Security-Token', 'cookie', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const headerValueArb = fc.oneof(
  { weight: 4, arbitrary: valueArb },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Basic ', 'Token ', 'Bearer\t'), valueArb).map(([scheme, value]) => scheme + value) },
);
const strangeValueArb: fc.Arbitrary<unknown> = fc.oneof(fc.constant(null), fc.constant(undefined), fc.integer(), fc.boolean(), fc.object({ maxDepth: 1 }));
const headersArb = fc
  .array(fc.tuple(headerNameArb, fc.oneof({ weight: 9, arbitrary: headerValueArb }, { weight: 1, arbitrary: strangeValueArb })), { maxLength: 6 })
  .map((pairs) => Object.fromEntries(pairs));
const multiValueHeadersArb = fc.oneof(
  fc.constant(null),
  fc
    .array(fc.tuple(headerNameArb, fc.oneof({ weight: 9, arbitrary: fc.array(headerValueArb, { maxLength: 3 }) }, { weight: 1, arbitrary: strangeValueArb })), { maxLength: 4 })
    .map((pairs) => Object.fromEntries(pairs)),
);
const routeArb = fc.oneof(
  fc.constant({ method: 'POST', path: '/orders' }),
  fc.record({ method: fc.constantFrom('GET', 'POST', 'DELETE'), path: fc.constantFrom('/hello', '/orders', '/orders/42', '/') }),
);
const arnArb = (stage: string) =>
  fc.oneof(
    { weight: 9, arbitrary: routeArb.map(({ method, path }) => `arn:aws:execute-api:eu-west-1:111122223333:abc123def4/${stage}/${method}${path}`) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom('', 'arn:aws:s3:::bucket', `arn:aws:execute-api:eu-west-1:1:abc/${stage}`), fc.string(), fc.integer()) },
  );

/** A plausible request: one key, under some spelling of a key header, among headers that hold none. */
const noiseHeadersArb = fc.dictionary(fc.constantFrom('host', 'User-Agent', 'accept', 'X-Forwarded-For', 'x-api-key-id', 'cookie'), fc.string({ maxLength: 40 }), { maxKeys: 4 });
const oneKeyHeadersArb = fc
  .tuple(noiseHeadersArb, fc.constantFrom('x-api-key', 'X-Api-Key', 'X-API-KEY', 'Authorization'), fc.oneof(knownKeyArb, mutatedKeyArb))
  .map(([noise, name, key]) => ({ ...noise, [name]: name === 'Authorization' ? `Bearer ${key}` : key }));

const eventArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('REQUEST'), methodArn: arnArb('prod'), headers: oneKeyHeadersArb, multiValueHeaders: fc.constant(null) }) },
  { weight: 2, arbitrary: fc.record({ version: fc.constant('2.0'), type: fc.constant('REQUEST'), routeArn: arnArb('$default'), headers: oneKeyHeadersArb }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('REQUEST'), methodArn: arnArb('prod'), headers: fc.oneof(headersArb, fc.constant(null)), multiValueHeaders: multiValueHeadersArb }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('TOKEN'), methodArn: arnArb('prod'), authorizationToken: fc.oneof({ weight: 9, arbitrary: headerValueArb }, { weight: 1, arbitrary: strangeValueArb }) }) },
  { weight: 3, arbitrary: fc.record({ version: fc.constant('2.0'), type: fc.constant('REQUEST'), routeArn: arnArb('$default'), headers: headersArb }) },
  { weight: 1, arbitrary: fc.anything() },
);

// ---- the oracle --------------------------------------------------------------------------------

type Expected = { readonly result: 'refuse' } | { readonly result: 'allow' | 'forbidden'; readonly owner: KeyVersion; readonly stageArn: string };

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;
const ARN = /^(arn:aws:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/([^/]+)(\/.*)?$/;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The keys a request presents, per the README: the key header in any case (comma-separated values), Bearer tokens, or the TOKEN. */
function presentedKeys(event: Record<string, unknown>): string[] | undefined {
  if (event['type'] === 'TOKEN') {
    const token = event['authorizationToken'];
    if (typeof token !== 'string') return undefined;
    const key = BEARER.exec(token)?.[1] ?? token.trim();
    return key === '' ? [] : [key];
  }
  const maps = event['version'] === '2.0' ? [event['headers']] : [event['headers'], event['multiValueHeaders']];
  const found: string[] = [];
  for (const map of maps) {
    for (const [name, raw] of Object.entries(record(map) ?? {})) {
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
      for (const value of values) {
        if (name.toLowerCase() === 'x-api-key') found.push(...value.split(',').map((v) => v.trim()).filter((v) => v !== ''));
        if (name.toLowerCase() === 'authorization') {
          const bearer = BEARER.exec(value)?.[1];
          if (bearer !== undefined) found.push(bearer);
        }
      }
    }
  }
  return found;
}

function oracle(event: unknown): Expected {
  const fields = record(event);
  if (fields === undefined) return { result: 'refuse' };
  const isHttp = fields['version'] === '2.0' && fields['type'] === 'REQUEST';
  if (!isHttp && fields['type'] !== 'TOKEN' && fields['type'] !== 'REQUEST') return { result: 'refuse' };
  const arn = isHttp ? fields['routeArn'] : fields['methodArn'];
  const match = typeof arn === 'string' ? ARN.exec(arn) : null;
  const presented = presentedKeys(fields);
  if (match === null || presented === undefined || new Set(presented).size !== 1) return { result: 'refuse' };
  const owner = validKeys.get(presented[0] ?? '');
  if (owner === undefined) return { result: 'refuse' };
  const needsWrite = match[2] === 'POST' && match[3] === '/orders';
  return { result: needsWrite && !owner.scopes.includes('write') ? 'forbidden' : 'allow', owner, stageArn: match[1] ?? '' };
}

// ---- the property ------------------------------------------------------------------------------

describe('Authorizer fuzz (property)', () => {
  it('answers every event as the specification says, and never with another error than Unauthorized', async () => {
    const { handler } = buildAuthorizer({
      clock,
      versions: tableVersions,
      routeScopes: JSON.stringify(ROUTE_SCOPES),
      cache: { positiveTtlMs: 30_000, negativeTtlMs: 5_000, staleWindowMs: 300_000, maxEntries: 1000, unknownKeysPerSourcePerSecond: 1_000_000 },
    });
    const seen = { allow: 0, forbidden: 0, refuse: 0 };
    await fc.assert(
      fc.asyncProperty(eventArb, async (event) => {
        clock.advance(10); // time moves, so cache entries expire and are read again
        const expected = oracle(event);
        const isSimple = record(event)?.['version'] === '2.0' && record(event)?.['type'] === 'REQUEST';
        const { response, error } = await outcomeOf(handler(event));
        seen[expected.result]++;
        if (error !== undefined) {
          expect(error).toEqual(new Error('Unauthorized'));
          expect(isSimple).toBe(false);
          expect(expected.result).toBe('refuse');
          return;
        }
        if (isSimple) {
          const simple = response as SimpleResponse;
          expect(simple.isAuthorized).toBe(expected.result === 'allow');
          if (expected.result === 'allow') expect(simple.context?.clientId).toBe(expected.owner.clientId);
          return;
        }
        expect(expected.result).not.toBe('refuse');
        if (expected.result === 'refuse') return;
        const policy = response as PolicyResponse;
        expect(policy.principalId).toBe(expected.owner.clientId);
        expect(policy.context.keyVersion).toBe(expected.owner.versionId);
        const denied = policy.policyDocument.Statement.filter((s) => s.Effect === 'Deny').flatMap((s) => s.Resource);
        expect(denied.includes(`${expected.stageArn}/POST/orders`)).toBe(!expected.owner.scopes.includes('write'));
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 12_000) },
    );
    // The generator must actually reach every outcome, or the property says little.
    expect(seen.allow).toBeGreaterThan(500);
    expect(seen.forbidden).toBeGreaterThan(200);
    expect(seen.refuse).toBeGreaterThan(5000);
  }, 120_000);
});
