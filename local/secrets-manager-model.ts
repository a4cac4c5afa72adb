import { randomUUID } from 'node:crypto';
import {
  InvalidParameterException,
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  type CreateSecretRequest,
  type DeleteSecretRequest,
  type DeleteSecretResponse,
  type RestoreSecretRequest,
  type RestoreSecretResponse,
  type GetResourcePolicyRequest,
  type GetResourcePolicyResponse,
  type PutResourcePolicyRequest,
  type PutResourcePolicyResponse,
  type CreateSecretResponse,
  type DescribeSecretRequest,
  type DescribeSecretResponse,
  type GetSecretValueRequest,
  type GetSecretValueResponse,
  type ListSecretsRequest,
  type ListSecretsResponse,
  type ListSecretVersionIdsRequest,
  type ListSecretVersionIdsResponse,
  type PutSecretValueRequest,
  type RemoveRegionsFromReplicationRequest,
  type RemoveRegionsFromReplicationResponse,
  type ReplicateSecretToRegionsRequest,
  type ReplicateSecretToRegionsResponse,
  type ReplicationStatusType,
  type StatusType,
  type PutSecretValueResponse,
  type RotateSecretRequest,
  type RotateSecretResponse,
  type RotationRulesType,
  type TagResourceRequest,
  type UpdateSecretVersionStageRequest,
  type UpdateSecretVersionStageResponse,
} from '@aws-sdk/client-secrets-manager';

/**
 * An in-memory model of the parts of Secrets Manager that key rotation depends on, following the API
 * reference: versions, staging labels and the rotation start. Inputs and outputs are the SDK's own shapes,
 * and errors are the SDK's exception classes, so the model can stand behind `aws-sdk-client-mock` in tests
 * and behind an HTTP endpoint in local mode.
 *
 * The rules it keeps:
 * - a staging label is on at most one version; attaching it elsewhere moves it;
 * - whenever AWSCURRENT moves, AWSPREVIOUS moves to the version AWSCURRENT left;
 * - PutSecretValue without VersionStages moves AWSCURRENT; the first version always gets AWSCURRENT;
 * - PutSecretValue with an existing ClientRequestToken is a no-op for the same value and a
 *   ResourceExistsException for a different one (a placeholder version without a value takes the value);
 * - UpdateSecretVersionStage must name, in RemoveFromVersionId, the version a label is moving from;
 * - RotateSecret refuses to start while AWSPENDING is on a version other than AWSCURRENT, and starts a
 *   rotation by labelling a new version without a value AWSPENDING (with RotateImmediately=false, a version
 *   holding the current value, for testSecret alone);
 * - a version without labels is deprecated: DescribeSecret no longer lists it;
 * - replicas (AddReplicaRegions, ReplicateSecretToRegions) are listed in DescribeSecret's ReplicationStatus, a
 *   region at most once; a replicated secret cannot be deleted until RemoveRegionsFromReplication has removed
 *   its replicas (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
 */
export class SecretsManagerModel {
  private readonly secrets = new Map<string, ModelSecret>();

  constructor(
    private readonly options: {
      readonly region?: string;
      readonly accountId?: string;
      readonly clock?: () => number;
    } = {},
  ) {}

  createSecret(input: CreateSecretRequest): CreateSecretResponse {
    const name = required(input.Name, 'Name');
    if ([...this.secrets.values()].some((secret) => secret.name === name)) {
      throw new ResourceExistsException({ message: `The operation failed because the secret ${name} already exists.`, $metadata: {} });
    }
    const arn = `arn:aws:secretsmanager:${this.options.region ?? 'us-east-1'}:${this.options.accountId ?? '000000000000'}:secret:${name}-${randomSuffix()}`;
    const secret: ModelSecret = {
      arn,
      name,
      description: input.Description,
      kmsKeyId: input.KmsKeyId,
      tags: new Map((input.Tags ?? []).flatMap(({ Key, Value }) => (Key === undefined ? [] : [[Key, Value ?? '']]))),
      rotationEnabled: false,
      versions: new Map(),
      replicas: new Map(),
      createdAtMs: this.now(),
    };
    this.addReplicas(secret, input.AddReplicaRegions ?? []);
    this.secrets.set(arn, secret);
    if (input.SecretString === undefined) return { ARN: arn, Name: name };
    const versionId = input.ClientRequestToken ?? randomUUID();
    this.addVersion(secret, versionId, input.SecretString, ['AWSCURRENT']);
    return { ARN: arn, Name: name, VersionId: versionId };
  }

