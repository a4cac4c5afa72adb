import type { ApiKey } from './api-key';
import type { ClientSettingValues } from './client-settings';
import type { KeyVersion } from './key-version';
import type { Notification } from './notifications';
import type { RefusalCount, UsageCount } from './usage';

/** Secrets Manager's staging labels, spelled as AWS spells them. */
export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** What the rotation needs to know about a secret, from one DescribeSecret. */
export interface SecretDescription {
  readonly arn: string;
  readonly rotationEnabled: boolean;
  /** Labelled versions only: Secrets Manager does not list a version that has lost all its labels. */
  readonly versionStages: ReadonlyMap<string, readonly string[]>;
  readonly tags: ReadonlyMap<string, string>;
  /** When Secrets Manager will next rotate it, when it says. */
  readonly nextRotationMs?: number;
  /** Its rotation schedule, as DescribeSecret gives it. */
  readonly rotationRules?: { readonly scheduleExpression: string; readonly duration?: string };
  /** The function that rotates it, as DescribeSecret gives it. */
  readonly rotationLambdaArn?: string;
  /** When it was scheduled for deletion (DescribeSecret's DeletedDate): it is going, unless restored. */
  readonly deletedMs?: number;
  /** Its replicas in other regions, as DescribeSecret's ReplicationStatus gives them (ListSecrets does not). */
  readonly replicas?: readonly SecretReplica[];
}

/**
 * One region's replica of a secret: `InSync`, `InProgress` or `Failed`, with Secrets Manager's message.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicationStatusType.html
 */
export interface SecretReplica {
  readonly region: string;
  readonly status: string;
  readonly statusMessage?: string;
}

/** The key material store: Secrets Manager. */
export interface SecretVersionStore {
  describe(secretId: string): Promise<SecretDescription>;
  /**
   * The SecretString of a version, or undefined when the version has no value: the AWSPENDING placeholder
   * that RotateSecret creates before createSecret runs. With `stage`, the version must also carry it.
   */
  readValue(secretId: string, versionId: string, stage?: string): Promise<string | undefined>;
  /** Writes a version labelled AWSPENDING (PutSecretValue with the token as ClientRequestToken). */
  putPendingValue(secretId: string, versionId: string, secretString: string, rotationToken?: string): Promise<void>;
  /** UpdateSecretVersionStage: move `stage` to `toVersionId`, removing it from `fromVersionId`. */
  moveStage(secretId: string, stage: string, move: { readonly toVersionId?: string; readonly fromVersionId?: string }): Promise<void>;
}

/** A key version as first registered: its window is open-ended and it has never been revoked. */
export type NewKeyVersion = Omit<KeyVersion, 'notAfterMs' | 'revokedAtMs' | 'revokedReason'>;

/** The verification index and audit record: the DynamoDB key table. */
export interface KeyTable {
  /** Idempotent: a second registration of the same version changes nothing. */
  register(version: NewKeyVersion): Promise<'registered' | 'already-registered'>;
  /** A strongly consistent read by key hash. */
  findByHash(keyHash: string): Promise<KeyVersion | undefined>;
  /** Every version of a client, oldest first. */
  listClientVersions(clientId: string): Promise<KeyVersion[]>;
  /** Records when the version became AWSCURRENT; keeps the first such instant. */
  markCurrent(keyHash: string, atMs: number): Promise<KeyVersion>;
  /**
   * Sets `notAfterMs`, but only where that shortens the window of a version that is not revoked; returns the
   * version as it stands afterwards, whether or not it changed.
   */
  closeWindow(keyHash: string, notAfterMs: number): Promise<KeyVersion>;
  /** Revokes the version; a second revocation keeps the first instant and reason. */
  revoke(keyHash: string, atMs: number, reason: string): Promise<KeyVersion>;
  /**
   * Moves `notAfterMs` later, and only later, for a version that is not revoked: the one way a window grows
   * (usage-aware retirement, an operator's rollback). Returns the version as it stands afterwards.
   */
  extendWindow(keyHash: string, notAfterMs: number): Promise<KeyVersion>;
  /** Records that the version's window ended at `endMs`; keeps the first record. */
  markExpired(keyHash: string, endMs: number): Promise<KeyVersion>;
  /**
   * When keyroll first saw AWSPENDING on this version, recording `nowMs` if it never had: the age of a
   * pending version that Secrets Manager no longer lists (it has no value yet) is counted from here.
   */
  firstSeenPending(clientId: string, versionId: string, nowMs: number): Promise<number>;
}

