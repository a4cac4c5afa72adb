import { writeGuardStatements } from '../contracts/write-guard';
import { CLIENT_ID_PATTERN, CLIENT_TAG, isDeliveryPublicKey, MAX_RESCUE_MISSED_HOURS, SCOPE_PATTERN } from './client-settings';
import { OperationRefusedError, UnknownClientOrVersionError } from './errors';
import type { KeyOperations } from './key-operations';
import { checkScheduleExpression, ScheduleError } from './rotation-schedule';
import type { AuditTrail, KeyTable, SecretAdministration, SecretVersionStore, UsagePlanEnrolment } from './ports';
import { usageIdentifierKey, usagePlanApiKeyName } from '../contracts/usage-plans';

/** How many days a removed client's secret can still be restored by an administrator. */
export const REMOVED_SECRET_RECOVERY_DAYS = 7;

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

export interface ClientProvisioningDependencies {
  readonly administration: SecretAdministration;
  readonly secrets: Pick<SecretVersionStore, 'describe'>;
  readonly keys: KeyTable;
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
  };
  readonly clock: () => number;
}

/**
 * Clients added and removed at run time, with no deploy. A client added here is what the construct makes for a
 * declared one: the secret under the install's name prefix, encrypted with its key, tagged, guarded by the same
 * resource policy, with rotation on, on the install's rotation function and schedule. So every other part
 * (monitor, authorizer, CLI) treats both alike.
 */
export class ClientProvisioning {
  constructor(private readonly deps: ClientProvisioningDependencies) {}

  /** Creates the client's secret and starts its first rotation; returns the secret and the version that will hold the first key. */
  async add(client: NewClient): Promise<{ readonly secretArn: string; readonly firstVersionId: string }> {
    checkNewClient(client, this.deps.install.rotationWindow);
    const name = `${this.deps.install.secretNamePrefix}${client.clientId}`;
    if (await this.exists(name)) throw new OperationRefusedError(`client "${client.clientId}" already exists (secret ${name})`);
    const usagePlanId = client.usagePlan === undefined ? undefined : this.deps.install.usagePlanIds?.[client.usagePlan];
    if (client.usagePlan !== undefined && usagePlanId === undefined) {
      throw new OperationRefusedError(`this install has no usage plan "${client.usagePlan}" (it has: ${Object.keys(this.deps.install.usagePlanIds ?? {}).join(', ') || 'none'})`);
    }
    await this.deps.audit.recordAction({ clientId: client.clientId, action: 'client.add', actor: client.actor, reason: client.reason, atMs: this.deps.clock() });
    const tags: Record<string, string> = { [CLIENT_TAG.clientId]: client.clientId };
    if (client.scopes !== undefined && client.scopes.length > 0) tags[CLIENT_TAG.scopes] = client.scopes.join(' ');
    if (client.gracePeriodSeconds !== undefined) tags[CLIENT_TAG.gracePeriodSeconds] = String(client.gracePeriodSeconds);
    if (client.maxKeyAgeDays !== undefined) tags[CLIENT_TAG.maxKeyAgeDays] = String(client.maxKeyAgeDays);
    if (client.deliveryPublicKey !== undefined) tags[CLIENT_TAG.deliveryPublicKey] = client.deliveryPublicKey;
    if (client.closeWhenSwitchedHours !== undefined) tags[CLIENT_TAG.closeWhenSwitchedHours] = String(client.closeWhenSwitchedHours);
    if (client.rescueMissedHours !== undefined) tags[CLIENT_TAG.rescueMissedHours] = String(client.rescueMissedHours);
    if (client.usagePlan !== undefined && usagePlanId !== undefined) {
      // Before the secret: a client that has keys is never left outside the plan it was promised.
      await this.deps.usagePlans.enrol({ ...this.usagePlanKey(client.clientId), usagePlanId, description: `keyroll: usage plan identity of client ${client.clientId} (not a credential: the authorizer returns it)` });
      tags[CLIENT_TAG.usagePlan] = client.usagePlan;
    }
    const secretArn = await this.deps.administration.createSecret({
      name,
      kmsKeyId: this.deps.install.kmsKeyArn,
      secretString: JSON.stringify({ clientId: client.clientId }),
      tags,
      ...(this.deps.install.replicaRegions === undefined ? {} : { replicaRegions: this.deps.install.replicaRegions.map(({ region, kmsKeyArn }) => ({ region, kmsKeyId: kmsKeyArn })) }),
    });
    const policy = { Version: '2012-10-17', Statement: writeGuardStatements(this.deps.install.rotationRoleArn) };
    await this.deps.administration.putResourcePolicy(secretArn, JSON.stringify(policy));
    const firstVersionId = await this.deps.administration.enableRotation(secretArn, {
      rotationLambdaArn: this.deps.install.rotationFunctionArn,
      scheduleExpression: client.scheduleExpression ?? this.deps.install.rotationScheduleExpression,
      duration: this.deps.install.rotationWindow,
    });
    return { secretArn, firstVersionId };
  }

  /** Revokes every key version of the client that is not revoked yet, then deletes its secret (restorable for 7 days). */
  async remove(request: { readonly clientId: string; readonly reason: string; readonly actor: string }): Promise<{ readonly revokedVersionIds: readonly string[] }> {
    const name = `${this.deps.install.secretNamePrefix}${request.clientId}`;
    if (!(await this.exists(name))) throw new UnknownClientOrVersionError(`this install has no client "${request.clientId}"`);
    await this.deps.audit.recordAction({ clientId: request.clientId, action: 'client.remove', actor: request.actor, reason: request.reason, atMs: this.deps.clock() });
    const open = (await this.deps.keys.listClientVersions(request.clientId)).filter((version) => version.revokedAtMs === undefined);
    for (const version of open) await this.deps.operations.revoke({ clientId: request.clientId, versionId: version.versionId, reason: `client removed: ${request.reason}`, actor: request.actor });
    if (this.deps.install.usagePlanIds !== undefined) await this.deps.usagePlans.withdraw(this.usagePlanKey(request.clientId));
    await this.deps.administration.deleteSecret(name, REMOVED_SECRET_RECOVERY_DAYS);
    return { revokedVersionIds: open.map((version) => version.versionId) };
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
  if (problems.length > 0) throw new OperationRefusedError(problems.join('; '));
}
