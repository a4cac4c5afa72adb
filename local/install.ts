import { App, Stack } from 'aws-cdk-lib';
import { ApiKeySourceType, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { QuotaPeriod } from '../lambda/contracts/usage-plans';
import type { LocalUsagePlan } from './usage-plans';
import { parseIdentitySources, type IdentitySource } from './authorizer-cache';
import { FUNCTION_ENTRIES, type FunctionEntry } from '../lib/function-bundles';
import type { RotatingApiKeysProps } from '../lib/props';
import { RotatingApiKeys } from '../lib/rotating-api-keys';
import { CLIENT_RESOURCE_TYPES } from '../lambda/handlers/first-key-handler';

/** The names local mode gives the resources the template creates. */
export interface LocalResourceNames {
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  readonly operationsTopicArn: string;
}

/** What local mode deploys, read from the synthesized template as CloudFormation would read it. */
export interface LocalInstall {
  /** Each keyroll function the template has, with its environment exactly as the template sets it, references resolved to local names. */
  readonly environments: Readonly<Partial<Record<FunctionEntry, Record<string, string>>>>;
  /** Each keyroll function's reserved concurrency, where the template reserves some. */
  readonly reservedConcurrency: Readonly<Partial<Record<FunctionEntry, number>>>;
  readonly secrets: readonly { readonly logicalId: string; readonly name: string; readonly secretString: string; readonly tags: readonly { Key: string; Value: string }[] }[];
  /** Per secret logical id: the client's registration, as its custom resource declares it. */
  readonly registrations: readonly { readonly secretLogicalId: string; readonly properties: Readonly<Record<string, unknown>> }[];
  /** Per secret logical id: the rotation schedule's expression and window. */
  readonly rotationSchedules: readonly { readonly secretLogicalId: string; readonly scheduleExpression: string; readonly duration: string }[];
  /** API Gateway's cache of the authorizer's answers: TTL, and the identity sources that are its key. */
  readonly authorizer: { readonly resultsCacheTtlSeconds: number; readonly identitySources: readonly IdentitySource[] };
  /** The gateway responses the template gives the API, by response type. */
  readonly gatewayResponses: Readonly<Record<string, LocalGatewayResponse>>;
  /** The template's subscription filters from a keyroll function's log group to another keyroll function. */
  readonly logSubscriptions: readonly { readonly from: FunctionEntry; readonly to: FunctionEntry; readonly filterPattern: string }[];
  /** The stage's usage plans by API key value, as the template's UsagePlan, ApiKey and UsagePlanKey resources say. */
  readonly usagePlans: ReadonlyMap<string, LocalUsagePlan>;
  /** The API's methods, from its Resource and Method resources: the only routes the local gateway serves. */
  readonly routes: readonly LocalRoute[];
  readonly stackName: string;
}

const STACK_NAME = 'KeyrollLocal';

/** A method of the API: `ANY` or an HTTP method, on a resource path such as `/orders/{id}` or `/{proxy+}`. */
export interface LocalRoute {
  readonly method: string;
  readonly resourcePath: string;
}

/** A gateway response as the template declares it: status, headers (static values), and its JSON template. */
export interface LocalGatewayResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly template: string;
}

