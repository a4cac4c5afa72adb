import { clientSettingsOf, DEFAULT_MAX_GRACE_HOURS } from './client-settings';
import { AlreadyRevokedError, OperationRefusedError, UnknownClientOrVersionError } from './errors';
import { windowEndMs, windowStatus, type KeyVersion } from './key-version';
import { buildNotification, publishOnce } from './notifications';
import { AWSCURRENT, AWSPENDING, type AuditTrail, type ClientRegistration, type ClientRegistry, type EventLog, type KeyTable, type KnownKeyIndex, type Notifier, type RevocationFeed, type SecretDescription, type SecretVersionStore, type TrailEntry, type UsageHistory, type UsageStore } from './ports';
import { versionWithStage } from './secret-labels';
import { hourOf } from './usage';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Without a client setting, a replaced key may be extended up to this long after it was replaced. */
const DEFAULT_MAX_GRACE_MS = DEFAULT_MAX_GRACE_HOURS * HOUR_MS;

export interface KeyOperationsDependencies {
  readonly keys: KeyTable;
  /** The install's clients: an operation names a registered client, whose registration names its secret. */
  readonly registry: Pick<ClientRegistry, 'registrationOf'>;
  /** The authorizers' known-key set: an extended key may have left it (an ended key does, two days after its end). */
  readonly knownKeys?: Pick<KnownKeyIndex, 'addKnownKey'>;
  readonly events: EventLog;
  readonly audit: AuditTrail;
  /** Where revocations are announced to authorizer containers. */
  readonly revocations: RevocationFeed;
  /** Requests per version and hour, for `status`; without it, status shows no usage. */
  readonly usage?: UsageStore & UsageHistory;
  readonly secrets: Pick<SecretVersionStore, 'describe'>;
  readonly clientNotifier: Notifier;
  readonly operationsNotifier: Notifier;
  readonly secretNamePrefix: string;
  readonly defaultGracePeriodSeconds: number;
  readonly clock: () => number;
}

/** How a key version stands now, for `status`. */
export type VersionState = 'current' | 'pending' | 'in-grace' | 'ended' | 'revoked' | 'never-current';

export interface VersionStatus {
  readonly version: KeyVersion;
  readonly state: VersionState;
  /** When it stops (stopped) being accepted, if it has an end: a revoked version ended when it was revoked. */
  readonly endsAtMs?: number;
  /** Its requests in the last 24 hours, per hour, oldest first, and when it was last used. */
  readonly usage?: { readonly perHour: readonly { readonly hour: string; readonly requests: number }[]; readonly lastUsedMs?: number };
  /** Still used within the last hour, though its window ends within the next day: the client has not switched. */
  readonly stillUsedBeforeItsEnd?: boolean;
  /** Ended in the last day and still presented: the authorizers' reports of it refused since its end. */
  readonly refusedSinceItsEnd?: { readonly refused: number; readonly firstRefusedMs: number; readonly lastRefusedMs: number };
}

/** The version a revocation ends, as `revocationTarget` found it. */
export interface RevocationTarget {
  readonly clientId: string;
  readonly secretArn: string;
  readonly version: KeyVersion;
  /** It is the client's current key: revoking it leaves the client without a valid key until a rotation. */
  readonly isCurrent: boolean;
  /** Secrets Manager could not be read: the current version is the key table's. */
  readonly secretsManagerError?: string;
}

/** What a fail-closed revocation did: the key is revoked whatever `notified` says. */
export interface FailClosedRevocation {
  readonly version: KeyVersion;
  readonly alreadyRevoked: boolean;
  readonly notified: boolean;
  readonly notificationError?: string;
}

export interface ClientStatus {
  readonly clientId: string;
  readonly secretArn: string;
  readonly versions: readonly VersionStatus[];
  /** The version AWSPENDING is on, when a rotation is in progress. */
  readonly rotationInProgress?: string;
  /** When Secrets Manager will next rotate the key, when it says. */
  readonly nextRotationMs?: number;
}

/**
 * What operators do to a client's keys, with the rules that keep the invariants: every action is in the audit
 * trail before it is taken, with who and why; a revoked version is never extended; an extension past the
 * client's maximum needs `force`; a revocation tells the client (`key.revoked`) and operations.
 */
export class KeyOperations {
  constructor(private readonly deps: KeyOperationsDependencies) {}

