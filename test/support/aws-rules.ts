/**
 * Rules that AWS documents and a template must keep, read from synthesized templates. Each rule is stated here
 * from its AWS page, independently of the construct's own checks, and returns what breaks it; `appliesTo` says
 * whether the app has anything the rule is about, so that a rule is never passed by an app without the resource.
 * Used by test/cdk/aws-rules.test.ts (the example stack, an app with every optional capability on) and by
 * test/package/consumer-app.test.ts (the packed consumer app).
 */

export interface SynthesizedTemplate {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly DependsOn?: unknown }>;
}

/** The stacks of an app, by stack name, and the stacks each one deploys after. */
export interface SynthesizedApp {
  readonly templates: Readonly<Record<string, SynthesizedTemplate>>;
  readonly dependencies: Readonly<Record<string, readonly string[]>>;
}

export interface AwsRule {
  readonly name: string;
  readonly page: string;
  appliesTo(app: SynthesizedApp): boolean;
  violations(app: SynthesizedApp): string[];
}

type Resource = { readonly stack: string; readonly id: string; readonly properties: Record<string, unknown> };

function resourcesOf(app: SynthesizedApp, type: string): Resource[] {
  return Object.entries(app.templates).flatMap(([stack, template]) =>
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id, resource]) => ({ stack, id, properties: resource.Properties ?? {} })),
  );
}

const variablesOf = (format: string) => [...format.matchAll(/\$context\.[A-Za-z0-9_.]+/g)].map(([variable]) => variable);

/** REST API variables that the HTTP API page does not list (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html). */
const REST_ONLY = /^\$context\.(resourcePath|resourceId|identity\.apiKey|identity\.apiKeyId|authorize\.|authenticate\.|error\.validationErrorString|waf|webaclArn|xrayTraceId|requestOverride\.|responseOverride\.)/;
/** HTTP API variables that the REST API page does not list (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html). */
const HTTP_ONLY = /^\$context\.(routeKey|awsEndpointRequestId2|dataProcessed)$/;

function formatOf(setting: unknown): string | undefined {
  const format = (setting as { Format?: unknown } | undefined)?.Format;
  return typeof format === 'string' ? format : undefined;
}

