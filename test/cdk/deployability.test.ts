import { INSTALL_OUTPUT_DESCRIPTION } from '../../lambda/contracts/install-description';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AccountPrincipal, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleApiStack } from '../../lib/example-api-stack';
import { InvalidKeyrollPropsError } from '../../lambda/domain/errors';
import { KeyRotationSchedule } from '../../lib/key-rotation-schedule';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import { appLikeTheCli } from '../support/cdk-app';

const env = { account: '111122223333', region: 'eu-west-1' };

describe('Two installs in one account and region', () => {
  const app = appLikeTheCli();
  const built = ['Payments', 'Search'].map((name) => {
    const stack = new Stack(app, name, { env });
    new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }] });
    return stack;
  });
  const stacks = built.map((stack) => Template.fromStack(stack));

  it('name their secrets apart, so neither collides with the other', () => {
    const names = stacks.map((t) => Object.values(t.findResources('AWS::SecretsManager::Secret')).map((r) => (r as { Properties: { Name: string } }).Properties.Name));
    expect(names).toEqual([['keyroll/Payments/ApiKeys/acme'], ['keyroll/Search/ApiKeys/acme']]);
  });

  it('give each monitor its own name prefix, and each function only its own install\'s secrets', () => {
    stacks.forEach((t, index) => {
      const prefix = `keyroll/${['Payments', 'Search'][index]}/ApiKeys/`;
      t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ SECRET_NAME_PREFIX: prefix }) } });
      const secretResources = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy'))).match(/secret:[^"\]]*/g) ?? [];
      expect(secretResources.length).toBeGreaterThan(0);
      for (const resource of secretResources) expect(resource).toBe(`secret:${prefix}*`);
    });
  });
});

describe('The example stack, as a fresh account needs it', () => {
  const app = appLikeTheCli();
  const stack = new ExampleApiStack(app, 'Example', { env });
  const template = Template.fromStack(stack);

  it('sets the account\'s API Gateway CloudWatch Logs role that logging stages need, and keeps it', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] }) }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { MethodSettings: [Match.objectLike({ LoggingLevel: 'ERROR' })] });
  });

  it('protects an HTTP API route with the same function: payload 2.0, simple responses, the key header and (with route scopes) the method and path as identity sources', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      // The example has route scopes: a cached yes for GET /hello must not let the same key POST /orders.
      IdentitySource: ['$request.header.x-api-key', '$context.httpMethod', '$context.path'],
      AuthorizerResultTtlInSeconds: 60,
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /hello', AuthorizationType: 'CUSTOM' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('authorizer'),
      Environment: { Variables: Match.objectLike({ HTTP_API_SIMPLE_RESPONSES: 'true' }) },
    });
    // The two APIs' access logs, and the authorizer's reports of ended keys refused.
    template.resourceCountIs('AWS::Logs::SubscriptionFilter', 3);
  });

  it('caches an HTTP API answer per key alone when no route needs a scope', () => {
    const plain = new Stack(appLikeTheCli(), 'Plain', { env });
    const keys = new RotatingApiKeys(plain, 'ApiKeys', { clients: [{ clientId: 'acme' }] });
    new HttpApi(plain, 'Api').addRoutes({ path: '/hello', methods: [HttpMethod.GET], integration: new HttpUrlIntegration('Backend', 'https://example.com'), authorizer: keys.httpAuthorizer });
    Template.fromStack(plain).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: ['$request.header.x-api-key'] });
  });

  it('describes the install in a stack output that the CLI reads (--stack)', () => {
    const outputs = Object.values(template.toJSON()['Outputs'] as Record<string, { Description?: string; Value: unknown }>).filter((o) => o.Description?.startsWith(INSTALL_OUTPUT_DESCRIPTION));
    expect(outputs).toHaveLength(1);
    const rendered = JSON.stringify(outputs[0]?.Value);
    for (const field of ['"version\\":1', 'keyTableName', 'clientTopicArn', 'operationsTopicArn', 'rotationFunctionArn', '"secretNamePrefix\\":\\"keyroll/Example/ApiKeys/\\"', '"gracePeriodSeconds\\":86400']) {
      expect(rendered).toContain(field);
    }
  });

  it('passes the AWS Solutions checks, both APIs included', () => {
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
  });
});

describe('A newer aws-cdk-lib that knows a newer Node.js runtime', () => {
  // aws-cdk-lib 2.278 added nodejs26.x and the README's consumer app stopped synthesizing: cdk-nag's AwsSolutions-L1
  // flags any runtime older than the newest one the installed library knows (found by the README commands test in CI).
  let newer: Runtime;
  beforeAll(() => {
    newer = new Runtime('nodejs99.x', RuntimeFamily.NODEJS);
  });
  afterAll(() => {
    Runtime.ALL.splice(Runtime.ALL.indexOf(newer), 1);
  });

  it('leaves keyroll\'s functions on the runtime they are built and tested for, acknowledged, and the example still passes the AWS Solutions checks', () => {
    const app = appLikeTheCli();
    const stack = new ExampleApiStack(app, 'Example', { env });
    const checks = new AwsSolutionsChecks(app);
    expect(checks.validateScope(app).violations).toEqual([]);
    const keyrollRuntimes = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^keyroll: ') } })).map(
      (f) => (f as { Properties: { Runtime: string } }).Properties.Runtime,
    );
    expect(keyrollRuntimes.length).toBeGreaterThan(4);
    expect(new Set(keyrollRuntimes)).toEqual(new Set([Runtime.NODEJS_24_X.name]));
  });
});

