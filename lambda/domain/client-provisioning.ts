import { writeGuardStatements } from '../contracts/write-guard';
import { clientSettingsOf, CLIENT_ID_PATTERN, CLIENT_SETTING, CLIENT_TAG, isDeliveryPublicKey, MAX_RESCUE_MISSED_HOURS, SCOPE_PATTERN, settingValuesFromTags, type ClientSettingValues } from './client-settings';
import { ClientAlreadyRegisteredError, NewClientSettingsRefusedError, OperationRefusedError, UnknownClientOrVersionError } from './errors';
import type { KeyOperations } from './key-operations';
import { checkScheduleExpression, ScheduleError } from './rotation-schedule';
import type { AuditTrail, ClientRegistry, KeyTable, SecretAdministration, SecretVersionStore, UsagePlanEnrolment } from './ports';
import { usageIdentifierKey, usagePlanApiKeyName } from '../contracts/usage-plans';

/** How many days a removed client's secret can still be restored by an administrator. */
export const REMOVED_SECRET_RECOVERY_DAYS = 7;
const DAY_MS = 24 * 3600 * 1000;

export interface NewClient {
  readonly clientId: string;
  readonly scopes?: readonly string[];
  readonly gracePeriodSeconds?: number;
  readonly maxKeyAgeDays?: number;
  readonly deliveryPublicKey?: string;
  /** Ends a replaced key early once the client has used only its new key this many hours; default off. */
  readonly closeWhenSwitchedHours?: number;
  /** Accepts an ended key again once, this many hours, when the client is caught still sending it; default off. */
  readonly rescueMissedHours?: number;
  /** One of the install's usage plans, by name; default none. */
  readonly usagePlan?: string;
  /** A Secrets Manager schedule expression; default the install's. */
  readonly scheduleExpression?: string;
  readonly reason: string;
  readonly actor: string;
}

/** What `remove` did: the versions it revoked, and the secret scheduled for deletion (restorable until then). */
export interface RemovedClient {
  readonly revokedVersionIds: readonly string[];
  readonly secretId: string;
  readonly deletionDateMs: number;
}

export interface ClientProvisioningDependencies {
  readonly administration: SecretAdministration;
  readonly secrets: Pick<SecretVersionStore, 'describe'>;
  readonly keys: KeyTable;
  readonly registry: ClientRegistry;
  readonly audit: AuditTrail;
  readonly operations: KeyOperations;
  readonly usagePlans: UsagePlanEnrolment;
  readonly install: {
    readonly usagePlanIds?: Readonly<Record<string, string>>;
    readonly replicaRegions?: readonly { readonly region: string; readonly kmsKeyArn: string }[];
    readonly secretNamePrefix: string;
    readonly kmsKeyArn: string;
    readonly rotationFunctionArn: string;
    readonly rotationRoleArn: string;
    readonly rotationScheduleExpression: string;
    readonly rotationWindow: string;
    readonly administratorArns?: readonly string[];
  };
  readonly clock: () => number;
}

/**
 * Clients added and removed at run time, with no deploy. A client added here is what the construct makes for a
 * declared one: the secret under the install's name prefix, encrypted with its key, tagged with its client id,
 * guarded by the same resource policy, registered with its settings (the registration is what makes the rotation
 * issue it keys), with rotation on, on the install's rotation function and schedule. So every other part
 * (monitor, authorizer, CLI) treats both alike.
 */
export class ClientProvisioning {
  constructor(private readonly deps: ClientProvisioningDependencies) {}

