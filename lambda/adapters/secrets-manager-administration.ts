import { CreateSecretCommand, DeleteSecretCommand, PutResourcePolicyCommand, RemoveRegionsFromReplicationCommand, RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretAdministration } from '../domain/ports';

/** Creating and deleting client secrets, for the CLI; kept apart so that no function bundle carries it. */
export class SecretsManagerAdministration implements SecretAdministration {
  constructor(private readonly client: SecretsManagerClient) {}

  async createSecret(request: Parameters<SecretAdministration['createSecret']>[0]): Promise<string> {
    const { ARN } = await this.client.send(
      new CreateSecretCommand({
        Name: request.name,
        KmsKeyId: request.kmsKeyId,
        SecretString: request.secretString,
        Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })),
        // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html (AddReplicaRegions)
        ...(request.replicaRegions === undefined || request.replicaRegions.length === 0 ? {} : { AddReplicaRegions: request.replicaRegions.map(({ region, kmsKeyId }) => ({ Region: region, KmsKeyId: kmsKeyId })) }),
      }),
    );
    if (ARN === undefined) throw new Error(`CreateSecret returned no ARN for ${request.name}`);
    return ARN;
  }

  async putResourcePolicy(secretId: string, policy: string): Promise<void> {
    await this.client.send(new PutResourcePolicyCommand({ SecretId: secretId, ResourcePolicy: policy, BlockPublicPolicy: true }));
  }

  async enableRotation(secretId: string, rotation: { readonly rotationLambdaArn: string; readonly scheduleExpression: string; readonly duration?: string }): Promise<string> {
    const { VersionId } = await this.client.send(
      new RotateSecretCommand({
        SecretId: secretId,
        RotationLambdaARN: rotation.rotationLambdaArn,
        RotationRules: { ScheduleExpression: rotation.scheduleExpression, ...(rotation.duration === undefined || rotation.duration === '' ? {} : { Duration: rotation.duration }) },
      }),
    );
    if (VersionId === undefined) throw new Error(`RotateSecret returned no VersionId for ${secretId}`);
    return VersionId;
  }

  async removeReplicaRegions(secretId: string, regions: readonly string[]): Promise<void> {
    await this.client.send(new RemoveRegionsFromReplicationCommand({ SecretId: secretId, RemoveReplicaRegions: [...regions] }));
  }

  async deleteSecret(secretId: string, recoveryWindowDays: number): Promise<{ readonly deletionDateMs: number | undefined }> {
    const deleted = await this.client.send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: recoveryWindowDays }));
    return { deletionDateMs: deleted.DeletionDate?.getTime() };
  }
}