  describeSecret(input: DescribeSecretRequest): DescribeSecretResponse {
    const secret = this.find(input.SecretId);
    const versionIdsToStages: Record<string, string[]> = {};
    for (const version of secret.versions.values()) if (version.stages.size > 0) versionIdsToStages[version.versionId] = [...version.stages];
    return {
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      KmsKeyId: secret.kmsKeyId,
      RotationEnabled: secret.rotationEnabled,
      RotationLambdaARN: secret.rotationLambdaArn,
      RotationRules: secret.rotationRules,
      LastRotatedDate: secret.lastRotatedMs === undefined ? undefined : new Date(secret.lastRotatedMs),
      ...nextRotation(secret),
      LastChangedDate: secret.lastChangedMs === undefined ? undefined : new Date(secret.lastChangedMs),
      CreatedDate: new Date(secret.createdAtMs),
      ...(secret.deletedAtMs === undefined ? {} : { DeletedDate: new Date(secret.deletedAtMs) }),
      Tags: [...secret.tags].map(([Key, Value]) => ({ Key, Value })),
      VersionIdsToStages: versionIdsToStages,
      ...(secret.replicas.size === 0 ? {} : { PrimaryRegion: this.options.region ?? 'us-east-1', ReplicationStatus: replicationStatusOf(secret) }),
    };
  }

  replicateSecretToRegions(input: ReplicateSecretToRegionsRequest): ReplicateSecretToRegionsResponse {
    const secret = this.find(input.SecretId);
    this.addReplicas(secret, required(input.AddReplicaRegions, 'AddReplicaRegions'));
    return { ARN: secret.arn, ReplicationStatus: replicationStatusOf(secret) };
  }

  removeRegionsFromReplication(input: RemoveRegionsFromReplicationRequest): RemoveRegionsFromReplicationResponse {
    const secret = this.find(input.SecretId);
    for (const region of required(input.RemoveReplicaRegions, 'RemoveReplicaRegions')) secret.replicas.delete(region);
    return { ARN: secret.arn, ReplicationStatus: replicationStatusOf(secret) };
  }

  /** What a replica region reports, for drills: `Failed` with the message Secrets Manager would give, or back to `InSync`. */
  setReplicaStatus(secretId: string, region: string, status: StatusType, statusMessage?: string): void {
    const replica = this.find(secretId).replicas.get(region);
    if (replica === undefined) throw new ResourceNotFoundException({ message: `The secret ${secretId} has no replica in ${region}.`, $metadata: {} });
    replica.status = status;
    replica.statusMessage = statusMessage;
  }