  /** Creates the client's secret, registers it and starts its first rotation; returns the secret and the version that will hold the first key. */
  async add(client: NewClient): Promise<{ readonly secretArn: string; readonly firstVersionId: string }> {
    checkNewClient(client, this.deps.install.rotationWindow);
    const name = `${this.deps.install.secretNamePrefix}${client.clientId}`;
    if (await this.exists(name)) throw new OperationRefusedError(`client "${client.clientId}" already exists (secret ${name})`);
    const registered = await this.deps.registry.registrationOf(client.clientId);
    if (registered !== undefined) throw new OperationRefusedError(`client "${client.clientId}" is already registered, to secret ${registered.secretArn}`);
    const usagePlanId = client.usagePlan === undefined ? undefined : this.deps.install.usagePlanIds?.[client.usagePlan];
    if (client.usagePlan !== undefined && usagePlanId === undefined) {
      throw new OperationRefusedError(`this install has no usage plan "${client.usagePlan}" (it has: ${Object.keys(this.deps.install.usagePlanIds ?? {}).join(', ') || 'none'})`);
    }
    await this.deps.audit.recordAction({ clientId: client.clientId, action: 'client.add', actor: client.actor, reason: client.reason, atMs: this.deps.clock() });
    if (client.usagePlan !== undefined && usagePlanId !== undefined) {
      // Before the secret: a client that has keys is never left outside the plan it was promised.
      await this.deps.usagePlans.enrol({ ...this.usagePlanKey(client.clientId), usagePlanId, description: `keyroll: usage plan identity of client ${client.clientId} (not a credential: the authorizer returns it)` });
    }
    const secretArn = await this.deps.administration.createSecret({
      name,
      kmsKeyId: this.deps.install.kmsKeyArn,
      secretString: JSON.stringify({ clientId: client.clientId }),
      tags: { [CLIENT_TAG.clientId]: client.clientId },
      ...(this.deps.install.replicaRegions === undefined ? {} : { replicaRegions: this.deps.install.replicaRegions.map(({ region, kmsKeyArn }) => ({ region, kmsKeyId: kmsKeyArn })) }),
    });
    await this.guard(secretArn);
    try {
      await this.deps.registry.registerClient({ clientId: client.clientId, secretArn, settings: settingValuesOf(client), registeredAtMs: this.deps.clock(), registeredBy: client.actor });
    } catch (error) {
      if (!(error instanceof ClientAlreadyRegisteredError)) throw error;
      // Another operator registered the client meanwhile: this secret gets no key, and goes.
      await this.removeReplicas(secretArn);
      await this.deps.administration.deleteSecret(secretArn, REMOVED_SECRET_RECOVERY_DAYS);
      throw new OperationRefusedError(`client "${client.clientId}" was registered to another secret while this one was made; ${secretArn} is deleted`, { cause: error });
    }
    const firstVersionId = await this.deps.administration.enableRotation(secretArn, {
      rotationLambdaArn: this.deps.install.rotationFunctionArn,
      scheduleExpression: client.scheduleExpression ?? this.deps.install.rotationScheduleExpression,
      duration: this.deps.install.rotationWindow,
    });
    return { secretArn, firstVersionId };
  }

  /**
   * Registers a client secret made before keyroll kept registrations (0.1): its settings come from its
   * `keyroll:*` tags, and it gets the current write guard. The operator vouches for the secret: adopt only a
   * secret you made; `keyroll doctor` lists the ones without a registration.
   */
  async adopt(request: { readonly clientId: string; readonly reason: string; readonly actor: string }): Promise<{ readonly secretArn: string; readonly settings: ClientSettingValues }> {
    const name = `${this.deps.install.secretNamePrefix}${request.clientId}`;
    if (!(await this.exists(name))) throw new UnknownClientOrVersionError(`this install has no secret ${name} to adopt`);
    const secret = await this.deps.secrets.describe(name);
    if (secret.deletedMs !== undefined) {
      throw new OperationRefusedError(`secret ${secret.arn} is scheduled for deletion (since ${new Date(secret.deletedMs).toISOString()}): restore it first (aws secretsmanager restore-secret --secret-id ${secret.arn}), then adopt it`);
    }
    const registered = await this.deps.registry.registrationOf(request.clientId);
    if (registered !== undefined) throw new OperationRefusedError(`client "${request.clientId}" is already registered, to secret ${registered.secretArn}`);
    if (secret.tags.get(CLIENT_TAG.clientId) !== request.clientId) throw new OperationRefusedError(`secret ${secret.arn} is not tagged ${CLIENT_TAG.clientId}=${request.clientId}`);
    if (secret.rotationLambdaArn !== this.deps.install.rotationFunctionArn) {
      throw new OperationRefusedError(`secret ${secret.arn} is not rotated by this install's rotation function (${secret.rotationLambdaArn ?? 'no rotation'})`);
    }
    const settings = settingValuesFromTags(secret.tags);
    await this.deps.audit.recordAction({ clientId: request.clientId, action: 'client.add', actor: request.actor, reason: `adopted: ${request.reason}`, atMs: this.deps.clock() });
    await this.guard(secret.arn);
    await this.deps.registry.registerClient({ clientId: request.clientId, secretArn: secret.arn, settings, registeredAtMs: this.deps.clock(), registeredBy: request.actor });
    return { secretArn: secret.arn, settings };
  }

