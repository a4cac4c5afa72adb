import { hashApiKey, parseApiKey } from './api-key';
import type { CacheFlushReport } from './authorizer-cache-flush';
import { AlreadyRevokedError } from './errors';
import type { KeyOperations } from './key-operations';
import type { KeyVersion } from './key-version';
import { AWSCURRENT, AWSPENDING, type KeyTable, type RotationControl } from './ports';
import { versionWithStage } from './secret-labels';

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

/** The revocations API Gateway's caches must be flushed after. */
export interface PendingFlush {
  readonly keyHashes: readonly string[];
  /** The latest of their revocations: the flush waits until every authorizer has read it. */
  readonly revokedAtMs: number;
}

/** What ending a report's keys changed. */
export interface LeakedKeysOutcome {
  /** The hashes keyroll knows, revoked now or before. */
  readonly known: readonly string[];
  /** How many were revoked by this call. */
  readonly revoked: number;
  /** The clients whose rotation this call started. */
  readonly rotated: readonly string[];
  /** Keys revoked within the last hour (now or by an earlier attempt), whose cached answers are flushed. */
  readonly flushAfter?: PendingFlush;
  /** The flush made within this call, when there was one; `unfinished` stages are left to `flushAfter`. */
  readonly flush?: CacheFlushReport;
}

/**
 * Ends leaked keys: the one thing the internet-facing report endpoint may ask of keyroll. It holds no right to
 * write the key table; the emergency function that does this has no other entry point.
 */
export interface LeakedKeyRevoker {
  endLeakedKeys(keys: readonly LeakedKey[]): Promise<LeakedKeysOutcome>;
  /** Hands the flush to a later, asynchronous call (it may take longer than GitHub waits for an answer). */
  flushLater(flush: PendingFlush): Promise<void>;
}

export const LEAK_REPORTER = 'github-secret-scanning';
/** A key revoked this recently is flushed again when it is reported again: API Gateway caches an answer for at most an hour. */
export const REFLUSH_WITHIN_MS = 3600 * 1000;
/** Keys ended at once: a report may hold many (https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program). */
const KEYS_AT_ONCE = 16;

/**
 * The report endpoint's part: every token that has keyroll's form is hashed and handed to the revoker; the
 * answer is the partner program's feedback. A flush the revoker could not finish within the call is handed to a
 * later one. Tokens are never logged, stored or passed on: only their hashes.
 */
export async function handleLeakReport(
  matches: readonly ReportedMatch[],
  deps: { readonly revoker: LeakedKeyRevoker; readonly keyPrefix: string },
): Promise<{ readonly feedback: MatchFeedback[]; readonly outcome: LeakedKeysOutcome; readonly flushHandedOff: boolean }> {
  const hashed = matches.map((match) => ({ match, keyHash: hashApiKey(match.token), wellFormed: parseApiKey(match.token, deps.keyPrefix).ok }));
  const candidates = hashed.filter(({ wellFormed }) => wellFormed).map(({ keyHash, match }) => ({ keyHash, ...(match.source === undefined ? {} : { source: match.source }) }));
  const outcome: LeakedKeysOutcome = candidates.length === 0 ? { known: [], revoked: 0, rotated: [] } : await deps.revoker.endLeakedKeys(candidates);
  const unfinished = outcome.flushAfter !== undefined && (outcome.flush === undefined || outcome.flush.unfinished.length > 0);
  // A failed hand-off fails the report: GitHub sends it again, and the retry flushes the keys it finds revoked.
  if (unfinished && outcome.flushAfter !== undefined) await deps.revoker.flushLater(outcome.flushAfter);
  const known = new Set(outcome.known);
  const feedback = hashed.map(({ match, keyHash }): MatchFeedback => ({ token_hash: keyHash, token_type: match.type, label: known.has(keyHash) ? 'true_positive' : 'false_positive' }));
  return { feedback, outcome, flushHandedOff: unfinished };
}

export interface LeakedKeysDependencies {
  readonly keys: Pick<KeyTable, 'findByHash'>;
  readonly operations: Pick<KeyOperations, 'revoke' | 'announceRevocation'>;
  readonly rotation: RotationControl;
  readonly secretNamePrefix: string;
  readonly action: LeakAction;
  readonly clock: () => number;
}

/**
 * The emergency function's part. Each reported key keyroll knows is revoked now (announced to the authorizers,
 * `key.revoked` to the client and operations), all at once rather than one after another. A key an earlier
 * attempt revoked is announced again, which tells the client and operations only if they were not told, so a
 * report GitHub sends again repairs what failed the first time. With `rotate`, the client is rotated when the
 * leaked key is still its current key (also on a retry: an earlier attempt may have revoked it and failed to
 * rotate); a replaced or ended key is revoked, and its client keeps its current key.
 */
export async function endLeakedKeys(keys: readonly LeakedKey[], deps: LeakedKeysDependencies): Promise<LeakedKeysOutcome> {
  const known: string[] = [];
  const recentlyRevoked: KeyVersion[] = [];
  const rotated: string[] = [];
  let revoked = 0;
  const endOne = async ({ keyHash, source }: LeakedKey) => {
    let version = await deps.keys.findByHash(keyHash);
    if (version === undefined) return;
    known.push(keyHash);
    if (version.revokedAtMs === undefined) {
      try {
        version = await deps.operations.revoke({
          clientId: version.clientId,
          versionId: version.versionId,
          reason: `leaked: reported by GitHub secret scanning${source === undefined ? '' : ` (${source})`}`,
          actor: LEAK_REPORTER,
        });
        revoked++;
      } catch (error) {
        // Revoked meanwhile by another report or an operator: that revocation stands.
        if (!(error instanceof AlreadyRevokedError)) throw error;
        version = (await deps.keys.findByHash(keyHash)) ?? version;
      }
    } else {
      await deps.operations.announceRevocation(version);
    }
    if ((version.revokedAtMs ?? 0) >= deps.clock() - REFLUSH_WITHIN_MS) recentlyRevoked.push(version);
    if (deps.action === 'rotate' && (await rotateIfCurrent(version, deps))) rotated.push(version.clientId);
  };
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) await endOne(key);
  };
  await Promise.all(Array.from({ length: Math.min(KEYS_AT_ONCE, queue.length) }, worker));
  const flushAfter =
    recentlyRevoked.length === 0 ? undefined : { keyHashes: recentlyRevoked.map((version) => version.keyHash), revokedAtMs: Math.max(...recentlyRevoked.map((version) => version.revokedAtMs ?? 0)) };
  return { known, revoked, rotated, ...(flushAfter === undefined ? {} : { flushAfter }) };
}

/** Starts a rotation when the version is still its client's current key and none is in progress. */
async function rotateIfCurrent(version: KeyVersion, deps: LeakedKeysDependencies): Promise<boolean> {
  const secretId = `${deps.secretNamePrefix}${version.clientId}`;
  let secret;
  try {
    secret = await deps.rotation.describe(secretId);
  } catch (error) {
    // A removed client has no secret to rotate; its key is revoked, which is all a leak needs.
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
    throw error;
  }
  if (versionWithStage(secret, AWSCURRENT) !== version.versionId) return false;
  const pending = versionWithStage(secret, AWSPENDING);
  if (pending !== undefined && pending !== version.versionId) return false;
  return (await deps.rotation.startRotation(secretId)).kind === 'started';
}
