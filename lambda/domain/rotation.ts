import { waitUntilReplicated, type KeyTableReplicas, type ReplicaWaitSettings } from './replica-wait';
import { displayKey, hashApiKey, parseApiKey, type ApiKey } from './api-key';
import { claimedClientId, clientSettingsOf, type ClientSettings } from './client-settings';
import { KeyVerificationError, MalformedSecretError, ReplicaFailedError, RotationRefusedError, UnissuedKeyError, UnregisteredSecretError } from './errors';
import { isAbandonedPending, windowEndMs, type KeyVersion } from './key-version';
import { buildNotification, publishOnce } from './notifications';
import { announceCurrentVersion, retireReplacedVersion } from './replaced-version';
import { labelledVersionIds, versionWithStage } from './secret-labels';
import { parseSecretPayload, serializeSecretPayload, type SecretPayload } from './secret-payload';
import { acceptKey, directLookup } from './accept-key';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type ClientRegistry,
  type EndpointProbe,
  type IssuedKeys,
  type EventLog,
  type KeyTable,
  type KnownKeyIndex,
  type Notifier,
  type ReplicaWaitExclusions,
  type SecretDescription,
  type SecretVersionStore,
} from './ports';

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** One invocation of the rotation function, as Secrets Manager sends it. */
export interface RotationRequest {
  readonly step: RotationStep;
  readonly secretId: string;
  /** The ClientRequestToken: the VersionId of the version this rotation creates. */
  readonly token: string;
  /** Secrets Manager's proof that the call comes from this rotation; passed to PutSecretValue, never logged. */
  readonly rotationToken?: string;
}

/** What a step did, for the log line. Identifiers only. */
export type StepOutcome =
  | { readonly step: RotationStep; readonly result: 'already-current' }
  /** A retried step of a rotation whose version became current and has been replaced since: nothing is left to do. */
  | { readonly step: RotationStep; readonly result: 'superseded' }
  | {
      readonly step: 'createSecret';
      readonly result: 'created' | 'already-created';
      readonly revokedAbandonedVersionIds: readonly string[];
    }
  | { readonly step: 'setSecret'; readonly result: 'registered' | 'already-registered' }
  | {
      readonly step: 'testSecret';
      readonly result: 'verified';
      readonly probed: boolean;
      /** Multi-region installs: how long each replica region took to have the key, in ms. */
      readonly replicatedAfterMs?: Readonly<Record<string, number>>;
    }
  | { readonly step: 'testSecret'; readonly result: 'nothing-to-verify' }
  | {
      readonly step: 'finishSecret';
      /** `completed` when an earlier attempt had already moved AWSCURRENT and this one finished the rest. */
      readonly result: 'finished' | 'completed';
      readonly previousVersionId?: string;
      readonly previousNotAfterMs?: number;
      readonly notification: 'published' | 'already-published';
    };

export interface RotationDependencies {
  readonly secrets: SecretVersionStore;
  readonly keys: KeyTable;
  /** Which secret is each client's: the rotation issues keys for registered secrets only. */
  readonly registry: Pick<ClientRegistry, 'registrationOf'>;
  /** The keys createSecret generated: setSecret registers no other. */
  readonly issued: IssuedKeys;
  readonly events: EventLog;
  readonly notifier: Notifier;
  /** Where `rotation.failed` goes, once per rotation token; none when absent. */
  readonly operationsNotifier?: Notifier;
  /** Present when an endpoint to probe is configured. */
  readonly probe?: EndpointProbe;
  readonly clock: () => number;
  readonly generateKey: () => ApiKey;
  readonly keyPrefix: string;
  readonly defaultGracePeriodSeconds: number;
  /**
   * Multi-region installs: the key table's replicas, which must have a key before it may become current, and the
   * regions an operator took out of that wait (`keyroll regions exclude`), which the rotation does not wait for.
   */
  readonly replicas?: { readonly tables: KeyTableReplicas; readonly wait: ReplicaWaitSettings; readonly exclusions?: ReplicaWaitExclusions };
  /**
   * The authorizers' known-key set: setSecret adds a new key to it before registering it, and the key is first
   * presented (to the probe, or as AWSCURRENT) only `propagationMs` after that, when every authorizer container
   * that might refuse an unknown key without reading has had to learn it (lambda/contracts/known-keys.ts).
   */
  readonly knownKeys?: { readonly index: Pick<KnownKeyIndex, 'addKnownKey'>; readonly propagationMs: number; readonly sleep: (ms: number) => Promise<void> };
}

