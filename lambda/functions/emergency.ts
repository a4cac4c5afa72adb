/**
 * The emergency function's entry point: it ends leaked keys (revokes them, rotates their clients, flushes API
 * Gateway's cached answers in every region of the install) for the report endpoint, which may not write the key
 * table itself. Nothing reachable from the internet invokes it but that endpoint, with hashes only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { flushTargetsOnAws, regionOfArn } from '../adapters/flush-targets';
import { keyOperationsOnAws } from '../adapters/key-operations-on-aws';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { readEmergencyConfig } from '../config/leak-report-config';
import { flushAfterRevocation } from '../domain/authorizer-cache-flush';
import { createEmergencyHandler } from '../handlers/emergency-handler';

const config = readEmergencyConfig(process.env);
const clientOptions = { requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } };
const dynamodb = new DynamoDBClient(clientOptions);
const secretsManager = new SecretsManagerClient(clientOptions);
const table = new DynamoKeyTable(dynamodb, config.keyTableName);
const flush = flushTargetsOnAws({
  home: { region: regionOfArn(config.authorizerFunctionArn), authorizerFunctionArn: config.authorizerFunctionArn },
  replicas: config.replicaAuthorizers,
  keyTableName: config.keyTableName,
  clientOptions,
});
/** How long the report endpoint's call flushes before it answers; the rest is an asynchronous call (README, Leaked keys). */
const SYNC_FLUSH_MS = 10_000;

export const handler = createEmergencyHandler({
  leakedKeys: {
    keys: table,
    operations: keyOperationsOnAws({ dynamodb, keyTableName: config.keyTableName, secretsManager, sns: new SNSClient(clientOptions), install: config, clock: Date.now }),
    rotation: new SecretsManagerVersionStore(secretsManager),
    secretNamePrefix: config.secretNamePrefix,
    action: config.leakAction,
    clock: Date.now,
  },
  flush: (revocation, deadlineMs) =>
    flushAfterRevocation(flush.targets, revocation, { revocationPollMs: config.revocationPollMs, directory: table, clock: Date.now, sleep, ...(deadlineMs === undefined ? {} : { deadlineMs }) }),
  syncFlushMs: SYNC_FLUSH_MS,
  clock: Date.now,
  logger: new Logger({ serviceName: 'keyroll-emergency' }),
});
