/** The monitor's entry point: reminders, expiry, reconciliation and stuck rotations, on a schedule. */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { DynamoUsageStore } from '../adapters/dynamodb-usage-store';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { SnsNotifier } from '../adapters/sns-notifier';
import { readMonitorConfig } from '../config/monitor-config';
import { KeyMonitor } from '../domain/monitor';
import { createMonitorHandler } from '../handlers/monitor-handler';

const config = readMonitorConfig(process.env);
const clientOptions = { requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 } };
const dynamodb = new DynamoDBClient(clientOptions);
const sns = new SNSClient(clientOptions);
const keyTable = new DynamoKeyTable(dynamodb, config.keyTableName);

export const handler = createMonitorHandler({
  monitor: new KeyMonitor({
    secrets: new SecretsManagerVersionStore(new SecretsManagerClient(clientOptions)),
    registry: keyTable,
    knownKeys: keyTable,
    keys: keyTable,
    events: keyTable,
    usage: new DynamoUsageStore(dynamodb, config.keyTableName),
    clientNotifier: new SnsNotifier(sns, config.clientTopicArn),
    operationsNotifier: new SnsNotifier(sns, config.operationsTopicArn),
    settings: {
      reminderLeadsMs: config.reminderLeadsMs,
      stuckAfterMs: config.stuckAfterMs,
      defaultGracePeriodSeconds: config.defaultGracePeriodSeconds,
      secretNamePrefix: config.secretNamePrefix,
      missedRotationMinRefusals: config.missedRotationMinRefusals,
    },
  }),
  logger: new Logger({ serviceName: 'keyroll-monitor' }),
  clock: Date.now,
});