/**
 * A client of the install, as keyroll registered it: the one secret its keys are issued for, and its settings.
 * Written only where a client is made (the construct's deployment, `keyroll clients add`), never by the rotation.
 */
export interface ClientRegistration {
  readonly clientId: string;
  /** The full ARN of the client's secret. */
  readonly secretArn: string;
  readonly settings: ClientSettingValues;
  readonly registeredAtMs: number;
  /** Who registered it: `cloudformation` for a declared client, the operator's ARN for one added at run time. */
  readonly registeredBy: string;
}

/** The install's clients: what makes a secret one keyroll issues keys for. */
export interface ClientRegistry {
  /** The client's registration (a consistent read), or undefined. */
  registrationOf(clientId: string): Promise<ClientRegistration | undefined>;
  listRegistrations(): Promise<ClientRegistration[]>;
  /**
   * Registers the client's secret, or replaces the settings of the registration that names it (or that names
   * `replacing`, a secret it takes the place of). A client registered to any other secret is refused
   * (ClientAlreadyRegisteredError).
   */
  registerClient(registration: ClientRegistration): Promise<void>;
  /** Removes the registration if it names this secret; false when there was none to remove. */
  deregisterClient(clientId: string, secretArn: string): Promise<boolean>;
}

/** The keys keyroll's createSecret generated, by hash: the only keys setSecret may register. */
export interface IssuedKeys {
  recordIssued(issued: { readonly keyHash: string; readonly clientId: string; readonly versionId: string; readonly atMs: number }): Promise<void>;
  /** True when createSecret generated this key for this client's version. */
  wasIssued(keyHash: string, clientId: string, versionId: string): Promise<boolean>;
}

/**
 * The set of every key version's hash prefix that the authorizer containers keep (lambda/domain/known-keys.ts),
 * as its writers keep it: whoever makes a key valid adds it, before it can be presented.
 */
export interface KnownKeyIndex {
  /** Adds a key to its snapshot bucket and to the additions the authorizers read; idempotent. */
  addKnownKey(keyHash: string, atMs: number): Promise<void>;
  /** Adds keys to the snapshot only, many per write: the backfill's way, before the set is marked complete. */
  addToKnownKeySnapshot(keyHashes: readonly string[]): Promise<void>;
  /** Removes keys that can never be valid again (revoked, or ended long enough ago). */
  pruneKnownKeys(keyHashes: readonly string[]): Promise<void>;
  /** When the set was last made complete (every registered key in it), or undefined for never. */
  knownKeysCompleteSince(): Promise<number | undefined>;
  markKnownKeysComplete(atMs: number): Promise<void>;
  /** True when the additions read in this table include this key, registered at `registeredAtMs`. */
  knownKeyAdded(keyHash: string, registeredAtMs: number): Promise<boolean>;
}

/** A stored notification, and whether it has been handed to SNS. */
export interface RecordedEvent {
  readonly notification: Notification;
  readonly published: boolean;
}

/** The audit trail of notifications, which also makes each one go out once per eventId. */
export interface EventLog {
  /** Stores the notification unless one with its eventId exists, and returns the stored one. */
  record(notification: Notification): Promise<RecordedEvent>;
  markPublished(notification: Notification, atMs: number): Promise<void>;
}

export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

