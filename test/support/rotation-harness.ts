import { silentMetrics } from './silent-metrics';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import type { ApiKey } from '../../lambda/domain/api-key';
import type { KeyVersion } from '../../lambda/domain/key-version';
import type { ClientSettingValues } from '../../lambda/domain/client-settings';
import { DynamoUsageStore } from '../../lambda/adapters/dynamodb-usage-store';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier';
import { KeyMonitor, type MonitorReport, type MonitorSettings } from '../../lambda/domain/monitor';
import type { Notification } from '../../lambda/domain/notifications';
import type { RotationDependencies, RotationStep } from '../../lambda/domain/rotation';
import { acceptKey, directLookup } from '../../lambda/domain/accept-key';
import { createMonitorHandler } from '../../lambda/handlers/monitor-handler';
import { createRotationHandler } from '../../lambda/handlers/rotation-handler';
import { createUsageHandler } from '../../lambda/handlers/usage-handler';
import { logDeliveryEvent, requestsDelivery, type LoggedRequest } from '../../local/access-logs';
import { ENDED_KEY_REPORT_MESSAGE } from '../../lambda/contracts/ended-key-report';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { rotateSecret, type RotationRun } from '../../local/rotation-driver';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import { injectDynamoDbFaults, type FaultInjector } from '../../proof/faults';
import { checkPublishedMessage } from './notification-schema';
import { buildRotation, CLIENT_TOPIC_ARN, HOUR_MS, keyOf, OPERATIONS_TOPIC_ARN, stagesOf, TestClock } from './rotation-fixture';
import { createClientSecret, serveSecretsManagerFromModel } from './secrets-manager';

export interface RotationHarnessOptions {
  readonly secretsManager: AwsClientStub<SecretsManagerClient>;
  readonly sns: AwsClientStub<SNSClient>;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  readonly clock?: TestClock;
  readonly gracePeriodSeconds?: number;
  readonly faults?: FaultInjector;
  readonly monitorSettings?: Partial<MonitorSettings>;
  /** Multi-region: the key table's replicas the rotation waits for. */
  readonly replicas?: RotationDependencies['replicas'];
}

/**
 * The real rotation handler, domain and adapters, with DynamoDB on dynalite over HTTP, Secrets Manager as
 * the in-memory model behind the SDK mock, SNS recorded, and the clock in the test's hands.
 */
export class RotationHarness {
  readonly clock: TestClock;
  readonly model: SecretsManagerModel;
  readonly table: DynamoKeyTable;
  /** Messages to the client topic, in the order they were published; each checked against the schema file. */
  readonly published: Notification[] = [];
  /** Messages to the operations topic. */
  readonly operations: Notification[] = [];
  readonly handler: (event: unknown) => Promise<void>;
  /** The usage counter's handler, counting into the same table. */
  readonly countUsage: (event: unknown) => Promise<void>;
  /** One scheduled run of the monitor at the clock's now. */
  readonly runMonitor: () => Promise<MonitorReport>;

  constructor(options: RotationHarnessOptions) {
    this.clock = options.clock ?? new TestClock();
    this.model = new SecretsManagerModel({ clock: this.clock.now });
    const { faults } = options;
    serveSecretsManagerFromModel(options.secretsManager, this.model, faults);
    options.sns.onAnyCommand().rejects(new Error('unmocked SNS command'));
    options.sns.on(PublishCommand).callsFake(async (input) => {
      const record = () => {
        const notification = checkPublishedMessage(input);
        if (input.TopicArn === CLIENT_TOPIC_ARN) this.published.push(notification);
        else if (input.TopicArn === OPERATIONS_TOPIC_ARN) this.operations.push(notification);
        else throw new Error(`publish to an unknown topic ${String(input.TopicArn)}`);
        return { MessageId: `m-${this.published.length + this.operations.length}` };
      };
      return faults === undefined ? record() : faults.around('sns', 'Publish', record);
    });
    const dynamodb = localDynamoDbClient(options.dynamodbEndpoint);
    if (faults !== undefined) injectDynamoDbFaults(dynamodb, faults);
    const { rotation, table } = buildRotation({
      clock: this.clock,
      dynamodb,
      keyTableName: options.tableName,
      defaultGracePeriodSeconds: options.gracePeriodSeconds ?? 3600,
      ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
      // The authorizers' known-key set, as the rotation function keeps it.
      knownKeys: true,
    });
    this.table = table;
    this.handler = createRotationHandler({ rotation, logger: new Logger({ serviceName: 'keyroll-rotation-test' }) });
    const usage = new DynamoUsageStore(dynamodb, options.tableName);
    this.countUsage = createUsageHandler({ store: usage, logger: new Logger({ serviceName: 'keyroll-usage-test' }), metrics: silentMetrics(), clock: this.clock.now });
    const sns = new SNSClient({});
    const monitor = new KeyMonitor({
      secrets: new SecretsManagerVersionStore(new SecretsManagerClient({})),
      registry: table,
      knownKeys: table,
      keys: table,
      events: table,
      usage,
      clientNotifier: new SnsNotifier(sns, CLIENT_TOPIC_ARN),
      operationsNotifier: new SnsNotifier(sns, OPERATIONS_TOPIC_ARN),
      settings: {
        reminderLeadsMs: [24 * HOUR_MS, HOUR_MS],
        stuckAfterMs: HOUR_MS,
        defaultGracePeriodSeconds: options.gracePeriodSeconds ?? 3600,
        secretNamePrefix: 'keyroll/clients/',
        ...options.monitorSettings,
      },
    });
    this.runMonitor = createMonitorHandler({ monitor, logger: new Logger({ serviceName: 'keyroll-monitor-test' }), clock: this.clock.now });
  }

