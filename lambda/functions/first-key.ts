/**
 * The entry point of a declared client's custom resources: its registration (the key table's record of its one
 * secret and its settings), and its first key: a new client's secret is rotated once, at creation, so that the
 * stack finishes only when every client has a working key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { readFirstKeyConfig } from '../config/first-key-config';
import { endRemovedClient } from '../domain/client-removal';
import { issueFirstKey } from '../domain/first-key';
import { createFirstKeyHandler } from '../handlers/first-key-handler';

const config = readFirstKeyConfig(process.env);
const control = new SecretsManagerVersionStore(new SecretsManagerClient({ requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 } }));
const table = new DynamoKeyTable(new DynamoDBClient({ requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 } }), config.keyTableName);

export const handler = createFirstKeyHandler({
  issueFirstKey: (secretId) =>
    issueFirstKey(secretId, { control, clock: Date.now, sleep, timeoutMs: 1000 * config.timeoutSeconds, pollIntervalMs: 1000 * config.pollIntervalSeconds }),
  registry: table,
  endRemovedClient: (clientId, secretArn) => endRemovedClient(clientId, secretArn, { registry: table, keys: table, revocations: table, clock: Date.now }),
  clock: Date.now,
  logger: new Logger({ serviceName: 'keyroll-first-key' }),
});