  /** Revokes every key version of the client that is not revoked yet, removes its registration, then deletes its secret (restorable for 7 days). */
  async remove(request: { readonly clientId: string; readonly reason: string; readonly actor: string }): Promise<RemovedClient> {
    const name = `${this.deps.install.secretNamePrefix}${request.clientId}`;
    const registration = await this.deps.registry.registrationOf(request.clientId);
    if (registration === undefined) {
      // A second removal changes nothing and says when the first one was; the secret is only marked for deletion.
      const removal = (await this.deps.audit.trail(request.clientId, this.deps.clock() - REMOVED_SECRET_RECOVERY_DAYS * DAY_MS)).filter((entry) => entry.what === 'client.remove').at(-1);
      if (removal !== undefined) throw new OperationRefusedError(`client "${request.clientId}" was already removed at ${new Date(removal.atMs).toISOString()} (${removal.reason ?? 'no reason'}${removal.actor === undefined ? '' : `, by ${removal.actor}`})`);
      if (!(await this.exists(name))) throw new UnknownClientOrVersionError(`this install has no client "${request.clientId}"`);
    }
    const secretId = registration?.secretArn ?? name;
    // First, since Secrets Manager deletes no secret that has replicas: when this fails, nothing has changed.
    await this.removeReplicas(secretId);
    await this.deps.audit.recordAction({ clientId: request.clientId, action: 'client.remove', actor: request.actor, reason: request.reason, atMs: this.deps.clock() });
    const open = (await this.deps.keys.listClientVersions(request.clientId)).filter((version) => version.revokedAtMs === undefined);
    for (const version of open) await this.deps.operations.revoke({ clientId: request.clientId, versionId: version.versionId, reason: `client removed: ${request.reason}`, actor: request.actor });
    if (registration !== undefined) await this.deps.registry.deregisterClient(request.clientId, registration.secretArn);
    if (this.deps.install.usagePlanIds !== undefined) await this.deps.usagePlans.withdraw(this.usagePlanKey(request.clientId));
    const deleted = await this.deps.administration.deleteSecret(secretId, REMOVED_SECRET_RECOVERY_DAYS);
    return { revokedVersionIds: open.map((version) => version.versionId), secretId, deletionDateMs: deleted.deletionDateMs ?? this.deps.clock() + REMOVED_SECRET_RECOVERY_DAYS * DAY_MS };
  }

  /** A replicated secret cannot be deleted (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html). */
  private async removeReplicas(secretId: string): Promise<void> {
    const regions = ((await this.deps.secrets.describe(secretId)).replicas ?? []).map(({ region }) => region);
    if (regions.length > 0) await this.deps.administration.removeReplicaRegions(secretId, regions);
  }