/** The ARN local mode gives each keyroll function (its process is named after it). */
export function localFunctionArn(entry: FunctionEntry): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:keyroll-local-${entry}`;
}

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * Synthesizes a stack with the construct (the props go through the construct's own validation) and a REST API
 * using its authorizer, then reads what each resource would be: function environments, secrets, schedules and
 * the authorizer's cache settings.
 */
export function synthesizeLocalInstall(props: RotatingApiKeysProps, names: LocalResourceNames): LocalInstall {
  // The template is checked by `cdk synth` and the tests; here it is only read, and CDK's schema validation
  // and stack traces would add seconds to local mode's start-up.
  const app = new App({ builtinCloudFormationValidation: false, stackTraces: false, treeMetadata: false });
  const stack = new Stack(app, STACK_NAME, { env: { account: '000000000000', region: 'us-east-1' } });
  const keys = new RotatingApiKeys(stack, 'ApiKeys', props);
  const withPlans = Object.keys(props.usagePlans ?? {}).length > 0;
  // With usage plans the API needs a stage to attach them to, the authorizer as its key source, and methods that require a key.
  const api = new RestApi(stack, 'Api', withPlans ? { apiKeySourceType: ApiKeySourceType.AUTHORIZER } : { deploy: false });
  // The demo's routes, as the example stack has them (GET /hello, POST /orders), and the root for the flood proof.
  const method = { authorizer: keys.authorizer, apiKeyRequired: withPlans };
  api.root.addMethod('ANY', new MockIntegration(), method);
  api.root.addResource('hello').addMethod('GET', new MockIntegration(), method);
  api.root.addResource('orders').addMethod('POST', new MockIntegration(), method);
  keys.addErrorResponses(api);
  if (withPlans) keys.applyUsagePlans(api);
  const resources = (app.synth().getStackByName(STACK_NAME).template as { Resources: Record<string, TemplateResource> }).Resources;

  const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const references: Record<string, string> = {
    [logicalIdOf(keys.keyTable)]: names.keyTableName,
    [logicalIdOf(keys.clientTopic)]: names.clientTopicArn,
    [logicalIdOf(keys.operationsTopic)]: names.operationsTopicArn,
  };
  const functionIds: Record<FunctionEntry, string> = {
    authorizer: logicalIdOf(keys.authorizerFunction),
    rotation: logicalIdOf(keys.rotationFunction),
    usage: logicalIdOf(keys.usageFunction),
    monitor: logicalIdOf(keys.monitorFunction),
    'first-key': Object.keys(resources).find((id) => id.startsWith('ApiKeysFirstKeyFunction') && resources[id]?.Type === 'AWS::Lambda::Function') ?? 'ApiKeysFirstKeyFunction',
    delivery: keys.deliveryFunction === undefined ? 'none' : logicalIdOf(keys.deliveryFunction),
    'leak-report': keys.leakReportFunction === undefined ? 'none' : logicalIdOf(keys.leakReportFunction),
    emergency: keys.emergencyFunction === undefined ? 'none' : logicalIdOf(keys.emergencyFunction),
  };
  const functionArns = new Map(Object.entries(functionIds).map(([entry, id]) => [id, localFunctionArn(entry as FunctionEntry)]));
  const resolve = (value: unknown, where: string): string => {
    if (typeof value === 'string') return value;
    const ref = (value as { Ref?: unknown } | undefined)?.Ref;
    if (typeof ref === 'string' && references[ref] !== undefined) return references[ref];
    const [id, attribute] = ((value as { 'Fn::GetAtt'?: unknown } | undefined)?.['Fn::GetAtt'] ?? []) as string[];
    if (attribute === 'Arn' && id !== undefined && functionArns.has(id)) return functionArns.get(id) ?? '';
    throw new Error(`local mode cannot resolve ${JSON.stringify(value)} in ${where}`);
  };
  const environments = Object.fromEntries(
    FUNCTION_ENTRIES.filter((entry) => resources[functionIds[entry]] !== undefined).map((entry) => {
      const variables = ((resources[functionIds[entry]]?.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
      return [entry, Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolve(value, `${entry}.${name}`)]))];
    }),
  ) as Partial<Record<FunctionEntry, Record<string, string>>>;
  const reservedConcurrency = Object.fromEntries(
    FUNCTION_ENTRIES.flatMap((entry) => {
      const reserved = resources[functionIds[entry]]?.Properties?.['ReservedConcurrentExecutions'];
      return typeof reserved === 'number' ? [[entry, reserved]] : [];
    }),
  ) as Partial<Record<FunctionEntry, number>>;

  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const secrets = ofType('AWS::SecretsManager::Secret').map(([logicalId, { Properties = {} }]) => ({
    logicalId,
    name: String(Properties['Name']),
    secretString: String(Properties['SecretString']),
    tags: (Properties['Tags'] ?? []) as { Key: string; Value: string }[],
  }));
  const registrations = ofType(CLIENT_RESOURCE_TYPES.registration).map(([, { Properties = {} }]) => {
    const { ServiceToken: _serviceToken, ...properties } = Properties;
    return { secretLogicalId: String((Properties['SecretArn'] as { Ref?: string }).Ref), properties };
  });
  const rotationSchedules = ofType('AWS::SecretsManager::RotationSchedule').map(([, { Properties = {} }]) => {
    const rules = Properties['RotationRules'] as { ScheduleExpression: string; Duration: string };
    return { secretLogicalId: String((Properties['SecretId'] as { Ref?: string }).Ref), scheduleExpression: rules.ScheduleExpression, duration: rules.Duration };
  });
  const gatewayResponses = Object.fromEntries(
    ofType('AWS::ApiGateway::GatewayResponse').map(([, { Properties = {} }]) => {
      // Header values are static strings in single quotes: 'application/json'.
      const headers = Object.entries((Properties['ResponseParameters'] ?? {}) as Record<string, string>).map(([name, value]) => [name.replace(/^gatewayresponse\.header\./, ''), value.replace(/^'|'$/g, '')]);
      const templates = (Properties['ResponseTemplates'] ?? {}) as Record<string, string>;
      return [String(Properties['ResponseType']), { statusCode: Number(Properties['StatusCode']), headers: Object.fromEntries(headers), template: templates['application/json'] ?? '' }];
    }),
  );
  const logGroupIds = new Map<string, FunctionEntry>([
    [logicalIdOf(keys.authorizerFunction.logGroup), 'authorizer'],
    [logicalIdOf(keys.rotationFunction.logGroup), 'rotation'],
    [logicalIdOf(keys.usageFunction.logGroup), 'usage'],
    [logicalIdOf(keys.monitorFunction.logGroup), 'monitor'],
  ]);
  const entryOfFunctionArn = new Map([...functionArns].map(([id, arn]) => [arn, (Object.entries(functionIds).find(([, fid]) => fid === id)?.[0] ?? '') as FunctionEntry]));
  const logSubscriptions = ofType('AWS::Logs::SubscriptionFilter').flatMap(([, { Properties = {} }]) => {
    const from = logGroupIds.get(String((Properties['LogGroupName'] as { Ref?: string } | undefined)?.Ref));
    if (from === undefined) return [];
    const to = entryOfFunctionArn.get(resolve(Properties['DestinationArn'], 'a subscription filter'));
    return to === undefined ? [] : [{ from, to, filterPattern: String(Properties['FilterPattern']) }];
  });
  const plans = new Map(
    ofType('AWS::ApiGateway::UsagePlan').map(([logicalId, { Properties = {} }]) => {
      const throttle = Properties['Throttle'] as { RateLimit: number; BurstLimit: number };
      const quota = Properties['Quota'] as { Limit: number; Period: QuotaPeriod } | undefined;
      return [logicalId, { rateLimit: throttle.RateLimit, burstLimit: throttle.BurstLimit, ...(quota === undefined ? {} : { quota: { limit: quota.Limit, period: quota.Period } }) }];
    }),
  );
  const usagePlans = new Map(
    ofType('AWS::ApiGateway::UsagePlanKey').flatMap(([, { Properties = {} }]) => {
      const plan = plans.get(String((Properties['UsagePlanId'] as { Ref?: string }).Ref));
      const value = resources[String((Properties['KeyId'] as { Ref?: string }).Ref)]?.Properties?.['Value'];
      return plan === undefined || typeof value !== 'string' ? [] : [[value, plan] as const];
    }),
  );
  // A resource's path is its parent's and its PathPart; the root is the RestApi's RootResourceId.
  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string }).Ref;
    const resource = ref === undefined ? undefined : resources[ref];
    if (resource === undefined) return '';
    return `${pathOf(resource.Properties?.['ParentId'])}/${String(resource.Properties?.['PathPart'])}`;
  };
  const routes = ofType('AWS::ApiGateway::Method').map(([, { Properties = {} }]) => ({ method: String(Properties['HttpMethod']), resourcePath: pathOf(Properties['ResourceId']) || '/' }));
  const [, authorizer] = ofType('AWS::ApiGateway::Authorizer')[0] ?? [];
  const identitySource = String(authorizer?.Properties?.['IdentitySource'] ?? '');
  return {
    environments,
    reservedConcurrency,
    secrets,
    registrations,
    rotationSchedules,
    gatewayResponses,
    logSubscriptions,
    usagePlans,
    routes,
    authorizer: {
      resultsCacheTtlSeconds: Number(authorizer?.Properties?.['AuthorizerResultTtlInSeconds'] ?? 300),
      identitySources: parseIdentitySources(identitySource),
    },
    stackName: STACK_NAME,
  };
}
