import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createKeyTable, localDynamoDbClient, startDynalite, type DynaliteServer } from '../../local/dynalite-server';

/**
 * One dynalite server per test file, and a fresh key table per test: real DynamoDB semantics
 * (conditions, consistent reads, the GSI) over HTTP with the real SDK client.
 */
export function useDynalite(): { readonly client: () => DynamoDBClient; readonly endpoint: () => string; readonly newTable: () => Promise<string> } {
  let server: DynaliteServer | undefined;
  let client: DynamoDBClient | undefined;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoDbClient(server.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('dynalite is not started: useDynalite() must be called at the top of the test file');
    return value;
  };
  return {
    client: () => ready(client),
    endpoint: () => ready(server).endpoint,
    newTable: async () => {
      const tableName = `keys-${randomUUID()}`;
      await createKeyTable(ready(client), tableName);
      return tableName;
    },
  };
}