  async status(clientId: string): Promise<ClientStatus> {
    const secret = await this.secretOf(clientId);
    const nowMs = this.deps.clock();
    const currentId = versionWithStage(secret, AWSCURRENT);
    const pendingId = versionWithStage(secret, AWSPENDING);
    const all = await this.deps.keys.listClientVersions(clientId);
    const graceMs = clientSettingsOf(clientId, secret.registration.settings, { gracePeriodSeconds: this.deps.defaultGracePeriodSeconds }).gracePeriodMs;
    const versions = await Promise.all(
      all.map(async (version): Promise<VersionStatus> => {
        const endsAtMs = version.revokedAtMs ?? windowEndMs(version);
        const state = stateOf(version, nowMs, currentId, pendingId);
        const base = { version, state, ...(endsAtMs === undefined ? {} : { endsAtMs }) };
        if (this.deps.usage === undefined || (endsAtMs !== undefined && endsAtMs < nowMs - DAY_MS)) return base;
        const usage = await this.usageOf(clientId, version.versionId, nowMs);
        // Use after its replacement only: requests made before it are the client's ordinary traffic.
        const stillUsed = usage.lastUsedMs !== undefined && nowMs - usage.lastUsedMs <= HOUR_MS && usage.lastUsedMs > replacedAtMs(version, all, graceMs);
        const endingSoon = state === 'in-grace' && endsAtMs !== undefined && endsAtMs - nowMs <= DAY_MS;
        const refused = state === 'ended' && endsAtMs !== undefined ? await this.deps.usage.readRefusals(clientId, version.versionId, hourOf(endsAtMs), hourOf(nowMs)) : undefined;
        const missed =
          refused !== undefined && refused.refused > 0 && refused.firstRefusedMs !== undefined && refused.lastRefusedMs !== undefined
            ? { refusedSinceItsEnd: { refused: refused.refused, firstRefusedMs: refused.firstRefusedMs, lastRefusedMs: refused.lastRefusedMs } }
            : {};
        return { ...base, usage, ...(stillUsed && endingSoon ? { stillUsedBeforeItsEnd: true } : {}), ...missed };
      }),
    );
    return {
      clientId,
      secretArn: secret.arn,
      versions,
      ...(pendingId !== undefined && pendingId !== currentId ? { rotationInProgress: pendingId } : {}),
      ...(secret.nextRotationMs === undefined ? {} : { nextRotationMs: secret.nextRotationMs }),
    };
  }

  /**
   * Revokes one version now: the authorizer refuses it from its next read of the table. A version revoked before
   * is refused (`AlreadyRevokedError`, naming when and why): the first revocation's time and reason stand.
   */
  async revoke(request: { readonly clientId: string; readonly versionId: string; readonly reason: string; readonly actor: string }): Promise<KeyVersion> {
    const version = await this.versionOf(request.clientId, request.versionId);
    if (version.revokedAtMs !== undefined) throw new AlreadyRevokedError(`version ${request.versionId} of ${request.clientId} was already revoked at ${new Date(version.revokedAtMs).toISOString()} (${version.revokedReason ?? 'no reason'})`);
    const nowMs = this.deps.clock();
    await this.deps.audit.recordAction({ clientId: request.clientId, action: 'key.revoke', versionId: request.versionId, actor: request.actor, reason: request.reason, atMs: nowMs });
    const revoked = await this.deps.keys.revoke(version.keyHash, nowMs, request.reason);
    await this.announceRevocation(revoked);
    return revoked;
  }

  /**
   * Tells the authorizers (the revocation feed) and the client (`key.revoked`, then operations) that a version
   * is revoked. Safe to repeat: the client and operations are told once per version, so a retry after a failed
   * notification tells them then.
   */
  async announceRevocation(version: KeyVersion): Promise<void> {
    const nowMs = this.deps.clock();
    await this.deps.revocations.announce(version.keyHash, nowMs);
    // The schema of `key.revoked` has no expiresAt: the message's own time is when the key stopped working.
    const notification = buildNotification('key.revoked', { clientId: version.clientId, versionId: version.versionId }, version.revokedAtMs ?? nowMs);
    if ((await publishOnce(notification, { events: this.deps.events, notifier: this.deps.clientNotifier, nowMs })) === 'published') {
      await this.deps.operationsNotifier.publish(notification);
    }
  }

