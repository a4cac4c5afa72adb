import { createPublicKey, verify } from 'node:crypto';
import type { ReportedMatch } from '../domain/leak-reports';

/** Where GitHub publishes the keys that sign secret scanning reports. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** The report is not one GitHub signed, or not a report. Says why, never quotes the body. */
export class LeakReportRejectedError extends Error {
  override readonly name = 'LeakReportRejectedError';
}

export type PublicKeysFetcher = () => Promise<readonly { readonly key_identifier: string; readonly key: string }[]>;

/**
 * GitHub's secret scanning partner protocol
 * (https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program):
 * the raw body is signed with ECDSA P-256 and SHA-256 by the key `Github-Public-Key-Identifier` names, the
 * signature (DER, base64) in `Github-Public-Key-Signature`. The keys are fetched once per container and again
 * when a report names an identifier not seen yet (GitHub rotates them).
 */
export class GitHubReportVerifier {
  private keys: Promise<ReadonlyMap<string, string>> | undefined;

  constructor(private readonly fetchKeys: PublicKeysFetcher) {}

  async verify(rawBody: string, keyIdentifier: string | undefined, signature: string | undefined): Promise<ReportedMatch[]> {
    if (keyIdentifier === undefined || keyIdentifier === '' || signature === undefined || signature === '') throw new LeakReportRejectedError('the report has no GitHub signature headers');
    let keys = await this.loadKeys(false);
    if (!keys.has(keyIdentifier)) keys = await this.loadKeys(true);
    const pem = keys.get(keyIdentifier);
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

  private loadKeys(refresh: boolean): Promise<ReadonlyMap<string, string>> {
    if (this.keys === undefined || refresh) {
      const loading = this.fetchKeys().then((list) => new Map(list.map((entry) => [entry.key_identifier, entry.key])));
      loading.catch(() => {
        if (this.keys === loading) this.keys = undefined;
      });
      this.keys = loading;
    }
    return this.keys;
  }
}

/** Fetches GitHub's published keys over HTTPS. */
export function fetchGitHubKeys(url = GITHUB_SECRET_SCANNING_KEYS_URL): PublicKeysFetcher {
  return async () => {
    const response = await fetch(url, { headers: { accept: 'application/json', 'user-agent': 'keyroll' } });
    if (!response.ok) throw new Error(`GitHub's secret scanning keys answered ${response.status}`);
    const body = (await response.json()) as { public_keys?: { key_identifier?: unknown; key?: unknown }[] };
    return (body.public_keys ?? []).flatMap((entry) => (typeof entry.key_identifier === 'string' && typeof entry.key === 'string' ? [{ key_identifier: entry.key_identifier, key: entry.key }] : []));
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
