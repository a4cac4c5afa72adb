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

export interface LeakReportDependencies {
  readonly keys: Pick<KeyTable, 'findByHash'>;
  readonly operations: Pick<KeyOperations, 'revoke'>;
  readonly rotation: RotationControl;
  readonly keyPrefix: string;
  readonly secretNamePrefix: string;
  readonly action: LeakAction;
  /** API Gateway's cached answers, flushed once the authorizer containers have read the revocations. */
  readonly caches: AuthorizerCaches;
  readonly revocationPollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** What a report changed: the feedback to answer, how many keys were revoked, and the flush of API Gateway's caches. */
export interface LeakReportOutcome {
  readonly feedback: MatchFeedback[];
  readonly revoked: number;
  /** The stages flushed, or why the flush failed (the keys stay revoked; operations flush by hand). */
  readonly flush: { readonly flushed: readonly string[] } | { readonly failed: string } | undefined;
}

export const LEAK_REPORTER = 'github-secret-scanning';

/**
 * Handles the keys a secret scanning report says were published: each one keyroll knows and has not revoked is
 * revoked now (announced to the authorizers, `key.revoked` to the client and operations); with `rotate`, the
 * client is rotated too so that it gets a new key at once. Then API Gateway's cached answers are flushed, as
 * `keyroll rotate --emergency` does. A key already revoked is left alone, so a replayed report changes nothing.
 * A failed flush does not fail the report: GitHub would send it again, and the replay, finding the keys revoked,
 * would not flush either. The tokens are never logged or stored: only their hashes are compared and answered.
 */
export async function handleLeakReport(matches: readonly ReportedMatch[], deps: LeakReportDependencies): Promise<LeakReportOutcome> {
  const feedback: MatchFeedback[] = [];
  let revoked = 0;
  for (const match of matches) {
    const tokenHash = hashApiKey(match.token);
    const parsed = parseApiKey(match.token, deps.keyPrefix);
    const version = parsed.ok ? await deps.keys.findByHash(tokenHash) : undefined;
    feedback.push({ token_hash: tokenHash, token_type: match.type, label: version === undefined ? 'false_positive' : 'true_positive' });
    if (version === undefined || version.revokedAtMs !== undefined) continue;
    await deps.operations.revoke({
      clientId: version.clientId,
      versionId: version.versionId,
      reason: `leaked: reported by GitHub secret scanning${match.source === undefined ? '' : ` (${match.source})`}`,
      actor: LEAK_REPORTER,
    });
    revoked++;
    if (deps.action === 'rotate') await deps.rotation.startRotation(`${deps.secretNamePrefix}${version.clientId}`);
  }
  if (revoked === 0) return { feedback, revoked, flush: undefined };
  try {
    return { feedback, revoked, flush: { flushed: await flushOnceRevocationIsSeen(deps.caches, deps.revocationPollMs, deps.sleep) } };
  } catch (error) {
    return { feedback, revoked, flush: { failed: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' } };
  }
}
