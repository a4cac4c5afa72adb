import { clientSettingsOf, type ClientSettings } from './client-settings';
import { isAbandonedPending, windowEndMs, type KeyVersion } from './key-version';
import { buildNotification, detailsOf, publishOnce, type NotificationDetails, type NotificationType, type PublishResult } from './notifications';
import { retireReplacedVersion } from './replaced-version';
import { AWSCURRENT, AWSPENDING, type ClientRegistration, type ClientRegistry, type EventLog, type KeyTable, type KnownKeyIndex, type Notifier, type SecretDescription, type SecretDirectory, type UsageStore } from './ports';
import { labelledVersionIds, versionsWithStage, versionWithStage } from './secret-labels';
import { hourOf } from './usage';

const HOUR_MS = 3600 * 1000;
/** How many clients a monitor run checks at once. */
const CLIENTS_AT_A_TIME = 16;
/** A window that ended longer ago than this, when the monitor first sees it, gets no `key.expired`. */
const EXPIRED_NOTICE_MAX_AGE_MS = 7 * 24 * HOUR_MS;
/** "Still in use" for usage-aware retirement: a request within this last stretch. */
const IN_USE_WITHIN_MS = HOUR_MS;
/** A replaced key counts as still used for reminders when it was used within this last stretch... */
const RECENT_USE_MS = 24 * HOUR_MS;
/** ...and later than this after it was replaced: clients and their caches need a moment to switch. */
const SWITCH_OVER_MS = 15 * 60 * 1000;
/** Refusals of an ended key are looked for this long after its window ended: a missed switch shows at once. */
const MISSED_SWITCH_LOOKBACK_MS = 24 * HOUR_MS;
/**
 * An ended key leaves the known-key set this long after its end: past the missed-switch lookback and the rescue,
 * so that authorizers still answer `expired` (and report it) while that matters. A revoked key leaves it at once.
 * Each run prunes the versions that crossed the line within the last day; `keyroll extend` puts a key back.
 */
const KNOWN_KEY_PRUNE_AFTER_END_MS = 2 * 24 * HOUR_MS;
const KNOWN_KEY_PRUNE_WINDOW_MS = 24 * HOUR_MS;

/** Refusals of an ended key that make a missed switch, unless the settings say otherwise. */
export const DEFAULT_MISSED_ROTATION_MIN_REFUSALS = 3;

export interface MonitorSettings {
  /** When to remind a client still using a replaced key, before its window ends; each lead once. */
  readonly reminderLeadsMs: readonly number[];
  /** How long AWSPENDING may sit on a version that is not AWSCURRENT before operators are told. */
  readonly stuckAfterMs: number;
  readonly defaultGracePeriodSeconds: number;
  /** This install's secrets are the ones named with this prefix. */
  readonly secretNamePrefix: string;
  /** Reported refusals of an ended key that make `rotation.missed`. Default: {@link DEFAULT_MISSED_ROTATION_MIN_REFUSALS}. */
  readonly missedRotationMinRefusals?: number;
}

export interface MonitorDependencies {
  readonly secrets: SecretDirectory;
  /** The install's clients: the monitor checks registered clients, and reports secrets that are not. */
  readonly registry: Pick<ClientRegistry, 'listRegistrations'>;
  /** The authorizers' known-key set: filled from the table once (a backfill, when no run has made it complete), then pruned. */
  readonly knownKeys?: KnownKeyIndex;
  readonly keys: KeyTable;
  readonly events: EventLog;
  readonly usage: UsageStore;
  readonly clientNotifier: Notifier;
  readonly operationsNotifier: Notifier;
  readonly settings: MonitorSettings;
}

