import { Annotations as AssemblyAnnotations, Match } from 'aws-cdk-lib/assertions';
import { Annotations, App, Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat, ApiKeySourceType, LogGroupLogDestination, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination as HttpLogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { FilterPattern, LogGroup, SubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { HTTP_API_ACCESS_LOG_FIELDS, REST_API_ACCESS_LOG_FIELDS } from '../../lambda/contracts/access-log';
import { ExampleApiStack } from '../../lib/example-api-stack';
import { REPLICA_REGIONS_WARNING } from '../../lib/key-table';
import { RotatingApiKeysReplica } from '../../lib/replica';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import { AWS_RULES, type SynthesizedApp, type SynthesizedTemplate } from '../support/aws-rules';
import { appLikeTheCli } from '../support/cdk-app';

const ACCOUNT = '111122223333';
const env = { account: ACCOUNT, region: 'eu-west-1' };
const keyIn = (region: string, id: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/mrk-${id.padEnd(32, 'a')}`;

function synthesized(app: App): SynthesizedApp {
  const assembly = app.synth();
  return {
    templates: Object.fromEntries(assembly.stacks.map((stack) => [stack.stackName, stack.template as SynthesizedTemplate])),
    dependencies: Object.fromEntries(assembly.stacks.map((stack) => [stack.stackName, stack.dependencies.map((dependency) => dependency.id)])),
  };
}

/** Every optional capability on, in two regions, with a REST and an HTTP API in each. */
async function everythingApp(): Promise<App> {
  const app = appLikeTheCli();
  const primary = new Stack(app, 'Everything', { env });
  const { publicKey } = await generateDeliveryKeyPair();
  const keys = new RotatingApiKeys(primary, 'ApiKeys', {
    clients: [{ clientId: 'acme', deliveryPublicKey: publicKey, usagePlan: 'gold', scopes: ['orders:read'] }, { clientId: 'globex', gracePeriod: Duration.hours(48) }],
    routeScopes: { 'GET /orders': 'orders:read' },
    keyTableName: 'everything-keys',
    replicaRegions: [
      { region: 'us-east-1', encryptionKeyArn: keyIn('us-east-1', '1111') },
      { region: 'ap-southeast-2', encryptionKeyArn: keyIn('ap-southeast-2', '2222') },
    ],
    leakedKeyReports: { action: 'rotate' },
    usagePlans: { gold: { rateLimit: 10, burstLimit: 20 } },
    refusalAnomalyAlarm: true,
    probeUrl: 'https://api.example.com/orders',
  });
  Annotations.of(keys).acknowledgeWarning(REPLICA_REGIONS_WARNING, 'both regions are deployed');
  const restLogs = new LogGroup(primary, 'RestLogs');
  const restApi = new RestApi(primary, 'RestApi', {
    apiKeySourceType: ApiKeySourceType.AUTHORIZER,
    deployOptions: { accessLogDestination: new LogGroupLogDestination(restLogs), accessLogFormat: AccessLogFormat.custom(JSON.stringify(REST_API_ACCESS_LOG_FIELDS)) },
    defaultMethodOptions: { authorizer: keys.authorizer, apiKeyRequired: true },
  });
  restApi.root.addResource('orders').addMethod('GET', new MockIntegration());
  keys.addErrorResponses(restApi);
  keys.applyUsagePlans(restApi);
  keys.countUsageFrom(restLogs);
  const httpLogs = new LogGroup(primary, 'HttpLogs');
  const httpApi = new HttpApi(primary, 'HttpApi', { createDefaultStage: false });
  httpApi.addStage('Stage', { autoDeploy: true, accessLogSettings: { destination: new HttpLogGroupLogDestination(httpLogs), format: AccessLogFormat.custom(JSON.stringify(HTTP_API_ACCESS_LOG_FIELDS)) } });
  httpApi.addRoutes({ path: '/orders', methods: [HttpMethod.GET], integration: new HttpUrlIntegration('Orders', 'https://backend.example.com/orders'), authorizer: keys.httpAuthorizer });
  keys.countUsageFrom(httpLogs);

  for (const region of ['us-east-1', 'ap-southeast-2']) {
    const stack = new Stack(app, `Everything-${region}`, { env: { account: ACCOUNT, region } });
    const replica = new RotatingApiKeysReplica(stack, 'ApiKeys', { primary: keys });
    const api = new RestApi(stack, 'RestApi', { defaultMethodOptions: { authorizer: replica.authorizer } });
    api.root.addMethod('GET', new MockIntegration());
    replica.addErrorResponses(api);
  }
  return app;
}

describe.each([
  ['the example stack', () => Promise.resolve(synthesized((() => {
    const app = appLikeTheCli();
    new ExampleApiStack(app, 'KeyrollExample', { env });
    return app;
  })()))],
  ['an app with every optional capability on, in two regions', async () => synthesized(await everythingApp())],
])('AWS rules, on %s (the packed consumer app: test/package/consumer-app.test.ts)', (_name, synthesize) => {
  let app: SynthesizedApp;
  beforeAll(async () => {
    app = await synthesize();
  });

  it.each(AWS_RULES.map((rule) => [rule.name, rule] as const))('%s', (_rule, rule) => {
    const notApplicable = NOT_APPLICABLE[_name] ?? [];
    expect({ rule: rule.name, applies: rule.appliesTo(app) }).toEqual({ rule: rule.name, applies: !notApplicable.includes(rule.name) });
    expect(rule.violations(app)).toEqual([]);
  });
});

/** Rules with nothing to check in an app; every rule has something in the app with every capability on. */
const NOT_APPLICABLE: Record<string, readonly string[]> = {
  // One region, no anomaly alarm.
  'the example stack': [
    'CloudWatch: an anomaly detection alarm on a metric emitted only above zero fills missing points with 0',
    'Secrets Manager: the rotation role may encrypt new versions with each replica region\'s KMS key',
    'CloudFormation: a replica region\'s stack deploys after the primary stack it reads',
  ],
};

describe('countUsageFrom refuses at synth what API Gateway or CloudWatch Logs would refuse at deploy', () => {
  function appWith(stage: 'REST' | 'HTTP', format: string, extraFilters = 0): App {
    const app = appLikeTheCli();
    const stack = new Stack(app, 'Api', { env });
    const keys = new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }] });
    const logs = new LogGroup(stack, 'AccessLogs');
    if (stage === 'REST') {
      const api = new RestApi(stack, 'RestApi', { deployOptions: { accessLogDestination: new LogGroupLogDestination(logs), accessLogFormat: AccessLogFormat.custom(format) } });
      api.root.addMethod('GET', new MockIntegration(), { authorizer: keys.authorizer });
    } else {
      const api = new HttpApi(stack, 'HttpApi', { createDefaultStage: false });
      api.addStage('Stage', { accessLogSettings: { destination: new HttpLogGroupLogDestination(logs), format: AccessLogFormat.custom(format) } });
      api.addRoutes({ path: '/', methods: [HttpMethod.GET], integration: new HttpUrlIntegration('Backend', 'https://backend.example.com/'), authorizer: keys.httpAuthorizer });
    }
    for (let index = 0; index < extraFilters; index++) {
      new SubscriptionFilter(stack, `OtherFilter${index}`, { logGroup: logs, destination: new LambdaDestination(keys.usageFunction), filterPattern: FilterPattern.allEvents() });
    }
    keys.countUsageFrom(logs);
    return app;
  }

  it('an HTTP API stage whose format names a REST-only variable ($context.resourcePath), the defect the review found', () => {
    expect(() => appWith('HTTP', JSON.stringify(REST_API_ACCESS_LOG_FIELDS)).synth()).toThrow(/HttpApi\/Stage.*\$context\.resourcePath, which HTTP APIs do not have.*HTTP_API_ACCESS_LOG_FIELDS/s);
    expect(() => appWith('HTTP', JSON.stringify(HTTP_API_ACCESS_LOG_FIELDS)).synth()).not.toThrow();
  });

  it('a REST API stage whose format names an HTTP-only variable ($context.routeKey)', () => {
    expect(() => appWith('REST', JSON.stringify({ ...REST_API_ACCESS_LOG_FIELDS, route: '$context.routeKey' })).synth()).toThrow(/\$context\.routeKey.*REST APIs do not have/);
    expect(() => appWith('REST', JSON.stringify(REST_API_ACCESS_LOG_FIELDS)).synth()).not.toThrow();
  });

  it('a format the usage counter cannot read: not JSON, or a usage field missing', () => {
    expect(() => appWith('REST', '$context.requestId $context.status').synth()).toThrow(/the format is not JSON/);
    const { keyVersion: _dropped, ...withoutVersion } = REST_API_ACCESS_LOG_FIELDS;
    expect(() => appWith('REST', JSON.stringify(withoutVersion)).synth()).toThrow(/lacks what the usage counter reads: "keyVersion": "\$context\.authorizer\.keyVersion"/);
  });

  it('a third subscription filter on the log group', () => {
    expect(() => appWith('REST', JSON.stringify(REST_API_ACCESS_LOG_FIELDS), 1).synth()).not.toThrow();
    expect(() => appWith('REST', JSON.stringify(REST_API_ACCESS_LOG_FIELDS), 2).synth()).toThrow(/has 3 subscription filters in this app.*allows 2 per log group/);
  });
});

describe('Adding replica regions: one per deploy', () => {
  it('warns, acknowledgeably, when the key table has more than one replica region; not with one', () => {
    const warningsWith = (regions: string[]) => {
      const stack = new Stack(appLikeTheCli(), 'Primary', { env });
      new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }], keyTableName: 't', replicaRegions: regions.map((region, index) => ({ region, encryptionKeyArn: keyIn(region, String(index)) })) });
      return AssemblyAnnotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('one region added or removed per deploy'));
    };
    // Synthesis prints it for the team to see.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(warningsWith(['us-east-1'])).toEqual([]);
      expect(printed).not.toHaveBeenCalled();
      expect(warningsWith(['us-east-1', 'ap-southeast-2'])).toHaveLength(1);
      expect(printed.mock.calls.flat().join('\n')).toContain(`Acknowledge with 'Annotation::${REPLICA_REGIONS_WARNING}'`);
    } finally {
      printed.mockRestore();
    }
  });
});
