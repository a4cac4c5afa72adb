import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { KeyOperations } from '../domain/key-operations';
import { DynamoKeyTable } from './dynamodb-key-table';
import { DynamoUsageStore } from './dynamodb-usage-store';
import { SecretsManagerVersionStore } from './secrets-manager-version-store';
import { SnsNotifier } from './sns-notifier';

/** The operators' key operations wired to their AWS adapters, one way for the CLI and the leaked-key endpoint. */
export function keyOperationsOnAws(deps: {
  readonly dynamodb: DynamoDBClient;
  readonly keyTableName: string;
  readonly secretsManager: SecretsManagerClient;
  readonly sns: SNSClient;
  readonly install: { readonly clientTopicArn: string; readonly operationsTopicArn: string; readonly secretNamePrefix: string; readonly defaultGracePeriodSeconds: number };
  readonly clock: () => number;
}): KeyOperations {
  const table = new DynamoKeyTable(deps.dynamodb, deps.keyTableName);
  return new KeyOperations({
    keys: table,
    registry: table,
    knownKeys: table,
    events: table,
    audit: table,
    revocations: table,
    usage: new DynamoUsageStore(deps.dynamodb, deps.keyTableName),
    secrets: new SecretsManagerVersionStore(deps.secretsManager),
    clientNotifier: new SnsNotifier(deps.sns, deps.install.clientTopicArn),
    operationsNotifier: new SnsNotifier(deps.sns, deps.install.operationsTopicArn),
    secretNamePrefix: deps.install.secretNamePrefix,
    defaultGracePeriodSeconds: deps.install.defaultGracePeriodSeconds,
    clock: deps.clock,
  });
}
