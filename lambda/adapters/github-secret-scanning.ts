import { createPublicKey, verify } from 'node:crypto';
import { KeyrollError } from '../domain/errors';
import type { ReportedMatch } from '../domain/leak-reports';

/** Where GitHub publishes the keys that sign secret scanning reports. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/**
 * How the published keys are kept, per container (README, Leaked keys): refreshed when older than an hour, so a
 * key GitHub withdraws stops being trusted within the hour after GitHub answers; fetched again for a key id not
 * seen yet at most every 10 minutes, so a flood of made-up ids costs no more than 6 extra fetches an hour, well
 * within the 60 unauthenticated requests an hour GitHub allows an address (a conditional request that finds
 * nothing new is answered 304, with no body to parse, but counts unless authenticated:
 * https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
 * A container that has never read them tries again at most once a minute, answering 503 (GitHub retries) meanwhile.
 */
export const GITHUB_KEYS_POLICY = { refreshAfterMs: 3600_000, unknownKeyRefetchAfterMs: 600_000, unloadedRetryAfterMs: 60_000, fetchTimeoutMs: 3_000 } as const;

/** The report is not one GitHub signed, or not a report. Says why for the log; the answer never says which check failed. */
export class LeakReportRejectedError extends Error {
  override readonly name = 'LeakReportRejectedError';
}

/** GitHub's keys could not be read and none were read before: no report can be checked (answered 503, GitHub retries). */
export class GitHubKeysUnavailableError extends KeyrollError {
  override readonly name: string = 'GitHubKeysUnavailableError';
}

export interface PublishedKey {
  readonly key_identifier: string;
  readonly key: string;
}

/** One fetch of the key list: the keys, or `notModified` when the entity tag sent still matches. */
export type PublicKeysFetcher = (entityTag: string | undefined) => Promise<{ readonly keys: readonly PublishedKey[]; readonly entityTag?: string } | { readonly notModified: true }>;

/**
 * GitHub's secret scanning partner protocol
 * (https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program):
 * the raw body is signed with ECDSA-NIST-P256V1-SHA256 by the key `Github-Public-Key-Identifier` names, the
 * signature (DER, base64) in `Github-Public-Key-Signature`. The last key list read is kept whatever happens to
 * later fetches (a failed fetch never empties it), refreshed and refetched as `GITHUB_KEYS_POLICY` says.
 */
export class GitHubReportVerifier {
  private keys: ReadonlyMap<string, string> | undefined;
  private entityTag: string | undefined;
  private loadedAtMs = Number.NEGATIVE_INFINITY;
  private lastFetchMs = Number.NEGATIVE_INFINITY;
  private fetching: Promise<void> | undefined;
  /** How many fetches this container made, for the logs and the flood test. */
  fetches = 0;

  constructor(
    private readonly fetchKeys: PublicKeysFetcher,
    private readonly clock: () => number = Date.now,
    private readonly policy: { readonly refreshAfterMs: number; readonly unknownKeyRefetchAfterMs: number; readonly unloadedRetryAfterMs: number } = GITHUB_KEYS_POLICY,
  ) {}

  async verify(rawBody: string, keyIdentifier: string | undefined, signature: string | undefined): Promise<ReportedMatch[]> {
    if (keyIdentifier === undefined || keyIdentifier === '' || signature === undefined || signature === '') throw new LeakReportRejectedError('the report has no GitHub signature headers');
    const nowMs = this.clock();
    if (this.keys === undefined ? nowMs - this.lastFetchMs >= this.policy.unloadedRetryAfterMs : nowMs - this.loadedAtMs >= this.policy.refreshAfterMs) await this.fetch();
    if (this.keys !== undefined && !this.keys.has(keyIdentifier) && this.clock() - this.lastFetchMs >= this.policy.unknownKeyRefetchAfterMs) await this.fetch();
    if (this.keys === undefined) throw new GitHubKeysUnavailableError('GitHub\'s secret scanning keys could not be read, and none were read before');
    const pem = this.keys.get(keyIdentifier);
    if (pem === undefined) throw new LeakReportRejectedError('the report is signed by a key GitHub does not publish');
    let valid = false;
    try {
      valid = verify('sha256', Buffer.from(rawBody, 'utf8'), createPublicKey(pem), Buffer.from(signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) throw new LeakReportRejectedError('the signature does not match the report');
    return parseMatches(rawBody);
  }

  /** One fetch at a time; a failure keeps the keys read before. */
  private fetch(): Promise<void> {
    this.fetching ??= (async () => {
      this.lastFetchMs = this.clock();
      this.fetches++;
      try {
        const answer = await this.fetchKeys(this.entityTag);
        if ('notModified' in answer) {
          this.loadedAtMs = this.clock();
          return;
        }
        this.keys = new Map(answer.keys.map((entry) => [entry.key_identifier, entry.key]));
        this.entityTag = answer.entityTag;
        this.loadedAtMs = this.clock();
      } catch {
        // Kept: the last good keys; the next refresh is due at the next unknown-key interval.
        this.loadedAtMs = Math.max(this.loadedAtMs, this.clock() - this.policy.refreshAfterMs + this.policy.unknownKeyRefetchAfterMs);
      } finally {
        this.fetching = undefined;
      }
    })();
    return this.fetching;
  }
}

/** Fetches GitHub's published keys over HTTPS, conditionally, with a timeout. */
export function fetchGitHubKeys(url = GITHUB_SECRET_SCANNING_KEYS_URL, timeoutMs: number = GITHUB_KEYS_POLICY.fetchTimeoutMs): PublicKeysFetcher {
  return async (entityTag) => {
    const response = await fetch(url, {
      headers: { accept: 'application/json', 'user-agent': 'keyroll', ...(entityTag === undefined ? {} : { 'if-none-match': entityTag }) },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    if (response.status === 304) return { notModified: true };
    if (!response.ok) throw new Error(`GitHub's secret scanning keys answered ${response.status}`);
    const body = (await response.json()) as { public_keys?: { key_identifier?: unknown; key?: unknown }[] };
    const keys = (body.public_keys ?? []).flatMap((entry) => (typeof entry.key_identifier === 'string' && typeof entry.key === 'string' ? [{ key_identifier: entry.key_identifier, key: entry.key }] : []));
    if (keys.length === 0) throw new Error('GitHub\'s secret scanning key list holds no key');
    const tag = response.headers.get('etag');
    return tag === null ? { keys } : { keys, entityTag: tag };
  };
}

function parseMatches(rawBody: string): ReportedMatch[] {
  let value: unknown;
  try {
    value = JSON.parse(rawBody);
  } catch {
    throw new LeakReportRejectedError('the report is not JSON');
  }
  if (!Array.isArray(value)) throw new LeakReportRejectedError('the report is not a JSON array');
  return value.map((entry: unknown) => {
    const fields = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof fields['token'] !== 'string' || typeof fields['type'] !== 'string') throw new LeakReportRejectedError('a match of the report has no token or type');
    return { token: fields['token'], type: fields['type'], ...(typeof fields['source'] === 'string' ? { source: fields['source'] } : {}) };
  });
}
