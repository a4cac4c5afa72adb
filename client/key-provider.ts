import type { Notification } from '../lambda/domain/notifications';
import type { CurrentKey, KeySource } from './key-source';

/** Why the provider asked its source again. */
export type RefreshReason = 'first-use' | 'interval' | 'before-expiry' | 'notification' | 'unauthorized' | 'requested';

/** What the provider did, for the caller's logs and metrics. Never holds a key. */
export type KeyProviderEvent =
  | { readonly type: 'switched'; readonly fromVersionId?: string; readonly toVersionId: string; readonly reason: RefreshReason }
  | { readonly type: 'refresh-failed'; readonly reason: RefreshReason; readonly error: string; readonly keptVersionId?: string }
  | { readonly type: 'retried-after-401'; readonly versionId: string };

export interface KeyProviderOptions {
  readonly source: KeySource;
  /** Only notifications about this client make the provider refresh; others are ignored. */
  readonly clientId?: string;
  /** Without any other reason, the source is asked again at most once per this interval. Default 5 minutes. */
  readonly refreshIntervalMs?: number;
  /** A key whose end is known is refreshed from this long before that end. Default 5 minutes. */
  readonly expiryMarginMs?: number;
  /** The header the key goes in; `authorization` sends `Bearer <key>`. Default `x-api-key`. */
  readonly header?: string;
  /** The fetch to wrap. Default the global fetch. */
  readonly fetch?: typeof fetch;
  readonly onEvent?: (event: KeyProviderEvent) => void;
  readonly clock?: () => number;
}

const MINUTE_MS = 60_000;
/** Refreshes for a key near its end are spaced by this much, so a source that has no newer key is not hammered. */
const NEAR_EXPIRY_RETRY_MS = 30_000;

/**
 * Always has a key that works: reads it from its source on first use, again when a `key.rotated` (or
 * `key.expiring`, `key.expired`, `key.revoked`) notification for its client arrives, before a known end of the
 * key, after a 401, and otherwise at most once per refresh interval. Concurrent callers share one refresh, and a
 * failed refresh keeps the key it has.
 */
export class KeyProvider {
  private current: CurrentKey | undefined;
  private refreshing: Promise<CurrentKey> | undefined;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private readonly clock: () => number;
  private readonly header: string;

  constructor(private readonly options: KeyProviderOptions) {
    this.clock = options.clock ?? Date.now;
    this.header = (options.header ?? 'x-api-key').toLowerCase();
  }

  /** The key to send now. */
  async key(): Promise<string> {
    return (await this.currentKey()).key;
  }

  /** The key to send now, with its version. Throws only when no key was ever read. */
  async currentKey(): Promise<CurrentKey> {
    const current = this.current;
    if (current === undefined) return this.refresh('first-use');
    const nowMs = this.clock();
    const sinceRefreshMs = nowMs - this.lastRefreshMs;
    if (current.expiresAtMs !== undefined && nowMs >= current.expiresAtMs - (this.options.expiryMarginMs ?? 5 * MINUTE_MS) && sinceRefreshMs >= NEAR_EXPIRY_RETRY_MS) {
      return this.refresh('before-expiry');
    }
    if (sinceRefreshMs >= (this.options.refreshIntervalMs ?? 5 * MINUTE_MS)) return this.refresh('interval');
    return current;
  }

