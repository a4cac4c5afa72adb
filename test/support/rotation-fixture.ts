import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { generateApiKey, hashApiKey, parseApiKey, type ApiKey } from '../../lambda/domain/api-key';
import type { EndpointProbe } from '../../lambda/domain/ports';
import { KeyRotation, type RotationDependencies } from '../../lambda/domain/rotation';
import type { SecretsManagerModel } from '../../local/secrets-manager-model';
import { DEFAULT_KNOWN_KEYS_WINDOW_MS, knownKeyPropagationMs } from '../../lambda/contracts/known-keys';

export const CLIENT_TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:keyroll-clients';
export const OPERATIONS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:111122223333:keyroll-operations';
export const KEY_TABLE_NAME = 'keyroll-keys';
export const HOUR_MS = 3_600_000;

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public nowMs: number = Date.UTC(2026, 10, 22, 12, 0, 0)) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/**
 * The rotation domain wired to the real adapters over SDK clients. Tests decide what stands behind the
 * clients: `aws-sdk-client-mock` stubs, or dynalite for DynamoDB.
 */
export function buildRotation(options: {
  readonly clock: TestClock;
  readonly dynamodb?: DynamoDBClient;
  readonly probe?: EndpointProbe;
  readonly defaultGracePeriodSeconds?: number;
  readonly keyTableName?: string;
  readonly replicas?: RotationDependencies['replicas'];
  /** The client registry and issued-key record; default the key table itself. */
  readonly registry?: RotationDependencies['registry'];
  readonly issued?: RotationDependencies['issued'];
  /**
   * Keep the authorizers' known-key set in the key table, as the rotation function does. Its wait before a new
   * key is presented passes no time here, so that tests keep their instants (the wait has its own test). Default off.
   */
  readonly knownKeys?: boolean | { readonly sleep: (ms: number) => Promise<void> };
}): { rotation: KeyRotation; table: DynamoKeyTable } {
  const table = new DynamoKeyTable(options.dynamodb ?? new DynamoDBClient({}), options.keyTableName ?? KEY_TABLE_NAME);
  const rotation = new KeyRotation({
    secrets: new SecretsManagerVersionStore(new SecretsManagerClient({})),
    keys: table,
    registry: options.registry ?? table,
    issued: options.issued ?? table,
    events: table,
    notifier: new SnsNotifier(new SNSClient({}), CLIENT_TOPIC_ARN),
    operationsNotifier: new SnsNotifier(new SNSClient({}), OPERATIONS_TOPIC_ARN),
    probe: options.probe,
    clock: options.clock.now,
    generateKey: () => generateApiKey('kr'),
    keyPrefix: 'kr',
    defaultGracePeriodSeconds: options.defaultGracePeriodSeconds ?? 3600,
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
    ...(options.knownKeys === undefined || options.knownKeys === false
      ? {}
      : { knownKeys: { index: table, propagationMs: knownKeyPropagationMs(DEFAULT_KNOWN_KEYS_WINDOW_MS), sleep: options.knownKeys === true ? async () => undefined : options.knownKeys.sleep } }),
  });
  return { rotation, table };
}

/** The staging labels of each labelled version, as DescribeSecret reports them. */
export function stagesOf(model: SecretsManagerModel, secretId: string): Record<string, string[]> {
  return model.describeSecret({ SecretId: secretId }).VersionIdsToStages ?? {};
}

/** The API key a secret version holds, read straight from the model. */
export function keyOf(model: SecretsManagerModel, secretId: string, versionId: string): ApiKey {
  const { SecretString } = model.getSecretValue({ SecretId: secretId, VersionId: versionId });
  const apiKey: unknown = SecretString === undefined ? undefined : JSON.parse(SecretString).apiKey;
  const parsed = parseApiKey(typeof apiKey === 'string' ? apiKey : undefined);
  if (!parsed.ok) throw new Error(`version ${versionId} holds no valid key (${parsed.reason})`);
  return parsed.key;
}

export function hashOf(model: SecretsManagerModel, secretId: string, versionId: string): string {
  return hashApiKey(keyOf(model, secretId, versionId));
}
