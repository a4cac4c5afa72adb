import fc from 'fast-check';
import { displayKey, generateApiKey, hashApiKey, type ApiKey } from '../lambda/domain/api-key';
import type { KeyVersion } from '../lambda/domain/key-version';

/**
 * The authorizer's fuzz cases and the oracle that judges them, shared by the property test (in-memory table)
 * and `npm run fuzz` (the built bundle on dynalite). The oracle is the specification stated plainly: which
 * keys a request presents, and whether the one key it presents is valid and may use the route.
 */

const DAY_MS = 24 * 3600 * 1000;
export const FUZZ_ROUTE_SCOPES = { 'POST /orders': 'write' };

function keyVersion(key: ApiKey, fields: Omit<KeyVersion, 'keyHash' | 'keyDisplay'>): { readonly key: ApiKey; readonly version: KeyVersion } {
  return { key, version: { keyHash: hashApiKey(key), keyDisplay: displayKey(key), ...fields } };
}

/** The key table of a fuzz run: valid keys of two clients, and one of each way a key is not valid, at `nowMs`. */
export function fuzzKeys(nowMs: number) {
  const v = (fields: Omit<KeyVersion, 'keyHash' | 'keyDisplay'>) => keyVersion(generateApiKey(), fields);
  const keys = {
    current: v({ clientId: 'acme', versionId: 'v2', scopes: ['read'], notBeforeMs: 0 }),
    inGrace: v({ clientId: 'acme', versionId: 'v1', scopes: ['read'], notBeforeMs: 0, notAfterMs: nowMs + DAY_MS }),
    otherClient: v({ clientId: 'globex', versionId: 'g1', scopes: ['read', 'write'], notBeforeMs: 0 }),
    expired: v({ clientId: 'acme', versionId: 'v0', scopes: [], notBeforeMs: 0, notAfterMs: nowMs - DAY_MS }),
    revoked: v({ clientId: 'acme', versionId: 'leaked', scopes: [], notBeforeMs: 0, revokedAtMs: nowMs - DAY_MS, revokedReason: 'leaked' }),
    notYetValid: v({ clientId: 'acme', versionId: 'future', scopes: [], notBeforeMs: nowMs + DAY_MS }),
    abandoned: v({ clientId: 'acme', versionId: 'pending', scopes: [], notBeforeMs: 0, revokedAtMs: nowMs - 1, revokedReason: 'rotation-abandoned' }),
  };
  const validKeys = new Map<string, KeyVersion>([keys.current, keys.inGrace, keys.otherClient].map(({ key, version }) => [key, version]));
  return { keys, versions: Object.values(keys).map(({ version }) => version), validKeys };
}

export type FuzzKeys = ReturnType<typeof fuzzKeys>;

/** Characters that look like, or normalise to, the characters of a key. */
const LOOKALIKES: Readonly<Record<string, readonly string[]>> = {
  k: ['\u043a', '\uff4b', '\u1d0b'],
  r: ['\u0433', '\uff52'],
  _: ['\uff3f', '\u2017'],
  a: ['\u0430', '\uff41'],
  e: ['\u0435'],
  o: ['\u043e', '\u03bf'],
  '0': ['\uff10'],
  '1': ['\uff11', '\u0661'],
};

