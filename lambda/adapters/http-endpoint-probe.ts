import type { ApiKey } from '../domain/api-key';
import type { EndpointProbe } from '../domain/ports';

/**
 * Calls a configured URL of the protected API with a key in the key header (as `Bearer <key>` when the key
 * header is Authorization, as the authorizer reads it); any 2xx answer passes. Redirects are not followed, so
 * the key is only ever sent to the configured URL, which is https (lambda/contracts/secure-urls.ts).
 */
export class HttpEndpointProbe implements EndpointProbe {
  constructor(
    private readonly url: string,
    private readonly headerName: string,
    private readonly timeoutMs: number,
  ) {}

  async check(key: ApiKey): Promise<{ readonly ok: true } | { readonly ok: false; readonly detail: string }> {
    try {
      const response = await fetch(this.url, {
        headers: { [this.headerName]: this.headerName.toLowerCase() === 'authorization' ? `Bearer ${key}` : key },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? { ok: true } : { ok: false, detail: `${this.url} answered HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, detail: `${this.url} could not be reached (${error instanceof Error ? error.name : 'unknown error'})` };
    }
  }
}
