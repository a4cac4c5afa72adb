import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, AnomalyDetectionAlarm, ComparisonOperator, Dashboard, GraphWidget, LogQueryWidget, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config/shared-settings';
import { AUTHORIZER_METRICS, AUTHORIZER_SERVICE, REFUSAL_REASONS, REFUSED_EXPIRED_BY_PLAN, refusalMetricName, ROTATION_METRICS, ROTATION_SERVICE, USAGE_METRICS, USAGE_SERVICE } from '../lambda/contracts/metrics';
import type { KeyrollFunction } from './keyroll-function';

/** keyroll's EMF metric of one function (dimension `service`), summed over 5 minutes. */
export function serviceMetric(service: string, metricName: string): Metric {
  return new Metric({ namespace: DEFAULT_METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic: 'Sum', period: Duration.minutes(5) });
}

export interface ObservedFunctions {
  readonly rotation: KeyrollFunction;
  readonly authorizer: KeyrollFunction;
  readonly usage: KeyrollFunction;
  readonly monitor: KeyrollFunction;
}

export interface Alarms {
  readonly rotationErrors: Alarm;
  readonly rotationRefused: Alarm;
  readonly authorizerErrors: Alarm;
  readonly refusalSpike: Alarm;
  readonly monitorErrors: Alarm;
  readonly usageErrors: Alarm;
  /** Only when asked for (`refusalAnomalyAlarm`). */
  readonly refusalAnomaly?: Alarm;
  /** With `refusalAnomalyAlarm` and `usagePlans`: the same, per usage plan (client tier). */
  readonly refusalAnomalyByPlan: Readonly<Record<string, Alarm>>;
}

/** The alarms, each publishing to the operations topic; the topic's policy lets exactly these alarms publish. */
export function createAlarms(
  scope: Construct,
  operationsTopic: Topic,
  functions: ObservedFunctions,
  options: { readonly refusalAlarmThreshold: number; readonly monitorInterval: Duration; readonly refusalAnomalyAlarm: boolean; readonly usagePlans: readonly string[] },
): Alarms {
  const authorizerMetric = (name: string) => serviceMetric(AUTHORIZER_SERVICE, name);
  const alarm = (id: string, description: string, metric: IMetric, threshold: number): Alarm => {
    const created = new Alarm(scope, id, {
      alarmDescription: `keyroll: ${description}`,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(new SnsAction(operationsTopic));
    return created;
  };
  const alarms: Alarms = {
    rotationErrors: alarm('RotationErrorsAlarm', 'a rotation step failed', functions.rotation.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 1),
    rotationRefused: alarm(
      'RotationRefusedAlarm',
      'a rotation was refused a key: a secret under the install\'s prefix that keyroll did not register for its client, or a pending value keyroll did not generate (see rotation.refused on this topic)',
      serviceMetric(ROTATION_SERVICE, ROTATION_METRICS.refused),
      1,
    ),
    authorizerErrors: alarm(
      'AuthorizerErrorsAlarm',
      'the authorizer failed inside or could not read the key table (its Lambda Errors metric also counts every 401, so it is not used)',
      new MathExpression({
        expression: 'internal + lookup',
        usingMetrics: { internal: authorizerMetric(refusalMetricName('internal_error')), lookup: authorizerMetric(AUTHORIZER_METRICS.lookupFailed) },
        period: Duration.minutes(5),
      }),
      1,
    ),
    refusalSpike: alarm(
      'RefusalSpikeAlarm',
      'clients are presenting expired, revoked or unknown keys (after a rotation: clients that did not pick up their new key)',
      new MathExpression({
        expression: 'expired + revoked + unknown',
        usingMetrics: {
          expired: authorizerMetric(refusalMetricName('expired')),
          revoked: authorizerMetric(refusalMetricName('revoked')),
          unknown: authorizerMetric(refusalMetricName('not_found')),
        },
        period: Duration.minutes(5),
      }),
      options.refusalAlarmThreshold,
    ),
    monitorErrors: alarm(
      'MonitorErrorsAlarm',
      'the monitor could not check some client (its error names each client and why)',
      functions.monitor.metricErrors({ period: options.monitorInterval, statistic: 'Sum' }),
      1,
    ),
    usageErrors: alarm(
      'UsageErrorsAlarm',
      'usage counting failed; CloudWatch Logs retries, then the batch is not counted',
      functions.usage.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
    ),
    ...(options.refusalAnomalyAlarm ? { refusalAnomaly: refusalAnomalyAlarm(scope, 'RefusalAnomalyAlarm', 'refusals of ended keys', operationsTopic, authorizerMetric(refusalMetricName('expired'))) } : {}),
    refusalAnomalyByPlan: Object.fromEntries(
      (options.refusalAnomalyAlarm ? options.usagePlans : []).map((plan) => [
        plan,
        refusalAnomalyAlarm(
          scope,
          `RefusalAnomalyAlarm-${plan}`,
          `refusals of ended keys of clients in usage plan ${plan}`,
          operationsTopic,
          new Metric({
            namespace: DEFAULT_METRICS_NAMESPACE,
            metricName: refusalMetricName('expired'),
            dimensionsMap: { service: AUTHORIZER_SERVICE, [REFUSED_EXPIRED_BY_PLAN.dimension]: plan },
            statistic: 'Sum',
            period: Duration.minutes(5),
          }),
        ),
      ]),
    ),
  };
  // A topic policy replaces SNS's default one, so CloudWatch may publish only where it says so; scoped to this
  // account and these alarms against the confused deputy.
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
  // https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
  operationsTopic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'KeyrollAlarmsPublish',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [operationsTopic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
        ArnLike: { 'aws:SourceArn': [...Object.values(alarms).filter((a): a is Alarm => a instanceof Alarm), ...Object.values(alarms.refusalAnomalyByPlan)].map((a) => a.alarmArn) },
      },
    }),
  );
  return alarms;
}