/** A key read from a secret version, with the forms of it that may be stored and shown. */
interface VersionKey {
  readonly key: ApiKey;
  readonly keyHash: string;
}

const ABANDONED_REASON = 'rotation-abandoned';

/**
 * The Secrets Manager rotation contract for API keys. Every step is idempotent and safe to run again at any
 * point: Secrets Manager retries a failed rotation from createSecret with the same token.
 */
export class KeyRotation {
  constructor(private readonly deps: RotationDependencies) {}

  async runStep(request: RotationRequest): Promise<StepOutcome> {
    const secret = await this.deps.secrets.describe(request.secretId);
    if (!secret.rotationEnabled) throw new RotationRefusedError(`secret ${secret.arn} does not have rotation enabled`);
    const client = await this.registeredClient(secret, request.token);
    const stages = secret.versionStages.get(request.token);
    if (stages === undefined || (!stages.includes(AWSCURRENT) && !stages.includes(AWSPENDING))) {
      // finishSecret moved AWSCURRENT and was cut off, a later rotation replaced the version, then Secrets Manager
      // retried the first one: its work is done (the later createSecret completed its finish), not failed.
      if (await this.wasCurrent(client.clientId, request.token)) return { step: request.step, result: 'superseded' };
    }
    if (stages === undefined) {
      throw new RotationRefusedError(`version ${request.token} has no staging label on secret ${secret.arn}`);
    }
    if (stages.includes(AWSCURRENT)) {
      // A retried rotation: every step before finishSecret is done. finishSecret may have been cut off after
      // moving the label, so it still clears AWSPENDING and completes the old version's window and notification.
      if (request.step !== 'finishSecret') return { step: request.step, result: 'already-current' };
      if (stages.includes(AWSPENDING)) await this.deps.secrets.moveStage(secret.arn, AWSPENDING, { fromVersionId: request.token });
      return this.completeFinish(secret, client, request.token, versionWithStage(secret, AWSPREVIOUS), 'completed');
    }
    if (!stages.includes(AWSPENDING)) {
      throw new RotationRefusedError(`version ${request.token} of secret ${secret.arn} is not AWSPENDING`);
    }
    try {
      switch (request.step) {
        case 'createSecret':
          return await this.createSecret(secret, client, request);
        case 'setSecret':
          return await this.setSecret(secret, client, request.token);
        case 'testSecret':
          return await this.testSecret(secret, client, request.token);
        case 'finishSecret':
          return await this.finishSecret(secret, client, request.token);
      }
    } catch (error) {
      // A refusal has told operations already, as `rotation.refused`.
      if (!(error instanceof UnissuedKeyError)) await this.reportFailure(client, request.token);
      throw error;
    }
  }

  /** Whether the key table has this version of the client as having been current once; not known when the table cannot be read, so the refusal stands. */
  private async wasCurrent(clientId: string, versionId: string): Promise<boolean> {
    const versions = await this.deps.keys.listClientVersions(clientId).catch(() => []);
    return versions.some((version) => version.versionId === versionId && version.currentSinceMs !== undefined);
  }

  /**
   * Only keyroll issues keys: a secret gets a key only if it is the one keyroll registered for the client its
   * tag names (the construct's deployment or `keyroll clients add` wrote that registration). Any other secret
   * under the install's prefix (made with CreateSecret and RotateSecret by someone else) is refused, and
   * operations are told (`rotation.refused`, once per token).
   */
  private async registeredClient(secret: SecretDescription, token: string): Promise<ClientSettings> {
    const clientId = claimedClientId(secret.arn, secret.tags);
    const registration = await this.deps.registry.registrationOf(clientId);
    if (registration === undefined || registration.secretArn !== secret.arn) {
      await this.reportRefusal(clientId, token);
      throw new UnregisteredSecretError(
        registration === undefined
          ? `secret ${secret.arn} claims client "${clientId}", which is not registered: keyroll issues keys only for the secret it registered for a client`
          : `secret ${secret.arn} is not the secret registered for client "${clientId}" (${registration.secretArn}): keyroll issues no key for it`,
      );
    }
    return clientSettingsOf(clientId, registration.settings, { gracePeriodSeconds: this.deps.defaultGracePeriodSeconds });
  }

