import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { InvalidClientSettingError, RotationRefusedError } from './errors';
import { USAGE_PLAN_NAME_PATTERN } from '../contracts/usage-plans';

/**
 * The one tag keyroll reads: it names the client whose secret it is, so that ListSecrets finds an install's
 * secrets. It is a claim, not a credential: a secret counts only when its client's registration names it.
 */
export const CLIENT_TAG = {
  clientId: 'keyroll:clientId',
} as const;

/**
 * Per-client settings, kept in the client's registration (the key table's `REGISTRATION` item, written by the
 * construct's deployment and by `keyroll clients add`), never in the secret's tags: a tag can be changed by
 * anyone allowed TagResource, and these settings widen access. Values are strings, under the names the tags
 * had before keyroll 0.2 (so `keyroll clients adopt` can take them from an older secret's tags).
 */
export const CLIENT_SETTING = {
  /** Space-separated scopes copied onto each new key version. Default: none. */
  scopes: 'keyroll:scopes',
  /** How long a replaced key stays accepted. Default: the rotation function's GRACE_PERIOD_SECONDS. */
  gracePeriodSeconds: 'keyroll:gracePeriodSeconds',
  /** A hard end for every key version, counted from the moment it is registered. Default: none. */
  maxKeyAgeDays: 'keyroll:maxKeyAgeDays',
  /**
   * Usage-aware retirement: while a replaced key is still used, extend its window by this many hours at a
   * time. Default: off.
   */
  extendWhileInUseHours: 'keyroll:extendWhileInUseHours',
  /** The most a replaced key's grace may grow to, in hours from the moment it was replaced. Default: 168. */
  maxGraceHours: 'keyroll:maxGraceHours',
  /**
   * Usage-aware retirement the other way: once the client has used its new key and not its replaced one for
   * this many hours, the replaced key's window closes early, never sooner than this many hours after the
   * replacement. Default: off.
   */
  closeWhenSwitchedHours: 'keyroll:closeWhenSwitchedHours',
  /**
   * A missed switch rescued, once: when the monitor finds the client still sending a replaced key whose window
   * has ended (`rotation.missed`), and the client has not used its new key since the switch, that key is
   * accepted again for this many hours (1 to 24), never past its hard expiry, and never a revoked key.
   * Default: off.
   */
  rescueMissedHours: 'keyroll:rescueMissedHours',
  /** The client's usage plan, for operators: the plan itself is the client's API key in API Gateway. Default: none. */
  usagePlan: 'keyroll:usagePlan',
  /**
   * Key delivery (clients outside AWS): the client's X25519 public key, base64url (the JWK `x`). The delivery
   * route encrypts the current key to it. Default: no delivery.
   */
  deliveryPublicKey: 'keyroll:deliveryPublicKey',
} as const;

/** The settings of a client as its registration holds them: strings by {@link CLIENT_SETTING} name. */
export type ClientSettingValues = Readonly<Partial<Record<(typeof CLIENT_SETTING)[keyof typeof CLIENT_SETTING], string>>>;

/** The client settings among a secret's tags (a secret made before settings moved into registrations). */
export function settingValuesFromTags(tags: ReadonlyMap<string, string>): ClientSettingValues {
  const names = new Set<string>(Object.values(CLIENT_SETTING));
  return Object.fromEntries([...tags].filter(([name]) => names.has(name)));
}

/** An X25519 public key as a JWK's `x`: 32 bytes, base64url without padding. */
const DELIVERY_PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * A key delivery public key that keys can be encrypted to: an X25519 public key (a JWK's `x`), and not one of the
 * low-order points that agree the same secret with every private key (RFC 7748, section 6.1). Checked by
 * agreeing a secret with it, which Node.js (OpenSSL) refuses for those points, rather than by pattern alone.
 */
export function isDeliveryPublicKey(x: string): boolean {
  if (!DELIVERY_PUBLIC_KEY_PATTERN.test(x)) return false;
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
    diffieHellman({ privateKey: generateKeyPairSync('x25519').privateKey, publicKey });
    return true;
  } catch {
    return false;
  }
}

export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SCOPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,63}$/;
const MAX_GRACE_PERIOD_SECONDS = 366 * 24 * 3600;
const MAX_KEY_AGE_DAYS = 3650;
export const DEFAULT_MAX_GRACE_HOURS = 168;

/**
 * A replaced key must stay accepted while any cache in front of the table may still hold the new key's absence
 * or the old key's open window: the grace period outlasts API Gateway's result cache and the authorizer's own.
 * The construct applies it at synth, `keyroll clients add` at run time. Returns why a grace is too short, or undefined.
 */
export function graceTooShort(graceSeconds: number, caches: { readonly resultsCacheTtlSeconds: number; readonly authorizerCacheTtlSeconds: number }): string | undefined {
  const cachesSeconds = caches.resultsCacheTtlSeconds + caches.authorizerCacheTtlSeconds;
  if (graceSeconds >= cachesSeconds) return undefined;
  return `is shorter than the caches it must outlast: authorizerResultsCacheTtl (${caches.resultsCacheTtlSeconds} s) + authorizerCacheTtl (${caches.authorizerCacheTtlSeconds} s) = ${cachesSeconds} seconds`;
}
const HOUR_MS = 3600 * 1000;