  /** Asks the source now; callers arriving meanwhile share the answer. A failure keeps the key the provider has. */
  refresh(reason: RefreshReason = 'requested'): Promise<CurrentKey> {
    this.refreshing ??= this.readSource(reason).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Acts on a keyroll notification (from an SNS HTTPS delivery or an SQS message): refreshes when it concerns this client's keys. */
  async handleNotification(notification: Notification): Promise<void> {
    if (this.options.clientId !== undefined && notification.clientId !== this.options.clientId) return;
    if (notification.type === 'key.expiring' && notification.expiresAt !== undefined && notification.versionId === this.current?.versionId) {
      // The current key itself has an end (a maximum key age): remember it, so refreshes come before it.
      this.current = { ...this.current, expiresAtMs: Date.parse(notification.expiresAt) };
    }
    if (['key.rotated', 'key.expiring', 'key.expired', 'key.revoked', 'key.refused'].includes(notification.type)) await this.refresh('notification');
  }

  /**
   * `fetch` with the key in its header. On a 401 it refreshes once and retries once, with whatever key it then
   * has; never more, and never for any other status (a 403 means the key lacks a scope, which a new key of the
   * same client would not have either). A body that is a stream cannot be sent twice, so such a request is not
   * retried. Redirects are followed only within the request's origin: the key is never sent to another one
   * (the caller gets that redirect as the answer), as Node's fetch would, stripping only `Authorization`.
   */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const send = async (key: string) => {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      headers.set(this.header, this.header === 'authorization' ? `Bearer ${key}` : key);
      return this.fetchWithinOrigin(input, { ...init, headers });
    };
    const response = await send(await this.key());
    const body = init?.body ?? (input instanceof Request ? input.body : undefined);
    if (response.status !== 401 || body instanceof ReadableStream) return response;
    await response.body?.cancel();
    const retryKey = await this.refresh('unauthorized');
    this.options.onEvent?.({ type: 'retried-after-401', versionId: retryKey.versionId });
    return send(retryKey.key);
  };

  /** Follows redirects as fetch would (at most 20, 303 and a POST's 301/302 become GET), but only to the same origin. */
  private async fetchWithinOrigin(input: string | URL | Request, init: RequestInit): Promise<Response> {
    const doFetch = this.options.fetch ?? fetch;
    const follow = (init.redirect ?? (input instanceof Request ? input.redirect : 'follow')) === 'follow';
    let url = new URL(input instanceof Request ? input.url : String(input));
    let request: string | URL | Request = input instanceof Request ? input.clone() : input;
    let next: RequestInit = { ...init, redirect: 'manual' };
    for (let hops = 0; ; hops++) {
      const response = await doFetch(request, next);
      const location = response.headers.get('location');
      if (!follow || location === null || ![301, 302, 303, 307, 308].includes(response.status) || hops === 20) return response;
      const target = new URL(location, url);
      if (target.origin !== url.origin) return response;
      const method = (next.method ?? (request instanceof Request ? request.method : 'GET')).toUpperCase();
      const toGet = response.status === 303 ? method !== 'HEAD' : (response.status === 301 || response.status === 302) && method === 'POST';
      // A body that cannot be sent again (a stream, or a Request's) ends the redirects here.
      const hasBody = method !== 'GET' && method !== 'HEAD';
      if (!toGet && hasBody && (request instanceof Request || next.body instanceof ReadableStream)) return response;
      await response.body?.cancel();
      const headers = new Headers(next.headers);
      if (toGet) for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(name);
      next = { ...next, method: toGet && method !== 'HEAD' ? 'GET' : method, headers };
      if (toGet) delete next.body;
      url = target;
      request = target;
    }
  }

  private async readSource(reason: RefreshReason): Promise<CurrentKey> {
    const previous = this.current;
    try {
      const next = await this.options.source.currentKey();
      // A key the source gives again keeps an end the provider learned from a notification.
      this.current = next.versionId === previous?.versionId && next.expiresAtMs === undefined && previous.expiresAtMs !== undefined ? { ...next, expiresAtMs: previous.expiresAtMs } : next;
      if (next.versionId !== previous?.versionId) {
        this.options.onEvent?.({ type: 'switched', ...(previous === undefined ? {} : { fromVersionId: previous.versionId }), toVersionId: next.versionId, reason });
      }
      return this.current;
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.options.onEvent?.({ type: 'refresh-failed', reason, error: message, ...(previous === undefined ? {} : { keptVersionId: previous.versionId }) });
      if (previous === undefined) throw error;
      return previous;
    } finally {
      this.lastRefreshMs = this.clock();
    }
  }
}