describe('grantReadKey', () => {
  it('lets another account read the current version of one client\'s key, and decrypt it through Secrets Manager only', () => {
    const stack = new Stack(appLikeTheCli(), 'Grants', { env });
    const keys = new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }, { clientId: 'globex' }] });
    keys.grantReadKey('acme', new AccountPrincipal('444455556666'));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      SecretId: { Ref: Match.stringLikeRegexp('Clientacme') },
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Principal: { AWS: 'arn:aws:iam::444455556666:root' },
            Condition: { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': ['AWSCURRENT'] } },
          }),
        ]),
      },
    });
    const globexPolicy = JSON.stringify(t.findResources('AWS::SecretsManager::ResourcePolicy', { Properties: { SecretId: { Ref: Match.stringLikeRegexp('Clientglobex') } } }));
    expect(globexPolicy).not.toContain('444455556666');
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
            Principal: { AWS: 'arn:aws:iam::444455556666:root' },
          }),
        ]),
      },
    });
  });

  it('covers readers of a replica and callers that name no version stage, and only the current version', () => {
    const replicaKey = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
    const stack = new Stack(appLikeTheCli(), 'Grants', { env });
    const keys = new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }], keyTableName: 'k', replicaRegions: [{ region: 'us-east-1', encryptionKeyArn: replicaKey }] });
    keys.grantReadKey('acme', new AccountPrincipal('444455556666'));
    const role = new Role(stack, 'SameAccountReader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    keys.grantReadKey('acme', role);
    const t = Template.fromStack(stack);
    // The resource policy is replicated with the secret: its statements name the secret as "*", which is the replica there.
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html
    const [policy] = Object.values(t.findResources('AWS::SecretsManager::ResourcePolicy')) as { Properties: { ResourcePolicy: { Statement: Record<string, unknown>[] } } }[];
    const forReader = (policy?.Properties.ResourcePolicy.Statement ?? []).filter((statement) => JSON.stringify(statement['Principal']).includes('444455556666'));
    expect(forReader).toEqual([
      expect.objectContaining({ Effect: 'Allow', Resource: '*', Condition: { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': ['AWSCURRENT'] } } }),
      // GetSecretValue without VersionStage and VersionId returns AWSCURRENT (API_GetSecretValue); naming a VersionId alone stays refused.
      expect.objectContaining({ Effect: 'Allow', Resource: '*', Condition: { Null: { 'secretsmanager:VersionStage': 'true', 'secretsmanager:VersionId': 'true' } } }),
    ]);
    // A role of this account: the replica's ARN in its own policy, and the replica key through Secrets Manager there.
    const rolePolicy = JSON.stringify(Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes('SameAccountReader')));
    expect(rolePolicy).toContain('arn:aws:secretsmanager:us-east-1:111122223333:secret:keyroll/Grants/ApiKeys/acme-??????');
    expect(rolePolicy).toContain(replicaKey);
    expect(rolePolicy).toContain('secretsmanager.us-east-1.amazonaws.com');
    // Another account's access to the replica key is in that key's policy, which the team owns: the synth says what it needs.
    const notes = Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('444455556666.*mrk-1234abcd.*kms:Decrypt.*secretsmanager.us-east-1.amazonaws.com'));
    expect(notes).toHaveLength(1);
  });

  it('refuses a client that is not declared', () => {
    const keys = new RotatingApiKeys(new Stack(appLikeTheCli(), 'Grants', { env }), 'ApiKeys', { clients: [{ clientId: 'acme' }] });
    expect(() => keys.grantReadKey('initech', new AccountPrincipal('444455556666'))).toThrow('grantReadKey: no client "initech"');
  });
});

