import type { ApiKey } from './api-key';
import type { KeyVersion } from './key-version';
import type { Notification } from './notifications';

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
