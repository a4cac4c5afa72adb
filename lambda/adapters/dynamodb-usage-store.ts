import { GetItemCommand, paginateQuery, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RefusalSummary, UsageHistory, UsageStore, UsageSummary } from '../domain/ports';
import { hourStartMs, type RefusalCount, type UsageCount } from '../domain/usage';
import { attributeKey, KEY_TABLE_KEYS, KEY_TABLE_SCHEMA } from './key-table-schema';

const DAY_SECONDS = 24 * 3600;
const USAGE_RETENTION_SECONDS = 90 * DAY_SECONDS;
/** A redelivery comes within minutes; two days is ample. */
const BATCH_MARKER_RETENTION_SECONDS = 2 * DAY_SECONDS;
/** Counter writes in flight at once. */
const WRITE_CONCURRENCY = 16;

/** Usage counters and delivery markers in the key table. */
export class DynamoUsageStore implements UsageStore, UsageHistory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly pickShard: () => number = () => Math.floor(Math.random() * KEY_TABLE_SCHEMA.usageShards),
  ) {}

  async isBatchCounted(batchId: string): Promise<boolean> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: batchKey(batchId), ConsistentRead: true }));
    return Item !== undefined;
  }

  async addUsage(counts: readonly UsageCount[]): Promise<void> {
    for (let i = 0; i < counts.length; i += WRITE_CONCURRENCY) {
      await Promise.all(counts.slice(i, i + WRITE_CONCURRENCY).map((count) => this.addOne(count)));
    }
  }

  async markBatchCounted(batchId: string, atMs: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...batchKey(batchId), itemType: { S: 'usageBatch' }, countedAtMs: { N: String(atMs) }, purgeAt: { N: String(Math.ceil(atMs / 1000) + BATCH_MARKER_RETENTION_SECONDS) } },
      }),
    );
  }

  async addRefusals(counts: readonly RefusalCount[]): Promise<void> {
    for (let i = 0; i < counts.length; i += WRITE_CONCURRENCY) {
      await Promise.all(counts.slice(i, i + WRITE_CONCURRENCY).map((count) => this.addRefusal(count)));
    }
  }

  async readRefusals(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<RefusalSummary> {
    const from = KEY_TABLE_KEYS.refusalCounter(clientId, versionId, fromHour);
    const to = KEY_TABLE_KEYS.refusalCounter(clientId, versionId, toHour);
    let refused = 0;
    let firstRefusedMs: number | undefined;
    let lastRefusedMs: number | undefined;
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: from.pk }, ':from': { S: from.sk }, ':to': { S: to.sk } },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        refused += Number(item['refused']?.N ?? 0);
        const first = Number(item['firstRefusedMs']?.N ?? Number.NaN);
        const last = Number(item['lastRefusedMs']?.N ?? Number.NaN);
        if (Number.isFinite(first)) firstRefusedMs = Math.min(firstRefusedMs ?? first, first);
        if (Number.isFinite(last)) lastRefusedMs = Math.max(lastRefusedMs ?? last, last);
      }
    }
    return { refused, ...(firstRefusedMs === undefined ? {} : { firstRefusedMs }), ...(lastRefusedMs === undefined ? {} : { lastRefusedMs }) };
  }

  async readUsage(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<UsageSummary> {
    const shards = await Promise.all(
      Array.from({ length: KEY_TABLE_SCHEMA.usageShards }, (_, shard) => this.readShard(clientId, versionId, shard, fromHour, toHour)),
    );
    let requests = 0;
    let lastUsedMs: number | undefined;
    for (const item of shards.flat()) {
      requests += Number(item['requests']?.N ?? 0);
      const last = Number(item['lastUsedMs']?.N ?? Number.NaN);
      if (Number.isFinite(last) && (lastUsedMs === undefined || last > lastUsedMs)) lastUsedMs = last;
    }
    return lastUsedMs === undefined ? { requests } : { requests, lastUsedMs };
  }

  async hourlyUsage(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<Readonly<Record<string, number>>> {
    const shards = await Promise.all(
      Array.from({ length: KEY_TABLE_SCHEMA.usageShards }, (_, shard) => this.readShard(clientId, versionId, shard, fromHour, toHour)),
    );
    const byHour: Record<string, number> = {};
    const hourOfSk = KEY_TABLE_KEYS.usageCounter(clientId, versionId, 0, '').sk;
    for (const item of shards.flat()) {
      const hour = (item['sk']?.S ?? '').slice(hourOfSk.length);
      byHour[hour] = (byHour[hour] ?? 0) + Number(item['requests']?.N ?? 0);
    }
    return byHour;
  }

  private async readShard(clientId: string, versionId: string, shard: number, fromHour: string, toHour: string): Promise<Record<string, AttributeValue>[]> {
    const from = KEY_TABLE_KEYS.usageCounter(clientId, versionId, shard, fromHour);
    const to = KEY_TABLE_KEYS.usageCounter(clientId, versionId, shard, toHour);
    const items: Record<string, AttributeValue>[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: from.pk }, ':from': { S: from.sk }, ':to': { S: to.sk } },
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  }

  private async addOne(count: UsageCount): Promise<void> {
    // lastUsedMs is last-writer-wins: DynamoDB has no max(); see the README on the precision of last use.
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: attributeKey(KEY_TABLE_KEYS.usageCounter(count.clientId, count.versionId, this.pickShard(), count.hour)),
        UpdateExpression: 'ADD requests :requests SET lastUsedMs = :lastUsed, purgeAt = :purgeAt',
        ExpressionAttributeValues: {
          ':requests': { N: String(count.requests) },
          ':lastUsed': { N: String(count.lastUsedMs) },
          ':purgeAt': { N: String(Math.ceil(hourStartMs(count.hour) / 1000) + USAGE_RETENTION_SECONDS) },
        },
      }),
    );
  }

  private async addRefusal(count: RefusalCount): Promise<void> {
    // Reports come a minute apart per container, so one partition per version and hour is never hot.
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: attributeKey(KEY_TABLE_KEYS.refusalCounter(count.clientId, count.versionId, count.hour)),
        UpdateExpression: 'ADD refused :refused SET firstRefusedMs = if_not_exists(firstRefusedMs, :first), lastRefusedMs = :last, purgeAt = :purgeAt',
        ExpressionAttributeValues: {
          ':refused': { N: String(count.refused) },
          ':first': { N: String(count.firstRefusedMs) },
          ':last': { N: String(count.lastRefusedMs) },
          ':purgeAt': { N: String(Math.ceil(hourStartMs(count.hour) / 1000) + USAGE_RETENTION_SECONDS) },
        },
      }),
    );
  }
}

function batchKey(batchId: string): Record<string, AttributeValue> {
  return attributeKey(KEY_TABLE_KEYS.usageBatch(batchId));
}