  /** `rotation.refused` to operations, once per token; like a failure report, it never hides the refusal itself. */
  private async reportRefusal(clientId: string, token: string): Promise<void> {
    const notifier = this.deps.operationsNotifier;
    if (notifier === undefined) return;
    const nowMs = this.deps.clock();
    await publishOnce(buildNotification('rotation.refused', { clientId, versionId: token }, nowMs), { events: this.deps.events, notifier, nowMs }).catch(() => undefined);
  }

  /**
   * Tells operators that a step of this rotation failed, once per token; Secrets Manager will retry it. A
   * failure to tell them must not hide the step's own error, which the caller rethrows and logs, so it is
   * dropped here; the EventBridge RotationFailed rule reports the rotation anyway.
   */
  private async reportFailure(client: ClientSettings, token: string): Promise<void> {
    const notifier = this.deps.operationsNotifier;
    if (notifier === undefined) return;
    const nowMs = this.deps.clock();
    const notification = buildNotification('rotation.failed', { clientId: client.clientId, versionId: token }, nowMs);
    await publishOnce(notification, { events: this.deps.events, notifier, nowMs }).catch(() => undefined);
  }

  private async createSecret(secret: SecretDescription, client: ClientSettings, request: RotationRequest): Promise<StepOutcome> {
    await this.completeCutOffFinish(secret, client);
    const revokedAbandonedVersionIds = await this.revokeAbandonedVersions(secret, client, request.token);
    const existing = await this.deps.secrets.readValue(secret.arn, request.token, AWSPENDING);
    if (existing !== undefined) return { step: 'createSecret', result: 'already-created', revokedAbandonedVersionIds };

    const currentId = requireVersionWithStage(secret, AWSCURRENT);
    const current = await this.readPayload(secret.arn, currentId);
    if (current.clientId !== client.clientId) {
      throw new MalformedSecretError(
        `secret ${secret.arn}: version ${currentId} names client "${current.clientId}" but the tag names "${client.clientId}"`,
      );
    }
    const apiKey = this.deps.generateKey();
    // Recorded before the value exists, so that setSecret can tell this key from one written by anyone else.
    await this.deps.issued.recordIssued({ keyHash: hashApiKey(apiKey), clientId: client.clientId, versionId: request.token, atMs: this.deps.clock() });
    const pending = serializeSecretPayload({ clientId: client.clientId, apiKey, otherFields: current.otherFields });
    await this.deps.secrets.putPendingValue(secret.arn, request.token, pending, request.rotationToken);
    return { step: 'createSecret', result: 'created', revokedAbandonedVersionIds };
  }

  private async setSecret(secret: SecretDescription, client: ClientSettings, token: string): Promise<StepOutcome> {
    const { key, keyHash } = await this.readPendingKey(secret.arn, token);
    await this.requireIssued(keyHash, client, token);
    const nowMs = this.deps.clock();
    // Known to the authorizers before it is valid anywhere, so that none refuses it unread once it is presented.
    await this.deps.knownKeys?.index.addKnownKey(keyHash, nowMs);
    const result = await this.deps.keys.register({
      keyHash,
      clientId: client.clientId,
      versionId: token,
      keyDisplay: displayKey(key),
      scopes: client.scopes,
      notBeforeMs: nowMs,
      ...(client.maxKeyAgeMs === undefined ? {} : { expiresAtMs: nowMs + client.maxKeyAgeMs }),
      ...(client.usagePlan === undefined ? {} : { usagePlan: client.usagePlan }),
    });
    return { step: 'setSecret', result };
  }