  /**
   * The version an operator's revocation ends (the named one, or the client's current one), found with the key
   * table alone when Secrets Manager cannot be read: an outage of Secrets Manager never delays a revocation.
   * The table's current version is the one made current last that has no end.
   */
  async revocationTarget(clientId: string, versionId?: string): Promise<RevocationTarget> {
    const registration = await this.deps.registry.registrationOf(clientId);
    if (registration === undefined) {
      await this.secretOf(clientId);
      throw new UnknownClientOrVersionError(`this install has no client "${clientId}"`);
    }
    const versions = await this.deps.keys.listClientVersions(clientId);
    let currentId: string | undefined;
    let secretsManagerError: string | undefined;
    try {
      currentId = versionWithStage(await this.deps.secrets.describe(registration.secretArn), AWSCURRENT);
    } catch (error) {
      secretsManagerError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      currentId = versions
        .filter((version) => version.currentSinceMs !== undefined && version.notAfterMs === undefined && version.revokedAtMs === undefined)
        .sort((a, b) => (b.currentSinceMs ?? 0) - (a.currentSinceMs ?? 0))[0]?.versionId;
    }
    const wanted = versionId ?? currentId;
    const version = versions.find((candidate) => candidate.versionId === wanted);
    if (version === undefined) {
      throw versionId === undefined ? new OperationRefusedError(`client "${clientId}" has no current key to end`) : new UnknownClientOrVersionError(`client "${clientId}" has no key version ${versionId}`);
    }
    return { clientId, secretArn: registration.secretArn, version, isCurrent: version.versionId === currentId, ...(secretsManagerError === undefined ? {} : { secretsManagerError }) };
  }

