import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { ApiKeySourceType, Period, RequestAuthorizer, UsagePlan, type CfnRestApi, type GatewayResponse, type RestApi, type RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { HttpLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Match, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal, type Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { CfnPermission, FunctionUrlAuthType, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, RetentionDays, SubscriptionFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { usageLogGroupProblems } from './access-log-rules';
import { addClientErrorResponses, newAuthorizerFunction, newHttpAuthorizer, newRestAuthorizer, replicaAuthorizerFunctionName } from './authorizer-wiring';
import { ENDED_KEY_REPORT_MESSAGE } from '../lambda/contracts/ended-key-report';
import { FIRST_KEY_FUNCTION_TIMEOUT_SECONDS, FIRST_KEY_VARIABLES } from '../lambda/config/first-key-config';
import { MONITOR_VARIABLES } from '../lambda/config/monitor-config';
import { ROTATION_VARIABLES } from '../lambda/config/rotation-config';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config/shared-settings';
import { USAGE_VARIABLES } from '../lambda/config/usage-config';
import { DELIVERY_VARIABLES } from '../lambda/config/delivery-config';
import { EMERGENCY_VARIABLES, LEAK_REPORT_VARIABLES } from '../lambda/config/leak-report-config';
import { FORBIDDEN_STATUS } from '../lambda/contracts/access-log';
import { authorizerCacheFlushPermissions } from '../lambda/contracts/authorizer-cache-flush-permissions';
import { INSTALL_OUTPUT_DESCRIPTION, type InstallDescription } from '../lambda/contracts/install-description';
import { KEY_TABLE_ACCESS } from '../lambda/contracts/key-table-access';
import { addClientResources, deploymentAdministrators, grantReadClientKey } from './client-resources';
import { InvalidKeyrollPropsError } from '../lambda/domain/errors';
import { KeyTable } from './key-table';
import { KeyrollFunction } from './keyroll-function';
import { createAlarms, createDashboard } from './observability';
import type { RotatingApiKeysProps } from './props';
import { validateProps, type ValidSettings } from './validation';

/**
 * Zero-downtime API key rotation for API Gateway: per-client secrets rotated on a schedule, the key table
 * that says which key versions are valid, a Lambda authorizer (REST and HTTP APIs) that accepts all of them,
 * client and operations notifications, alarms and a dashboard.
 */
export class RotatingApiKeys extends Construct {
  /** Encrypts the secrets, the key table and the topics: the `encryptionKey` prop, or the key made for the install. */
  readonly encryptionKey: IKey;
  /** Key versions by hash, registrations, usage and the audit trail (a global table; retained). */
  readonly keyTable: TableV2;
  /** `key.rotated`, `key.expiring`, `key.expired`; subscribe with a filter policy on `clientId`. */
  readonly clientTopic: Topic;
  /** `rotation.failed`, `rotation.stuck`, EventBridge rotation failures and alarms. */
  readonly operationsTopic: Topic;
  /** Secrets Manager's rotation function for every client secret: createSecret, setSecret, testSecret, finishSecret. */
  readonly rotationFunction: KeyrollFunction;
  /** The Lambda REQUEST authorizer behind {@link authorizer} and {@link httpAuthorizer}. */
  readonly authorizerFunction: KeyrollFunction;
  /** Counts requests per key version and hour from the API's access logs; see {@link countUsageFrom}. */
  readonly usageFunction: KeyrollFunction;
  /** Runs every `monitorInterval`: reminders, expiry, reconciliation, stuck rotations. */
  readonly monitorFunction: KeyrollFunction;
  /** Key delivery, when a client declares a `deliveryPublicKey`: the function and its URL. */
  readonly deliveryFunction?: KeyrollFunction;
  /** `GET <deliveryUrl>v1/clients/<clientId>/key`, with a key of that client in the key header. */
  readonly deliveryUrl?: string;
  /** With `leakedKeyReports`: the function that handles GitHub secret scanning reports, and its URL. */
  readonly leakReportFunction?: KeyrollFunction;
  /** With `leakedKeyReports`: the function that ends reported keys, the only one the report endpoint may invoke. */
  readonly emergencyFunction?: KeyrollFunction;
  /** With `leakedKeyReports`: the URL to register with GitHub secret scanning (POST, signed by GitHub). */
  readonly leakReportUrl?: string;
  /** Each client's secret, by client id. */
  readonly clientSecrets: ReadonlyMap<string, Secret>;
  /** The `usagePlans`, by name; `applyUsagePlans` attaches them to a REST API's stage. */
  readonly usagePlans: ReadonlyMap<string, UsagePlan>;
  /** The prefix of every client secret's name: what makes a secret this install's. */
  readonly secretNamePrefix: string;
  /** The rotation function's errors (a step threw), to the operations topic. */
  readonly rotationErrorsAlarm: Alarm;
  /** A rotation was refused a key: a secret that is not the one keyroll registered for its client (`RotationRefused`). */
  readonly rotationRefusedAlarm: Alarm;
  /** The authorizer's errors: API Gateway answered 500 to clients. */
  readonly authorizerErrorsAlarm: Alarm;
  /** Expired, revoked and unknown-key refusals above `refusalAlarmThreshold` in 5 minutes. */
  readonly refusalSpikeAlarm: Alarm;
  /** With `refusalAnomalyAlarm`: refusals of ended keys above their learned band. */
  readonly refusalAnomalyAlarm?: Alarm;
  /** With `refusalAnomalyAlarm` and `usagePlans`: the same alarm per usage plan (client tier), by plan name. */
  readonly refusalAnomalyAlarmsByPlan: ReadonlyMap<string, Alarm>;
  /** The monitor's errors: reminders, expiry and reconciliation may not have run. */
  readonly monitorErrorsAlarm: Alarm;
  /** The usage function's errors: usage counts may be missing. */
  readonly usageErrorsAlarm: Alarm;
  /** Authorizer decisions, refusals by reason and per client, the authorizer's cache, usage counting, the monitor and the rotation function. */
  readonly dashboard: Dashboard;

  private readonly settings: ValidSettings;
  private requestAuthorizer: RequestAuthorizer | undefined;
  private httpLambdaAuthorizer: HttpLambdaAuthorizer | undefined;
  private usageSubscriptions = 0;

  constructor(scope: Construct, id: string, props: RotatingApiKeysProps) {
    super(scope, id);
    const settings = validateProps(props, { defaultSecretNamePrefix: defaultSecretNamePrefix(this), stackRegion: Stack.of(this).region }, this.node.path);
    this.settings = settings;
    INSTALL_SETTINGS.set(this, settings);
    this.secretNamePrefix = settings.secretNamePrefix;
    const stack = Stack.of(this);

    this.encryptionKey = props.encryptionKey ?? this.newEncryptionKey();
    this.keyTable = new KeyTable(this, 'KeyTable', {
      encryptionKey: this.encryptionKey,
      replicas: settings.replicaRegions,
      ...(props.keyTableName === undefined ? {} : { tableName: props.keyTableName }),
    }).table;
    this.clientTopic = new Topic(this, 'ClientTopic', { displayName: 'keyroll client notifications', masterKey: this.encryptionKey, enforceSSL: true });
    this.operationsTopic = new Topic(this, 'OperationsTopic', { displayName: 'keyroll operations', masterKey: this.encryptionKey, enforceSSL: true });
    const installSecrets = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${settings.secretNamePrefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

    this.rotationFunction = new KeyrollFunction(this, 'RotationFunction', {
      entry: 'rotation',
      description: 'rotates client API keys (Secrets Manager rotation contract)',
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
    })
      .useKeyTable(this.keyTable, KEY_TABLE_ACCESS.rotation)
      .configure(ROTATION_VARIABLES, {
        clientTopicArn: this.clientTopic.topicArn,
        operationsTopicArn: this.operationsTopic.topicArn,
        metricsNamespace: DEFAULT_METRICS_NAMESPACE,
        knownKeysWindowMs: settings.knownKeysWindow.toMilliseconds(),
        gracePeriodSeconds: settings.gracePeriod.toSeconds(),
        keyPrefix: settings.keyPrefix,
        apiKeyHeader: settings.apiKeyHeader,
        ...(props.probeUrl === undefined ? {} : { probeUrl: props.probeUrl }),
        ...(settings.replicaRegions.length === 0 ? {} : { replicaRegions: settings.replicaRegions.map(({ region }) => region) }),
      });
    for (const replica of settings.replicaRegions) {
      // The replica wait reads each region's table, and decrypts with that region's key.
      this.rotationFunction.addToRolePolicy(
        new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [stack.formatArn({ service: 'dynamodb', region: replica.region, resource: 'table', resourceName: this.keyTable.tableName })] }),
      );
      // Secrets Manager encrypts each new version's replica with that region's key, which AWS documents as the
      // caller's right for cross-account replicas; granted for any (harmless where it is not needed).
      // https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
      this.rotationFunction.addToRolePolicy(new PolicyStatement({ actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resources: [replica.encryptionKeyArn] }));
    }
    this.allowKey(this.rotationFunction, ['kms:Decrypt', 'kms:GenerateDataKey']);
    this.rotationFunction.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.clientTopic.topicArn, this.operationsTopic.topicArn] }));
    // Every secret of this install, the clients added at run time included (their names carry the prefix).
    this.rotationFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: [installSecrets],
      }),
    );

    this.authorizerFunction = newAuthorizerFunction(this, this.keyTable, settings, { logRetention: props.logRetention, usagePlans: true });
    this.allowKey(this.authorizerFunction, ['kms:Decrypt']);

    this.usageFunction = new KeyrollFunction(this, 'UsageFunction', {
      entry: 'usage',
      description: 'counts requests per key version and hour from the API access logs',
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
    })
      .useKeyTable(this.keyTable, KEY_TABLE_ACCESS.usage)
      .configure(USAGE_VARIABLES, { metricsNamespace: DEFAULT_METRICS_NAMESPACE });
    this.allowKey(this.usageFunction, ['kms:Decrypt', 'kms:GenerateDataKey']);
    // The authorizer's reports of ended keys refused go to the usage counter, which keeps them for the
    // monitor's missed-switch check. Only matching lines are delivered, so a quiet install pays nothing.
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
    new SubscriptionFilter(this, 'EndedKeyReportSubscription', {
      logGroup: this.authorizerFunction.logGroup,
      destination: new LambdaDestination(this.usageFunction),
      filterPattern: FilterPattern.stringValue('$.message', '=', ENDED_KEY_REPORT_MESSAGE),
      filterName: 'keyroll-ended-key-reports',
    });

    this.monitorFunction = new KeyrollFunction(this, 'MonitorFunction', {
      entry: 'monitor',
      description: 'reminds clients of expiring keys, expires and reconciles key versions, reports stuck rotations',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
    })
      .useKeyTable(this.keyTable, KEY_TABLE_ACCESS.monitor)
      .configure(MONITOR_VARIABLES, {
        clientTopicArn: this.clientTopic.topicArn,
        operationsTopicArn: this.operationsTopic.topicArn,
        defaultGracePeriodSeconds: settings.gracePeriod.toSeconds(),
        reminderLeadsMs: settings.reminderLeadTimes.map((lead) => lead.toMilliseconds()),
        stuckAfterMinutes: settings.rotationStuckAfter.toMinutes(),
        secretNamePrefix: settings.secretNamePrefix,
        missedRotationMinRefusals: settings.missedRotationMinRefusals,
      });
    this.allowKey(this.monitorFunction, ['kms:Decrypt', 'kms:GenerateDataKey']);
    this.monitorFunction.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.clientTopic.topicArn, this.operationsTopic.topicArn] }));
    // ListSecrets cannot be limited to some secrets: IAM only allows it on "*". It returns no secret values,
    // and the monitor filters it to this install's name prefix.
    this.monitorFunction.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }));
    this.monitorFunction.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:ListSecretVersionIds'], resources: [installSecrets] }));
    Validations.of(this.monitorFunction.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'secretsmanager:ListSecrets supports no resource-level permissions; it lists metadata (names, tags, labels), never values',
    });
    for (const fn of [this.rotationFunction, this.monitorFunction]) {
      Validations.of(fn.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${iamFindingResource(this, installSecrets)}]`,
        reason: 'The secrets of this install, by their name prefix: clients added at run time are covered without a deploy; no other secret is',
      });
    }
    new Rule(this, 'MonitorSchedule', {
      description: 'keyroll: runs the monitor',
      schedule: Schedule.rate(settings.monitorInterval),
      targets: [new LambdaFunction(this.monitorFunction, { maxEventAge: settings.monitorInterval })],
    });
    // The next scheduled run is the retry: a failed run is not repeated at once.
    this.monitorFunction.configureAsyncInvoke({ retryAttempts: 0 });

    // Secrets Manager invokes the rotation function for this account's secrets; the form AWS documents.
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
    const rotationInvokePermission = new CfnPermission(this, 'RotationInvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: this.rotationFunction.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: stack.account,
    });
    const firstKeyProvider = this.newFirstKeyProvider(props.logRetention, installSecrets);
    const plans = new Construct(this, 'UsagePlans');
    this.usagePlans = new Map(
      Object.entries(settings.usagePlans).map(([name, limits]) => [
        name,
        new UsagePlan(plans, name, {
          name: `${settings.secretNamePrefix}${name}`,
          description: `keyroll usage plan ${name}: the limits apply to each client in it`,
          throttle: { rateLimit: limits.rateLimit, burstLimit: limits.burstLimit },
          ...(limits.quota === undefined ? {} : { quota: { limit: limits.quota.limit, period: Period[limits.quota.period] } }),
        }),
      ]),
    );
    const secrets = new Map<string, Secret>();
    for (const client of props.clients) {
      secrets.set(
        client.clientId,
        addClientResources(this, client, { settings, encryptionKey: this.encryptionKey, rotationFunction: this.rotationFunction, rotationInvokePermission, firstKeyProvider, usagePlans: this.usagePlans }),
      );
    }
    this.clientSecrets = secrets;

    // The rotation events name the secret in detail.additionalEventData.SecretId: only this install's.
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html
    const secretArnPrefix = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: settings.secretNamePrefix, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const rotationFailedRule = new Rule(this, 'RotationFailedRule', {
      description: 'keyroll: a Secrets Manager rotation of this install failed or was abandoned',
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
          additionalEventData: { SecretId: Match.prefix(secretArnPrefix) },
        },
      },
    });
    // EventBridge publishes with a role of its own (sns:Publish and the key on this topic only), so neither
    // the topic nor the key policy needs a statement for events.amazonaws.com.
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
    const deliveryRole = new Role(this, 'RotationFailedDeliveryRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'keyroll: EventBridge delivers rotation failures to the operations topic',
    });
    rotationFailedRule.addTarget(new SnsTopic(this.operationsTopic, { role: deliveryRole }));
    Validations.of(deliveryRole).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* (the grant SNS documents), on this install\'s key only',
    });

    if (props.clients.some((client) => client.deliveryPublicKey !== undefined)) {
      const delivery = new KeyrollFunction(this, 'DeliveryFunction', {
        entry: 'delivery',
        description: 'key delivery: a client\'s current key, encrypted to its public key',
        timeout: Duration.seconds(10),
        logRetention: props.logRetention,
        reservedConcurrentExecutions: settings.publicEndpointConcurrency.delivery,
      })
        .useKeyTable(this.keyTable, KEY_TABLE_ACCESS.delivery)
        .configure(DELIVERY_VARIABLES, {
          keyPrefix: settings.keyPrefix,
          apiKeyHeader: settings.apiKeyHeader,
          deliveriesPerMinute: settings.deliveriesPerMinute,
        });
      this.allowKey(delivery, ['kms:Decrypt', 'kms:GenerateDataKey']);
      delivery.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], resources: [installSecrets] }));
      Validations.of(delivery.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${iamFindingResource(this, installSecrets)}]`,
        reason: 'The secrets of this install, by their name prefix: the current key of the client that authenticated with its own key',
      });
      // The function authenticates each request itself (a key of the client, still in its window), so the URL
      // takes no IAM auth; CDK grants both lambda:InvokeFunctionUrl and lambda:InvokeFunction (InvokedViaFunctionUrl),
      // which function URLs need since October 2025: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
      this.deliveryUrl = delivery.addFunctionUrl({ authType: FunctionUrlAuthType.NONE }).url;
      this.deliveryFunction = delivery;
    }

    // Each replica region's authorizer has a name fixed by this install (lib/authorizer-wiring.ts), so its ARN is known here.
    const replicaAuthorizers = settings.replicaRegions.map(({ region, encryptionKeyArn }) => ({
      region,
      encryptionKeyArn,
      authorizerFunctionArn: stack.formatArn({ service: 'lambda', region, resource: 'function', resourceName: replicaAuthorizerFunctionName(stack.stackName, this.node.path), arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    }));

    if (props.leakedKeyReports !== undefined) {
      // The endpoint is on the internet: it may only hand hashes to the emergency function, which alone may
      // write the key table for it (and only revoke: its one entry point takes hashes to end). Its asynchronous
      // flush of a region with many APIs paces itself at the control plane's 10 calls a second: up to 5 minutes.
      const emergency = new KeyrollFunction(this, 'EmergencyFunction', {
        entry: 'emergency',
        description: 'ends leaked keys: revokes them, rotates their clients, flushes API Gateway\'s cached answers',
        timeout: Duration.minutes(5),
        logRetention: props.logRetention,
      })
        .useKeyTable(this.keyTable, KEY_TABLE_ACCESS.emergency)
        .configure(EMERGENCY_VARIABLES, {
          clientTopicArn: this.clientTopic.topicArn,
          operationsTopicArn: this.operationsTopic.topicArn,
          defaultGracePeriodSeconds: settings.gracePeriod.toSeconds(),
          secretNamePrefix: settings.secretNamePrefix,
          leakAction: props.leakedKeyReports.action ?? 'rotate',
          authorizerFunctionArn: this.authorizerFunction.functionArn,
          revocationPollMs: settings.revocationPollInterval.toMilliseconds(),
          replicaAuthorizers: replicaAuthorizers.map(({ region, authorizerFunctionArn }) => ({ region, authorizerFunctionArn })),
        });
      this.allowKey(emergency, ['kms:Decrypt', 'kms:GenerateDataKey']);
      for (const replica of replicaAuthorizers) {
        // Its copy of the key table says when the revocation has arrived there (GetItem, and Query on the feed).
        const replicaTable = stack.formatArn({ service: 'dynamodb', region: replica.region, resource: 'table', resourceName: this.keyTable.tableName });
        emergency.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [replicaTable, `${replicaTable}/index/*`] }));
        emergency.addToRolePolicy(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [replica.encryptionKeyArn] }));
        Validations.of(emergency.executionRole).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${iamFindingResource(this, `${replicaTable}/index/*`)}]`,
          reason: 'The key table\'s replica in a replica region, read to know when a revocation has arrived there',
        });
      }
      emergency.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [this.clientTopic.topicArn, this.operationsTopic.topicArn] }));
      emergency.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'], resources: [installSecrets] }));
      // RotateSecret needs the caller to be allowed to invoke the rotation function.
      emergency.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.rotationFunction.functionArn] }));
      for (const { actions, resources } of [stack.region, ...replicaAuthorizers.map(({ region }) => region)].flatMap((region) => authorizerCacheFlushPermissions(stack.partition, region))) {
        emergency.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [...resources] }));
        for (const resource of resources.filter((arn) => arn.includes('*'))) {
          Validations.of(emergency.executionRole).acknowledge({
            id: `AwsSolutions-IAM5[Resource::${iamFindingResource(this, resource)}]`,
            reason: 'Every API of the region whose authorizer is keyroll\'s, wherever it is deployed: their cached answers are flushed after a leaked key is revoked',
          });
        }
      }
      Validations.of(emergency.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${iamFindingResource(this, installSecrets)}]`,
        reason: 'The secrets of this install, by their name prefix: the client of each reported key',
      });
      this.emergencyFunction = emergency;

      const reports = new KeyrollFunction(this, 'LeakReportFunction', {
        entry: 'leak-report',
        description: 'GitHub secret scanning partner endpoint: verifies reports and has the emergency function end the keys',
        timeout: Duration.seconds(30),
        logRetention: props.logRetention,
        reservedConcurrentExecutions: settings.publicEndpointConcurrency.leakReports,
      }).configure(LEAK_REPORT_VARIABLES, { keyPrefix: settings.keyPrefix, emergencyFunctionArn: emergency.functionArn });
      reports.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [emergency.functionArn] }));
      // GitHub signs each report; the function checks the signature, so the URL takes no IAM auth
      // (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html).
      this.leakReportUrl = reports.addFunctionUrl({ authType: FunctionUrlAuthType.NONE }).url;
      this.leakReportFunction = reports;
    }

    const description: InstallDescription = {
      version: 1,
      keyTableName: this.keyTable.tableName,
      clientTopicArn: this.clientTopic.topicArn,
      operationsTopicArn: this.operationsTopic.topicArn,
      secretNamePrefix: settings.secretNamePrefix,
      rotationFunctionArn: this.rotationFunction.functionArn,
      authorizerFunctionArn: this.authorizerFunction.functionArn,
      keyPrefix: settings.keyPrefix,
      apiKeyHeader: settings.apiKeyHeader,
      gracePeriodSeconds: settings.gracePeriod.toSeconds(),
      revocationPollMs: settings.revocationPollInterval.toMilliseconds(),
      rotationRoleArn: this.rotationFunction.executionRole.roleArn,
      kmsKeyArn: this.encryptionKey.keyArn,
      rotationScheduleExpression: settings.rotationSchedule.expression,
      rotationWindow: settings.rotationSchedule.window ?? '',
      authorizerResultsCacheTtlSeconds: settings.resultsCacheTtl.toSeconds(),
      authorizerCacheTtlSeconds: settings.cacheTtl.toSeconds(),
      keyDelivery: this.deliveryFunction !== undefined,
      ...(replicaAuthorizers.length === 0 ? {} : { replicaRegions: replicaAuthorizers.map(({ region, encryptionKeyArn, authorizerFunctionArn }) => ({ region, kmsKeyArn: encryptionKeyArn, authorizerFunctionArn })) }),
      ...(this.usagePlans.size === 0 ? {} : { usagePlanIds: Object.fromEntries([...this.usagePlans].map(([name, plan]) => [name, plan.usagePlanId])) }),
      ...deploymentAdministrators(stack),
    };
    new CfnOutput(this, 'Install', { value: stack.toJsonString(description), description: `${INSTALL_OUTPUT_DESCRIPTION} (${this.node.path})` });

    const alarms = createAlarms(this, this.operationsTopic, this.functions(), {
      refusalAlarmThreshold: settings.refusalAlarmThreshold,
      monitorInterval: settings.monitorInterval,
      refusalAnomalyAlarm: settings.refusalAnomalyAlarm,
      usagePlans: Object.keys(settings.usagePlans),
    });
    this.rotationErrorsAlarm = alarms.rotationErrors;
    this.rotationRefusedAlarm = alarms.rotationRefused;
    this.authorizerErrorsAlarm = alarms.authorizerErrors;
    this.refusalSpikeAlarm = alarms.refusalSpike;
    this.refusalAnomalyAlarm = alarms.refusalAnomaly;
    this.refusalAnomalyAlarmsByPlan = new Map(Object.entries(alarms.refusalAnomalyByPlan));
    this.monitorErrorsAlarm = alarms.monitorErrors;
    this.usageErrorsAlarm = alarms.usageErrors;
    this.dashboard = createDashboard(this, this.functions());
  }

  /**
   * Counts the requests in this API access log group per client, key version and hour, for `keyroll
   * status` and the monitor's usage-aware reminders. The log format must be JSON with at least the fields
   * of `USAGE_LOG_FIELDS` (`REST_API_ACCESS_LOG_FIELDS` or `HTTP_API_ACCESS_LOG_FIELDS` have them); lines of
   * refused requests (no key version, or a 403 for scope) are filtered out before the function is invoked.
   * Synthesis fails when a stage of the app logs to this group in a format its API type cannot have or without
   * the usage fields, or when the app gives the group more subscription filters than CloudWatch Logs allows.
   */
  countUsageFrom(logGroup: ILogGroup): SubscriptionFilter {
    this.node.addValidation({ validate: () => usageLogGroupProblems(this, logGroup) });
    return new SubscriptionFilter(this, `UsageSubscription${this.usageSubscriptions++}`, {
      logGroup,
      destination: new LambdaDestination(this.usageFunction),
      filterPattern: FilterPattern.all(FilterPattern.stringValue('$.keyVersion', '!=', '-'), FilterPattern.stringValue('$.status', '!=', FORBIDDEN_STATUS)),
      filterName: 'keyroll-usage',
    });
  }

  /**
   * The API Gateway REST authorizer to attach to your methods (`authorizationType: CUSTOM`). The key header
   * is its identity source: API Gateway answers 401 itself to a request without it, and the key is read from
   * that header only, so a key sent as `Authorization: Bearer` is read only when `apiKeyHeader` is
   * `'authorization'`. With `routeScopes`, the method and path are identity sources too (one answer per route).
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-authorizer.html
   */
  get authorizer(): RequestAuthorizer {
    this.requestAuthorizer ??= newRestAuthorizer(this, this.authorizerFunction, this.settings);
    return this.requestAuthorizer;
  }

  /**
   * Error bodies clients can act on, for a REST API that uses `authorizer`: a gateway response for each of
   * 401, 403, 429 (throttled, quota exceeded) and the authorizer's failure, each a JSON body with a stable
   * code, what to do, a link to `clientDocumentationUrl` and the request id (the catalog is in the README).
   * The 401 names the key header and carries `WWW-Authenticate`. HTTP APIs have no gateway responses.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
   */
  addErrorResponses(api: RestApiBase): GatewayResponse[] {
    return addClientErrorResponses(api, this.settings);
  }

  /**
   * Enforces the `usagePlans` on a REST API's deployment stage: each client's throttle and quota, counted per
   * client across rotations. The API's key source must be `AUTHORIZER` (the authorizer returns each client's
   * `usageIdentifierKey`), and the methods to limit need `apiKeyRequired: true`; a client without a plan is
   * then refused there with 403.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html
   */
  applyUsagePlans(restApi: RestApi): void {
    if (this.usagePlans.size === 0) throw new InvalidKeyrollPropsError(`${this.node.path}: applyUsagePlans: the construct has no usagePlans`);
    const source = (restApi.node.defaultChild as CfnRestApi).apiKeySourceType;
    if (source !== ApiKeySourceType.AUTHORIZER) {
      throw new InvalidKeyrollPropsError(
        `${this.node.path}: applyUsagePlans: ${restApi.node.path} must be created with apiKeySourceType: ApiKeySourceType.AUTHORIZER (got ${String(source ?? 'HEADER')}): the authorizer, not a header, gives each request its client's usage plan key`,
      );
    }
    for (const plan of this.usagePlans.values()) plan.addApiStage({ stage: restApi.deploymentStage });
  }

  /**
   * The HTTP API authorizer (payload 2.0, simple responses, as the function is configured) for your routes,
   * with the key header as identity source and the same result cache TTL as the REST authorizer. A simple
   * response is one yes or no, cached per identity source, so when routes need scopes the method and path are
   * identity sources too: otherwise a key's answer for one method or path would be reused on every other.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
   */
  get httpAuthorizer(): HttpLambdaAuthorizer {
    this.httpLambdaAuthorizer ??= newHttpAuthorizer(this, this.authorizerFunction, this.settings);
    return this.httpLambdaAuthorizer;
  }

  /**
   * Lets `grantee` read the current key of one client (GetSecretValue of AWSCURRENT only, asked for by stage
   * or by naming no version, and decrypting it through Secrets Manager), here and in every replica region: for
   * a client's own role, in this account or another (an account principal needs the matching IAM permission on
   * its side too, and, for a replica, the replica key's policy must let it decrypt: the synth says so).
   */
  grantReadKey(clientId: string, grantee: IGrantable): Grant {
    const secret = this.clientSecrets.get(clientId);
    if (secret === undefined) throw new InvalidKeyrollPropsError(`${this.node.path}: grantReadKey: no client "${clientId}" is declared here`);
    return grantReadClientKey(this, clientId, secret, grantee, { settings: this.settings, encryptionKey: this.encryptionKey });
  }

  private functions() {
    return { rotation: this.rotationFunction, authorizer: this.authorizerFunction, usage: this.usageFunction, monitor: this.monitorFunction };
  }

  private newEncryptionKey(): Key {
    const key = new Key(this, 'EncryptionKey', {
      description: 'keyroll: client secrets, key table, notification topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the encrypted operations topic, so they must use the key; this account's
    // alarms only. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    const stack = Stack.of(this);
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    return key;
  }

  private allowKey(grantee: IGrantable, actions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [this.encryptionKey.keyArn] }));
  }

  /** The custom resource that issues each new client's first key (see `lambda/functions/first-key.ts`). */
  private newFirstKeyProvider(logRetention: RetentionDays | undefined, installSecrets: string): Provider {
    const onEvent = new KeyrollFunction(this, 'FirstKeyFunction', {
      entry: 'first-key',
      description: 'registers each declared client\'s secret, and issues its first key by rotating it once, at creation',
      timeout: Duration.seconds(FIRST_KEY_FUNCTION_TIMEOUT_SECONDS),
      logRetention,
    })
      .useKeyTable(this.keyTable, KEY_TABLE_ACCESS.firstKey)
      .configure(FIRST_KEY_VARIABLES, {});
    this.allowKey(onEvent, ['kms:Decrypt', 'kms:GenerateDataKey']);
    onEvent.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'], resources: [installSecrets] }));
    Validations.of(onEvent.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${iamFindingResource(this, installSecrets)}]`,
      reason: 'The secrets of this install, by their name prefix: the first key of each client declared here',
    });
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
      { id: 'AwsSolutions-L1', reason: 'The CDK custom resource framework chooses its own function\'s runtime; it moves with aws-cdk-lib' },
    );
    return provider;
  }
}

/** `keyroll/<stack name>/<construct id>/`, with the characters secret names allow. */
/** Each install's checked settings, for its replicas in other regions (lib/replica.ts). */
const INSTALL_SETTINGS = new WeakMap<RotatingApiKeys, ValidSettings>();

export function installSettingsOf(install: RotatingApiKeys): ValidSettings {
  const settings = INSTALL_SETTINGS.get(install);
  if (settings === undefined) throw new InvalidKeyrollPropsError(`${install.node.path} is not a constructed RotatingApiKeys`);
  return settings;
}

function defaultSecretNamePrefix(construct: Construct): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_+=.@-]/g, '-');
  return `keyroll/${safe(Stack.of(construct).stackName)}/${safe(construct.node.id)}/`;
}

/** How cdk-nag names a resource in a finding: the resolved string, with `{Ref: X}` written as `<X>`. */
function iamFindingResource(scope: Construct, arn: string): string {
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null) {
      const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
      if (join !== undefined) return join[1].map(render).join(join[0]);
      const ref = (value as { Ref?: string }).Ref;
      if (ref !== undefined) return `<${ref}>`;
    }
    return JSON.stringify(value);
  };
  return render(Stack.of(scope).resolve(arn));
}