  /**
   * Only verifies. With RotateImmediately=false, Secrets Manager runs this step alone against a temporary
   * AWSPENDING version that holds the current key, so it must pass for an already-current key and change nothing.
   */
  private async testSecret(secret: SecretDescription, client: ClientSettings, token: string): Promise<StepOutcome> {
    const payload = await this.readPendingPayload(secret.arn, token);
    // A new client's secret holds no key until its first rotation, and the rotation schedule's
    // RotateImmediately=false test copies that keyless value into the test version: nothing to verify.
    if (payload.apiKey === undefined && (await this.readPayload(secret.arn, requireVersionWithStage(secret, AWSCURRENT))).apiKey === undefined) {
      return { step: 'testSecret', result: 'nothing-to-verify' };
    }
    const pending = this.pendingKeyOf(secret.arn, token, payload);
    const accepted = await this.requireAccepted(pending, client, token);
    const replicatedAfterMs = await this.requireReplicated(pending, token);
    const probe = this.deps.probe;
    if (probe !== undefined) {
      await this.waitUntilKnownEverywhere(accepted, replicatedAfterMs !== undefined);
      const result = await probe.check(pending.key);
      if (!result.ok) throw new KeyVerificationError(`the endpoint probe refused the key of version ${token}: ${result.detail}`);
    }
    return { step: 'testSecret', result: 'verified', probed: probe !== undefined, ...(replicatedAfterMs === undefined ? {} : { replicatedAfterMs }) };
  }

  private async finishSecret(secret: SecretDescription, client: ClientSettings, token: string): Promise<StepOutcome> {
    // The same check as testSecret, repeated because moving AWSCURRENT to a key the authorizer refuses would
    // lock the client out: this step must not trust that the earlier ones ran.
    const pending = await this.readPendingKey(secret.arn, token);
    const accepted = await this.requireAccepted(pending, client, token);
    // Nor that every region has the key: none may refuse a key another region holds as current.
    const replicated = await this.requireReplicated(pending, token);
    await this.waitUntilKnownEverywhere(accepted, replicated !== undefined);
    const previousId = requireVersionWithStage(secret, AWSCURRENT);
    await this.requireSecretReplicasHealthy(secret, previousId);
    await this.deps.secrets.moveStage(secret.arn, AWSCURRENT, { toVersionId: token, fromVersionId: previousId });
    await this.deps.secrets.moveStage(secret.arn, AWSPENDING, { fromVersionId: token });
    return this.completeFinish(secret, client, token, previousId, 'finished');
  }

  /** Everything finishSecret does after AWSCURRENT has moved to `token`; each part is idempotent. */
  private async completeFinish(
    secret: SecretDescription,
    client: ClientSettings,
    token: string,
    previousId: string | undefined,
    result: 'finished' | 'completed',
  ): Promise<StepOutcome> {
    const nowMs = this.deps.clock();
    const currentHash = await this.readKeyHash(secret.arn, token);
    if (currentHash === undefined) throw new MalformedSecretError(`secret ${secret.arn}: the current version ${token} holds no key`);
    await this.deps.keys.markCurrent(currentHash, nowMs);

    const replaced = previousId === undefined ? undefined : await this.registeredVersionOf(secret.arn, previousId);
    const { closed: previous, notification } = await retireReplacedVersion(client, token, replaced, {
      keys: this.deps.keys,
      events: this.deps.events,
      notifier: this.deps.notifier,
      nowMs,
    });
    const previousEndMs = previous === undefined ? undefined : windowEndMs(previous);
    return {
      step: 'finishSecret',
      result,
      ...(previous === undefined ? {} : { previousVersionId: previous.versionId }),
      ...(previousEndMs === undefined ? {} : { previousNotAfterMs: previousEndMs }),
      notification,
    };
  }