/** What a run did, for its log line. */
export interface MonitorReport {
  readonly clients: number;
  readonly published: Partial<Record<NotificationType, number>>;
  readonly windowsClosed: number;
  readonly windowsExtended: number;
  /** Ended keys accepted again once, for clients that opted into the rescue of a missed switch. */
  readonly windowsRescued: number;
  readonly markedExpired: number;
  readonly revokedAbandoned: number;
  /** Clients left for the next run because the labels read were behind the table. */
  readonly clientsDeferred: number;
  /** Secrets under the install's prefix that no registration names: keyroll issues them no key. */
  readonly unregisteredSecrets: readonly string[];
  /** Keys put into the known-key set by a backfill (a first run), and keys pruned from it. */
  readonly knownKeysBackfilled: number;
  readonly knownKeysPruned: number;
  readonly failures: readonly { readonly secretArn: string; readonly error: string }[];
}

/**
 * The scheduled check of every client's keys. Each rule is idempotent, and each notification goes out once
 * per logical event (stable eventIds), so a run can be repeated, or cut off and run again, at any time:
 *
 * - reconcile: a version that lost AWSCURRENT without a closed window gets one, and `key.rotated` if it
 *   was never sent; a current version not marked current is marked; a version left by an abandoned rotation
 *   (registered, never current, unlabelled) is revoked once it is older than `stuckAfterMs`;
 * - stuck rotation: AWSPENDING on a version that is not AWSCURRENT for longer than `stuckAfterMs` sends
 *   `rotation.stuck` to operators;
 * - usage-aware retirement (clients that opt in): a replaced key used within the last hour, near the end of
 *   its window, gets more time, step by step, never past its hard maximum; the client is told;
 * - reminders: a replaced key still in use (a request within the last 24 hours, and more than 15 minutes
 *   after it was replaced) gets `key.expiring` at each lead time before its end, and so does a current key
 *   with a hard expiry (maximum key age) that no rotation has replaced yet;
 * - expiry: a replaced key whose window has ended is marked expired, and the client gets `key.expired`;
 * - missed switch: a replaced key whose window ended in the last day, and that the authorizers report refused
 *   at least `missedRotationMinRefusals` times since, sends `rotation.missed` to operators and `key.refused`
 *   to the client, with the evidence; a client that opted in has the key accepted again once, for a short time.
 */
export class KeyMonitor {
  constructor(private readonly deps: MonitorDependencies) {}

