import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { hashApiKey } from '../../lambda/domain/api-key';
import { rotateSecret, type RotationFunction } from '../../local/rotation-driver';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import { useDynalite } from '../support/dynamodb';
import { loadEntry, restoreEnvironmentAfterEach } from '../support/lambda-entry';
import { InjectedFaultError } from '../../proof/faults';
import { keyOf } from '../support/rotation-fixture';
import { createClientSecret, serveSecretsManagerFromModel } from '../support/secrets-manager';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

restoreEnvironmentAfterEach();

describe('The rotation Lambda entry point', () => {
  it('fails the cold start with the name of a missing variable', () => {
    expect(() => loadEntry<RotationFunction>('rotation', { KEY_TABLE_NAME: '', CLIENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:1:t' }, { isolated: true })).toThrow(
      'environment variable KEY_TABLE_NAME is required but not set',
    );
    expect(() => loadEntry<RotationFunction>('rotation', { KEY_TABLE_NAME: 't', CLIENT_TOPIC_ARN: '' }, { isolated: true })).toThrow(
      'environment variable CLIENT_TOPIC_ARN is required but not set',
    );
  });

  it('rotates end to end from its environment, and its logs hold no key, no hash and no RotationToken', async () => {
    const tableName = await dynamo.newTable();
    const model = new SecretsManagerModel();
    serveSecretsManagerFromModel(secretsManager, model);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const logs: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    };
    const writes = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
    try {
      const handler = loadEntry<RotationFunction>('rotation', {
        KEY_TABLE_NAME: tableName,
        CLIENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:keyroll-clients',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint(),
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // A short known-key window keeps finishSecret's wait (window + 0.5 s) inside the test's time.
        KNOWN_KEYS_WINDOW_MS: '100',
      }, { isolated: false });
      const arn = createClientSecret(model, { clientId: 'acme', firstVersionId: 'v0' });
      await new DynamoKeyTable(dynamo.client(), tableName).registerClient({ clientId: 'acme', secretArn: arn, settings: {}, registeredAtMs: Date.now(), registeredBy: 'test' });
      const secrets: string[] = [];
      const recordSecrets = async (event: Parameters<RotationFunction>[0]) => {
        secrets.push(event.RotationToken);
        await handler(event);
      };
      expect(await rotateSecret(model, { SecretId: arn, ClientRequestToken: 'v1' }, recordSecrets)).toMatchObject({ outcome: 'succeeded' });
      expect(await rotateSecret(model, { SecretId: arn, ClientRequestToken: 'v2' }, recordSecrets)).toMatchObject({ outcome: 'succeeded' });
      // One failing step, so that an error is logged too.
      let throttled = false;
      secretsManager.on(UpdateSecretVersionStageCommand).callsFake((input) => {
        if (throttled) return model.updateSecretVersionStage(input);
        throttled = true;
        throw new InjectedFaultError('throttled');
      });
      await expect(rotateSecret(model, { SecretId: arn, ClientRequestToken: 'v3' }, recordSecrets, { attempts: 2 })).resolves.toMatchObject({
        outcome: 'succeeded',
        errors: [expect.any(InjectedFaultError)],
      });
      for (const versionId of ['v1', 'v2', 'v3']) {
        const key = keyOf(model, arn, versionId);
        secrets.push(key, key.slice(3, 20), key.slice(-20), hashApiKey(key));
      }

      const lines = logs.join('').split('\n').filter((line) => line.length > 0);
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      // Four steps for each of v1 and v2; for v3, three before finishSecret failed, then all four again.
      expect(records.filter((r) => r['message'] === 'rotation step done')).toHaveLength(4 + 4 + 3 + 4);
      expect(records.filter((r) => r['level'] === 'ERROR')).toEqual([
        expect.objectContaining({ message: 'rotation step failed', step: 'finishSecret', versionId: 'v3', service: 'keyroll-rotation' }),
      ]);
      expect(records.every((r) => r['service'] === 'keyroll-rotation' && typeof r['step'] === 'string')).toBe(true);
      for (const secret of secrets) expect(lines.filter((line) => line.includes(secret))).toEqual([]);
    } finally {
      for (const write of writes) write.mockRestore();
    }
  });
});
