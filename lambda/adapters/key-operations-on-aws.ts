import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { KeyOperations } from '../domain/key-operations';
import type { DynamoKeyTable } from './dynamodb-key-table';
import { SecretsManagerVersionStore } from './secrets-manager-version-store';
import { SnsNotifier } from './sns-notifier';

/** The operators' key operations wired to their AWS adapters, one way for the CLI and the leaked-key endpoint. */
export function keyOperationsOnAws(deps: {
  readonly table: DynamoKeyTable;
  readonly secretsManager: SecretsManagerClient;
  readonly sns: SNSClient;
  readonly install: { readonly clientTopicArn: string; readonly operationsTopicArn: string; readonly secretNamePrefix: string; readonly defaultGracePeriodSeconds: number };
  readonly clock: () => number;
}): KeyOperations {
  return new KeyOperations({
    keys: deps.table,
    events: deps.table,
    audit: deps.table,
    revocations: deps.table,
    secrets: new SecretsManagerVersionStore(deps.secretsManager),
    clientNotifier: new SnsNotifier(deps.sns, deps.install.clientTopicArn),
    operationsNotifier: new SnsNotifier(deps.sns, deps.install.operationsTopicArn),
    secretNamePrefix: deps.install.secretNamePrefix,
    defaultGracePeriodSeconds: deps.install.defaultGracePeriodSeconds,
    clock: deps.clock,
  });
}
