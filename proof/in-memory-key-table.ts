import { ClientAlreadyRegisteredError, KeyConflictError, KeyTableItemError, KeyVersionNotFoundError } from '../lambda/domain/errors';
import type { KeyVersion } from '../lambda/domain/key-version';
import type { Notification } from '../lambda/domain/notifications';
import type { ClientRegistration, ClientRegistry, EventLog, IssuedKeys, KeyTable, NewKeyVersion, RecordedEvent, RefusalSummary, RevocationFeed, UsageStore, UsageSummary } from '../lambda/domain/ports';
import type { RefusalCount, UsageCount } from '../lambda/domain/usage';

/**
 * The key table's rules, in memory, for the exhaustive exploration: each method does what `DynamoKeyTable`'s
 * conditional writes do (`test/proof/in-memory-key-table.test.ts` runs both on the same random operations and
 * compares them). One method call is one call to the table, where the DynamoDB adapter sometimes makes two.
 */
export class InMemoryKeyTable implements KeyTable, EventLog, UsageStore, ClientRegistry, IssuedKeys, RevocationFeed {
  private readonly versions = new Map<string, KeyVersion>();
  private readonly registrations = new Map<string, ClientRegistration>();
  private readonly issued = new Map<string, { readonly clientId: string; readonly versionId: string }>();
  private readonly events = new Map<string, { readonly body: string; publishedAtMs?: number }>();
  private readonly pendingSeen = new Map<string, number>();
  private readonly usage = new Map<string, { requests: number; lastUsedMs: number }>();
  private readonly counted = new Set<string>();
  private readonly refusals = new Map<string, { refused: number; firstRefusedMs: number; lastRefusedMs: number }>();
  private readonly announced = new Map<string, number>();

  async register(version: NewKeyVersion): Promise<'registered' | 'already-registered'> {
    const existing = this.versions.get(version.keyHash);
    if (existing === undefined) {
      this.versions.set(version.keyHash, { ...version });
      return 'registered';
    }
    if (existing.versionId === version.versionId && existing.clientId === version.clientId) return 'already-registered';
    throw new KeyConflictError(`the key of version ${version.versionId} is already registered to another version`);
  }

  async registrationOf(clientId: string): Promise<ClientRegistration | undefined> {
    return this.registrations.get(clientId);
  }

  async listRegistrations(): Promise<ClientRegistration[]> {
    return [...this.registrations.values()];
  }

  async registerClient(registration: ClientRegistration): Promise<void> {
    const existing = this.registrations.get(registration.clientId);
    if (existing !== undefined && existing.secretArn !== registration.secretArn) {
      throw new ClientAlreadyRegisteredError(`client "${registration.clientId}" is registered to another secret than ${registration.secretArn}`);
    }
    this.registrations.set(registration.clientId, { ...registration, settings: { ...registration.settings } });
  }

  async deregisterClient(clientId: string, secretArn: string): Promise<boolean> {
    if (this.registrations.get(clientId)?.secretArn !== secretArn) return false;
    this.registrations.delete(clientId);
    return true;
  }

  async recordIssued(issued: { readonly keyHash: string; readonly clientId: string; readonly versionId: string }): Promise<void> {
    if (!this.issued.has(issued.keyHash)) this.issued.set(issued.keyHash, { clientId: issued.clientId, versionId: issued.versionId });
  }

  async wasIssued(keyHash: string, clientId: string, versionId: string): Promise<boolean> {
    const issued = this.issued.get(keyHash);
    return issued?.clientId === clientId && issued.versionId === versionId;
  }

  async findByHash(keyHash: string): Promise<KeyVersion | undefined> {
    const version = this.versions.get(keyHash);
    return version === undefined ? undefined : { ...version };
  }

  async listClientVersions(clientId: string): Promise<KeyVersion[]> {
    return [...this.versions.values()].filter((version) => version.clientId === clientId).sort((a, b) => a.notBeforeMs - b.notBeforeMs);
  }

  async markCurrent(keyHash: string, atMs: number): Promise<KeyVersion> {
    return this.update(keyHash, 'the new current key is not in the key table', (version) => (version.currentSinceMs === undefined ? { ...version, currentSinceMs: atMs } : version));
  }

  async closeWindow(keyHash: string, notAfterMs: number): Promise<KeyVersion> {
    return this.update(keyHash, 'the key version whose window was to close is not in the key table', (version) =>
      version.revokedAtMs === undefined && (version.notAfterMs === undefined || version.notAfterMs > notAfterMs) ? { ...version, notAfterMs } : version,
    );
  }

  async revoke(keyHash: string, atMs: number, reason: string): Promise<KeyVersion> {
    return this.update(keyHash, 'the key version to revoke is not in the key table', (version) =>
      version.revokedAtMs === undefined ? { ...version, revokedAtMs: atMs, revokedReason: version.revokedReason ?? reason } : version,
    );
  }

  async announce(keyHash: string, atMs: number): Promise<void> {
    this.announced.set(keyHash, Math.max(atMs, this.announced.get(keyHash) ?? 0));
  }

  async revokedSince(sinceMs: number): Promise<string[]> {
    return [...this.announced].filter(([, atMs]) => atMs >= sinceMs).map(([keyHash]) => keyHash);
  }