  getSecretValue(input: GetSecretValueRequest): GetSecretValueResponse {
    const secret = this.find(input.SecretId);
    this.refuseIfDeleted(secret);
    const stage = input.VersionStage ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined);
    const version =
      input.VersionId !== undefined ? secret.versions.get(input.VersionId) : [...secret.versions.values()].find((v) => stage !== undefined && v.stages.has(stage));
    if (version === undefined || (stage !== undefined && !version.stages.has(stage))) {
      throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret version.", $metadata: {} });
    }
    if (version.secretString === undefined) {
      const what = input.VersionId !== undefined ? `VersionId: ${input.VersionId}` : `staging label: ${stage}`;
      throw new ResourceNotFoundException({ message: `Secrets Manager can't find the specified secret value for ${what}`, $metadata: {} });
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      VersionStages: [...version.stages],
      CreatedDate: new Date(version.createdAtMs),
    };
  }

  putSecretValue(input: PutSecretValueRequest): PutSecretValueResponse {
    const secret = this.find(input.SecretId);
    const secretString = required(input.SecretString, 'SecretString');
    const rotation = secret.rotationInProgress;
    if (input.RotationToken !== undefined && input.RotationToken !== rotation?.rotationToken) {
      throw new InvalidRequestException({ message: 'The RotationToken does not match a rotation in progress on this secret.', $metadata: {} });
    }
    const versionId = input.ClientRequestToken ?? randomUUID();
    const existing = secret.versions.get(versionId);
    if (existing?.secretString !== undefined) {
      if (existing.secretString !== secretString) {
        throw new ResourceExistsException({
          message: `You can't use ClientRequestToken ${versionId} because that value is already in use for a version of secret ${secret.arn}.`,
          $metadata: {},
        });
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...existing.stages] };
    }
    const stages = input.VersionStages ?? ['AWSCURRENT'];
    const version = this.addVersion(secret, versionId, secretString, stages);
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...version.stages] };
  }

  updateSecretVersionStage(input: UpdateSecretVersionStageRequest): UpdateSecretVersionStageResponse {
    const secret = this.find(input.SecretId);
    const stage = required(input.VersionStage, 'VersionStage');
    const holder = [...secret.versions.values()].find((version) => version.stages.has(stage));
    if (input.RemoveFromVersionId !== undefined) {
      const from = secret.versions.get(input.RemoveFromVersionId);
      if (from === undefined || !from.stages.has(stage)) {
        throw new InvalidParameterException({
          message: `The staging label ${stage} is not attached to version ${input.RemoveFromVersionId}, so it can't be removed from it.`,
          $metadata: {},
        });
      }
    }
    if (input.MoveToVersionId === undefined) {
      if (input.RemoveFromVersionId === undefined) {
        throw new InvalidParameterException({ message: 'You must specify MoveToVersionId, RemoveFromVersionId or both.', $metadata: {} });
      }
      secret.versions.get(input.RemoveFromVersionId)?.stages.delete(stage);
      this.touch(secret);
      return { ARN: secret.arn, Name: secret.name };
    }
    const target = secret.versions.get(input.MoveToVersionId);
    if (target === undefined) {
      throw new ResourceNotFoundException({ message: `Secrets Manager can't find version ${input.MoveToVersionId}.`, $metadata: {} });
    }
    if (holder !== undefined && holder !== target && input.RemoveFromVersionId !== holder.versionId) {
      throw new InvalidParameterException({
        message: `The staging label ${stage} is currently attached to version ${holder.versionId}, so you must specify it in RemoveFromVersionId.`,
        $metadata: {},
      });
    }
    this.attach(secret, target, stage);
    this.touch(secret);
    return { ARN: secret.arn, Name: secret.name };
  }

  listSecretVersionIds(input: ListSecretVersionIdsRequest): ListSecretVersionIdsResponse {
    const secret = this.find(input.SecretId);
    const versions = [...secret.versions.values()].filter((version) => input.IncludeDeprecated === true || version.stages.size > 0);
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: versions.map((version) => ({ VersionId: version.versionId, VersionStages: [...version.stages], CreatedDate: new Date(version.createdAtMs) })),
    };
  }

  /**
   * ListSecrets, with the `name`, `tag-key` and `tag-value` filters (prefix matches, as AWS does:
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html); one page holds everything.
   */
  listSecrets(input: ListSecretsRequest): ListSecretsResponse {
    const filters = input.Filters ?? [];
    const matches = (secret: ModelSecret) =>
      filters.every(({ Key, Values = [] }) => {
        const prefixOf = (text: string) => Values.some((value) => text.startsWith(value));
        if (Key === 'name') return prefixOf(secret.name);
        if (Key === 'tag-key') return [...secret.tags.keys()].some(prefixOf);
        if (Key === 'tag-value') return [...secret.tags.values()].some(prefixOf);
        throw new InvalidParameterException({ message: `The model does not support the filter ${Key}.`, $metadata: {} });
      });
    return {
      SecretList: [...this.secrets.values()].filter((secret) => secret.deletedAtMs === undefined && matches(secret)).map((secret) => {
        // A SecretListEntry carries the rotation settings too (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_SecretListEntry.html).
        const { ARN, Name, RotationEnabled, RotationLambdaARN, RotationRules, NextRotationDate, Tags, VersionIdsToStages, LastRotatedDate, LastChangedDate, CreatedDate } = this.describeSecret({ SecretId: secret.arn });
        return { ARN, Name, RotationEnabled, RotationLambdaARN, RotationRules, NextRotationDate, Tags, SecretVersionsToStages: VersionIdsToStages, LastRotatedDate, LastChangedDate, CreatedDate };
      }),
    };
  }

  tagResource(input: TagResourceRequest): Record<string, never> {
    const secret = this.find(input.SecretId);
    for (const { Key, Value } of input.Tags ?? []) if (Key !== undefined) secret.tags.set(Key, Value ?? '');
    return {};
  }

  /**
   * Configures rotation and starts one, as far as Secrets Manager's state goes: the new version labelled
   * AWSPENDING. The steps themselves are invoked by the caller (see `rotation-driver.ts`).
   */
  putResourcePolicy(input: PutResourcePolicyRequest): PutResourcePolicyResponse {
    const secret = this.find(input.SecretId);
    secret.resourcePolicy = required(input.ResourcePolicy, 'ResourcePolicy');
    return { ARN: secret.arn, Name: secret.name };
  }

  getResourcePolicy(input: GetResourcePolicyRequest): GetResourcePolicyResponse {
    const secret = this.find(input.SecretId);
    return { ARN: secret.arn, Name: secret.name, ...(secret.resourcePolicy === undefined ? {} : { ResourcePolicy: secret.resourcePolicy }) };
  }

  /** Without ForceDeleteWithoutRecovery the secret is kept, marked for deletion: unreadable, unlisted, never rotated. */
  deleteSecret(input: DeleteSecretRequest): DeleteSecretResponse {
    const secret = this.find(input.SecretId);
    if (secret.replicas.size > 0) {
      throw new InvalidRequestException({
        message: `You can't delete secret ${secret.name}: it is replicated to ${[...secret.replicas.keys()].join(', ')}. Remove the replicas with RemoveRegionsFromReplication first.`,
        $metadata: {},
      });
    }
    if (input.ForceDeleteWithoutRecovery === true) this.secrets.delete(secret.arn);
    else if (secret.deletedAtMs === undefined) {
      secret.deletedAtMs = this.now();
      secret.deletionDateMs = this.now() + 1000 * 86_400 * (input.RecoveryWindowInDays ?? 30);
    }
    return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(secret.deletionDateMs ?? this.now()) };
  }

  /** Cancels a scheduled deletion (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RestoreSecret.html). */
  restoreSecret(input: RestoreSecretRequest): RestoreSecretResponse {
    const secret = this.find(input.SecretId);
    delete secret.deletedAtMs;
    delete secret.deletionDateMs;
    return { ARN: secret.arn, Name: secret.name };
  }

  rotateSecret(input: RotateSecretRequest): RotateSecretResponse {
    const secret = this.find(input.SecretId);
    this.refuseIfDeleted(secret);
    const current = this.versionWithStage(secret, 'AWSCURRENT');
    const pending = this.versionWithStage(secret, 'AWSPENDING');
    if (pending !== undefined && pending !== current) {
      throw new InvalidRequestException({ message: "A previous rotation isn't complete. That rotation will be reattempted.", $metadata: {} });
    }
    if (input.RotationLambdaARN !== undefined) secret.rotationLambdaArn = input.RotationLambdaARN;
    if (input.RotationRules !== undefined) secret.rotationRules = input.RotationRules;
    if (secret.rotationLambdaArn === undefined) {
      throw new InvalidRequestException({ message: 'No Lambda rotation function ARN is associated with this secret.', $metadata: {} });
    }
    secret.rotationEnabled = true;
    const versionId = input.ClientRequestToken ?? randomUUID();
    const rotateImmediately = input.RotateImmediately ?? true;
    // With RotateImmediately=false, the test version holds the current value and is removed after testSecret.
    this.addVersion(secret, versionId, rotateImmediately ? undefined : current?.secretString, ['AWSPENDING']);
    secret.rotationInProgress = { versionId, rotationToken: randomUUID(), rotateImmediately };
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId };
  }

  /** The rotation RotateSecret started and has not ended, as the service would invoke the function with it. */
  rotationInProgress(secretId: string): RotationInProgress | undefined {
    return this.find(secretId).rotationInProgress;
  }

  /**
   * The service's side of a rotation's end. After success it records the rotation date. A test-only rotation
   * (RotateImmediately=false) removes its temporary version whatever the outcome; a failed real rotation
   * leaves AWSPENDING where it is, which blocks the next RotateSecret until an operator clears it. Given a
   * version id, it ends only that rotation: RotateSecret may start the next one as soon as finishSecret has
   * moved AWSCURRENT (API_RotateSecret: it refuses only while AWSPENDING is on a version other than AWSCURRENT).
   */
  endRotation(secretId: string, outcome: 'succeeded' | 'failed', versionId?: string): void {
    const secret = this.find(secretId);
    const rotation = secret.rotationInProgress;
    if (rotation === undefined || (versionId !== undefined && rotation.versionId !== versionId)) return;
    if (!rotation.rotateImmediately) {
      secret.versions.get(rotation.versionId)?.stages.delete('AWSPENDING');
    } else if (outcome === 'succeeded') {
      secret.lastRotatedMs = this.now();
    }
    secret.rotationInProgress = undefined;
  }

  private refuseIfDeleted(secret: ModelSecret): void {
    if (secret.deletedAtMs !== undefined) {
      throw new InvalidRequestException({ message: "You can't perform this operation on the secret because it was marked for deletion.", $metadata: {} });
    }
  }

  private find(secretId: string | undefined): ModelSecret {
    const id = required(secretId, 'SecretId');
    const secret = this.secrets.get(id) ?? [...this.secrets.values()].find((candidate) => candidate.name === id);
    if (secret === undefined) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
    return secret;
  }

  private addVersion(secret: ModelSecret, versionId: string, secretString: string | undefined, stages: readonly string[]): ModelVersion {
    const existing = secret.versions.get(versionId);
    const version: ModelVersion = existing ?? { versionId, stages: new Set(), createdAtMs: this.now() };
    if (secretString !== undefined) version.secretString = secretString;
    secret.versions.set(versionId, version);
    const isFirstValue = secretString !== undefined && ![...secret.versions.values()].some((v) => v !== version && v.secretString !== undefined);
    for (const stage of isFirstValue ? new Set([...stages, 'AWSCURRENT']) : stages) this.attach(secret, version, stage);
    this.touch(secret);
    return version;
  }

  /** Attaches a label, taking it from whichever version had it; AWSCURRENT drags AWSPREVIOUS along. */
  private attach(secret: ModelSecret, target: ModelVersion, stage: string): void {
    const holder = this.versionWithStage(secret, stage);
    if (holder === target) return;
    holder?.stages.delete(stage);
    target.stages.add(stage);
    if (stage === 'AWSCURRENT' && holder !== undefined) {
      this.versionWithStage(secret, 'AWSPREVIOUS')?.stages.delete('AWSPREVIOUS');
      holder.stages.add('AWSPREVIOUS');
    }
  }

  private addReplicas(secret: ModelSecret, regions: readonly { readonly Region?: string | undefined; readonly KmsKeyId?: string | undefined }[]): void {
    for (const { Region, KmsKeyId } of regions) {
      const region = required(Region, 'Region');
      if (region === (this.options.region ?? 'us-east-1')) throw new InvalidParameterException({ message: `The secret's own region ${region} cannot hold a replica.`, $metadata: {} });
      if (!secret.replicas.has(region)) secret.replicas.set(region, { kmsKeyId: KmsKeyId, status: 'InSync' });
    }
  }

  private versionWithStage(secret: ModelSecret, stage: string): ModelVersion | undefined {
    return [...secret.versions.values()].find((version) => version.stages.has(stage));
  }

  private touch(secret: ModelSecret): void {
    secret.lastChangedMs = this.now();
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
}