  /**
   * A finishSecret cut off right after it moved AWSCURRENT, in a rotation that Secrets Manager then gave up on,
   * leaves the current version unmarked and its predecessor's window open. The next rotation completes it
   * before anything else (found by the soak): left as it was, that version would lose its labels two rotations
   * later and look like an abandoned rotation's key, and the createSecret after that would revoke a key that
   * was current.
   */
  private async completeCutOffFinish(secret: SecretDescription, client: ClientSettings): Promise<void> {
    const currentId = versionWithStage(secret, AWSCURRENT);
    if (currentId === undefined) return;
    const current = await this.registeredVersionOf(secret.arn, currentId);
    if (current === undefined) return;
    const previousId = versionWithStage(secret, AWSPREVIOUS);
    // Cut off after marking the new key current but before closing the old one's window (found by the soak):
    // a window never closed. One that was closed, and maybe extended by an operator since, stays as it is.
    const previous = previousId === undefined ? undefined : await this.registeredVersionOf(secret.arn, previousId);
    const previousLeftOpen = previous !== undefined && previous.notAfterMs === undefined && previous.revokedAtMs === undefined;
    if (current.currentSinceMs === undefined || previousLeftOpen) {
      await this.completeFinish(secret, client, currentId, previousId, 'completed');
      return;
    }
    // Cut off after closing the old window and before publishing (found by the soak): the client was never told.
    // Only while that window is open: past it, the notice would name a key the client can no longer use.
    const previousEndMs = previous === undefined ? undefined : windowEndMs(previous);
    const nowMs = this.deps.clock();
    if (previous !== undefined && previous.revokedAtMs === undefined && previousEndMs !== undefined && previousEndMs > nowMs) {
      await announceCurrentVersion(client, currentId, previous, { events: this.deps.events, notifier: this.deps.notifier, nowMs });
    }
  }

  /** The key version a secret version holds; undefined for a version without a key keyroll registered (a new client's placeholder). */
  private async registeredVersionOf(secretArn: string, versionId: string): Promise<KeyVersion | undefined> {
    const keyHash = await this.readKeyHash(secretArn, versionId);
    return keyHash === undefined ? undefined : this.deps.keys.findByHash(keyHash);
  }

  /**
   * Invariant 3: a key that never became current must not stay valid once its rotation is abandoned. A new
   * rotation can only start after the old AWSPENDING label is gone, so any version that is registered, never
   * current, open and unlabelled belongs to an abandoned rotation.
   */
  private async revokeAbandonedVersions(secret: SecretDescription, client: ClientSettings, token: string): Promise<string[]> {
    const labelled = new Set([token, ...labelledVersionIds(secret)]);
    const abandoned = (await this.deps.keys.listClientVersions(client.clientId)).filter((version) => isAbandonedPending(version, labelled));
    const nowMs = this.deps.clock();
    for (const version of abandoned) await this.deps.keys.revoke(version.keyHash, nowMs, ABANDONED_REASON);
    return abandoned.map((version) => version.versionId);
  }

  /**
   * The pending key must be one createSecret generated for this client's version: a value written to the secret
   * by anyone else (with the resource policy changed, say) is never registered. A version registered before
   * keyroll recorded issued keys passes as the registration it already is.
   */
  private async requireIssued(keyHash: string, client: ClientSettings, token: string): Promise<void> {
    if (await this.deps.issued.wasIssued(keyHash, client.clientId, token)) return;
    const registered = await this.deps.keys.findByHash(keyHash);
    if (registered !== undefined && registered.clientId === client.clientId && registered.versionId === token) return;
    await this.reportRefusal(client.clientId, token);
    throw new UnissuedKeyError(`the pending key of version ${token} was not generated by keyroll's createSecret for client "${client.clientId}": it is not registered`);
  }

  /**
   * Waits, if it must, until the key has been in the known-key set long enough for every authorizer container to
   * have learnt it: from its registration, or from now when replica regions were just seen to have it.
   */
  private async waitUntilKnownEverywhere(version: KeyVersion, justReplicated: boolean): Promise<void> {
    const known = this.deps.knownKeys;
    if (known === undefined || known.propagationMs === 0) return;
    const nowMs = this.deps.clock();
    const remainingMs = (justReplicated ? nowMs : version.notBeforeMs) + known.propagationMs - nowMs;
    if (remainingMs > 0) await known.sleep(remainingMs);
  }

  private async requireAccepted(pending: VersionKey, client: ClientSettings, token: string): Promise<KeyVersion> {
    // The authorizer's own rule, over a consistent read instead of its cache.
    const acceptance = await acceptKey(pending.key, {
      prefix: this.deps.keyPrefix,
      lookup: directLookup((keyHash) => this.deps.keys.findByHash(keyHash)),
      nowMs: this.deps.clock(),
    });
    if (!acceptance.accepted) {
      throw new KeyVerificationError(`the key of version ${token} is not accepted: ${acceptance.reason}`);
    }
    if (acceptance.version.clientId !== client.clientId) {
      throw new KeyVerificationError(`the key of version ${token} is registered to another client, not to "${client.clientId}"`);
    }
    return acceptance.version;
  }

