import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  DeleteSecretCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  RemoveRegionsFromReplicationCommand,
  ReplicateSecretToRegionsCommand,
  RotateSecretCommand,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import type { FaultInjector } from '../../proof/faults';

export const ROTATION_LAMBDA_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:keyroll-rotation';

/**
 * Puts the Secrets Manager model behind an `aws-sdk-client-mock` stub, so code under test talks to it
 * through the real SDK client classes. Commands the model does not know are rejected, never sent.
 */
export function serveSecretsManagerFromModel(stub: AwsClientStub<SecretsManagerClient>, model: SecretsManagerModel, faults?: FaultInjector): void {
  const through =
    <I, O>(operation: string, apply: (input: I) => O) =>
    (input: I): O | Promise<O> =>
      faults === undefined ? apply(input) : faults.around('secretsmanager', operation, () => apply(input));
  stub.onAnyCommand().rejects(new Error('this Secrets Manager command is not served by the model'));
  stub.on(CreateSecretCommand).callsFake(through('CreateSecret', (input) => model.createSecret(input)));
  stub.on(DescribeSecretCommand).callsFake(through('DescribeSecret', (input) => model.describeSecret(input)));
  stub.on(GetSecretValueCommand).callsFake(through('GetSecretValue', (input) => model.getSecretValue(input)));
  stub.on(PutSecretValueCommand).callsFake(through('PutSecretValue', (input) => model.putSecretValue(input)));
  stub.on(UpdateSecretVersionStageCommand).callsFake(through('UpdateSecretVersionStage', (input) => model.updateSecretVersionStage(input)));
  stub.on(ListSecretVersionIdsCommand).callsFake(through('ListSecretVersionIds', (input) => model.listSecretVersionIds(input)));
  stub.on(ListSecretsCommand).callsFake(through('ListSecrets', (input) => model.listSecrets(input)));
  stub.on(RotateSecretCommand).callsFake(through('RotateSecret', (input) => model.rotateSecret(input)));
  stub.on(TagResourceCommand).callsFake(through('TagResource', (input) => model.tagResource(input)));
  stub.on(PutResourcePolicyCommand).callsFake(through('PutResourcePolicy', (input) => model.putResourcePolicy(input)));
  stub.on(DeleteSecretCommand).callsFake(through('DeleteSecret', (input) => model.deleteSecret(input)));
  stub.on(ReplicateSecretToRegionsCommand).callsFake(through('ReplicateSecretToRegions', (input) => model.replicateSecretToRegions(input)));
  stub.on(RemoveRegionsFromReplicationCommand).callsFake(through('RemoveRegionsFromReplication', (input) => model.removeRegionsFromReplication(input)));
}

/**
 * A client's secret as keyroll expects it: tagged with its client id, rotation enabled, and holding
 * `value` as its first (AWSCURRENT) version. The default value is a placeholder with no key yet, which the
 * first rotation fills.
 */
export function createClientSecret(
  model: SecretsManagerModel,
  options: { readonly clientId: string; readonly tags?: Record<string, string>; readonly value?: string; readonly firstVersionId?: string },
): string {
  const { ARN } = model.createSecret({
    Name: `keyroll/clients/${options.clientId}`,
    SecretString: options.value ?? JSON.stringify({ clientId: options.clientId }),
    ClientRequestToken: options.firstVersionId,
    Tags: Object.entries({ 'keyroll:clientId': options.clientId, ...options.tags }).map(([Key, Value]) => ({ Key, Value })),
  });
  if (ARN === undefined) throw new Error('CreateSecret returned no ARN');
  // What a RotationSchedule with RotateImmediately=false does: enable rotation, test, start nothing.
  model.rotateSecret({ SecretId: ARN, RotationLambdaARN: ROTATION_LAMBDA_ARN, RotateImmediately: false });
  model.endRotation(ARN, 'succeeded');
  return ARN;
}
