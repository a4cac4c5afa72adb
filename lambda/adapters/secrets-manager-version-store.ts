import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  paginateListSecrets,
  paginateListSecretVersionIds,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { MalformedSecretError } from '../domain/errors';
import { CLIENT_TAG } from '../domain/client-settings';
import { AWSPENDING, type RotationControl, type RotationStart, type SecretDescription, type SecretDirectory, type SecretVersionStore } from '../domain/ports';

/** Secrets Manager as the store of key material: one call per method, no decisions. */
export class SecretsManagerVersionStore implements SecretVersionStore, RotationControl, SecretDirectory {
  constructor(private readonly client: SecretsManagerClient) {}

  async describe(secretId: string): Promise<SecretDescription> {
    const secret = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (secret.ARN === undefined) throw new Error(`DescribeSecret returned no ARN for ${secretId}`);
    const replicas = (secret.ReplicationStatus ?? []).flatMap(({ Region, Status, StatusMessage }) =>
      Region === undefined || Status === undefined ? [] : [{ region: Region, status: Status, ...(StatusMessage === undefined ? {} : { statusMessage: StatusMessage }) }],
    );
    return { ...withRotation(description(secret.ARN, secret.RotationEnabled, secret.VersionIdsToStages, secret.Tags), secret), ...(replicas.length === 0 ? {} : { replicas }) };
  }

  async listManagedSecrets(namePrefix: string): Promise<SecretDescription[]> {
    const secrets: SecretDescription[] = [];
    // Both filters are prefix matches, and a secret must pass both: this install's names, keyroll's tag.
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html
    const pages = paginateListSecrets(
      { client: this.client },
      { Filters: [{ Key: 'name', Values: [namePrefix] }, { Key: 'tag-key', Values: [CLIENT_TAG.clientId] }] },
    );
    for await (const page of pages) {
      for (const entry of page.SecretList ?? []) {
        // The tag-key filter matches prefixes: keep only the secrets that carry the exact tag.
        if (entry.ARN !== undefined && entry.Name?.startsWith(namePrefix) === true && entry.Tags?.some((tag) => tag.Key === CLIENT_TAG.clientId)) {
          secrets.push(withRotation(description(entry.ARN, entry.RotationEnabled, entry.SecretVersionsToStages, entry.Tags), entry));
        }
      }
    }
    return secrets;
  }

  async versionCreatedAt(secretArn: string, versionId: string): Promise<number | undefined> {
    for await (const page of paginateListSecretVersionIds({ client: this.client }, { SecretId: secretArn })) {
      const version = (page.Versions ?? []).find((candidate) => candidate.VersionId === versionId);
      if (version !== undefined) return version.CreatedDate?.getTime();
    }
    return undefined;
  }

  async readValue(secretId: string, versionId: string, stage?: string): Promise<string | undefined> {
    try {
      const version = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId, VersionStage: stage }));
      if (version.SecretString === undefined) throw new MalformedSecretError(`secret ${secretId}: version ${versionId} holds binary data, not JSON`);
      return version.SecretString;
    } catch (error) {
      // Also what Secrets Manager answers for the placeholder AWSPENDING version, which has no value yet.
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  async putPendingValue(secretId: string, versionId: string, secretString: string, rotationToken?: string): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: versionId,
        SecretString: secretString,
        VersionStages: [AWSPENDING],
        RotationToken: rotationToken,
      }),
    );
  }

  async startRotation(secretId: string): Promise<RotationStart> {
    try {
      const { VersionId } = await this.client.send(new RotateSecretCommand({ SecretId: secretId }));
      if (VersionId === undefined) throw new Error(`RotateSecret returned no VersionId for ${secretId}`);
      return { kind: 'started', versionId: VersionId };
    } catch (error) {
      // Secrets Manager's answer while AWSPENDING is on a version that is not AWSCURRENT.
      if (error instanceof Error && error.name === 'InvalidRequestException' && /previous rotation/i.test(error.message)) return { kind: 'busy' };
      throw error;
    }
  }

  async moveStage(secretId: string, stage: string, move: { readonly toVersionId?: string; readonly fromVersionId?: string }): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: stage,
        MoveToVersionId: move.toVersionId,
        RemoveFromVersionId: move.fromVersionId,
      }),
    );
  }
}

/** The rotation settings DescribeSecret and each ListSecrets entry carry. */
function withRotation(
  described: SecretDescription,
  secret: {
    readonly NextRotationDate?: Date | undefined;
    readonly RotationLambdaARN?: string | undefined;
    readonly RotationRules?: { readonly ScheduleExpression?: string | undefined; readonly Duration?: string | undefined } | undefined;
    readonly DeletedDate?: Date | undefined;
  },
): SecretDescription {
  const rules = secret.RotationRules;
  return {
    ...described,
    ...(secret.NextRotationDate === undefined ? {} : { nextRotationMs: secret.NextRotationDate.getTime() }),
    ...(secret.RotationLambdaARN === undefined ? {} : { rotationLambdaArn: secret.RotationLambdaARN }),
    ...(secret.DeletedDate === undefined ? {} : { deletedMs: secret.DeletedDate.getTime() }),
    ...(rules?.ScheduleExpression === undefined ? {} : { rotationRules: { scheduleExpression: rules.ScheduleExpression, ...(rules.Duration === undefined ? {} : { duration: rules.Duration }) } }),
  };
}

function description(arn: string, rotationEnabled: boolean | undefined, versionStages: Record<string, string[]> | undefined, tagList: Tag[] | undefined): SecretDescription {
  const tags = new Map<string, string>();
  for (const { Key, Value } of tagList ?? []) if (Key !== undefined && Value !== undefined) tags.set(Key, Value);
  return { arn, rotationEnabled: rotationEnabled === true, versionStages: new Map(Object.entries(versionStages ?? {})), tags };
}
