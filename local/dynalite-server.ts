import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { keyTableDefinition } from './key-table';

/** A real DynamoDB implementation (dynalite, in memory) listening on a loopback port. */
export interface DynaliteServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // Clients keep connections alive: idle ones are closed as they become idle, so the server stops at once
    // rather than when they time out, while a request in flight (a background poll) still gets its answer;
    // cutting it off would let dynalite run it against a closed database, which throws outside any request.
    close: () =>
      new Promise<void>((resolve, reject) => {
        const closeIdle = setInterval(() => server.closeIdleConnections(), 10);
        const cutOff = setTimeout(() => server.closeAllConnections(), 2000);
        server.close((error) => {
          clearInterval(closeIdle);
          clearTimeout(cutOff);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** A DynamoDB client for a local endpoint, with dummy credentials. */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

export async function createKeyTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(keyTableDefinition(tableName)));
}