export const AWS_RULES: readonly AwsRule[] = [
  {
    name: 'API Gateway: an access-log format names only variables of its API type',
    page: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html',
    appliesTo: (app) => [...resourcesOf(app, 'AWS::ApiGatewayV2::Stage'), ...resourcesOf(app, 'AWS::ApiGateway::Stage')].some((stage) => formatOf(stage.properties['AccessLogSettings'] ?? stage.properties['AccessLogSetting']) !== undefined),
    violations: (app) => [
      ...resourcesOf(app, 'AWS::ApiGatewayV2::Stage').flatMap((stage) =>
        variablesOf(formatOf(stage.properties['AccessLogSettings']) ?? '').filter((variable) => REST_ONLY.test(variable)).map((variable) => `${stage.stack}/${stage.id} (HTTP API): ${variable}`),
      ),
      ...resourcesOf(app, 'AWS::ApiGateway::Stage').flatMap((stage) =>
        variablesOf(formatOf(stage.properties['AccessLogSetting']) ?? '').filter((variable) => HTTP_ONLY.test(variable)).map((variable) => `${stage.stack}/${stage.id} (REST API): ${variable}`),
      ),
    ],
  },
  {
    name: 'CloudWatch Logs: a log group has at most two subscription filters',
    page: 'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html',
    appliesTo: (app) => resourcesOf(app, 'AWS::Logs::SubscriptionFilter').length > 0,
    violations: (app) => {
      const byGroup = new Map<string, string[]>();
      for (const filter of resourcesOf(app, 'AWS::Logs::SubscriptionFilter')) {
        const group = `${filter.stack}:${JSON.stringify(filter.properties['LogGroupName'])}`;
        byGroup.set(group, [...(byGroup.get(group) ?? []), filter.id]);
      }
      return [...byGroup].filter(([, filters]) => filters.length > 2).map(([group, filters]) => `${group}: ${filters.join(', ')}`);
    },
  },
  {
    name: 'DynamoDB: a global table has its stream settings before its second replica (they change only while it has one)',
    page: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-globaltable-streamspecification.html',
    appliesTo: (app) => resourcesOf(app, 'AWS::DynamoDB::GlobalTable').length > 0,
    violations: (app) =>
      resourcesOf(app, 'AWS::DynamoDB::GlobalTable')
        .filter((table) => (table.properties['StreamSpecification'] as { StreamViewType?: string } | undefined)?.StreamViewType !== 'NEW_AND_OLD_IMAGES')
        .map((table) => `${table.stack}/${table.id}: StreamSpecification ${JSON.stringify(table.properties['StreamSpecification'])}`),
  },
  {
    name: 'API Gateway: a REST API with keyroll\'s error bodies has one for AUTHORIZER_CONFIGURATION_ERROR too (the authorizer could not be reached)',
    page: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html',
    appliesTo: (app) => resourcesOf(app, 'AWS::ApiGateway::GatewayResponse').length > 0,
    violations: (app) => {
      const typesByApi = new Map<string, Set<string>>();
      for (const response of resourcesOf(app, 'AWS::ApiGateway::GatewayResponse')) {
        const api = `${response.stack}:${JSON.stringify(response.properties['RestApiId'])}`;
        typesByApi.set(api, new Set([...(typesByApi.get(api) ?? []), String(response.properties['ResponseType'])]));
      }
      return [...typesByApi]
        .filter(([, types]) => types.has('AUTHORIZER_FAILURE') && !types.has('AUTHORIZER_CONFIGURATION_ERROR'))
        .map(([api]) => `${api}: AUTHORIZER_FAILURE without AUTHORIZER_CONFIGURATION_ERROR`);
    },
  },
  {
    name: 'CloudWatch: an anomaly detection alarm on a metric emitted only above zero fills missing points with 0',
    page: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html',
    appliesTo: (app) => resourcesOf(app, 'AWS::CloudWatch::Alarm').some((alarm) => alarm.properties['ThresholdMetricId'] !== undefined),
    violations: (app) =>
      resourcesOf(app, 'AWS::CloudWatch::Alarm')
        .filter((alarm) => alarm.properties['ThresholdMetricId'] !== undefined)
        .filter((alarm) => {
          const metrics = (alarm.properties['Metrics'] ?? []) as { Expression?: string; MetricStat?: unknown }[];
          const raw = metrics.filter((metric) => metric.MetricStat !== undefined).length;
          const filled = metrics.filter((metric) => /^FILL\(\w+, 0\)$/.test(metric.Expression ?? '')).length;
          return raw !== filled;
        })
        .map((alarm) => `${alarm.stack}/${alarm.id}: ${JSON.stringify(alarm.properties['Metrics'])}`),
  },
  {
    name: 'Secrets Manager: the rotation role may encrypt new versions with each replica region\'s KMS key',
    page: 'https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html',
    appliesTo: (app) => resourcesOf(app, 'AWS::SecretsManager::Secret').some((secret) => Array.isArray(secret.properties['ReplicaRegions'])),
    violations: (app) => {
      const replicaKeys = new Set(
        resourcesOf(app, 'AWS::SecretsManager::Secret').flatMap((secret) => ((secret.properties['ReplicaRegions'] ?? []) as { KmsKeyId?: unknown }[]).map((replica) => JSON.stringify(replica.KmsKeyId))),
      );
      const statements = resourcesOf(app, 'AWS::IAM::Policy')
        .filter((policy) => JSON.stringify(policy.properties['Roles']).includes('RotationFunction'))
        .flatMap((policy) => (policy.properties['PolicyDocument'] as { Statement: { Effect: string; Action: string | string[]; Resource: unknown }[] }).Statement);
      const allowed = (action: string, key: string) =>
        statements.some((statement) => statement.Effect === 'Allow' && [statement.Action].flat().includes(action) && [statement.Resource].flat().some((resource) => JSON.stringify(resource) === key));
      return [...replicaKeys].flatMap((key) => ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt'].filter((action) => !allowed(action, key)).map((action) => `${action} on ${key}`));
    },
  },
  {
    name: 'CloudFormation: a replica region\'s stack deploys after the primary stack it reads',
    page: 'https://docs.aws.amazon.com/cdk/v2/guide/stacks.html',
    appliesTo: (app) => Object.values(app.templates).some((template) => Object.values(template.Resources).some((resource) => resource.Type === 'AWS::DynamoDB::GlobalTable')) && Object.keys(app.templates).length > 1,
    violations: (app) => {
      const primaries = Object.entries(app.templates)
        .filter(([, template]) => Object.values(template.Resources).some((resource) => resource.Type === 'AWS::DynamoDB::GlobalTable'))
        .map(([stack]) => stack);
      const replicas = Object.entries(app.templates)
        .filter(([stack, template]) => !primaries.includes(stack) && Object.values(template.Resources).some((resource) => resource.Type === 'AWS::Lambda::Function' && JSON.stringify(resource.Properties).includes('KEY_TABLE_NAME')))
        .map(([stack]) => stack);
      return replicas.filter((stack) => !primaries.some((primary) => (app.dependencies[stack] ?? []).includes(primary))).map((stack) => `${stack} does not depend on ${primaries.join(' or ')}`);
    },
  },
];
