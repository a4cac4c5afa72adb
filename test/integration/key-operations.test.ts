import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { keyOperationsOnAws } from '../../lambda/adapters/key-operations-on-aws';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { useDynalite } from '../support/dynamodb';
import { CLIENT_TOPIC_ARN, HOUR_MS, OPERATIONS_TOPIC_ARN } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

/** What `keyroll status` reports, from the key table, the labels and the usage counters (dynalite, the Secrets Manager model). */

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

/** keyroll's operations on the harness's table, with its clock. */
const operationsOn = (tableName: string, h: RotationHarness) =>
  keyOperationsOnAws({
    dynamodb: localDynamoDbClient(dynamo.endpoint()),
    keyTableName: tableName,
    secretsManager: new SecretsManagerClient({}),
    sns: new SNSClient({}),
    install: { clientTopicArn: CLIENT_TOPIC_ARN, operationsTopicArn: OPERATIONS_TOPIC_ARN, secretNamePrefix: 'keyroll/clients/', defaultGracePeriodSeconds: 12 * 3600 },
    clock: h.clock.now,
  });

describe('Key operations: status', () => {
  it('does not call a replaced key "still in use" for requests made before its replacement (trial finding)', async () => {
    const tableName = await dynamo.newTable();
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, gracePeriodSeconds: 12 * 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    h.clock.advance(20 * 60_000);
    await h.traffic([{ atMs: h.clock.nowMs - 60_000, clientId: 'acme', keyVersion: 'v1' }]);
    await h.rotate(arn, { token: 'v2' });
    h.clock.advance(10 * 60_000);
    const operations = operationsOn(tableName, h);
    const v1 = (await operations.status('acme')).versions.find((v) => v.version.versionId === 'v1');
    expect(v1).toMatchObject({ state: 'in-grace', usage: { lastUsedMs: expect.any(Number) } });
    expect(v1?.stillUsedBeforeItsEnd).toBeUndefined();
  });

  it('flags a replaced key still in use shortly before its end, with its requests per hour and last use', async () => {
    const tableName = await dynamo.newTable();
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, gracePeriodSeconds: 12 * 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    await h.rotate(arn, { token: 'v2' });
    h.clock.advance(2 * HOUR_MS);
    await h.traffic([
      { atMs: h.clock.nowMs - 30 * 60_000, clientId: 'acme', keyVersion: 'v1' },
      { atMs: h.clock.nowMs - 10 * 60_000, clientId: 'acme', keyVersion: 'v1' },
      { atMs: h.clock.nowMs - 5 * 60_000, clientId: 'acme', keyVersion: 'v2' },
    ]);
    const operations = operationsOn(tableName, h);
    const status = await operations.status('acme');
    const byVersion = Object.fromEntries(status.versions.map((v) => [v.version.versionId, v]));
    expect(byVersion['v1']).toMatchObject({ state: 'in-grace', stillUsedBeforeItsEnd: true, usage: { lastUsedMs: h.clock.nowMs - 10 * 60_000 } });
    expect(byVersion['v1']?.usage?.perHour.reduce((sum, hour) => sum + hour.requests, 0)).toBe(2);
    expect(byVersion['v2']).toMatchObject({ state: 'current', usage: { lastUsedMs: h.clock.nowMs - 5 * 60_000 } });
    expect(byVersion['v2']?.stillUsedBeforeItsEnd).toBeUndefined();
    expect(status.versions.map((v) => v.usage?.perHour.length)).toEqual([24, 24]);

    // Once v1's window has ended, the authorizers' reports of it refused show as a missed switch.
    h.clock.advance(12 * HOUR_MS);
    await h.endedKeyReports([{ clientId: 'acme', versionId: 'v1', refused: 7, sinceMs: h.clock.nowMs - 20 * 60_000, atMs: h.clock.nowMs - 10 * 60_000 }]);
    const later = Object.fromEntries((await operations.status('acme')).versions.map((v) => [v.version.versionId, v]));
    expect(later['v1']).toMatchObject({ state: 'ended', refusedSinceItsEnd: { refused: 7, firstRefusedMs: h.clock.nowMs - 20 * 60_000, lastRefusedMs: h.clock.nowMs - 10 * 60_000 } });
    expect(later['v2']?.refusedSinceItsEnd).toBeUndefined();
  });
});