  private async guard(secretArn: string): Promise<void> {
    const statements = writeGuardStatements({
      rotationRoleArn: this.deps.install.rotationRoleArn,
      rotationFunctionArn: this.deps.install.rotationFunctionArn,
      administratorArns: this.deps.install.administratorArns ?? [],
    });
    await this.deps.administration.putResourcePolicy(secretArn, JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  }

  private usagePlanKey(clientId: string): { readonly name: string; readonly value: string } {
    return { name: usagePlanApiKeyName(clientId), value: usageIdentifierKey(this.deps.install.secretNamePrefix, clientId) };
  }

  private async exists(name: string): Promise<boolean> {
    try {
      await this.deps.secrets.describe(name);
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
      throw error;
    }
  }
}

/** A new client's settings as its registration keeps them. */
function settingValuesOf(client: NewClient): ClientSettingValues {
  const values: Record<string, string> = {};
  if (client.scopes !== undefined && client.scopes.length > 0) values[CLIENT_SETTING.scopes] = client.scopes.join(' ');
  if (client.gracePeriodSeconds !== undefined) values[CLIENT_SETTING.gracePeriodSeconds] = String(client.gracePeriodSeconds);
  if (client.maxKeyAgeDays !== undefined) values[CLIENT_SETTING.maxKeyAgeDays] = String(client.maxKeyAgeDays);
  if (client.deliveryPublicKey !== undefined) values[CLIENT_SETTING.deliveryPublicKey] = client.deliveryPublicKey;
  if (client.closeWhenSwitchedHours !== undefined) values[CLIENT_SETTING.closeWhenSwitchedHours] = String(client.closeWhenSwitchedHours);
  if (client.rescueMissedHours !== undefined) values[CLIENT_SETTING.rescueMissedHours] = String(client.rescueMissedHours);
  if (client.usagePlan !== undefined) values[CLIENT_SETTING.usagePlan] = client.usagePlan;
  return values;
}

function checkNewClient(client: NewClient, rotationWindow: string): void {
  const problems: string[] = [];
  if (client.scheduleExpression !== undefined) {
    try {
      checkScheduleExpression(client.scheduleExpression, rotationWindow);
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      problems.push(error.message);
    }
  }
  if (!CLIENT_ID_PATTERN.test(client.clientId)) problems.push(`the client id must be 1 to 64 letters, digits, ".", "_" or "-"; got "${client.clientId}"`);
  for (const scope of client.scopes ?? []) if (!SCOPE_PATTERN.test(scope)) problems.push(`scope "${scope}" must be 1 to 64 letters, digits, ":", ".", "_", "/" or "-"`);
  if (client.gracePeriodSeconds !== undefined && (!Number.isInteger(client.gracePeriodSeconds) || client.gracePeriodSeconds < 0)) problems.push('the grace period must be whole seconds');
  if (client.maxKeyAgeDays !== undefined && (!Number.isInteger(client.maxKeyAgeDays) || client.maxKeyAgeDays < 1)) problems.push('the maximum key age must be whole days, at least 1');
  if (client.closeWhenSwitchedHours !== undefined && (!Number.isInteger(client.closeWhenSwitchedHours) || client.closeWhenSwitchedHours < 1 || client.closeWhenSwitchedHours > 168)) {
    problems.push('the quiet time before closing a replaced key early must be whole hours, from 1 to 168');
  }
  if (client.rescueMissedHours !== undefined && (!Number.isInteger(client.rescueMissedHours) || client.rescueMissedHours < 1 || client.rescueMissedHours > MAX_RESCUE_MISSED_HOURS)) {
    problems.push(`the rescue of a missed switch must be whole hours, from 1 to ${MAX_RESCUE_MISSED_HOURS}`);
  }
  if (client.deliveryPublicKey !== undefined && !isDeliveryPublicKey(client.deliveryPublicKey)) problems.push('the public key must be a usable X25519 public key: 43 base64url characters, not a low-order point (generateDeliveryKeyPair() of keyroll/client)');
  if (problems.length === 0) {
    // The rotation reads the registration with this reader: a setting it would refuse is refused here, before any secret exists.
    try {
      clientSettingsOf(client.clientId, settingValuesOf(client), { gracePeriodSeconds: 0 });
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (problems.length > 0) throw new NewClientSettingsRefusedError(problems.join('; '));
}