/**
 * Refusals of ended keys above the band CloudWatch learned for them, for three of five 5-minute periods: the
 * burst after a rollover that some clients missed, whatever the API's usual level.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html
 */
function refusalAnomalyAlarm(scope: Construct, id: string, what: string, operationsTopic: Topic, refusedExpired: Metric): Alarm {
  const alarm = new AnomalyDetectionAlarm(scope, id, {
    alarmDescription: `keyroll: ${what} are above their usual band (clients that missed their switch after a rotation)`,
    // The authorizer emits the metric only above zero: without the zeros the model would learn from bursts alone.
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html (FILL)
    metric: new MathExpression({ expression: 'FILL(refused, 0)', usingMetrics: { refused: refusedExpired }, period: refusedExpired.period, label: what }),
    stdDevs: 3,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    comparisonOperator: ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new SnsAction(operationsTopic));
  return alarm;
}

export function createDashboard(scope: Construct, functions: ObservedFunctions): Dashboard {
  const authorizerMetric = (name: string) => serviceMetric(AUTHORIZER_SERVICE, name);
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.days(1) });
  dashboard.addWidgets(
    new GraphWidget({ title: 'Authorizer decisions', left: [AUTHORIZER_METRICS.allowed, AUTHORIZER_METRICS.forbidden, AUTHORIZER_METRICS.refused].map(authorizerMetric), width: 12 }),
    new GraphWidget({ title: 'Refusals by reason', left: REFUSAL_REASONS.map((reason) => authorizerMetric(refusalMetricName(reason))), width: 12 }),
    new GraphWidget({ title: 'Authorizer cache', left: [AUTHORIZER_METRICS.cacheHit, AUTHORIZER_METRICS.cacheMiss, AUTHORIZER_METRICS.staleAllowed].map(authorizerMetric), width: 12 }),
    new GraphWidget({
      title: 'Usage counting (access log lines)',
      left: [USAGE_METRICS.linesCounted, USAGE_METRICS.linesMalformed, USAGE_METRICS.duplicateDeliveries, USAGE_METRICS.deliveriesUnreadable].map((name) => serviceMetric(USAGE_SERVICE, name)),
      width: 12,
    }),
    new GraphWidget({
      title: 'Monitor function',
      left: [functions.monitor.metricInvocations({ statistic: 'Sum' }), functions.monitor.metricErrors({ statistic: 'Sum' })],
      width: 12,
    }),
    new GraphWidget({
      title: 'Rotation function',
      left: [functions.rotation.metricInvocations({ statistic: 'Sum' }), functions.rotation.metricErrors({ statistic: 'Sum' })],
      width: 12,
    }),
    new LogQueryWidget({
      title: 'Refusals per client (known keys)',
      logGroupNames: [functions.authorizer.logGroup.logGroupName],
      queryLines: ["filter message = 'request refused' and ispresent(clientId)", 'stats count() as refusals by clientId, reason', 'sort refusals desc'],
      width: 12,
    }),
    new LogQueryWidget({
      title: 'Rotations per client',
      logGroupNames: [functions.rotation.logGroup.logGroupName],
      queryLines: ["filter message = 'rotation step done' and step = 'finishSecret'", 'stats count() as rotations by secretId', 'sort rotations desc'],
      width: 12,
    }),
  );
  return dashboard;
}