  /**
   * An operator's revocation, failing closed: the key table's revocation and the authorizers' feed come first
   * and are what must succeed; telling the client and operations comes after, and its failure is reported, not
   * thrown, so that the caller still flushes the caches and rotates. A version revoked before keeps its first
   * time and reason (`alreadyRevoked`), and its announcement is made again (a notification that failed is sent then).
   */
  async revokeFailClosed(target: RevocationTarget, request: { readonly reason: string; readonly actor: string }): Promise<FailClosedRevocation> {
    let version = target.version;
    const alreadyRevoked = version.revokedAtMs !== undefined;
    if (!alreadyRevoked) {
      const nowMs = this.deps.clock();
      await this.deps.audit.recordAction({ clientId: target.clientId, action: 'key.revoke', versionId: version.versionId, actor: request.actor, reason: request.reason, atMs: nowMs });
      version = await this.deps.keys.revoke(version.keyHash, nowMs, request.reason);
    }
    await this.deps.revocations.announce(version.keyHash, this.deps.clock());
    try {
      await this.announceRevocation(version);
      return { version, alreadyRevoked, notified: true };
    } catch (error) {
      return { version, alreadyRevoked, notified: false, notificationError: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }

  /**
   * Gives a replaced version more time: the rollback path for a client that missed its switch. Never a revoked
   * or a current version; past the client's maximum (its hard expiry, or its maximum grace after the
   * replacement) only with `force`.
   */
  async extend(request: { readonly clientId: string; readonly versionId: string; readonly untilMs: number; readonly reason: string; readonly actor: string; readonly force?: boolean }): Promise<KeyVersion> {
    const secret = await this.secretOf(request.clientId);
    const versions = await this.deps.keys.listClientVersions(request.clientId);
    const version = versions.find((candidate) => candidate.versionId === request.versionId);
    if (version === undefined) throw new UnknownClientOrVersionError(`client "${request.clientId}" has no key version ${request.versionId}`);
    const nowMs = this.deps.clock();
    if (version.revokedAtMs !== undefined) throw new OperationRefusedError(`version ${request.versionId} is revoked (${version.revokedReason ?? 'no reason'}); a revoked key is never extended`);
    if (version.notAfterMs === undefined) throw new OperationRefusedError(`version ${request.versionId} has no end to extend: it is the current key or was never current`);
    if (request.untilMs <= Math.max(nowMs, version.notAfterMs)) {
      throw new OperationRefusedError(`the new end ${new Date(request.untilMs).toISOString()} is not later than the current end ${new Date(Math.max(nowMs, version.notAfterMs)).toISOString()}`);
    }
    const maximumMs = maximumEndMs(version, versions, secret.registration, this.deps.defaultGracePeriodSeconds);
    if (request.untilMs > maximumMs && request.force !== true) {
      throw new OperationRefusedError(`the new end is past this client's maximum, ${new Date(maximumMs).toISOString()}; add --force to go past it`);
    }
    await this.deps.audit.recordAction({
      clientId: request.clientId,
      action: 'key.extend',
      versionId: request.versionId,
      actor: request.actor,
      reason: request.reason,
      atMs: nowMs,
      detail: `until ${new Date(request.untilMs).toISOString()}${request.force === true ? ' (forced)' : ''}`,
    });
    await this.deps.knownKeys?.addKnownKey(version.keyHash, nowMs);
    return this.deps.keys.extendWindow(version.keyHash, request.untilMs);
  }

  /** The secret of a registered client, from its registration in the key table. */
  async secretArnOf(clientId: string): Promise<string> {
    const registration = await this.deps.registry.registrationOf(clientId);
    return registration?.secretArn ?? (await this.secretOf(clientId)).arn;
  }

  /** Records a rotation an operator started (after it started: a refused one is not in the trail). */
  async recordRotation(request: { readonly clientId: string; readonly reason: string; readonly actor: string }): Promise<void> {
    await this.deps.audit.recordAction({ clientId: request.clientId, action: 'key.rotate', actor: request.actor, reason: request.reason, atMs: this.deps.clock() });
  }

  trail(clientId: string, sinceMs: number): Promise<TrailEntry[]> {
    return this.deps.audit.trail(clientId, sinceMs);
  }

  private async usageOf(clientId: string, versionId: string, nowMs: number): Promise<NonNullable<VersionStatus['usage']>> {
    const usage = this.deps.usage;
    if (usage === undefined) return { perHour: [] };
    const fromHour = hourOf(nowMs - DAY_MS + HOUR_MS);
    const toHour = hourOf(nowMs);
    const [byHour, summary] = await Promise.all([usage.hourlyUsage(clientId, versionId, fromHour, toHour), usage.readUsage(clientId, versionId, fromHour, toHour)]);
    const perHour = Array.from({ length: 24 }, (_, i) => hourOf(nowMs - (23 - i) * HOUR_MS)).map((hour) => ({ hour, requests: byHour[hour] ?? 0 }));
    return summary.lastUsedMs === undefined ? { perHour } : { perHour, lastUsedMs: summary.lastUsedMs };
  }

  private async versionOf(clientId: string, versionId: string): Promise<KeyVersion> {
    await this.secretOf(clientId);
    const version = (await this.deps.keys.listClientVersions(clientId)).find((candidate) => candidate.versionId === versionId);
    if (version === undefined) throw new UnknownClientOrVersionError(`client "${clientId}" has no key version ${versionId}`);
    return version;
  }

  /** The client's registered secret, described; a secret without a registration is not a client. */
  private async secretOf(clientId: string): Promise<SecretDescription & { readonly registration: ClientRegistration }> {
    const registration = await this.deps.registry.registrationOf(clientId);
    const name = `${this.deps.secretNamePrefix}${clientId}`;
    if (registration === undefined) {
      const unregistered = await this.deps.secrets.describe(name).catch((error: unknown) => {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
        throw error;
      });
      throw new UnknownClientOrVersionError(
        unregistered === undefined
          ? `this install has no client "${clientId}"`
          : unregistered.deletedMs !== undefined
            ? `client "${clientId}" was removed: its secret ${unregistered.arn} is scheduled for deletion since ${new Date(unregistered.deletedMs).toISOString()} (restorable for its recovery window: aws secretsmanager restore-secret --secret-id ${unregistered.arn}, then keyroll clients adopt ${clientId})`
            : `client "${clientId}" is not registered: its secret ${unregistered.arn} gets no key from keyroll; if the secret is yours (made before keyroll 0.2), register it with keyroll clients adopt ${clientId}`,
      );
    }
    try {
      return { ...(await this.deps.secrets.describe(registration.secretArn)), registration };
    } catch (error) {
      if (error instanceof Error && error.name === 'ResourceNotFoundException') throw new UnknownClientOrVersionError(`client "${clientId}" is registered, but its secret ${registration.secretArn} no longer exists`);
      throw error;
    }
  }
}

function stateOf(version: KeyVersion, nowMs: number, currentId: string | undefined, pendingId: string | undefined): VersionState {
  if (version.revokedAtMs !== undefined) return 'revoked';
  if (version.versionId === currentId) return 'current';
  if (version.versionId === pendingId) return 'pending';
  if (version.currentSinceMs === undefined) return 'never-current';
  return windowStatus(version, nowMs) === 'valid' ? 'in-grace' : 'ended';
}

/**
 * When a version stopped being current: when a later version became current, or else when its window was
 * closed (its end less `graceMs`, the grace it was given then; 0 takes the end itself, the latest it can be).
 */
function replacedAtMs(version: KeyVersion, versions: readonly KeyVersion[], graceMs = 0): number {
  const since = version.currentSinceMs ?? version.notBeforeMs;
  const closedAtMs = version.notAfterMs === undefined ? Number.POSITIVE_INFINITY : version.notAfterMs - graceMs;
  return Math.min(...versions.map((v) => v.currentSinceMs).filter((ms): ms is number => ms !== undefined && ms > since), closedAtMs);
}

/** The latest end a version may be given without force: its hard expiry, or the client's maximum grace after it was replaced. */
function maximumEndMs(version: KeyVersion, versions: readonly KeyVersion[], registration: ClientRegistration, defaultGracePeriodSeconds: number): number {
  const settings = clientSettingsOf(registration.clientId, registration.settings, { gracePeriodSeconds: defaultGracePeriodSeconds });
  const graceMaximumMs = replacedAtMs(version, versions) + (settings.extendWhileInUse?.maxGraceMs ?? DEFAULT_MAX_GRACE_MS);
  return Math.min(graceMaximumMs, version.expiresAtMs ?? Number.POSITIVE_INFINITY);
}

/** One client in the fleet view: where its keys stand, and what needs an operator, most urgent first. */
export interface FleetEntry {
  readonly clientId: string;
  readonly current?: { readonly versionId: string; readonly sinceMs?: number };
  readonly inGrace: readonly { readonly versionId: string; readonly endsAtMs?: number; readonly lastUsedMs?: number }[];
  readonly rotationInProgress?: string;
  readonly nextRotationMs?: number;
  readonly attention: readonly string[];
}

/** A rotation whose pending version is older than this has stopped: Secrets Manager gives a rotation's steps far less. */
const ROTATION_STALLED_MS = HOUR_MS;

/** The fleet view of one client's status, with the reasons an operator should look at it. */
export function fleetEntryOf(status: ClientStatus, nowMs: number): FleetEntry {
  const current = status.versions.find((v) => v.state === 'current');
  const pending = status.versions.find((v) => v.state === 'pending');
  const attention: string[] = [];
  if (current === undefined) attention.push('no current key');
  for (const v of status.versions) {
    if (v.refusedSinceItsEnd !== undefined) attention.push(`missed its switch: ${v.version.versionId} refused ${v.refusedSinceItsEnd.refused} ${v.refusedSinceItsEnd.refused === 1 ? 'time' : 'times'} since its end`);
    if (v.stillUsedBeforeItsEnd === true) attention.push(`still uses ${v.version.versionId} after its replacement, and its window ends within a day`);
  }
  if (pending !== undefined && nowMs - pending.version.notBeforeMs > ROTATION_STALLED_MS) attention.push(`rotation ${pending.version.versionId} started ${Math.round((nowMs - pending.version.notBeforeMs) / HOUR_MS)} h ago and has not finished`);
  if (status.nextRotationMs === undefined) attention.push('no rotation scheduled');
  return {
    clientId: status.clientId,
    ...(current === undefined ? {} : { current: { versionId: current.version.versionId, ...(current.version.currentSinceMs === undefined ? {} : { sinceMs: current.version.currentSinceMs }) } }),
    inGrace: status.versions
      .filter((v) => v.state === 'in-grace')
      .map((v) => ({ versionId: v.version.versionId, ...(v.endsAtMs === undefined ? {} : { endsAtMs: v.endsAtMs }), ...(v.usage?.lastUsedMs === undefined ? {} : { lastUsedMs: v.usage.lastUsedMs }) })),
    ...(status.rotationInProgress === undefined ? {} : { rotationInProgress: status.rotationInProgress }),
    ...(status.nextRotationMs === undefined ? {} : { nextRotationMs: status.nextRotationMs }),
    attention,
  };
}

/** The fleet, those that need attention first (the most reasons first), then by client id. */
export function sortFleet(entries: readonly FleetEntry[]): FleetEntry[] {
  return [...entries].sort((a, b) => b.attention.length - a.attention.length || a.clientId.localeCompare(b.clientId));
}
