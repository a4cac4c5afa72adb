import { CustomResource, Duration, RemovalPolicy, SecretValue, Stack, Tags, Validations } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryWidget,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { CfnPermission, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, RetentionDays, SubscriptionFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { CfnRotationSchedule, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { KEY_TABLE_SCHEMA } from '../lambda/adapters/key-table-schema';
import { DEFAULT_KEY_PREFIX, isValidKeyPrefix } from '../lambda/domain/api-key';
import { CLIENT_ID_PATTERN, CLIENT_TAG, SCOPE_PATTERN } from '../lambda/domain/client-settings';
import { RouteScopes } from '../lambda/domain/route-scopes';
import { InvalidKeyrollPropsError } from './errors';
import { KeyRotationSchedule } from './key-rotation-schedule';
import { KeyTable } from './key-table';
import { KeyrollFunction } from './keyroll-function';

/** One API client: a secret holding its key, rotated on a schedule. */
export interface ApiClientProps {
  /** 1 to 64 letters, digits, `.`, `_` or `-`. Becomes the authorizer's principalId. */
  readonly clientId: string;
  /**
   * Scopes copied onto each of the client's key versions, checked against `routeScopes`.
   * @default - no scopes
   */
  readonly scopes?: readonly string[];
  /**
   * How long this client's replaced key stays accepted.
   * @default - the construct's `gracePeriod`
   */
  readonly gracePeriod?: Duration;
  /**
   * When this client's key rotates.
   * @default - the construct's `rotationSchedule`
   */
  readonly rotationSchedule?: KeyRotationSchedule;
  /**
   * A hard end for each key version, counted from its registration, in whole days. If rotations keep
   * failing past it, the current key stops working: a compliance bound traded for availability.
   * @default - none
   */
  readonly maxKeyAge?: Duration;
  /**
   * Usage-aware retirement: while this client still uses a replaced key (a request in the last hour) and
   * its window is about to end, the monitor extends the window by `step`, never beyond `maxGrace` after
   * the replacement, and tells the client. Whole hours.
   * @default - off: a replaced key ends with its grace period
   */
  readonly extendWhileInUse?: { readonly step: Duration; readonly maxGrace?: Duration };
}

export interface RotatingApiKeysProps {
  /** The clients to issue keys to. Each gets its secret and its first key when the stack creates them. */
  readonly clients: readonly ApiClientProps[];
  /**
   * How long a replaced key stays accepted. Must outlast the authorizer's caches.
   * @default Duration.hours(24)
   */
  readonly gracePeriod?: Duration;
  /**
   * When keys rotate.
   * @default KeyRotationSchedule.rate(Duration.days(30), { window: Duration.hours(4) })
   */
  readonly rotationSchedule?: KeyRotationSchedule;
  /**
   * The request header that carries the key.
   * @default 'x-api-key'
   */
  readonly apiKeyHeader?: string;
  /**
   * How long API Gateway caches the authorizer's answer for a key (0 to 1 hour).
   * @default Duration.minutes(1)
   */
  readonly authorizerResultsCacheTtl?: Duration;
  /**
   * How long the authorizer keeps a key version it read from the table.
   * @default Duration.seconds(30)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * How long the authorizer remembers that a key is unknown.
   * @default Duration.seconds(5)
   */
  readonly authorizerNegativeCacheTtl?: Duration;
  /**
   * When the key table cannot be read, how long a key read before keeps working.
   * @default Duration.minutes(5)
   */
  readonly authorizerStaleWindow?: Duration;
  /**
   * Scopes each route needs, e.g. `{ 'POST /orders': 'write' }`. A route matching no rule needs none.
   * @default - no route needs a scope
   */
  readonly routeScopes?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Prefix of the keys issued and accepted: 2 to 16 lower-case letters or digits, starting with a letter.
   * @default 'kr'
   */
  readonly keyPrefix?: string;
  /**
   * Encrypts the secrets, the key table and the topics. An imported key's policy must let
   * `events.amazonaws.com` and `cloudwatch.amazonaws.com` use it, or rotation alarms cannot reach the
   * operations topic.
   * @default - a new KMS key with yearly rotation, retained on stack deletion
   */
  readonly encryptionKey?: IKey;
  /**
   * A URL of the protected API that testSecret calls with the pending key, requiring a 2xx.
   * @default - no call; testSecret checks the key table only
   */
  readonly probeUrl?: string;
  /**
   * Retention of the functions' logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Refusals of known-but-invalid and unknown keys, in 5 minutes, that raise the refusal alarm.
   * @default 20
   */
  readonly refusalAlarmThreshold?: number;
  /**
   * Prefix of the client secrets' names.
   * @default 'keyroll/clients/'
   */
  readonly secretNamePrefix?: string;
  /**
   * How often the monitor checks every client's keys (reminders, expiry, reconciliation, stuck rotations).
   * @default Duration.minutes(15)
   */
  readonly monitorInterval?: Duration;
  /**
   * When to remind a client still using a key before that key stops working; each once. Whole hours.
   * @default [Duration.hours(24), Duration.hours(1)]
   */
  readonly reminderLeadTimes?: readonly Duration[];
  /**
   * How long AWSPENDING may sit on a version that is not current before operators get `rotation.stuck`,
   * and after which the key of an abandoned rotation is revoked. Whole minutes, at least 15.
   * @default Duration.hours(1)
   */
  readonly rotationStuckAfter?: Duration;
}

/**
 * The access log fields the usage counter reads, as API Gateway context variables. Put them in the API
 * stage's JSON access log format (`AccessLogFormat.custom(JSON.stringify({ ...USAGE_LOG_FIELDS, ... }))`).
 */
export const USAGE_LOG_FIELDS = {
  requestTimeEpoch: '$context.requestTimeEpoch',
  clientId: '$context.authorizer.clientId',
  keyVersion: '$context.authorizer.keyVersion',
} as const;

const DEFAULT_GRACE_PERIOD = Duration.hours(24);
const METRICS_NAMESPACE = 'keyroll';
const AUTHORIZER_SERVICE = 'keyroll-authorizer';
const USAGE_SERVICE = 'keyroll-usage';

/**
 * Zero-downtime API key rotation for API Gateway: per-client secrets rotated on a schedule, the key table
 * that says which key versions are valid, a Lambda authorizer that accepts all of them, client and
 * operations notifications, alarms and a dashboard.
 */
export class RotatingApiKeys extends Construct {
  readonly encryptionKey: IKey;
  readonly keyTable: TableV2;
  /** `key.rotated`, `key.expiring`, `key.expired`; subscribe with a filter policy on `clientId`. */
  readonly clientTopic: Topic;
  /** `rotation.failed`, `rotation.stuck`, EventBridge rotation failures and alarms. */
  readonly operationsTopic: Topic;
  readonly rotationFunction: KeyrollFunction;
  readonly authorizerFunction: KeyrollFunction;
  /** Counts requests per key version and hour from the API's access logs; see {@link countUsageFrom}. */
  readonly usageFunction: KeyrollFunction;
  /** Runs every `monitorInterval`: reminders, expiry, reconciliation, stuck rotations. */
  readonly monitorFunction: KeyrollFunction;
  /** Each client's secret, by client id. */
  readonly clientSecrets: ReadonlyMap<string, Secret>;
  readonly rotationErrorsAlarm: Alarm;
  readonly authorizerErrorsAlarm: Alarm;
  readonly refusalSpikeAlarm: Alarm;
  readonly monitorErrorsAlarm: Alarm;
  readonly usageErrorsAlarm: Alarm;
  readonly dashboard: Dashboard;

  private readonly apiKeyHeader: string;
  private readonly authorizerResultsCacheTtl: Duration;
  private requestAuthorizer: RequestAuthorizer | undefined;
  private usageSubscriptions = 0;

  constructor(scope: Construct, id: string, props: RotatingApiKeysProps) {
    super(scope, id);
    const settings = validate(props);
    this.apiKeyHeader = settings.apiKeyHeader;
    this.authorizerResultsCacheTtl = settings.resultsCacheTtl;

    this.encryptionKey = props.encryptionKey ?? this.newEncryptionKey();
    this.keyTable = new KeyTable(this, 'KeyTable', { encryptionKey: this.encryptionKey }).table;
    this.clientTopic = new Topic(this, 'ClientTopic', { displayName: 'keyroll client notifications', masterKey: this.encryptionKey, enforceSSL: true });
    this.operationsTopic = new Topic(this, 'OperationsTopic', { displayName: 'keyroll operations', masterKey: this.encryptionKey, enforceSSL: true });

    this.rotationFunction = new KeyrollFunction(this, 'RotationFunction', {
      entryName: 'rotation',
      description: 'rotates client API keys (Secrets Manager rotation contract)',
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
      environment: {
        KEY_TABLE_NAME: this.keyTable.tableName,
        CLIENT_TOPIC_ARN: this.clientTopic.topicArn,
        GRACE_PERIOD_SECONDS: String(settings.gracePeriod.toSeconds()),
        KEY_PREFIX: settings.keyPrefix,
        API_KEY_HEADER: settings.apiKeyHeader,
        OPERATIONS_TOPIC_ARN: this.operationsTopic.topicArn,
        ...(props.probeUrl === undefined ? {} : { PROBE_URL: props.probeUrl }),
      },
    });
    this.allowTable(this.rotationFunction, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], { indexActions: ['dynamodb:Query'] });
    this.allowKey(this.rotationFunction, ['kms:Decrypt', 'kms:GenerateDataKey']);
    this.rotationFunction.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.clientTopic.topicArn, this.operationsTopic.topicArn] }));

    this.authorizerFunction = new KeyrollFunction(this, 'AuthorizerFunction', {
      entryName: 'authorizer',
      description: 'API Gateway authorizer: accepts every key version inside its window',
      timeout: Duration.seconds(5),
      memorySize: 512,
      logRetention: props.logRetention,
      environment: {
        KEY_TABLE_NAME: this.keyTable.tableName,
        KEY_PREFIX: settings.keyPrefix,
        API_KEY_HEADER: settings.apiKeyHeader,
        CACHE_TTL_SECONDS: String(settings.cacheTtl.toSeconds()),
        NEGATIVE_CACHE_TTL_SECONDS: String(settings.negativeCacheTtl.toSeconds()),
        STALE_WINDOW_SECONDS: String(settings.staleWindow.toSeconds()),
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...(props.routeScopes === undefined ? {} : { ROUTE_SCOPES: JSON.stringify(props.routeScopes) }),
      },
    });
    this.allowTable(this.authorizerFunction, ['dynamodb:GetItem']);
    this.allowKey(this.authorizerFunction, ['kms:Decrypt']);

    this.usageFunction = new KeyrollFunction(this, 'UsageFunction', {
      entryName: 'usage',
      description: 'counts requests per key version and hour from the API access logs',
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
      environment: { KEY_TABLE_NAME: this.keyTable.tableName, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
    });
    this.allowTable(this.usageFunction, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    this.allowKey(this.usageFunction, ['kms:Decrypt', 'kms:GenerateDataKey']);

    this.monitorFunction = new KeyrollFunction(this, 'MonitorFunction', {
      entryName: 'monitor',
      description: 'reminds clients of expiring keys, expires and reconciles key versions, reports stuck rotations',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      environment: {
        KEY_TABLE_NAME: this.keyTable.tableName,
        CLIENT_TOPIC_ARN: this.clientTopic.topicArn,
        OPERATIONS_TOPIC_ARN: this.operationsTopic.topicArn,
        GRACE_PERIOD_SECONDS: String(settings.gracePeriod.toSeconds()),
        REMINDER_LEAD_HOURS: settings.reminderLeadTimes.map((lead) => lead.toHours()).join(','),
        ROTATION_STUCK_AFTER_MINUTES: String(settings.rotationStuckAfter.toMinutes()),
      },
    });
    this.allowTable(this.monitorFunction, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'], { indexActions: ['dynamodb:Query'] });
    this.allowKey(this.monitorFunction, ['kms:Decrypt', 'kms:GenerateDataKey']);
    this.monitorFunction.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.clientTopic.topicArn, this.operationsTopic.topicArn] }));
    // ListSecrets cannot be limited to some secrets: IAM only allows it on "*". It returns no secret values.
    this.monitorFunction.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }));
    Validations.of(this.monitorFunction.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'secretsmanager:ListSecrets supports no resource-level permissions; it lists metadata (names, tags, labels), never values',
    });
    new Rule(this, 'MonitorSchedule', {
      description: 'keyroll: runs the monitor',
      schedule: Schedule.rate(settings.monitorInterval),
      targets: [new LambdaFunction(this.monitorFunction, { maxEventAge: settings.monitorInterval })],
    });
    // The next scheduled run is the retry: a failed run is not repeated at once.
    this.monitorFunction.configureAsyncInvoke({ retryAttempts: 0 });

    const firstKeyProvider = this.newFirstKeyProvider(props.logRetention);
    const secrets = new Map<string, Secret>();
    for (const client of props.clients) {
      secrets.set(client.clientId, this.addClient(client, settings, firstKeyProvider));
    }
    this.clientSecrets = secrets;

    new Rule(this, 'RotationFailedRule', {
      description: 'keyroll: a Secrets Manager rotation failed or was abandoned',
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'] },
      },
      targets: [new SnsTopic(this.operationsTopic)],
    });

    const metrics = serviceMetrics(AUTHORIZER_SERVICE);
    this.rotationErrorsAlarm = this.alarm('RotationErrorsAlarm', 'a rotation step failed', this.rotationFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 1);
    this.authorizerErrorsAlarm = this.alarm(
      'AuthorizerErrorsAlarm',
      'the authorizer failed inside or could not read the key table (its Lambda Errors metric also counts every 401, so it is not used)',
      new MathExpression({ expression: 'internal + lookup', usingMetrics: { internal: metrics('RefusedInternalError'), lookup: metrics('LookupFailed') }, period: Duration.minutes(5) }),
      1,
    );
    this.refusalSpikeAlarm = this.alarm(
      'RefusalSpikeAlarm',
      'clients are presenting expired, revoked or unknown keys (after a rotation: clients that did not pick up their new key)',
      new MathExpression({
        expression: 'expired + revoked + unknown',
        usingMetrics: { expired: metrics('RefusedExpired'), revoked: metrics('RefusedRevoked'), unknown: metrics('RefusedNotFound') },
        period: Duration.minutes(5),
      }),
      settings.refusalAlarmThreshold,
    );
    this.monitorErrorsAlarm = this.alarm(
      'MonitorErrorsAlarm',
      'the monitor could not check some client (its error names each client and why)',
      this.monitorFunction.metricErrors({ period: settings.monitorInterval, statistic: 'Sum' }),
      1,
    );
    this.usageErrorsAlarm = this.alarm(
      'UsageErrorsAlarm',
      'usage counting failed; CloudWatch Logs retries, then the batch is not counted',
      this.usageFunction.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
    );
    this.dashboard = this.newDashboard(metrics);
  }

  /**
   * Counts the requests in this API access log group per client, key version and hour, for `keyroll
   * status` and the monitor's usage-aware reminders. The log format must be JSON with at least the fields
   * of {@link USAGE_LOG_FIELDS}; lines of refused requests (no key version) are filtered out before the
   * function is invoked.
   */
  countUsageFrom(logGroup: ILogGroup): SubscriptionFilter {
    return new SubscriptionFilter(this, `UsageSubscription${this.usageSubscriptions++}`, {
      logGroup,
      destination: new LambdaDestination(this.usageFunction),
      filterPattern: FilterPattern.stringValue('$.keyVersion', '!=', '-'),
      filterName: 'keyroll-usage',
    });
  }

  /**
   * The API Gateway REST authorizer to attach to your methods (`authorizationType: CUSTOM`). The key header
   * is its identity source, so a request without it is refused by API Gateway without invoking the function.
   */
  get authorizer(): RequestAuthorizer {
    this.requestAuthorizer ??= new RequestAuthorizer(this, 'Authorizer', {
      handler: this.authorizerFunction,
      identitySources: [IdentitySource.header(this.apiKeyHeader)],
      resultsCacheTtl: this.authorizerResultsCacheTtl,
    });
    return this.requestAuthorizer;
  }

  private newEncryptionKey(): Key {
    const key = new Key(this, 'EncryptionKey', {
      description: 'keyroll: client secrets, key table, notification topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge and CloudWatch alarms publish to the encrypted operations topic.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('events.amazonaws.com'), new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return key;
  }

  private allowTable(fn: KeyrollFunction, actions: string[], options: { indexActions?: string[] } = {}): void {
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.keyTable.tableArn] }));
    if (options.indexActions !== undefined) {
      fn.addToRolePolicy(
        new PolicyStatement({ actions: options.indexActions, resources: [`${this.keyTable.tableArn}/index/${KEY_TABLE_SCHEMA.byClientIndex.indexName}`] }),
      );
    }
  }

  private allowKey(grantee: IGrantable, actions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [this.encryptionKey.keyArn] }));
  }

  /** The custom resource that issues each new client's first key (see `lambda/functions/first-key.ts`). */
  private newFirstKeyProvider(logRetention: RetentionDays | undefined): Provider {
    const onEvent = new KeyrollFunction(this, 'FirstKeyFunction', {
      entryName: 'first-key',
      description: 'issues a new client\'s first key by rotating its secret once, at creation',
      timeout: Duration.minutes(5),
      logRetention,
    });
    onEvent.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.rotationFunction.functionArn] }));
    const provider = new Provider(this, 'FirstKeyProvider', {
      onEventHandler: onEvent,
      logGroup: new LogGroup(this, 'FirstKeyProviderLogs', { retention: logRetention ?? RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    });
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The CDK custom resource framework function uses AWSLambdaBasicExecutionRole; it only writes its own logs',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(onEvent.node.defaultChild as CfnFunction)}.Arn>:*]`,
        reason: 'The CDK custom resource framework may invoke any version of keyroll\'s first-key function, and nothing else',
      },
    );
    return provider;
  }

  private addClient(client: ApiClientProps, settings: ValidSettings, firstKeyProvider: Provider): Secret {
    const scope = new Construct(this, `Client-${client.clientId}`);
    const secret = new Secret(scope, 'Secret', {
      secretName: `${settings.secretNamePrefix}${client.clientId}`,
      description: `keyroll: API key of client ${client.clientId}`,
      encryptionKey: this.encryptionKey,
      // A placeholder without a key: the first rotation, below, fills it. Nothing secret is in the template.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ clientId: client.clientId })),
    });
    Tags.of(secret).add(CLIENT_TAG.clientId, client.clientId);
    if (client.scopes !== undefined && client.scopes.length > 0) Tags.of(secret).add(CLIENT_TAG.scopes, client.scopes.join(' '));
    if (client.gracePeriod !== undefined) Tags.of(secret).add(CLIENT_TAG.gracePeriodSeconds, String(client.gracePeriod.toSeconds()));
    if (client.maxKeyAge !== undefined) Tags.of(secret).add(CLIENT_TAG.maxKeyAgeDays, String(client.maxKeyAge.toDays()));
    if (client.extendWhileInUse !== undefined) {
      Tags.of(secret).add(CLIENT_TAG.extendWhileInUseHours, String(client.extendWhileInUse.step.toHours()));
      if (client.extendWhileInUse.maxGrace !== undefined) Tags.of(secret).add(CLIENT_TAG.maxGraceHours, String(client.extendWhileInUse.maxGrace.toHours()));
    }

    // Only the rotation function writes key versions; everyone else, administrators included, rotates.
    // Moving labels stays with IAM: clearing a stuck AWSPENDING is the operators' recovery (README runbook),
    // and a label can only ever point at a version the rotation function wrote.
    secret.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['secretsmanager:PutSecretValue'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': this.rotationFunction.executionRole.roleArn } },
      }),
    );
    this.rotationFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: [secret.secretArn],
      }),
    );
    this.monitorFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'], resources: [secret.secretArn] }),
    );
    firstKeyProvider.onEventHandler.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'], resources: [secret.secretArn] }),
    );

    const invoke = new CfnPermission(scope, 'RotationInvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: this.rotationFunction.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: Stack.of(this).account,
      sourceArn: secret.secretArn,
    });
    const schedule = client.rotationSchedule ?? settings.rotationSchedule;
    const rotation = new CfnRotationSchedule(scope, 'RotationSchedule', {
      secretId: secret.secretArn,
      rotationLambdaArn: this.rotationFunction.functionArn,
      rotationRules: { scheduleExpression: schedule.expression, duration: schedule.window },
      // A deploy never rotates a key by itself; the first key comes from the custom resource below.
      rotateImmediatelyOnUpdate: false,
    });
    rotation.addResourceDependency(invoke, 'Secrets Manager must be allowed to invoke the function before the schedule is created');
    const firstKey = new CustomResource(scope, 'FirstKey', {
      serviceToken: firstKeyProvider.serviceToken,
      resourceType: 'Custom::KeyrollFirstKey',
      properties: { SecretId: secret.secretArn },
    });
    firstKey.node.addDependency(rotation);
    return secret;
  }

  private alarm(id: string, description: string, metric: IMetric, threshold: number): Alarm {
    const alarm = new Alarm(this, id, {
      alarmDescription: `keyroll: ${description}`,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.operationsTopic));
    return alarm;
  }

  private newDashboard(metric: (name: string) => Metric): Dashboard {
    const refusalReasons = ['Missing', 'Ambiguous', 'WrongPrefix', 'BadLength', 'BadCharacters', 'BadChecksum', 'NotFound', 'NotYetValid', 'Expired', 'Revoked', 'LookupFailed', 'LookupThrottled', 'MalformedEvent', 'InternalError'];
    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    dashboard.addWidgets(
      new GraphWidget({ title: 'Authorizer decisions', left: ['Allowed', 'Forbidden', 'Refused'].map(metric), width: 12 }),
      new GraphWidget({ title: 'Refusals by reason', left: refusalReasons.map((reason) => metric(`Refused${reason}`)), width: 12 }),
      new GraphWidget({ title: 'Authorizer cache', left: ['CacheHit', 'CacheMiss', 'StaleAllowed'].map(metric), width: 12 }),
      new GraphWidget({
        title: 'Usage counting (access log lines)',
        left: ['UsageLinesCounted', 'UsageLinesMalformed', 'UsageDuplicateDeliveries', 'UsageDeliveriesUnreadable'].map(serviceMetrics(USAGE_SERVICE)),
        width: 12,
      }),
      new GraphWidget({
        title: 'Monitor function',
        left: [this.monitorFunction.metricInvocations({ statistic: 'Sum' }), this.monitorFunction.metricErrors({ statistic: 'Sum' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Rotation function',
        left: [this.rotationFunction.metricInvocations({ statistic: 'Sum' }), this.rotationFunction.metricErrors({ statistic: 'Sum' })],
        width: 12,
      }),
      new LogQueryWidget({
        title: 'Refusals per client (known keys)',
        logGroupNames: [this.authorizerFunction.logGroup.logGroupName],
        queryLines: ["filter message = 'request refused' and ispresent(clientId)", 'stats count() as refusals by clientId, reason', 'sort refusals desc'],
        width: 12,
      }),
      new LogQueryWidget({
        title: 'Rotations per client',
        logGroupNames: [this.rotationFunction.logGroup.logGroupName],
        queryLines: ["filter message = 'rotation step done' and step = 'finishSecret'", 'stats count() as rotations by secretId', 'sort rotations desc'],
        width: 12,
      }),
    );
    return dashboard;
  }
}

interface ValidSettings {
  readonly gracePeriod: Duration;
  readonly rotationSchedule: KeyRotationSchedule;
  readonly apiKeyHeader: string;
  readonly resultsCacheTtl: Duration;
  readonly cacheTtl: Duration;
  readonly negativeCacheTtl: Duration;
  readonly staleWindow: Duration;
  readonly keyPrefix: string;
  readonly refusalAlarmThreshold: number;
  readonly secretNamePrefix: string;
  readonly monitorInterval: Duration;
  readonly reminderLeadTimes: readonly Duration[];
  readonly rotationStuckAfter: Duration;
}

/** Checks the props at synth time, with errors that show the bad value. */
function validate(props: RotatingApiKeysProps): ValidSettings {
  const settings: ValidSettings = {
    gracePeriod: props.gracePeriod ?? DEFAULT_GRACE_PERIOD,
    rotationSchedule: props.rotationSchedule ?? KeyRotationSchedule.rate(Duration.days(30), { window: Duration.hours(4) }),
    apiKeyHeader: (props.apiKeyHeader ?? 'x-api-key').toLowerCase(),
    resultsCacheTtl: props.authorizerResultsCacheTtl ?? Duration.minutes(1),
    cacheTtl: props.authorizerCacheTtl ?? Duration.seconds(30),
    negativeCacheTtl: props.authorizerNegativeCacheTtl ?? Duration.seconds(5),
    staleWindow: props.authorizerStaleWindow ?? Duration.minutes(5),
    keyPrefix: props.keyPrefix ?? DEFAULT_KEY_PREFIX,
    refusalAlarmThreshold: props.refusalAlarmThreshold ?? 20,
    secretNamePrefix: props.secretNamePrefix ?? 'keyroll/clients/',
    monitorInterval: props.monitorInterval ?? Duration.minutes(15),
    reminderLeadTimes: props.reminderLeadTimes ?? [Duration.hours(24), Duration.hours(1)],
    rotationStuckAfter: props.rotationStuckAfter ?? Duration.hours(1),
  };
  if (!/^[a-z0-9-]{1,64}$/.test(settings.apiKeyHeader)) fail(`apiKeyHeader must be an HTTP header name; got "${props.apiKeyHeader}"`);
  if (!isValidKeyPrefix(settings.keyPrefix)) fail(`keyPrefix must be 2 to 16 lower-case letters or digits, starting with a letter; got "${settings.keyPrefix}"`);
  if (settings.resultsCacheTtl.toSeconds() > 3600) fail(`authorizerResultsCacheTtl must be at most 1 hour; got ${settings.resultsCacheTtl.toHumanString()}`);
  if (settings.cacheTtl.toSeconds() > 3600) fail(`authorizerCacheTtl must be at most 1 hour; got ${settings.cacheTtl.toHumanString()}`);
  if (settings.negativeCacheTtl.toSeconds() > 300) fail(`authorizerNegativeCacheTtl must be at most 5 minutes; got ${settings.negativeCacheTtl.toHumanString()}`);
  if (!Number.isInteger(settings.refusalAlarmThreshold) || settings.refusalAlarmThreshold < 1) {
    fail(`refusalAlarmThreshold must be a whole number of at least 1; got ${settings.refusalAlarmThreshold}`);
  }
  const wholeHours = (d: Duration) => Number.isInteger(d.toHours({ integral: false })) && d.toHours() >= 1;
  const monitorMinutes = settings.monitorInterval.toMinutes({ integral: false });
  if (!Number.isInteger(monitorMinutes) || monitorMinutes < 1 || monitorMinutes > 24 * 60) {
    fail(`monitorInterval must be whole minutes, from 1 minute to 1 day; got ${settings.monitorInterval.toHumanString()}`);
  }
  if (settings.reminderLeadTimes.length === 0 || !settings.reminderLeadTimes.every(wholeHours)) {
    fail(`reminderLeadTimes must be one or more whole hours; got ${settings.reminderLeadTimes.map((d) => d.toHumanString()).join(', ') || 'none'}`);
  }
  const stuckMinutes = settings.rotationStuckAfter.toMinutes({ integral: false });
  if (!Number.isInteger(stuckMinutes) || stuckMinutes < 15 || stuckMinutes > 7 * 24 * 60) {
    fail(`rotationStuckAfter must be whole minutes, from 15 minutes to 7 days; got ${settings.rotationStuckAfter.toHumanString()}`);
  }
  if (props.routeScopes !== undefined) {
    try {
      RouteScopes.parse(JSON.stringify(props.routeScopes));
    } catch (error) {
      fail(`routeScopes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // A replaced key must stay accepted while any cache in front of the table may still hold the new key's
  // absence or the old key's open window.
  const cachesSeconds = settings.resultsCacheTtl.toSeconds() + settings.cacheTtl.toSeconds();
  const checkGrace = (gracePeriod: Duration, whose: string) => {
    if (gracePeriod.toSeconds() < cachesSeconds) {
      fail(
        `${whose} of ${gracePeriod.toHumanString()} is shorter than the caches it must outlast: authorizerResultsCacheTtl (${settings.resultsCacheTtl.toHumanString()}) + authorizerCacheTtl (${settings.cacheTtl.toHumanString()}) = ${cachesSeconds} seconds`,
      );
    }
  };
  checkGrace(settings.gracePeriod, 'gracePeriod');
  const seen = new Set<string>();
  for (const client of props.clients) {
    if (!CLIENT_ID_PATTERN.test(client.clientId)) fail(`clientId must be 1 to 64 letters, digits, ".", "_" or "-"; got "${client.clientId}"`);
    if (seen.has(client.clientId)) fail(`clientId "${client.clientId}" is used twice`);
    seen.add(client.clientId);
    if (client.gracePeriod !== undefined) checkGrace(client.gracePeriod, `gracePeriod of client "${client.clientId}"`);
    if (client.maxKeyAge !== undefined && (!Number.isInteger(client.maxKeyAge.toDays({ integral: false })) || client.maxKeyAge.toDays() < 1)) {
      fail(`maxKeyAge of client "${client.clientId}" must be whole days, at least 1; got ${client.maxKeyAge.toHumanString()}`);
    }
    const extension = client.extendWhileInUse;
    if (extension !== undefined && (!wholeHours(extension.step) || extension.step.toHours() > 24 * 30)) {
      fail(`extendWhileInUse.step of client "${client.clientId}" must be whole hours, from 1 hour to 30 days; got ${extension.step.toHumanString()}`);
    }
    if (extension?.maxGrace !== undefined && (!wholeHours(extension.maxGrace) || extension.maxGrace.toHours() > 24 * 366)) {
      fail(`extendWhileInUse.maxGrace of client "${client.clientId}" must be whole hours, from 1 hour to 366 days; got ${extension.maxGrace.toHumanString()}`);
    }
    for (const scope of client.scopes ?? []) {
      if (!SCOPE_PATTERN.test(scope)) fail(`scope "${scope}" of client "${client.clientId}" must be 1 to 64 letters, digits, ":", ".", "_", "/" or "-"`);
    }
  }
  return settings;
}

/** keyroll's EMF metrics of one function (dimension `service`), summed over 5 minutes. */
function serviceMetrics(service: string): (metricName: string) => Metric {
  return (metricName) => new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic: 'Sum', period: Duration.minutes(5) });
}

function fail(message: string): never {
  throw new InvalidKeyrollPropsError(message);
}
