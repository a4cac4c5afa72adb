import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { UsageStore, UsageSummary } from '../domain/ports';
import { hourStartMs, type UsageCount } from '../domain/usage';
import { KEY_TABLE_SCHEMA } from './key-table-schema';

const DAY_SECONDS = 24 * 3600;
const USAGE_RETENTION_SECONDS = 90 * DAY_SECONDS;
/** A redelivery comes within minutes; two days is ample. */
const BATCH_MARKER_RETENTION_SECONDS = 2 * DAY_SECONDS;
/** Counter writes in flight at once. */
const WRITE_CONCURRENCY = 16;

/** Usage counters and delivery markers in the key table. */
export class DynamoUsageStore implements UsageStore {
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

  async readUsage(clientId: string, versionId: string, fromHour: string, toHour: string): Promise<UsageSummary> {
    const shards = await Promise.all(
      Array.from({ length: KEY_TABLE_SCHEMA.usageShards }, (_, shard) => this.readShard(usagePk(clientId, versionId, shard), fromHour, toHour)),
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

  private async readShard(pk: string, fromHour: string, toHour: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let exclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': { S: pk }, ':from': { S: `HOUR#${fromHour}` }, ':to': { S: `HOUR#${toHour}` } },
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      items.push(...(page.Items ?? []));
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);
    return items;
  }

  private async addOne(count: UsageCount): Promise<void> {
    // lastUsedMs is last-writer-wins: DynamoDB has no max(); see the README on the precision of last use.
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: usagePk(count.clientId, count.versionId, this.pickShard()) }, sk: { S: `HOUR#${count.hour}` } },
        UpdateExpression: 'ADD requests :requests SET lastUsedMs = :lastUsed, purgeAt = :purgeAt',
        ExpressionAttributeValues: {
          ':requests': { N: String(count.requests) },
          ':lastUsed': { N: String(count.lastUsedMs) },
          ':purgeAt': { N: String(Math.ceil(hourStartMs(count.hour) / 1000) + USAGE_RETENTION_SECONDS) },
        },
      }),
    );
  }
}

function usagePk(clientId: string, versionId: string, shard: number): string {
  return `USAGE#${clientId}#${versionId}#${shard}`;
}

function batchKey(batchId: string): Record<string, AttributeValue> {
  return { pk: { S: `USAGEBATCH#${batchId}` }, sk: { S: 'BATCH' } };
}
