import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { generateApiKey } from '../../lambda/domain/api-key';
import { KeyRotation, type RotationRequest } from '../../lambda/domain/rotation';
import { localDynamoDbClient } from '../../local/dynalite-server';
import type { RotationFunctionEvent } from '../../local/rotation-driver';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import { startSecretsManagerServer, type SecretsManagerServer } from '../../local/secrets-manager-server';
import { useDynalite } from '../support/dynamodb';

/** Local mode's Secrets Manager: the model over the service's JSON 1.1 protocol, driven by the real SDK client. */

const sns = mockClient(SNSClient);
const dynamo = useDynalite();
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('Local Secrets Manager endpoint', () => {
  let server: SecretsManagerServer;
  let client: SecretsManagerClient;
  let table: DynamoKeyTable;
  const invocations: string[] = [];

  beforeAll(async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const tableName = await dynamo.newTable();
    let rotation: KeyRotation | undefined;
    server = await startSecretsManagerServer(new SecretsManagerModel({ region: 'us-east-1', accountId: '000000000000' }), async (event: RotationFunctionEvent) => {
      invocations.push(event.Step);
      const request: RotationRequest = { step: event.Step, secretId: event.SecretId, token: event.ClientRequestToken, rotationToken: event.RotationToken };
      return rotation?.runStep(request);
    });
    client = new SecretsManagerClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    table = new DynamoKeyTable(localDynamoDbClient(dynamo.endpoint()), tableName);
    rotation = new KeyRotation({
      secrets: new SecretsManagerVersionStore(client),
      keys: table,
      registry: table,
      issued: table,
      events: table,
      notifier: new SnsNotifier(new SNSClient({ region: 'us-east-1' }), 'arn:aws:sns:us-east-1:000000000000:clients'),
      clock: Date.now,
      generateKey: () => generateApiKey('kr'),
      keyPrefix: 'kr',
      defaultGracePeriodSeconds: 3600,
    });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('answers the SDK as the service does: values, labels and dates, and its exceptions by type', async () => {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: 'keyroll/local/acme', SecretString: '{"clientId":"acme"}', Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }] }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: ARN }));
    expect(described.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs((described.CreatedDate?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    expect(Object.values(described.VersionIdsToStages ?? {})).toEqual([['AWSCURRENT']]);
    await expect(client.send(new GetSecretValueCommand({ SecretId: ARN }))).resolves.toMatchObject({ SecretString: '{"clientId":"acme"}' });
    await expect(client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['keyroll/local/'] }] }))).resolves.toMatchObject({ SecretList: [expect.objectContaining({ ARN })] });
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'keyroll/local/nobody' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('on RotateSecret, invokes the rotation function\'s four steps, so the new key becomes current', async () => {
    const { ARN = '' } = await client.send(new CreateSecretCommand({ Name: 'keyroll/local/globex', SecretString: '{"clientId":"globex"}', Tags: [{ Key: 'keyroll:clientId', Value: 'globex' }] }));
    await table.registerClient({ clientId: 'globex', secretArn: ARN, settings: {}, registeredAtMs: Date.now(), registeredBy: 'test' });
    invocations.length = 0;
    await client.send(new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:rotation' }));
    await server.settled();
    expect(invocations).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    const current = await client.send(new GetSecretValueCommand({ SecretId: ARN }));
    expect(JSON.parse(current.SecretString ?? '{}')).toMatchObject({ clientId: 'globex', apiKey: expect.stringMatching(/^kr_/) });
  });
});