export interface ClientSettings {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly gracePeriodMs: number;
  readonly maxKeyAgeMs?: number;
  /** Set when the client opts into usage-aware retirement. */
  readonly extendWhileInUse?: { readonly stepMs: number; readonly maxGraceMs: number };
  /** Set when the client opts into closing a replaced key early once it has switched: the quiet time. */
  readonly closeWhenSwitchedMs?: number;
  /** Set when the client opts into a one-time rescue of a missed switch: how long the ended key is accepted again. */
  readonly rescueMissedMs?: number;
  /** The client's usage plan, copied onto each new key version. */
  readonly usagePlan?: string;
  /** Key delivery: the public key the current key is encrypted to. */
  readonly deliveryPublicKey?: string;
}

/** The longest one-time rescue of a missed switch, in hours: long enough to deploy a fix, short for a leaked key. */
export const MAX_RESCUE_MISSED_HOURS = 24;

/** The client id a secret's tag claims, checked for its form; refuses a secret without one. */
export function claimedClientId(secretArn: string, tags: ReadonlyMap<string, string>): string {
  const clientId = tags.get(CLIENT_TAG.clientId);
  if (clientId === undefined) {
    throw new RotationRefusedError(`secret ${secretArn} is not managed by keyroll: it has no "${CLIENT_TAG.clientId}" tag`);
  }
  if (!CLIENT_ID_PATTERN.test(clientId)) {
    throw new InvalidClientSettingError(
      `secret ${secretArn}: tag "${CLIENT_TAG.clientId}" must be 1 to 64 letters, digits, ".", "_" or "-"; got "${clientId}"`,
    );
  }
  return clientId;
}

/** A client's settings, read and checked from its registration's values. */
export function clientSettingsOf(
  clientId: string,
  values: ClientSettingValues,
  defaults: { readonly gracePeriodSeconds: number },
): ClientSettings {
  const source = `the registration of client "${clientId}"`;
  const get = (name: string): string | undefined => (values as Readonly<Record<string, string | undefined>>)[name];
  const scopes = parseScopes(source, get(CLIENT_SETTING.scopes));
  const number = (name: string, min: number, max: number) => parseWholeNumberSetting(source, name, get(name), min, max);
  const gracePeriodSeconds = number(CLIENT_SETTING.gracePeriodSeconds, 0, MAX_GRACE_PERIOD_SECONDS);
  const maxKeyAgeDays = number(CLIENT_SETTING.maxKeyAgeDays, 1, MAX_KEY_AGE_DAYS);
  const extendHours = number(CLIENT_SETTING.extendWhileInUseHours, 1, 24 * 30);
  const maxGraceHours = number(CLIENT_SETTING.maxGraceHours, 1, 24 * 366) ?? DEFAULT_MAX_GRACE_HOURS;
  const closeWhenSwitchedHours = number(CLIENT_SETTING.closeWhenSwitchedHours, 1, 24 * 7);
  const rescueMissedHours = number(CLIENT_SETTING.rescueMissedHours, 1, MAX_RESCUE_MISSED_HOURS);
  const usagePlan = get(CLIENT_SETTING.usagePlan);
  if (usagePlan !== undefined && !USAGE_PLAN_NAME_PATTERN.test(usagePlan)) {
    throw new InvalidClientSettingError(`${source}: setting "${CLIENT_SETTING.usagePlan}" must be 1 to 64 letters, digits, "_" or "-"; got "${usagePlan}"`);
  }
  const deliveryPublicKey = get(CLIENT_SETTING.deliveryPublicKey);
  if (deliveryPublicKey !== undefined && !isDeliveryPublicKey(deliveryPublicKey)) {
    throw new InvalidClientSettingError(`${source}: setting "${CLIENT_SETTING.deliveryPublicKey}" is not a usable X25519 public key`);
  }
  return {
    clientId,
    scopes,
    gracePeriodMs: (gracePeriodSeconds ?? defaults.gracePeriodSeconds) * 1000,
    ...(maxKeyAgeDays === undefined ? {} : { maxKeyAgeMs: maxKeyAgeDays * 24 * HOUR_MS }),
    ...(extendHours === undefined ? {} : { extendWhileInUse: { stepMs: extendHours * HOUR_MS, maxGraceMs: maxGraceHours * HOUR_MS } }),
    ...(closeWhenSwitchedHours === undefined ? {} : { closeWhenSwitchedMs: closeWhenSwitchedHours * HOUR_MS }),
    ...(rescueMissedHours === undefined ? {} : { rescueMissedMs: rescueMissedHours * HOUR_MS }),
    ...(usagePlan === undefined ? {} : { usagePlan }),
    ...(deliveryPublicKey === undefined ? {} : { deliveryPublicKey }),
  };
}

function parseScopes(source: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const scopes = value.split(/\s+/).filter((scope) => scope.length > 0);
  const bad = scopes.find((scope) => !SCOPE_PATTERN.test(scope));
  if (bad !== undefined) {
    throw new InvalidClientSettingError(`${source}: setting "${CLIENT_SETTING.scopes}" holds "${bad}", but a scope is 1 to 64 letters, digits, ":", ".", "_", "/" or "-"`);
  }
  return [...new Set(scopes)].sort();
}

function parseWholeNumberSetting(source: string, name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new InvalidClientSettingError(`${source}: setting "${name}" must be a whole number from ${min} to ${max}; got "${value}"`);
  }
  return parsed;
}