/** Calls the protected API with a key, to prove end to end that it is accepted. */
export interface EndpointProbe {
  check(key: ApiKey): Promise<{ readonly ok: true } | { readonly ok: false; readonly detail: string }>;
}

/** Requests of a key version over some hours, and its last use. */
export interface UsageSummary {
  readonly requests: number;
  readonly lastUsedMs?: number;
}

/** Refusals of an ended key version over some hours, as the authorizers reported them. */
export interface RefusalSummary {
  readonly refused: number;
  readonly firstRefusedMs?: number;
  readonly lastRefusedMs?: number;
}

/** A client's API key in an API Gateway usage plan (run-time clients; the construct makes the declared ones'). */
export interface UsagePlanEnrolment {
  enrol(request: { readonly name: string; readonly value: string; readonly usagePlanId: string; readonly description: string }): Promise<void>;
  /** Deletes the client's API key; false when it had none. */
  withdraw(request: { readonly name: string; readonly value: string }): Promise<boolean>;
}

/** Usage counters in the key table. */
export interface UsageStore {
  /** True when a delivery with this id has been counted (its marker exists). */
  isBatchCounted(batchId: string): Promise<boolean>;
  /** Adds each count to its (client, version, hour) counter: one write per count. */
  addUsage(counts: readonly UsageCount[]): Promise<void>;
  markBatchCounted(batchId: string, atMs: number): Promise<void>;
  /** A version's requests in the UTC hours from `fromHour` to `toHour` (`yyyy-mm-ddThh`), both included. */
  readUsage(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<UsageSummary>;
  /** Adds each count to its (client, version, hour) refusal counter: one write per count. */
  addRefusals(counts: readonly RefusalCount[]): Promise<void>;
  /** A version's reported refusals in the UTC hours from `fromHour` to `toHour`, both included. */
  readRefusals(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<RefusalSummary>;
}

/** A version's requests per UTC hour (`yyyy-mm-ddThh` → requests), hours without requests left out; for `status`. */
export interface UsageHistory {
  hourlyUsage(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<Readonly<Record<string, number>>>;
}

/** The clients' secrets, as the monitor sees them. */
export interface SecretDirectory {
  /**
   * This install's secrets: named with `namePrefix` and tagged `keyroll:clientId`. Their labels may be
   * minutes old (ListSecrets is eventually consistent): decisions on labels take them from `describe`.
   */
  listManagedSecrets(namePrefix: string): Promise<SecretDescription[]>;
  describe(secretId: string): Promise<SecretDescription>;
  /** When a version was created, epoch ms, or undefined for a version Secrets Manager no longer lists. */
  versionCreatedAt(secretArn: string, versionId: string): Promise<number | undefined>;
}

export type RotationStart = { readonly kind: 'started'; readonly versionId: string } | { readonly kind: 'busy' };

/** Starting rotations: Secrets Manager's RotateSecret, and DescribeSecret to watch it. */
export interface RotationControl {
  describe(secretId: string): Promise<SecretDescription>;
  /**
   * RotateSecret with the rotation configured on the secret; `busy` when Secrets Manager answers that a
   * previous rotation is not complete. Never a probe: each call may restart the rotation in progress.
   */
  startRotation(secretId: string): Promise<RotationStart>;
}

/** A key delivery, as the audit trail keeps it. Never the key. */
export interface DeliveryRecord {
  readonly clientId: string;
  /** The version delivered (the current one). */
  readonly deliveredVersionId: string;
  /** The version of the key that authenticated the request. */
  readonly presentedVersionId: string;
  readonly atMs: number;
}

/** Key delivery's state in the key table: a per-client rate limit and the audit trail. */
export interface DeliveryLedger {
  /** Counts one delivery request of the client in the current minute; false once `perMinute` are counted. */
  takeDeliveryToken(clientId: string, nowMs: number, perMinute: number): Promise<boolean>;
  recordDelivery(record: DeliveryRecord): Promise<void>;
}

/** Encrypts a payload to a client's public key as a standard envelope (a compact JWE). */
export interface KeySealer {
  seal(publicKey: string, payload: Readonly<Record<string, string>>): Promise<string>;
}

/** An operator's action, as the audit trail keeps it: recorded before the action is taken. */
export interface OperatorAction {
  readonly clientId: string;
  readonly action: 'key.revoke' | 'key.extend' | 'key.rotate' | 'client.add' | 'client.remove';
  readonly versionId?: string;
  /** Who asked: the caller's ARN, or `local:<user>` in local mode. */
  readonly actor: string;
  readonly reason: string;
  readonly atMs: number;
  /** What the action asks for, e.g. the new end of a window (ISO-8601). */
  readonly detail?: string;
}

/** One entry of a client's audit trail, oldest first: notifications, deliveries and operator actions. */
export interface TrailEntry {
  readonly atMs: number;
  readonly kind: 'notification' | 'delivery' | 'operator';
  /** The notification type (`key.rotated`…), `key.delivered`, or the operator action. */
  readonly what: string;
  readonly versionId?: string;
  readonly actor?: string;
  readonly reason?: string;
  readonly detail?: string;
}

export interface AuditTrail {
  recordAction(action: OperatorAction): Promise<void>;
  /** The client's trail since `sinceMs`, oldest first. */
  trail(clientId: string, sinceMs: number): Promise<TrailEntry[]>;
}

/**
 * Recent revocations, for authorizer containers to drop what they cached: written by whoever revokes, read by
 * each container at most once per poll interval.
 */
export interface RevocationFeed {
  announce(keyHash: string, atMs: number): Promise<void>;
  /** The hashes of keys revoked at or after `sinceMs`. */
  revokedSince(sinceMs: number): Promise<string[]>;
}

/** Creating and deleting client secrets at run time (`keyroll clients add/remove`). */
export interface SecretAdministration {
  /** CreateSecret; returns the ARN. */
  createSecret(request: {
    readonly name: string;
    readonly kmsKeyId: string;
    readonly secretString: string;
    readonly tags: Readonly<Record<string, string>>;
    /** Multi-region installs: read-only replicas, each encrypted with its region's key. */
    readonly replicaRegions?: readonly { readonly region: string; readonly kmsKeyId: string }[];
  }): Promise<string>;
  putResourcePolicy(secretId: string, policy: string): Promise<void>;
  /** RotateSecret with the rotation function and schedule: turns rotation on and starts the first rotation. */
  enableRotation(secretId: string, rotation: { readonly rotationLambdaArn: string; readonly scheduleExpression: string; readonly duration?: string }): Promise<string>;
  /** RemoveRegionsFromReplication: a replicated secret cannot be deleted until its replicas are gone. */
  removeReplicaRegions(secretId: string, regions: readonly string[]): Promise<void>;
  /** DeleteSecret with a recovery window, during which an administrator can restore it; answers when the secret will be deleted. */
  deleteSecret(secretId: string, recoveryWindowDays: number): Promise<{ readonly deletionDateMs: number | undefined }>;
}

/**
 * Replica regions an operator took out of the rotation's replica wait (`keyroll regions exclude`): a region that
 * is down then stops blocking every rotation, and its readers are told they may be behind. Until put back.
 */
export interface ReplicaWaitExclusions {
  excludedRegions(regions: readonly string[]): Promise<ReadonlySet<string>>;
}

/** One region's place in the replica wait, as an operator last set it. */
export interface ReplicaWaitSetting {
  readonly region: string;
  readonly excluded: boolean;
  readonly atMs: number;
  readonly actor: string;
  readonly reason: string;
}

/** The operators' side: set a region out of the wait or back in (audited), and list what is set. */
export interface ReplicaWaitControl extends ReplicaWaitExclusions {
  setReplicaWait(setting: ReplicaWaitSetting): Promise<void>;
  replicaWaitSettings(): Promise<ReplicaWaitSetting[]>;
}
