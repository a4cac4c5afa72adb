import { acceptKey, type KeyRefusal, type LookupSource } from './accept-key';
import type { CachedKeyLookup } from './cached-key-lookup';
import type { RevocationWatch } from './revocation-watch';
import type { KeyVersion } from './key-version';
import type { Permissions, RouteScopes, RouteTarget } from './route-scopes';

export type { RouteTarget } from './route-scopes';

/** Why a request gets a 401. Logged and counted; the caller only ever sees "Unauthorized". */
export type RefusalReason =
  | KeyRefusal
  | 'missing'
  | 'ambiguous'
  | 'malformed_event'
  /** Something unexpected failed inside the authorizer; counted so that it can raise an alarm. */
  | 'internal_error';

export type AuthorizationDecision =
  | {
      /** `forbidden`: a valid key whose scopes do not cover the route (403). */
      readonly outcome: 'allow' | 'forbidden';
      readonly version: KeyVersion;
      readonly permissions: Permissions;
      readonly source: LookupSource;
      readonly missingScopes: readonly string[];
      /** Why the table could not be read, when a stale version was used. */
      readonly failure?: string;
    }
  | {
      readonly outcome: 'unauthorized';
      readonly reason: RefusalReason;
      /** Safe to log: a key's display form, or a description of what was presented. */
      readonly presented: string;
      readonly version?: KeyVersion;
      /** Where the answer came from, when the table was consulted (directly or through the cache). */
      readonly source?: LookupSource;
      readonly failure?: string;
    };

/**
 * Decides a request from the keys it presents: exactly one key must be presented and accepted
 * ({@link acceptKey}); then the route's scopes decide between allow and forbidden. A presented value that holds
 * no key (an empty header, or an empty part of a comma-joined one) refuses the request whatever else it
 * carries: API Gateway caches the answer under the whole value, so every part of it must be the one key.
 */
export class KeyAuthorizer {
  constructor(
    private readonly deps: { readonly lookup: CachedKeyLookup; readonly routes: RouteScopes; readonly keyPrefix: string; readonly revocations?: RevocationWatch },
  ) {}

  /** `source` is the caller's address, which bounds what its unknown keys may cost. */
  async authorize(presentedKeys: readonly string[], target: RouteTarget, nowMs: number, source?: string): Promise<AuthorizationDecision> {
    const candidate = singleKey(presentedKeys);
    if (candidate === undefined) return { outcome: 'unauthorized', reason: 'missing', presented: 'no key' };
    if (candidate === AMBIGUOUS) return { outcome: 'unauthorized', reason: 'ambiguous', presented: presentedKeys.includes('') ? 'a key beside an empty value' : `${new Set(presentedKeys).size} different keys` };
    await this.deps.revocations?.catchUp(nowMs);
    const acceptance = await acceptKey(candidate, {
      prefix: this.deps.keyPrefix,
      lookup: (keyHash) => this.deps.lookup.lookup(keyHash, nowMs, source),
      nowMs,
    });
    if (!acceptance.accepted) {
      const { reason, presented, version, source: answeredFrom, failure } = acceptance;
      return {
        outcome: 'unauthorized',
        reason,
        presented,
        ...(version === undefined ? {} : { version }),
        ...(answeredFrom === undefined ? {} : { source: answeredFrom }),
        ...(failure === undefined ? {} : { failure }),
      };
    }
    const { version, source: answeredFrom, failure } = acceptance;
    const missingScopes = this.deps.routes.missingScopes(target.method, target.paths, version.scopes);
    const outcome = missingScopes.length === 0 ? 'allow' : 'forbidden';
    const permissions = this.deps.routes.permissionsFor(target, outcome === 'allow');
    return failure === undefined
      ? { outcome, version, permissions, source: answeredFrom, missingScopes }
      : { outcome, version, permissions, source: answeredFrom, missingScopes, failure };
  }
}

const AMBIGUOUS = Symbol('ambiguous');

/**
 * The one key a request presents (possibly more than once), `undefined` for none (every value empty), AMBIGUOUS
 * for several, or for a key beside an empty value.
 */
function singleKey(presentedKeys: readonly string[]): string | typeof AMBIGUOUS | undefined {
  const [first] = presentedKeys;
  for (const key of presentedKeys) if (key !== first) return AMBIGUOUS;
  return first === '' ? undefined : first;
}