describe('Key delivery and leaked-key reports in the template', () => {
  const PUBLIC_KEY = 'pQ2n3mH9r0d6oL4vYx1Zb8s5Kc7Ue2Wf3Jg0Ti9Ra6E';

  it('adds the delivery function behind a function URL only when a client has a delivery key, registers that client\'s key, and passes cdk-nag', () => {
    const app = appLikeTheCli();
    const stack = new Stack(app, 'Delivery', { env });
    const keys = new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme', deliveryPublicKey: PUBLIC_KEY }, { clientId: 'globex' }] });
    const template = Template.fromStack(stack);
    expect(keys.deliveryUrl).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    // Function URLs created since October 2025 need both permissions (AWS Lambda, urls-auth).
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*' });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true, Principal: '*' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('key delivery'),
      Environment: { Variables: Match.objectLike({ DELIVERIES_PER_MINUTE: '6' }) },
    });
    template.hasResourceProperties('Custom::KeyrollClientRegistration', { ClientId: 'acme', Settings: { 'keyroll:deliveryPublicKey': PUBLIC_KEY } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'] })]) },
      Roles: [{ Ref: Match.stringLikeRegexp('ApiKeysDeliveryFunction') }],
    });
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);

    const without = Template.fromStack(new ExampleApiStack(appLikeTheCli(), 'NoDelivery', { env }));
    without.resourceCountIs('AWS::Lambda::Url', 0);
  });

  it('adds the GitHub secret scanning endpoint only when asked: it may only invoke the emergency function, which alone may revoke and rotate, and passes cdk-nag', () => {
    const app = appLikeTheCli();
    const stack = new Stack(app, 'Leaks', { env });
    const keys = new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }], leakedKeyReports: { action: 'revoke' } });
    const template = Template.fromStack(stack);
    expect(keys.leakReportUrl).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('ends leaked keys'),
      Environment: { Variables: Match.objectLike({ LEAK_ACTION: 'revoke', SECRET_NAME_PREFIX: 'keyroll/Leaks/ApiKeys/' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('secret scanning'),
      Environment: { Variables: { EMERGENCY_FUNCTION_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiKeysEmergencyFunction'), 'Arn'] }, KEY_PREFIX: 'kr' } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'] })]) },
      Roles: [{ Ref: Match.stringLikeRegexp('ApiKeysEmergencyFunction') }],
    });
    template.resourcePropertiesCountIs('AWS::Lambda::Url', { AuthType: 'NONE' }, 1);
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
    const without = new Stack(appLikeTheCli(), 'NoLeaks', { env });
    new RotatingApiKeys(without, 'ApiKeys', { clients: [{ clientId: 'acme' }] });
    Template.fromStack(without).resourceCountIs('AWS::Lambda::Url', 0);
  });

  it.each([
    ['not a key at all', 'not-a-key'],
    ['a low-order point, which agrees the same secret with every private key', Buffer.alloc(32).toString('base64url')],
  ])('refuses a delivery key that is not a usable X25519 public key: %s', (_label, deliveryPublicKey) => {
    const build = () => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Bad', { env }), 'ApiKeys', { clients: [{ clientId: 'acme', deliveryPublicKey }] });
    expect(build).toThrow('deliveryPublicKey of client "acme" must be a usable X25519 public key');
  });
});

describe('Props validation', () => {
  it('reports every bad prop at once, naming the construct', () => {
    const build = () =>
      new RotatingApiKeys(new Stack(appLikeTheCli(), 'Test', { env }), 'Keys', {
        clients: [{ clientId: 'acme corp' }],
        keyPrefix: 'KR',
        gracePeriod: Duration.seconds(10),
      });
    expect(build).toThrow(InvalidKeyrollPropsError);
    expect(build).toThrow(/^Test\/Keys: 3 props are not valid:\n- keyPrefix.*\n- gracePeriod.*\n- clientId/);
  });

  it('asks for a stack with a region, before CDK fails on the encrypted table without saying why', () => {
    const build = () => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Agnostic'), 'Keys', { clients: [{ clientId: 'acme' }] });
    expect(build).toThrow(InvalidKeyrollPropsError);
    expect(build).toThrow('the stack needs an explicit region, e.g. new Stack(app, id, { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } })');
  });
});

describe('KeyRotationSchedule: what Secrets Manager accepts', () => {
  it.each([
    ['a cron minute other than 0', () => KeyRotationSchedule.cron('30 4 ? * MON *'), 'must have 0 in the minutes field'],
    ['a cron year other than *', () => KeyRotationSchedule.cron('0 4 ? * MON 2027'), 'must have * in the year field'],
    ['both day fields set', () => KeyRotationSchedule.cron('0 4 1 * MON *'), 'needs ? in exactly one of day-of-month and day-of-week'],
    ['a window past the end of the UTC day', () => KeyRotationSchedule.cron('0 22 ? * MON *', { window: Duration.hours(3) }), 'starting at 22:00 runs past the end of the UTC day'],
    ['a window into the next window', () => KeyRotationSchedule.cron('0 2/4 * * ? *', { window: Duration.hours(5) }), 'runs into the next window, 4 hours later'],
    ['a window longer than an hourly rate', () => KeyRotationSchedule.rate(Duration.hours(6), { window: Duration.hours(7) }), 'runs into the next window of rate(6 hours)'],
    ['an hour out of range', () => KeyRotationSchedule.cron('0 25 ? * MON *'), 'hours field'],
    ['a rate under 4 hours', () => KeyRotationSchedule.rate(Duration.hours(3)), 'from 4 hours to 1000 days'],
  ])('refuses %s', (_label, build, message) => {
    expect(build).toThrow(InvalidKeyrollPropsError);
    expect(build).toThrow(message);
  });

  it.each([
    ['0 4 ? * MON *', 2],
    ['0 0/6 * * ? *', 6],
    ['0 8 1,15 * ? *', 16],
    ['0 17 L * ? *', undefined],
  ])('accepts the documented form %s (window %p hours)', (fields, windowHours) => {
    const schedule = KeyRotationSchedule.cron(fields, windowHours === undefined ? {} : { window: Duration.hours(windowHours) });
    expect(schedule.expression).toBe(`cron(${fields})`);
  });
});