/** Every kind of event the authorizer may be given, plausible and adversarial. */
export function fuzzEventArbitrary({ keys }: FuzzKeys): fc.Arbitrary<unknown> {
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
    fc.record({ method: fc.constantFrom('GET', 'POST', 'DELETE', 'post'), path: fc.constantFrom('/hello', '/orders', '/orders/42', '/', '/orders/', '//orders', '/Orders', '/%6Frders', '/x/../orders') }),
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

  // Unicode: a valid key with one character swapped for a lookalike or its full-width form, a zero-width
  // character inserted, or the key in a normalisation-sensitive form; none of them is the key.
  const unicodeKeyArb = fc
    .tuple(fc.constantFrom(keys.current.key, keys.otherClient.key), fc.nat(), fc.constantFrom('\u200b', '\u200d', '\ufeff', '\u00ad', '\u0301'), fc.nat({ max: 2 }))
    .map(([key, at, invisible, shape]) => {
      const position = at % key.length;
      if (shape === 0) return key.slice(0, position) + invisible + key.slice(position);
      if (shape === 1) return key.replace(/[A-Za-z0-9_]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
      const lookalikes = Object.keys(LOOKALIKES).filter((c) => key.includes(c));
      const swapped = lookalikes[at % Math.max(1, lookalikes.length)] ?? 'k';
      return key.replace(swapped, LOOKALIKES[swapped]?.[at % (LOOKALIKES[swapped]?.length ?? 1)] ?? swapped);
    });
  // Smuggling: two spellings of the key header, a key in one header and another in Bearer, a key hidden in a
  // multi-value list or in a header whose name only resembles the key header.
  const smuggledHeadersArb = fc
    .tuple(fc.constantFrom(keys.current.key, keys.otherClient.key, keys.revoked.key, keys.expired.key), fc.constantFrom(keys.current.key, keys.otherClient.key, keys.revoked.key), fc.nat({ max: 5 }))
    .map(([a, b, shape]) =>
      [
        { 'x-api-key': a, 'X-Api-Key': b },
        { 'x-api-key': a, authorization: `Bearer ${b}` },
        { 'x-api-key': `${a}, ${b}` },
        { 'x-api-key\u0000': a, 'x-api-key': b },
        { 'x-api-key\r\nx-api-key': a },
        { ' x-api-key': a, 'x-api-key ': b },
      ][shape],
    );
  const oversizedArb = fc.oneof(
    fc.integer({ min: 500, max: 5_000 }).map((count) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-noise-${i}`, 'v'.repeat(20)]))),
    fc.integer({ min: 100_000, max: 1_000_000 }).map((size) => ({ 'x-api-key': keys.current.key, cookie: 'c'.repeat(size) })),
    fc.integer({ min: 100_000, max: 1_000_000 }).map((size) => ({ 'x-api-key': 'x'.repeat(size) })),
  );
  const restArn = arnArb('prod');
  const extraArb = fc.oneof(
    fc.record({ type: fc.constant('REQUEST'), methodArn: restArn, headers: fc.oneof(smuggledHeadersArb, oversizedArb, unicodeKeyArb.map((key) => ({ 'x-api-key': key }))), multiValueHeaders: fc.constant(null) }),
    fc.record({ version: fc.constant('2.0'), type: fc.constant('REQUEST'), routeArn: arnArb('$default'), headers: fc.oneof(smuggledHeadersArb, unicodeKeyArb.map((key) => ({ authorization: `Bearer ${key}` }))) }),
    // An HTTP API with payload format 1.0 sends REST's REQUEST shape with a version field.
    fc.record({ version: fc.constant('1.0'), type: fc.constant('REQUEST'), methodArn: restArn, headers: oneKeyHeadersArb, multiValueHeaders: fc.constant(null) }),
    fc.record({ type: fc.constant('TOKEN'), methodArn: restArn, authorizationToken: unicodeKeyArb }),
  );
  return fc.oneof({ weight: 6, arbitrary: eventArb }, { weight: 1, arbitrary: extraArb });
}

// ---- the oracle --------------------------------------------------------------------------------

/** With route scopes, an answer is a policy for exactly the method ARN it was decided for: Allow it, or Deny it. */
export type Expected = { readonly result: 'refuse' } | { readonly result: 'allow' | 'forbidden'; readonly owner: KeyVersion; readonly methodArn: string };

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;
const ARN = /^(arn:aws:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/([^/]+)(\/.*)?$/;

export function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The values a request presents, per the README: every value of the key header (any case), split on commas,
 * each trimmed (an empty one kept: it refuses the request), or the TOKEN. Nothing else: the key header is the
 * identity source API Gateway caches by, so an Authorization header beside it is not read.
 */
function presentedKeys(event: Record<string, unknown>): string[] | undefined {
  if (event['type'] === 'TOKEN') {
    const token = event['authorizationToken'];
    if (typeof token !== 'string') return undefined;
    return [BEARER.exec(token)?.[1] ?? token.trim()];
  }
  const maps = event['version'] === '2.0' ? [event['headers']] : [event['headers'], event['multiValueHeaders']];
  const found: string[] = [];
  for (const map of maps) {
    for (const [name, raw] of Object.entries(record(map) ?? {})) {
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
      for (const value of values) if (name.toLowerCase() === 'x-api-key') found.push(...value.split(',').map((v) => v.trim()));
    }
  }
  return found;
}

/** `POST /orders` needs write however the path is spelled: decoded, `//` and dot segments collapsed, no trailing slash, any case. */
function isOrdersPost(method: string | undefined, path: string | undefined): boolean {
  if (method?.toUpperCase() !== 'POST') return false;
  const parts: string[] = [];
  for (const raw of (path ?? '/').split('/')) {
    let part = raw;
    try {
      part = decodeURIComponent(raw);
    } catch {
      // An undecodable part is compared as it is.
    }
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return parts.join('/').toLowerCase() === 'orders';
}

/** What the specification says the authorizer answers to `event`. */
export function oracle({ validKeys }: FuzzKeys, event: unknown): Expected {
  const fields = record(event);
  if (fields === undefined) return { result: 'refuse' };
  const isHttp = fields['version'] === '2.0' && fields['type'] === 'REQUEST';
  if (!isHttp && fields['type'] !== 'TOKEN' && fields['type'] !== 'REQUEST') return { result: 'refuse' };
  const arn = isHttp ? fields['routeArn'] : fields['methodArn'];
  const match = typeof arn === 'string' ? ARN.exec(arn) : null;
  const presented = presentedKeys(fields);
  if (match === null || presented === undefined || new Set(presented).size !== 1 || presented[0] === '') return { result: 'refuse' };
  const owner = validKeys.get(presented[0] ?? '');
  if (owner === undefined) return { result: 'refuse' };
  const needsWrite = isOrdersPost(match[2], match[3]);
  return { result: needsWrite && !owner.scopes.includes('write') ? 'forbidden' : 'allow', owner, methodArn: match[0] };
}

