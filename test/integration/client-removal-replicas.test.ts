import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient, PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { keyOperationsOnAws } from '../../lambda/adapters/key-operations-on-aws';
import { SecretsManagerAdministration } from '../../lambda/adapters/secrets-manager-administration';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { generateApiKey, hashApiKey } from '../../lambda/domain/api-key';
import { ClientProvisioning } from '../../lambda/domain/client-provisioning';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import { FaultInjector } from '../../proof/faults';
import { useDynalite } from '../support/dynamodb';
import { ROTATION_LAMBDA_ARN, serveSecretsManagerFromModel } from '../support/secrets-manager';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();
const REGION = 'eu-west-1';
const REPLICA_KEY = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';

/**
 * `clients remove` on a multi-region install, against the Secrets Manager model with replicas (through the real
 * SDK classes) and the key table on dynalite. Secrets Manager refuses to delete a secret that still has replicas
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html): before the fix, every key
 * was revoked and the registration gone, then DeleteSecret failed and left the secret with its schedule.
 */
async function multiRegionInstall(faults?: FaultInjector) {
  secretsManager.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  const model = new SecretsManagerModel({ region: REGION, accountId: '111122223333' });
  serveSecretsManagerFromModel(secretsManager, model, faults);
  const client = new SecretsManagerClient({ region: REGION });
  const tableName = await dynamo.newTable();
  const table = new DynamoKeyTable(dynamo.client(), tableName);
  const install = {
    secretNamePrefix: 'keyroll/Orders/ApiKeys/',
    kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555',
    rotationFunctionArn: ROTATION_LAMBDA_ARN,
    rotationRoleArn: 'arn:aws:iam::111122223333:role/rotation',
    rotationScheduleExpression: 'rate(30 days)',
    rotationWindow: '4h',
    replicaRegions: [{ region: 'us-east-1', kmsKeyArn: REPLICA_KEY }],
  };
  const operations = keyOperationsOnAws({
    dynamodb: dynamo.client(),
    keyTableName: tableName,
    secretsManager: client,
    sns: new SNSClient({ region: REGION }),
    install: { clientTopicArn: 'arn:aws:sns:eu-west-1:111122223333:clients', operationsTopicArn: 'arn:aws:sns:eu-west-1:111122223333:ops', secretNamePrefix: install.secretNamePrefix, defaultGracePeriodSeconds: 86_400 },
    clock: Date.now,
  });
  const provisioning = new ClientProvisioning({
    administration: new SecretsManagerAdministration(client),
    secrets: new SecretsManagerVersionStore(client),
    keys: table,
    registry: table,
    audit: table,
    operations,
    usagePlans: { enrol: () => Promise.reject(new Error('no usage plans here')), withdraw: () => Promise.reject(new Error('no usage plans here')) },
    install,
    clock: Date.now,
  });
  const { secretArn } = await provisioning.add({ clientId: 'acme', reason: 'a client in two regions', actor: 'arn:aws:iam::111122223333:role/ops' });
  const key = generateApiKey('kr');
  await table.register({ keyHash: hashApiKey(key), clientId: 'acme', versionId: 'v1', keyDisplay: 'kr_…', scopes: [], notBeforeMs: Date.now() });
  await table.markCurrent(hashApiKey(key), Date.now());
  return { model, table, provisioning, secretArn, key };
}

describe('clients remove on a multi-region install', () => {
  it('removes the secret\'s replicas first, so the secret is deleted and no longer rotates; every key revoked', async () => {
    const { model, table, provisioning, secretArn, key } = await multiRegionInstall();
    expect(model.describeSecret({ SecretId: secretArn }).ReplicationStatus).toEqual([expect.objectContaining({ Region: 'us-east-1', Status: 'InSync' })]);

    await expect(provisioning.remove({ clientId: 'acme', reason: 'contract ended', actor: 'ops' })).resolves.toMatchObject({ revokedVersionIds: ['v1'], secretId: secretArn });
    const described = model.describeSecret({ SecretId: secretArn });
    expect({ replicas: described.ReplicationStatus ?? [], deleted: described.DeletedDate !== undefined }).toEqual({ replicas: [], deleted: true });
    expect((await table.findByHash(hashApiKey(key)))?.revokedAtMs).toEqual(expect.any(Number));
    expect(await table.registrationOf('acme')).toBeUndefined();
  });

  it('changes nothing when the replicas cannot be removed: the keys stay valid and the client registered, and a second try completes', async () => {
    const faults = new FaultInjector();
    const { model, table, provisioning, secretArn, key } = await multiRegionInstall(faults);
    faults.schedule([{ service: 'secretsmanager', operation: 'RemoveRegionsFromReplication', callIndex: 0, timing: 'before' }]);

    await expect(provisioning.remove({ clientId: 'acme', reason: 'contract ended', actor: 'ops' })).rejects.toThrow(/RemoveRegionsFromReplication throttled/);
    expect((await table.findByHash(hashApiKey(key)))?.revokedAtMs).toBeUndefined();
    expect((await table.registrationOf('acme'))?.secretArn).toBe(secretArn);
    expect(model.describeSecret({ SecretId: secretArn }).ReplicationStatus).toHaveLength(1);

    await expect(provisioning.remove({ clientId: 'acme', reason: 'contract ended', actor: 'ops' })).resolves.toMatchObject({ revokedVersionIds: ['v1'] });
    expect(model.describeSecret({ SecretId: secretArn }).DeletedDate).toBeDefined();
  });
});
