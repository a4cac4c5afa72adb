import { hashApiKey, parseApiKey } from './api-key';
import type { KeyOperations } from './key-operations';
import { flushOnceRevocationIsSeen } from './authorizer-cache-flush';
import type { AuthorizerCaches, KeyTable, RotationControl } from './ports';

/** What to do with a key reported leaked: revoke it, or also rotate the client so it gets a new one at once. */
export type LeakAction = 'revoke' | 'rotate';

/** One match in a GitHub secret scanning report (the partner program's payload). */
export interface ReportedMatch {
  readonly token: string;
  readonly type: string;
  readonly source?: string;
}

/** The partner program's feedback for one match: the token's SHA-256, never the token. */
export interface MatchFeedback {
  readonly token_hash: string;
  readonly token_type: string;
  readonly label: 'true_positive' | 'false_positive';
}

/** A key to end because it was published, by hash (never the key), with where it was found. */
export interface LeakedKey {
  readonly keyHash: string;
  readonly source?: string;
}

/** What ending a report's keys changed. */
export interface LeakedKeysOutcome {
  /** The hashes keyroll knows, revoked now or before. */
  readonly known: readonly string[];
  /** How many were revoked by this call. */
  readonly revoked: number;
  /** The stages flushed, or why the flush failed (the keys stay revoked; operations flush by hand). */
  readonly flush: { readonly flushed: readonly string[] } | { readonly failed: string } | undefined;
}

/**
 * Ends leaked keys: the one thing the internet-facing report endpoint may ask of keyroll. It holds no right to
 * write the key table; the emergency function that does this has no other entry point.
 */
export interface LeakedKeyRevoker {
  endLeakedKeys(keys: readonly LeakedKey[]): Promise<LeakedKeysOutcome>;
}

export const LEAK_REPORTER = 'github-secret-scanning';

/**
 * The report endpoint's part: every token that has keyroll's form is hashed and handed to the revoker; the
 * answer is the partner program's feedback. Tokens are never logged, stored or passed on: only their hashes.
 */
export async function handleLeakReport(
  matches: readonly ReportedMatch[],
  deps: { readonly revoker: LeakedKeyRevoker; readonly keyPrefix: string },
): Promise<{ readonly feedback: MatchFeedback[]; readonly outcome: LeakedKeysOutcome }> {
  const hashed = matches.map((match) => ({ match, keyHash: hashApiKey(match.token), wellFormed: parseApiKey(match.token, deps.keyPrefix).ok }));
  const candidates = hashed.filter(({ wellFormed }) => wellFormed).map(({ keyHash, match }) => ({ keyHash, ...(match.source === undefined ? {} : { source: match.source }) }));
  const outcome = candidates.length === 0 ? { known: [], revoked: 0, flush: undefined } : await deps.revoker.endLeakedKeys(candidates);
  const known = new Set(outcome.known);
  const feedback = hashed.map(({ match, keyHash }): MatchFeedback => ({ token_hash: keyHash, token_type: match.type, label: known.has(keyHash) ? 'true_positive' : 'false_positive' }));
  return { feedback, outcome };
}

export interface LeakedKeysDependencies {
  readonly keys: Pick<KeyTable, 'findByHash'>;
  readonly operations: Pick<KeyOperations, 'revoke'>;
  readonly rotation: RotationControl;
  readonly secretNamePrefix: string;
  readonly action: LeakAction;
  /** API Gateway's cached answers, flushed once the authorizer containers have read the revocations. */
  readonly caches: AuthorizerCaches;
  readonly revocationPollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * The emergency function's part: each key keyroll knows and has not revoked is revoked now (announced to the
 * authorizers, `key.revoked` to the client and operations); with `rotate`, the client is rotated too so that it
 * gets a new key at once. Then API Gateway's cached answers are flushed, as `keyroll rotate --emergency` does. A
 * key already revoked is left alone, so a replayed report changes nothing. A failed flush does not fail the
 * call: GitHub would send the report again, and the replay, finding the keys revoked, would not flush either.
 */
export async function endLeakedKeys(keys: readonly LeakedKey[], deps: LeakedKeysDependencies): Promise<LeakedKeysOutcome> {
  const known: string[] = [];
  let revoked = 0;
  for (const { keyHash, source } of keys) {
    const version = await deps.keys.findByHash(keyHash);
    if (version === undefined) continue;
    known.push(keyHash);
    if (version.revokedAtMs !== undefined) continue;
    await deps.operations.revoke({
      clientId: version.clientId,
      versionId: version.versionId,
      reason: `leaked: reported by GitHub secret scanning${source === undefined ? '' : ` (${source})`}`,
      actor: LEAK_REPORTER,
    });
    revoked++;
    if (deps.action === 'rotate') await deps.rotation.startRotation(`${deps.secretNamePrefix}${version.clientId}`);
  }
  if (revoked === 0) return { known, revoked, flush: undefined };
  try {
    return { known, revoked, flush: { flushed: await flushOnceRevocationIsSeen(deps.caches, deps.revocationPollMs, deps.sleep) } };
  } catch (error) {
    return { known, revoked, flush: { failed: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' } };
  }
}
