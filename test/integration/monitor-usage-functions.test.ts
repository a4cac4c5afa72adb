import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { hashApiKey } from '../../lambda/domain/api-key';
import type { MonitorReport } from '../../lambda/domain/monitor';
import { requestsDelivery } from '../../local/access-logs';
import { useDynalite } from '../support/dynamodb';
import { loadEntry, restoreEnvironmentAfterEach } from '../support/lambda-entry';
import { CLIENT_TOPIC_ARN, HOUR_MS, OPERATIONS_TOPIC_ARN, TestClock } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

restoreEnvironmentAfterEach();

type UsageFunction = (event: unknown) => Promise<void>;
type MonitorFunction = () => Promise<MonitorReport>;

function captureOutput() {
  const out: string[] = [];
  const capture = (chunk: string | Uint8Array) => (out.push(String(chunk)), true);
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  return { lines: () => out.join('').split('\n').filter((line) => line.length > 0), restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

describe('The usage and monitor Lambda entry points', () => {
  it('fail the cold start with the name of a missing variable', () => {
    expect(() => loadEntry<UsageFunction>('usage', { KEY_TABLE_NAME: '' }, { isolated: true })).toThrow('environment variable KEY_TABLE_NAME is required but not set');
    expect(() =>
      loadEntry<MonitorFunction>('monitor', { KEY_TABLE_NAME: 't', CLIENT_TOPIC_ARN: CLIENT_TOPIC_ARN, OPERATIONS_TOPIC_ARN: '' }, { isolated: true }),
    ).toThrow('environment variable OPERATIONS_TOPIC_ARN is required but not set');
  });

  it('count usage and run the monitor from their environment, logging no key and no hash', async () => {
    const tableName = await dynamo.newTable();
    // The entry points read the real clock: the story happens in the last few hours.
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, clock: new TestClock(Date.now() - 3 * HOUR_MS) });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'acme-v1' });
    h.clock.advance(60_000);
    await h.rotate(arn, { token: 'acme-v2' });
    const keys = ['acme-v1', 'acme-v2'].map((versionId) => h.keyOf(arn, versionId));
    h.published.splice(0);

    const env = { KEY_TABLE_NAME: tableName, CLIENT_TOPIC_ARN, OPERATIONS_TOPIC_ARN, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint(), POWERTOOLS_LOG_LEVEL: 'INFO' };
    const output = captureOutput();
    let report: MonitorReport;
    try {
      const countUsage = loadEntry<UsageFunction>('usage', env, { isolated: false });
      await countUsage(requestsDelivery([{ atMs: Date.now() - 2 * HOUR_MS, clientId: 'acme', keyVersion: 'acme-v1' }]));
      report = await loadEntry<MonitorFunction>('monitor', env, { isolated: false })();
    } finally {
      output.restore();
    }

    expect(report).toMatchObject({ clients: 1, markedExpired: 1, failures: [] });
    expect(h.published).toEqual([expect.objectContaining({ type: 'key.expired', versionId: 'acme-v1' })]);
    const records = output.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ service: 'keyroll-usage', message: 'usage counted', counted: 1 }));
    expect(records).toContainEqual(expect.objectContaining({ service: 'keyroll-monitor', message: 'monitor run done' }));
    for (const key of keys) {
      for (const secret of [key, key.slice(3, 20), hashApiKey(key)]) {
        expect(output.lines().filter((line) => line.includes(secret))).toEqual([]);
      }
    }
  });
});
