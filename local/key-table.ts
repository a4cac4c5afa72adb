import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { KEY_TABLE_SCHEMA } from '../lambda/adapters/key-table-schema';

/** CreateTable input for the key table, as the CDK stack defines it; for dynalite in tests and local mode. */
export function keyTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, byClientIndex } = KEY_TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
      { AttributeName: byClientIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: byClientIndex.sortKey, AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: byClientIndex.indexName,
        KeySchema: [
          { AttributeName: byClientIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: byClientIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}
