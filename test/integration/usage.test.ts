import { silentMetrics } from '../support/silent-metrics';
import { attributeKey, KEY_TABLE_KEYS } from '../../lambda/adapters/key-table-schema';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoUsageStore } from '../../lambda/adapters/dynamodb-usage-store';
import { KEY_TABLE_SCHEMA } from '../../lambda/adapters/key-table-schema';
import { deliveryId } from '../../lambda/domain/usage';
import { createUsageHandler } from '../../lambda/handlers/usage-handler';
import { accessLogLine, logDeliveryEvent, requestsDelivery } from '../../local/access-logs';
import { useDynalite } from '../support/dynamodb';

const dynamo = useDynalite();
const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function roundRobin(): () => number {
  let next = 0;
  return () => next++ % KEY_TABLE_SCHEMA.usageShards;
}

async function setUp(pickShard?: () => number) {
  const tableName = await dynamo.newTable();
  const store = new DynamoUsageStore(dynamo.client(), tableName, pickShard);
  const handler = createUsageHandler({ store, logger: new Logger({ serviceName: 'keyroll-usage-test' }), metrics: silentMetrics(), clock: () => T0 + 2 * HOUR });
  return { tableName, store, handler };
}

describe('Usage counters on DynamoDB (dynalite), through the usage handler', () => {
  it('adds up requests per version and hour across deliveries and shards, with the last use', async () => {
    const { store, handler } = await setUp(roundRobin());
    for (let delivery = 0; delivery < 6; delivery++) {
      await handler(requestsDelivery([
        { atMs: T0 + delivery * MINUTE, clientId: 'acme', keyVersion: 'v1' },
        { atMs: T0 + delivery * MINUTE + 1, clientId: 'acme', keyVersion: 'v1' },
        { atMs: T0 + HOUR + delivery * MINUTE, clientId: 'acme', keyVersion: 'v1' },
        { atMs: T0 + delivery * MINUTE, clientId: 'acme', keyVersion: 'v2' },
      ]));
    }
    await expect(store.readUsage('acme', 'v1', '2026-11-22T12', '2026-11-22T12')).resolves.toEqual({ requests: 12, lastUsedMs: T0 + 5 * MINUTE + 1 });
    await expect(store.readUsage('acme', 'v1', '2026-11-22T12', '2026-11-22T13')).resolves.toEqual({ requests: 18, lastUsedMs: T0 + HOUR + 5 * MINUTE });
    await expect(store.readUsage('acme', 'v2', '2026-11-22T00', '2026-11-22T23')).resolves.toEqual({ requests: 6, lastUsedMs: T0 + 5 * MINUTE });
    await expect(store.readUsage('acme', 'v3', '2026-11-22T00', '2026-11-22T23')).resolves.toEqual({ requests: 0 });
    await expect(store.readUsage('globex', 'v1', '2026-11-22T00', '2026-11-22T23')).resolves.toEqual({ requests: 0 });
  });

  it('spreads one busy version over every shard, one item per shard and hour, each expiring 90 days after its hour', async () => {
    const { tableName, handler } = await setUp(roundRobin());
    for (let delivery = 0; delivery < 8; delivery++) await handler(requestsDelivery([{ atMs: T0 + delivery, clientId: 'acme', keyVersion: 'v1' }]));
    for (let shard = 0; shard < KEY_TABLE_SCHEMA.usageShards; shard++) {
      const { Items = [] } = await dynamo.client().send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: KEY_TABLE_KEYS.usageCounter('acme', 'v1', shard, '2026-11-22T12').pk } } }));
      expect(Items).toEqual([expect.objectContaining({ sk: { S: KEY_TABLE_KEYS.usageCounter('acme', 'v1', shard, '2026-11-22T12').sk }, requests: { N: '2' }, purgeAt: { N: String(T0 / 1000 + 90 * 24 * 3600) } })]);
      // Usage items carry no clientId attribute, so they stay out of the byClient index.
      expect(Items[0]).not.toHaveProperty(KEY_TABLE_SCHEMA.byClientIndex.partitionKey);
    }
  });

  it('counts a redelivered batch once, and marks it for two days', async () => {
    const { tableName, store, handler } = await setUp();
    const lines = [0, 1, 2].map((n) => ({ message: accessLogLine({ atMs: T0 + n, clientId: 'acme', keyVersion: 'v1' }, `r${n}`), timestamp: T0 + n }));
    const ids = ['a', 'b', 'c'];
    await handler(logDeliveryEvent(lines, ids));
    await handler(logDeliveryEvent([...lines].reverse(), [...ids].reverse()));
    await expect(store.readUsage('acme', 'v1', '2026-11-22T12', '2026-11-22T12')).resolves.toMatchObject({ requests: 3 });
    const batchId = deliveryId(ids.map((id) => ({ id, timestamp: 0, message: '' })));
    const marker = await dynamo.client().send(new GetItemCommand({ TableName: tableName, Key: attributeKey(KEY_TABLE_KEYS.usageBatch(batchId)) }));
    expect(marker.Item?.['purgeAt']).toEqual({ N: String((T0 + 2 * HOUR) / 1000 + 2 * 24 * 3600) });
  });

  it('counts what it can read in a delivery with malformed lines, and fails on none of them', async () => {
    const { store, handler } = await setUp();
    await handler(logDeliveryEvent([
      { message: 'garbage', timestamp: T0 },
      { message: '{"clientId": {"$ne": null}}', timestamp: T0 },
      { message: accessLogLine({ atMs: T0, status: 401 }, 'r1'), timestamp: T0 },
      { message: accessLogLine({ atMs: T0, clientId: 'acme', keyVersion: 'v1' }, 'r2'), timestamp: T0 },
    ]));
    await expect(store.readUsage('acme', 'v1', '2026-11-22T12', '2026-11-22T12')).resolves.toEqual({ requests: 1, lastUsedMs: T0 });
  });
});