  /** API traffic as the usage counter sees it: one access log delivery of these requests. */
  traffic(requests: readonly LoggedRequest[]): Promise<void> {
    return this.countUsage(requestsDelivery(requests));
  }

  /** The authorizers' reports of an ended key refused, as their log lines reach the usage counter. */
  endedKeyReports(reports: readonly { readonly clientId: string; readonly versionId: string; readonly refused: number; readonly sinceMs: number; readonly atMs: number }[]): Promise<void> {
    return this.countUsage(
      logDeliveryEvent(
        reports.map(({ atMs, sinceMs, ...fields }) => ({
          message: JSON.stringify({ level: 'WARN', message: ENDED_KEY_REPORT_MESSAGE, timestamp: new Date(atMs).toISOString(), service: 'keyroll-authorizer', ...fields, since: new Date(sinceMs).toISOString() }),
          timestamp: atMs,
        })),
      ),
    );
  }

  /**
   * A new client as the construct makes one: its secret (a placeholder without a key, rotation enabled) and its
   * registration with these settings (CLIENT_SETTING names).
   */
  async newClient(clientId: string, settings: ClientSettingValues = {}): Promise<string> {
    const secretArn = createClientSecret(this.model, { clientId, firstVersionId: `${clientId}-v0` });
    await this.table.registerClient({ clientId, secretArn, settings, registeredAtMs: this.clock.nowMs, registeredBy: 'test' });
    return secretArn;
  }

  /** RotateSecret and the step invocations Secrets Manager would make, retries included; `onStepError` sees each failed step. */
  rotate(secretArn: string, options: { token?: string; attempts?: number; rotateImmediately?: boolean; onStepError?: (error: unknown) => void | Promise<void> } = {}): Promise<RotationRun> {
    return rotateSecret(
      this.model,
      { SecretId: secretArn, ClientRequestToken: options.token, RotateImmediately: options.rotateImmediately },
      async (event) => {
        try {
          return await this.handler(event);
        } catch (error) {
          await options.onStepError?.(error);
          throw error;
        }
      },
      { attempts: options.attempts },
    );
  }

  /** One invocation of the rotation function, as Secrets Manager makes it. */
  invoke(step: RotationStep, secretArn: string, token: string): Promise<void> {
    const rotationToken = this.model.rotationInProgress(secretArn)?.rotationToken;
    return this.handler({ Step: step, SecretId: secretArn, ClientRequestToken: token, RotationToken: rotationToken });
  }

  /** Verifies a key exactly as the authorizer does, at the harness clock's now. */
  async verify(key: string): Promise<{ readonly status: string; readonly version?: KeyVersion }> {
    const acceptance = await acceptKey(key, { prefix: 'kr', lookup: directLookup((hash) => this.table.findByHash(hash)), nowMs: this.clock.nowMs });
    return acceptance.accepted ? { status: 'valid', version: acceptance.version } : { status: acceptance.reason, ...(acceptance.version === undefined ? {} : { version: acceptance.version }) };
  }

  versionWithStage(secretArn: string, stage: string): string | undefined {
    return Object.entries(stagesOf(this.model, secretArn)).find(([, stages]) => stages.includes(stage))?.[0];
  }

  currentKey(secretArn: string): ApiKey {
    const versionId = this.versionWithStage(secretArn, 'AWSCURRENT');
    if (versionId === undefined) throw new Error('the secret has no AWSCURRENT version');
    return keyOf(this.model, secretArn, versionId);
  }

  keyOf(secretArn: string, versionId: string): ApiKey {
    return keyOf(this.model, secretArn, versionId);
  }

  /** The client's key versions by version id, without key hashes: comparable across runs. */
  async versionsOf(clientId: string): Promise<Record<string, Omit<KeyVersion, 'keyHash' | 'keyDisplay'>>> {
    const versions = await this.table.listClientVersions(clientId);
    return Object.fromEntries(versions.map(({ keyHash: _hash, keyDisplay: _display, ...rest }) => [rest.versionId, rest]));
  }
}