export interface RotationInProgress {
  readonly versionId: string;
  /** What the service passes to the function as RotationToken; PutSecretValue checks it when given. */
  readonly rotationToken: string;
  readonly rotateImmediately: boolean;
}

interface ModelVersion {
  readonly versionId: string;
  secretString?: string;
  readonly stages: Set<string>;
  readonly createdAtMs: number;
}

interface ModelSecret {
  readonly arn: string;
  readonly name: string;
  readonly description?: string;
  readonly kmsKeyId?: string;
  readonly tags: Map<string, string>;
  resourcePolicy?: string;
  /** Set by DeleteSecret with a recovery window: the secret stays, but cannot be read or rotated. */
  deletedAtMs?: number;
  deletionDateMs?: number;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRulesType;
  rotationInProgress?: RotationInProgress;
  readonly versions: Map<string, ModelVersion>;
  /** By region. */
  readonly replicas: Map<string, { readonly kmsKeyId?: string | undefined; status: StatusType; statusMessage?: string | undefined }>;
  readonly createdAtMs: number;
  lastChangedMs?: number;
  lastRotatedMs?: number;
}

function replicationStatusOf(secret: ModelSecret): ReplicationStatusType[] {
  return [...secret.replicas].map(([Region, replica]) => ({ Region, KmsKeyId: replica.kmsKeyId, Status: replica.status, ...(replica.statusMessage === undefined ? {} : { StatusMessage: replica.statusMessage }) }));
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new InvalidParameterException({ message: `You must provide a value for ${name}.`, $metadata: {} });
  return value;
}

function randomSuffix(): string {
  return randomUUID().replace(/-/g, '').slice(0, 6);
}

const RATE_DAYS = /^rate\((\d+) days?\)$/;

/** NextRotationDate for `rate(N days)` schedules: the last rotation plus N days (cron schedules are not modelled). */
function nextRotation(secret: ModelSecret): { NextRotationDate?: Date } {
  const days = RATE_DAYS.exec(secret.rotationRules?.ScheduleExpression ?? '')?.[1];
  if (!secret.rotationEnabled || days === undefined || secret.lastRotatedMs === undefined) return {};
  return { NextRotationDate: new Date(secret.lastRotatedMs + Number(days) * 86_400_000) };
}
