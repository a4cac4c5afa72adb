import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { notificationOfSqsBody } from '../../client/notifications';
import { SecretsManagerKeySource } from '../../client/secrets-manager-key-source';
import type { Notification } from '../../lambda/domain/notifications';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';

/**
 * A failed rollover in local mode, through the real bundles: the client keeps sending its replaced key after
 * the window ends; the authorizer's report lines reach the usage function through the template's log
 * subscription; the monitor sends `rotation.missed` and `key.refused` with the evidence once the reported
 * refusals reach the threshold, and the client, which opted in, has its key accepted again once.
 */
describe('Missed switch caught and rescued (local mode)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-missed-'));
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  let keyroll: LocalKeyroll;
  let sqs: SQSClient;
  let secrets: SecretsManagerClient;

  beforeAll(async () => {
    keyroll = await startLocalKeyroll(
      {
        clients: [{ clientId: 'acme', rescueMissedRotation: Duration.hours(1) }],
        gracePeriod: Duration.seconds(2),
        authorizerResultsCacheTtl: Duration.seconds(1),
        authorizerCacheTtl: Duration.seconds(1),
        authorizerNegativeCacheTtl: Duration.seconds(1),
        missedRotation: { reportInterval: Duration.seconds(10), minRefusals: 3 },
      },
      { logDirectory: path.join(work, 'logs') },
    );
    sqs = new SQSClient({ ...aws, endpoint: keyroll.endpoints.snsSqs });
    secrets = new SecretsManagerClient({ ...aws, endpoint: keyroll.endpoints.secretsManager });
  }, 60_000);
  afterAll(async () => {
    sqs?.destroy();
    secrets?.destroy();
    await keyroll?.stop();
  }, 30_000);

  async function queueOn(topicArn: string, name: string): Promise<string> {
    const sns = new SNSClient({ ...aws, endpoint: keyroll.endpoints.snsSqs });
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes?.['QueueArn'] }));
    sns.destroy();
    return QueueUrl;
  }

  async function received(queueUrl: string): Promise<Notification[]> {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    return Messages.map((message) => notificationOfSqsBody(message.Body ?? ''));
  }

  it('tells operators and the client with the evidence, then accepts the ended key again, once', async () => {
    const operations = await queueOn(keyroll.operationsTopicArn, 'operations');
    const client = await queueOn(keyroll.clientTopicArn, 'acme');
    const call = (key: string) => fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } }).then((response) => response.status);
    const source = new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets });
    const { key: oldKey, versionId: oldVersion } = await source.currentKey();
    expect(await call(oldKey)).toBe(200);

    await keyroll.rotate('acme');
    // The client never switches: it keeps sending its old key every 100 ms while the monitor runs every second.
    let firstRefusedAtMs: number | undefined;
    let refused = 0;
    const missed: Notification[] = [];
    const toClient: Notification[] = [];
    const deadline = Date.now() + 40_000;
    let lastMonitorMs = 0;
    while (missed.length === 0 && Date.now() < deadline) {
      if ((await call(oldKey)) === 401) {
        firstRefusedAtMs ??= Date.now();
        refused++;
      }
      if (Date.now() - lastMonitorMs >= 1_000) {
        lastMonitorMs = Date.now();
        await keyroll.runMonitor();
        missed.push(...(await received(operations)).filter(({ type }) => type === 'rotation.missed'));
        toClient.push(...(await received(client)));
      }
      await sleep(100);
    }
    const caughtAfterMs = Date.now() - (firstRefusedAtMs ?? Date.now());
    expect(missed).toHaveLength(1);
    const [notice] = missed;
    expect(notice).toMatchObject({ clientId: 'acme', versionId: oldVersion, refused: expect.any(Number), expiresAt: expect.any(String) });
    // At least the threshold, and never more refusals than the client was refused.
    expect(notice?.refused).toBeGreaterThanOrEqual(3);
    expect(notice?.refused).toBeLessThanOrEqual(refused);
    expect(Date.parse(notice?.refusedSince ?? '')).toBeGreaterThanOrEqual((firstRefusedAtMs ?? 0) - 1_000);
    // The second report is due one report interval after the first refusal; then delivery and a monitor run.
    expect(caughtAfterMs).toBeGreaterThanOrEqual(10_000 - 1_000);
    toClient.push(...(await received(client)));
    expect(toClient.filter(({ type }) => type === 'key.refused')).toEqual([expect.objectContaining({ versionId: oldVersion, refused: notice?.refused, expiresAt: notice?.expiresAt })]);

    // Rescued for an hour: accepted again once the caches (1 s each) have let go of the refusal.
    await sleep(2_500);
    expect(await call(oldKey)).toBe(200);
    await keyroll.runMonitor();
    expect((await received(operations)).filter(({ type }) => type === 'rotation.missed')).toEqual([]);
  }, 60_000);
});