  /** In a multi-region install, the key must be readable in every replica region of the key table that is in the wait. */
  private async requireReplicated(pending: VersionKey, token: string): Promise<Readonly<Record<string, number>> | undefined> {
    const replicas = this.deps.replicas;
    if (replicas === undefined || replicas.tables.regions.length === 0) return undefined;
    const regions = await this.regionsInTheWait();
    if (regions.length === 0) return undefined;
    return waitUntilReplicated(pending.keyHash, token, { ...replicas.tables, regions }, replicas.wait);
  }

  private async regionsInTheWait(): Promise<readonly string[]> {
    const replicas = this.deps.replicas;
    if (replicas === undefined) return [];
    const excluded = (await replicas.exclusions?.excludedRegions(replicas.tables.regions)) ?? new Set<string>();
    return replicas.tables.regions.filter((region) => !excluded.has(region));
  }

  /**
   * A replica secret that Secrets Manager reports `Failed` keeps its old value: moving AWSCURRENT would start the
   * grace of the key its readers hold, and cut them off when it ends. So the label stays, until the replica is
   * repaired or an operator takes the region out of the wait.
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicationStatusType.html
   */
  private async requireSecretReplicasHealthy(secret: SecretDescription, currentId: string): Promise<void> {
    const failed = (secret.replicas ?? []).filter((replica) => replica.status === 'Failed');
    if (failed.length === 0) return;
    const inTheWait = new Set(await this.regionsInTheWait());
    const blocking = failed.filter((replica) => inTheWait.has(replica.region));
    if (blocking.length === 0) return;
    throw new ReplicaFailedError(
      `the replica of secret ${secret.arn} in ${blocking.map((replica) => `${replica.region} has failed (${replica.statusMessage ?? 'no message'})`).join(', ')}: AWSCURRENT stays on ${currentId}, which readers there hold. ` +
        `Repair the replica, or take the region out of the wait (keyroll regions exclude ${blocking[0]?.region ?? ''} --reason "…"); Secrets Manager retries the rotation`,
    );
  }

  private async readPendingKey(secretArn: string, token: string): Promise<VersionKey> {
    return this.pendingKeyOf(secretArn, token, await this.readPendingPayload(secretArn, token));
  }

  private async readPendingPayload(secretArn: string, token: string): Promise<SecretPayload> {
    const value = await this.deps.secrets.readValue(secretArn, token, AWSPENDING);
    if (value === undefined) throw new MalformedSecretError(`secret ${secretArn}: pending version ${token} has no value; createSecret has not run`);
    return parseSecretPayload(value, token);
  }

  private pendingKeyOf(secretArn: string, token: string, { apiKey }: SecretPayload): VersionKey {
    if (apiKey === undefined) throw new MalformedSecretError(`secret ${secretArn}: pending version ${token} holds no key`);
    const parsed = parseApiKey(apiKey, this.deps.keyPrefix);
    if (!parsed.ok) throw new MalformedSecretError(`secret ${secretArn}: pending version ${token} holds a malformed key (${parsed.reason})`);
    return { key: parsed.key, keyHash: hashApiKey(parsed.key) };
  }

  /**
   * The hash of the key a version holds, or undefined for a version without one. The format is not checked
   * here: a key issued under an earlier prefix must still be found, so that its window is closed.
   */
  private async readKeyHash(secretArn: string, versionId: string): Promise<string | undefined> {
    const value = await this.deps.secrets.readValue(secretArn, versionId);
    if (value === undefined) return undefined;
    const { apiKey } = parseSecretPayload(value, versionId);
    return apiKey === undefined ? undefined : hashApiKey(apiKey);
  }

  private async readPayload(secretArn: string, versionId: string): Promise<SecretPayload> {
    const value = await this.deps.secrets.readValue(secretArn, versionId);
    if (value === undefined) throw new MalformedSecretError(`secret ${secretArn}: version ${versionId} has no value`);
    return parseSecretPayload(value, versionId);
  }
}

function requireVersionWithStage(secret: SecretDescription, stage: string): string {
  const versionId = versionWithStage(secret, stage);
  if (versionId === undefined) throw new RotationRefusedError(`secret ${secret.arn} has no ${stage} version`);
  return versionId;
}
