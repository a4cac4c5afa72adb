import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { KeyProvider } from '../../client/key-provider';
import { SecretsManagerKeySource } from '../../client/secrets-manager-key-source';
import { useDynalite } from '../support/dynamodb';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

describe('SecretsManagerKeySource', () => {
  it('reads the current key, says when there is none yet, and follows a rotation through the provider', async () => {
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable() });
    const arn = await h.newClient('acme');
    const source = new SecretsManagerKeySource({ secretId: arn, client: new SecretsManagerClient({}) });
    await expect(source.currentKey()).rejects.toThrow(`secret ${arn}: the current value holds no key yet`);

    await h.rotate(arn, { token: 'v1' });
    const keys = new KeyProvider({ source, clientId: 'acme' });
    await expect(keys.currentKey()).resolves.toEqual({ key: h.keyOf(arn, 'v1'), versionId: 'v1' });
    await h.rotate(arn, { token: 'v2' });
    const rotated = h.published.find((n) => n.type === 'key.rotated' && n.versionId === 'v2');
    if (rotated === undefined) throw new Error('no key.rotated for v2');
    await keys.handleNotification(rotated);
    await expect(keys.key()).resolves.toBe(h.keyOf(arn, 'v2'));
  });
});
