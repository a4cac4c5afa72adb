import { hashApiKey, parseApiKey } from './api-key';
import type { KeyOperations } from './key-operations';
import type { KeyTable, RotationControl } from './ports';

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
}

export const LEAK_REPORTER = 'github-secret-scanning';

/**
 * Handles the keys a secret scanning report says were published: each one keyroll knows and has not revoked is
 * revoked now (announced to the authorizers, `key.revoked` to the client and operations); with `rotate`, the
 * client is rotated too so that it gets a new key at once. A key already revoked is left alone, so a replayed
 * report changes nothing. The tokens are never logged or stored: only their hashes are compared and answered.
 */
export async function handleLeakReport(matches: readonly ReportedMatch[], deps: LeakReportDependencies): Promise<{ readonly feedback: MatchFeedback[]; readonly revoked: number }> {
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
  return { feedback, revoked };
}