  async extendWindow(keyHash: string, notAfterMs: number): Promise<KeyVersion> {
    return this.update(keyHash, 'the key version whose window was to extend is not in the key table', (version) =>
      version.revokedAtMs === undefined && version.notAfterMs !== undefined && version.notAfterMs < notAfterMs ? { ...version, notAfterMs } : version,
    );
  }

  async markExpired(keyHash: string, endMs: number): Promise<KeyVersion> {
    return this.update(keyHash, 'the key version to mark expired is not in the key table', (version) => (version.expiredAtMs === undefined ? { ...version, expiredAtMs: endMs } : version));
  }

  async firstSeenPending(clientId: string, versionId: string, nowMs: number): Promise<number> {
    const key = `${clientId}#${versionId}`;
    const seen = this.pendingSeen.get(key) ?? nowMs;
    this.pendingSeen.set(key, seen);
    return seen;
  }

  async record(notification: Notification): Promise<RecordedEvent> {
    const existing = this.events.get(notification.eventId);
    if (existing === undefined) {
      this.events.set(notification.eventId, { body: JSON.stringify(notification) });
      return { notification, published: false };
    }
    return { notification: JSON.parse(existing.body) as Notification, published: existing.publishedAtMs !== undefined };
  }

  async markPublished(notification: Notification, atMs: number): Promise<void> {
    const event = this.events.get(notification.eventId);
    if (event === undefined) throw new KeyTableItemError(`event ${notification.eventId} is not recorded`);
    event.publishedAtMs ??= atMs;
  }

  async isBatchCounted(batchId: string): Promise<boolean> {
    return this.counted.has(batchId);
  }

  async addUsage(counts: readonly UsageCount[]): Promise<void> {
    for (const count of counts) {
      const key = `${count.clientId}#${count.versionId}#${count.hour}`;
      const sum = this.usage.get(key) ?? { requests: 0, lastUsedMs: 0 };
      // Last writer wins, as in the DynamoDB usage store.
      this.usage.set(key, { requests: sum.requests + count.requests, lastUsedMs: count.lastUsedMs });
    }
  }

  async markBatchCounted(batchId: string): Promise<void> {
    this.counted.add(batchId);
  }

  async readUsage(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<UsageSummary> {
    let requests = 0;
    let lastUsedMs: number | undefined;
    for (const [key, sum] of this.usage) {
      const [client, version, hour = ''] = key.split('#');
      if (client !== clientId || version !== versionId || hour < fromHour || hour > toHour) continue;
      requests += sum.requests;
      lastUsedMs = Math.max(lastUsedMs ?? 0, sum.lastUsedMs);
    }
    return lastUsedMs === undefined ? { requests } : { requests, lastUsedMs };
  }

  async addRefusals(counts: readonly RefusalCount[]): Promise<void> {
    for (const count of counts) {
      const key = `${count.clientId}#${count.versionId}#${count.hour}`;
      const sum = this.refusals.get(key);
      // The first report's since is kept and the last writer's time wins, as in the DynamoDB usage store.
      this.refusals.set(key, {
        refused: (sum?.refused ?? 0) + count.refused,
        firstRefusedMs: sum?.firstRefusedMs ?? count.firstRefusedMs,
        lastRefusedMs: count.lastRefusedMs,
      });
    }
  }

  async readRefusals(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<RefusalSummary> {
    let refused = 0;
    let firstRefusedMs: number | undefined;
    let lastRefusedMs: number | undefined;
    for (const [key, sum] of this.refusals) {
      const [client, version, hour = ''] = key.split('#');
      if (client !== clientId || version !== versionId || hour < fromHour || hour > toHour) continue;
      refused += sum.refused;
      firstRefusedMs = Math.min(firstRefusedMs ?? sum.firstRefusedMs, sum.firstRefusedMs);
      lastRefusedMs = Math.max(lastRefusedMs ?? sum.lastRefusedMs, sum.lastRefusedMs);
    }
    return { refused, ...(firstRefusedMs === undefined ? {} : { firstRefusedMs }), ...(lastRefusedMs === undefined ? {} : { lastRefusedMs }) };
  }

  /** Everything the table holds, key hashes replaced by what `nameOf` calls them, in a stable order: two equal tables give equal strings. */
  canonical(nameOf: (keyHash: string) => string): string {
    const versions = [...this.versions.values()].map(({ keyHash, keyDisplay: _display, ...rest }) => ({ ...rest, key: nameOf(keyHash) })).sort((a, b) => a.key.localeCompare(b.key));
    const events = [...this.events.entries()].map(([eventId, event]) => [eventId, event.publishedAtMs !== undefined]).sort();
    return JSON.stringify({ versions, events, pendingSeen: [...this.pendingSeen.entries()].sort() });
  }

  /** The recorded notification bodies by eventId. */
  recordedEvents(): ReadonlyMap<string, string> {
    return new Map([...this.events.entries()].map(([eventId, event]) => [eventId, event.body]));
  }

  private update(keyHash: string, missing: string, change: (version: KeyVersion) => KeyVersion): KeyVersion {
    const version = this.versions.get(keyHash);
    if (version === undefined) throw new KeyVersionNotFoundError(missing);
    const changed = change(version);
    this.versions.set(keyHash, changed);
    return { ...changed };
  }
}