  /**
   * Each client is judged at the instant read after its labels: a window the run closes at that instant plus
   * the grace period then never ends before the label's move plus the grace period, however long the run.
   */
  async run(clock: () => number): Promise<MonitorReport> {
    const tally: Tally = { published: {}, windowsClosed: 0, windowsExtended: 0, windowsRescued: 0, markedExpired: 0, revokedAbandoned: 0, clientsDeferred: 0, knownKeysPruned: 0 };
    const failures: { secretArn: string; error: string }[] = [];
    const [registrations, secrets] = await Promise.all([this.deps.registry.listRegistrations(), this.deps.secrets.listManagedSecrets(this.deps.settings.secretNamePrefix)]);
    const knownKeysBackfilled = await this.backfillKnownKeys(registrations, clock);
    const registered = new Set(registrations.map(({ secretArn }) => secretArn));
    const check = async (registration: ClientRegistration) => {
      try {
        // The list's labels may be minutes old; the reconciliation acts on the secret's own description.
        const secret = await this.deps.secrets.describe(registration.secretArn);
        const client = clientSettingsOf(registration.clientId, registration.settings, { gracePeriodSeconds: this.deps.settings.defaultGracePeriodSeconds });
        await new ClientCheck(this.deps, secret, client, clock(), tally).run();
      } catch (error) {
        // One client's trouble must not stop the others; the run reports it and fails at the end.
        failures.push({ secretArn: registration.secretArn, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
    };
    // Clients are independent: a few at a time, so that a run's length is the calls per client times the
    // clients divided by this, not times the clients (README, Scale).
    const queue = [...registrations];
    const worker = async () => {
      for (let registration = queue.shift(); registration !== undefined; registration = queue.shift()) await check(registration);
    };
    await Promise.all(Array.from({ length: Math.min(CLIENTS_AT_A_TIME, queue.length) }, worker));
    const unregisteredSecrets = secrets.map(({ arn }) => arn).filter((arn) => !registered.has(arn));
    return { clients: registrations.length, ...tally, unregisteredSecrets, knownKeysBackfilled, failures };
  }

  /**
   * Once per install (or after the set was reset): every key version of every registered client that can still
   * be valid goes into the known-key set, and the set is marked complete as of the run's start. Keys registered
   * meanwhile are added by the rotation itself, so the set is complete from that instant; the authorizers trust
   * it only from then.
   */
  private async backfillKnownKeys(registrations: readonly ClientRegistration[], clock: () => number): Promise<number> {
    const known = this.deps.knownKeys;
    if (known === undefined || (await known.knownKeysCompleteSince()) !== undefined) return 0;
    const startMs = clock();
    const live: string[] = [];
    for (const { clientId } of registrations) {
      for (const version of await this.deps.keys.listClientVersions(clientId)) {
        const endMs = windowEndMs(version);
        if (version.revokedAtMs === undefined && (endMs === undefined || endMs > startMs - KNOWN_KEY_PRUNE_AFTER_END_MS)) live.push(version.keyHash);
      }
    }
    await known.addToKnownKeySnapshot(live);
    await known.markKnownKeysComplete(startMs);
    return live.length;
  }
}

interface Tally {
  published: Partial<Record<NotificationType, number>>;
  knownKeysPruned: number;
  windowsClosed: number;
  windowsExtended: number;
  windowsRescued: number;
  markedExpired: number;
  revokedAbandoned: number;
  clientsDeferred: number;
}

/** One run over one client. */
class ClientCheck {
  private readonly currentId: string | undefined;

  constructor(
    private readonly deps: MonitorDependencies,
    private readonly secret: SecretDescription,
    private readonly client: ClientSettings,
    private readonly nowMs: number,
    private readonly tally: Tally,
  ) {
    this.currentId = versionWithStage(secret, AWSCURRENT);
  }

  async run(): Promise<void> {
    await this.checkStuckRotation();
    const listed = await this.deps.keys.listClientVersions(this.client.clientId);
    if (this.labelsAreBehind(listed)) {
      // The labels read predate a rotation the table already records; the next run sees them settled.
      this.tally.clientsDeferred++;
      return;
    }
    const versions = await this.reconcile(listed);
    await this.pruneKnownKeys(versions);
    for (const version of versions) {
      if (version.revokedAtMs !== undefined || version.currentSinceMs === undefined) continue;
      if (version.versionId === this.currentId) await this.checkCurrentVersion(version);
      else await this.checkReplacedVersion(version, versions);
    }
  }

  /** Keys that can never be valid again leave the authorizers' known-key set (each run: those that crossed the line in the last day). */
  private async pruneKnownKeys(versions: readonly KeyVersion[]): Promise<void> {
    const known = this.deps.knownKeys;
    if (known === undefined) return;
    const dead = versions.filter((version) => {
      const revokedAgoMs = version.revokedAtMs === undefined ? undefined : this.nowMs - version.revokedAtMs;
      if (revokedAgoMs !== undefined) return revokedAgoMs >= 0 && revokedAgoMs < KNOWN_KEY_PRUNE_WINDOW_MS;
      const endMs = windowEndMs(version);
      const pastLineMs = endMs === undefined ? undefined : this.nowMs - endMs - KNOWN_KEY_PRUNE_AFTER_END_MS;
      return pastLineMs !== undefined && pastLineMs >= 0 && pastLineMs < KNOWN_KEY_PRUNE_WINDOW_MS;
    });
    if (dead.length === 0) return;
    await known.pruneKnownKeys(dead.map((version) => version.keyHash));
    this.tally.knownKeysPruned += dead.length;
  }

  /** True when the labelled AWSCURRENT version is older than a version the table records as current since. */
  private labelsAreBehind(versions: readonly KeyVersion[]): boolean {
    const labelled = versions.find((version) => version.versionId === this.currentId);
    if (labelled === undefined) return false;
    return versions.some((version) => version.currentSinceMs !== undefined && version.notBeforeMs > labelled.notBeforeMs && version.revokedAtMs === undefined);
  }

  private async checkStuckRotation(): Promise<void> {
    // AWSPENDING left on the current version after a completed rotation is harmless: some completions leave it there.
    const pendingId = versionsWithStage(this.secret, AWSPENDING).find((versionId) => versionId !== this.currentId);
    if (pendingId === undefined) return;
    // A pending version with no value yet may be missing from the version list: its age then counts from
    // when keyroll first saw it, so that a rotation stuck before createSecret still raises rotation.stuck.
    const createdAtMs =
      (await this.deps.secrets.versionCreatedAt(this.secret.arn, pendingId)) ?? (await this.deps.keys.firstSeenPending(this.client.clientId, pendingId, this.nowMs));
    if (this.nowMs - createdAtMs < this.deps.settings.stuckAfterMs) return;
    await this.publish(this.deps.operationsNotifier, 'rotation.stuck', pendingId, {});
  }

  /** Returns the client's versions as they stand after reconciling them with the labels. */
  private async reconcile(versions: KeyVersion[]): Promise<KeyVersion[]> {
    const labelled = labelledVersionIds(this.secret);
    const current = versions.find((version) => version.versionId === this.currentId);
    const reconciled: KeyVersion[] = [];
    for (const version of versions) {
      if (isAbandonedPending(version, labelled) && this.nowMs - version.notBeforeMs >= this.deps.settings.stuckAfterMs) {
        // Its rotation ended without it; the next rotation's createSecret would revoke it too.
        reconciled.push(await this.deps.keys.revoke(version.keyHash, this.nowMs, 'rotation-abandoned'));
        this.tally.revokedAbandoned++;
      } else if (version.versionId === this.currentId) {
        reconciled.push(version.currentSinceMs === undefined ? await this.deps.keys.markCurrent(version.keyHash, this.nowMs) : version);
      } else if (
        version.currentSinceMs !== undefined &&
        version.notAfterMs === undefined &&
        version.revokedAtMs === undefined &&
        current !== undefined &&
        current.notBeforeMs > version.notBeforeMs
      ) {
        // It lost AWSCURRENT to a newer key but its finishSecret never closed its window: the grace starts
        // now. A newer version is never closed, however stale the labels read.
        const { closed = version, notification } = await retireReplacedVersion(this.client, current.versionId, version, {
          keys: this.deps.keys,
          events: this.deps.events,
          notifier: this.deps.clientNotifier,
          nowMs: this.nowMs,
        });
        this.tally.windowsClosed++;
        this.count('key.rotated', notification);
        reconciled.push(closed);
      } else {
        reconciled.push(version);
      }
    }
    return reconciled;
  }

  /** A current key ends only at a hard expiry (maximum key age): remind, and mark it when it is reached. */
  private async checkCurrentVersion(version: KeyVersion): Promise<void> {
    const endMs = windowEndMs(version);
    if (endMs === undefined || (await this.expireIfEnded(version, endMs))) return;
    await this.remindIfDue(version, endMs);
  }

  private async checkReplacedVersion(version: KeyVersion, versions: readonly KeyVersion[]): Promise<void> {
    let endMs = windowEndMs(version);
    if (endMs === undefined) return;
    if (await this.expireIfEnded(version, endMs)) {
      await this.catchMissedSwitch(version, endMs, versions);
      return;
    }
    const replacedAtMs = replacedAt(version, versions) ?? endMs - this.client.gracePeriodMs;
    if (await this.closeIfSwitched(version, versions, replacedAtMs)) return;
    const sinceMs = Math.max(replacedAtMs + SWITCH_OVER_MS, this.nowMs - RECENT_USE_MS);
    if (sinceMs > this.nowMs) return;
    const { lastUsedMs } = await this.deps.usage.readUsage(this.client.clientId, version.versionId, hourOf(sinceMs), hourOf(this.nowMs));
    // Counters are per hour, but lastUsedMs is the request's own time, so the threshold is exact.
    if (lastUsedMs === undefined || lastUsedMs <= sinceMs) return;

    const extension = this.client.extendWhileInUse;
    if (extension !== undefined && this.nowMs - lastUsedMs <= IN_USE_WITHIN_MS && endMs - this.nowMs <= extension.stepMs / 2) {
      const targetMs = Math.min(endMs + extension.stepMs, replacedAtMs + extension.maxGraceMs, version.expiresAtMs ?? Number.POSITIVE_INFINITY);
      if (targetMs > endMs) {
        const extended = await this.deps.keys.extendWindow(version.keyHash, targetMs);
        const extendedEndMs = windowEndMs(extended) ?? endMs;
        if (extendedEndMs > endMs) {
          endMs = extendedEndMs;
          this.tally.windowsExtended++;
          await this.publish(this.deps.clientNotifier, 'key.expiring', version.versionId, { expiresAtMs: endMs }, `extended-to-${endMs}`);
        }
      }
    }
    await this.remindIfDue(version, endMs);
  }

  /**
   * For a client that opted in: once it has used the current key, and not this replaced one, for the quiet
   * time (and at least that long after the replacement), the replaced key's window closes now, and the
   * client is told with `key.expired`. Usage arrives through the access logs seconds to minutes late, so the
   * quiet time is whole hours.
   */
  private async closeIfSwitched(version: KeyVersion, versions: readonly KeyVersion[], replacedAtMs: number): Promise<boolean> {
    const quietMs = this.client.closeWhenSwitchedMs;
    const current = versions.find((candidate) => candidate.versionId === this.currentId);
    if (quietMs === undefined || current === undefined || this.nowMs < replacedAtMs + quietMs) return false;
    const [replacedUse, currentUse] = await Promise.all([
      this.deps.usage.readUsage(this.client.clientId, version.versionId, hourOf(this.nowMs - quietMs), hourOf(this.nowMs)),
      this.deps.usage.readUsage(this.client.clientId, current.versionId, hourOf(replacedAtMs), hourOf(this.nowMs)),
    ]);
    const replacedQuiet = replacedUse.lastUsedMs === undefined || replacedUse.lastUsedMs <= this.nowMs - quietMs;
    if (!replacedQuiet || currentUse.lastUsedMs === undefined) return false;
    const closed = await this.deps.keys.closeWindow(version.keyHash, this.nowMs);
    const closedEndMs = windowEndMs(closed);
    if (closedEndMs === undefined || closedEndMs > this.nowMs) return false;
    this.tally.windowsClosed++;
    return this.expireIfEnded(closed, closedEndMs);
  }

  /**
   * A client still sending a key whose window has ended missed its switch. Operators and the client are told
   * once per version, with the evidence. The rescue (opt-in) is decided when the event is first recorded: its
   * end is in the recorded notification, so a repeated or cut-off run re-applies the same end, and a key can be
   * rescued only once. The key table never extends a revoked key.
   */
  private async catchMissedSwitch(version: KeyVersion, endMs: number, versions: readonly KeyVersion[]): Promise<void> {
    if (this.nowMs - endMs > MISSED_SWITCH_LOOKBACK_MS) return;
    const { refused, firstRefusedMs, lastRefusedMs } = await this.deps.usage.readRefusals(this.client.clientId, version.versionId, hourOf(endMs), hourOf(this.nowMs));
    const minRefusals = this.deps.settings.missedRotationMinRefusals ?? DEFAULT_MISSED_ROTATION_MIN_REFUSALS;
    if (refused < minRefusals || firstRefusedMs === undefined || lastRefusedMs === undefined) return;
    const rescueMs = this.client.rescueMissedMs;
    // A client that already uses its new key has not missed its switch: whoever sends the old key may have
    // found it, so the rescue, which would reopen that key to anyone holding it, is withheld.
    const withheld = rescueMs !== undefined && (await this.usesItsNewKey(version, versions));
    const rescueEndMs = rescueMs === undefined || withheld ? undefined : Math.min(this.nowMs + rescueMs, version.expiresAtMs ?? Number.POSITIVE_INFINITY);
    const details: NotificationDetails = {
      refusals: { refused, firstRefusedMs, lastRefusedMs },
      ...(rescueEndMs !== undefined && rescueEndMs > this.nowMs ? { expiresAtMs: rescueEndMs } : {}),
      ...(withheld ? { rescueWithheld: true } : {}),
    };
    const subject = { clientId: this.client.clientId, versionId: version.versionId };
    const recorded = await this.deps.events.record(buildNotification('rotation.missed', subject, this.nowMs, details));
    const missed = recorded.notification;
    if (missed.expiresAt !== undefined) {
      const rescued = await this.deps.keys.extendWindow(version.keyHash, Date.parse(missed.expiresAt));
      if (!recorded.published && (windowEndMs(rescued) ?? 0) > this.nowMs) this.tally.windowsRescued++;
    }
    if (!recorded.published) {
      await this.deps.operationsNotifier.publish(missed);
      await this.deps.events.markPublished(missed, this.nowMs);
      this.count('rotation.missed', 'published');
    }
    // The client gets the evidence and the rescue as first recorded, whatever this run read.
    await this.publish(this.deps.clientNotifier, 'key.refused', version.versionId, detailsOf(missed));
  }

  /** True when the version that replaced this one has been used since it became current. */
  private async usesItsNewKey(version: KeyVersion, versions: readonly KeyVersion[]): Promise<boolean> {
    const replacedAtMs = replacedAt(version, versions);
    const replacement = versions.find((candidate) => candidate.currentSinceMs === replacedAtMs);
    if (replacedAtMs === undefined || replacement === undefined) return false;
    const { lastUsedMs } = await this.deps.usage.readUsage(this.client.clientId, replacement.versionId, hourOf(replacedAtMs), hourOf(this.nowMs));
    return lastUsedMs !== undefined && lastUsedMs >= replacedAtMs;
  }

  /** True when the window has ended: the version is marked expired and the client told, once. */
  private async expireIfEnded(version: KeyVersion, endMs: number): Promise<boolean> {
    if (this.nowMs < endMs) return false;
    if (version.expiredAtMs === undefined && this.nowMs - endMs <= EXPIRED_NOTICE_MAX_AGE_MS) {
      await this.deps.keys.markExpired(version.keyHash, endMs);
      this.tally.markedExpired++;
      await this.publish(this.deps.clientNotifier, 'key.expired', version.versionId, { expiresAtMs: endMs });
    }
    return true;
  }

  private async remindIfDue(version: KeyVersion, endMs: number): Promise<void> {
    const dueLeads = this.deps.settings.reminderLeadsMs.filter((leadMs) => this.nowMs >= endMs - leadMs);
    if (dueLeads.length === 0) return;
    // The nearest lead only: a run that comes late sends the reminder that is due now, not the stale ones.
    const leadMs = Math.min(...dueLeads);
    await this.publish(this.deps.clientNotifier, 'key.expiring', version.versionId, { expiresAtMs: endMs }, `lead-${leadMs}-to-${endMs}`);
  }

  private async publish(notifier: Notifier, type: NotificationType, versionId: string, details: NotificationDetails, occasion = ''): Promise<void> {
    const notification = buildNotification(type, { clientId: this.client.clientId, versionId }, this.nowMs, details, occasion);
    this.count(type, await publishOnce(notification, { events: this.deps.events, notifier, nowMs: this.nowMs }));
  }

  private count(type: NotificationType, result: PublishResult): void {
    if (result === 'published') this.tally.published[type] = (this.tally.published[type] ?? 0) + 1;
  }
}

/** When a version stopped being current: when the version after it became current. */
function replacedAt(version: KeyVersion, versions: readonly KeyVersion[]): number | undefined {
  const since = version.currentSinceMs;
  if (since === undefined) return undefined;
  const later = versions.map((v) => v.currentSinceMs).filter((ms): ms is number => ms !== undefined && ms > since);
  return later.length === 0 ? undefined : Math.min(...later);
}
