import { WRITE_GUARD_SIDS } from '../../lambda/contracts/write-guard';
import { CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ApiKeySourceType, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { usageIdentifierKey } from '../../lambda/contracts/usage-plans';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleApiStack } from '../../lib/example-api-stack';
import { InvalidKeyrollPropsError } from '../../lambda/domain/errors';
import { KeyRotationSchedule } from '../../lib/key-rotation-schedule';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import type { RotatingApiKeysProps } from '../../lib/props';
import { AUTHORIZER_VARIABLES } from '../../lambda/config/authorizer-config';
import { MONITOR_VARIABLES } from '../../lambda/config/monitor-config';
import { ROTATION_VARIABLES } from '../../lambda/config/rotation-config';
import { USAGE_VARIABLES } from '../../lambda/config/usage-config';
import type { VariableSet } from '../../lambda/config/variables';
import { appLikeTheCli } from '../support/cdk-app';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;

const app = appLikeTheCli();
const stack = new ExampleApiStack(app, 'Example', { env: { account: '111122223333', region: 'eu-west-1' } });
const template = Template.fromStack(stack);
const resources = template.toJSON()['Resources'] as Resources;

function logicalIdOf(type: string, match: (properties: Record<string, unknown>) => boolean): string {
  const found = Object.entries(resources).find(([, r]) => r.Type === type && match(r.Properties ?? {}));
  if (found === undefined) throw new Error(`no ${type} matches`);
  return found[0];
}
const rotationFunctionId = logicalIdOf('AWS::Lambda::Function', (p) => String(p['Description']).includes('rotates client API keys'));
const authorizerFunctionId = logicalIdOf('AWS::Lambda::Function', (p) => String(p['Description']).includes('authorizer'));
const usageFunctionId = logicalIdOf('AWS::Lambda::Function', (p) => String(p['Description']).includes('counts requests'));
const monitorFunctionId = logicalIdOf('AWS::Lambda::Function', (p) => String(p['Description']).includes('reminds clients'));
const topicId = (displayName: string) => logicalIdOf('AWS::SNS::Topic', (p) => p['DisplayName'] === displayName);
const roleOf = (functionId: string) => (resources[functionId]?.Properties?.['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

/** Every statement of the inline policies attached to a role. */
function statementsOf(roleId: string): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.['Roles']).includes(roleId))
    .flatMap((r) => (r.Properties?.['PolicyDocument'] as { Statement: never[] }).Statement);
}
const actionsOf = (roleId: string) => statementsOf(roleId).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe('RotatingApiKeys in the example stack', () => {
  it('gives each client a CMK-encrypted secret holding a keyless placeholder, tagged with its client id only', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'keyroll/Example/ApiKeys/acme',
      SecretString: '{"clientId":"acme"}',
      KmsKeyId: Match.anyValue(),
      Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }],
    });
  });

  it('registers each client\'s secret with its settings (which no tag can change), before its rotation schedule exists', () => {
    const registrations = Object.entries(resources).filter(([, r]) => r.Type === 'Custom::KeyrollClientRegistration');
    expect(registrations.map(([, r]) => [r.Properties?.['ClientId'], r.Properties?.['Settings']])).toEqual([
      ['acme', { 'keyroll:scopes': 'read' }],
      ['globex', { 'keyroll:scopes': 'read write' }],
    ]);
    for (const [id, registration] of registrations) {
      expect(registration.Properties?.['SecretArn']).toEqual({ Ref: expect.stringMatching(/Secret/) });
      const schedule = Object.values(resources).find((r) => r.Type === 'AWS::SecretsManager::RotationSchedule' && JSON.stringify(r.Properties?.['SecretId']) === JSON.stringify(registration.Properties?.['SecretArn']));
      expect(schedule?.DependsOn).toContain(id);
      expect(registration.DependsOn?.some((dependency) => resources[dependency]?.Type === 'AWS::SecretsManager::ResourcePolicy')).toBe(true);
    }
  });

  it('schedules rotation by the rotation function, and never rotates a key because of a deploy', () => {
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
    template.allResourcesProperties('AWS::SecretsManager::RotationSchedule', {
      RotateImmediatelyOnUpdate: false,
      RotationRules: { ScheduleExpression: 'rate(30 days)', Duration: '4h' },
      RotationLambdaARN: { 'Fn::GetAtt': [rotationFunctionId, 'Arn'] },
    });
  });

  it('lets Secrets Manager invoke the rotation function for this account, in the documented form, before any schedule exists', () => {
    const permissions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Permission' && r.Properties?.['Principal'] === 'secretsmanager.amazonaws.com');
    expect(permissions).toHaveLength(1);
    for (const [, permission] of permissions) {
      expect(permission.Properties).toEqual({ Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [rotationFunctionId, 'Arn'] }, Principal: 'secretsmanager.amazonaws.com', SourceAccount: '111122223333' });
    }
    const schedules = Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::RotationSchedule');
    for (const schedule of schedules) expect(schedule.DependsOn).toEqual(expect.arrayContaining(permissions.map(([id]) => id)));
  });

  it('issues each client\'s first key once its rotation schedule exists', () => {
    template.resourceCountIs('Custom::KeyrollFirstKey', 2);
    const firstKeys = Object.values(resources).filter((r) => r.Type === 'Custom::KeyrollFirstKey');
    for (const firstKey of firstKeys) {
      expect(firstKey.Properties).toMatchObject({ SecretId: { Ref: expect.stringMatching(/Secret/) } });
      expect(firstKey.DependsOn?.some((id) => resources[id]?.Type === 'AWS::SecretsManager::RotationSchedule')).toBe(true);
    }
  });

  it('denies UpdateSecret (which writes a new current version) to all but the rotation role and CloudFormation\'s execution role', () => {
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'secretsmanager:UpdateSecret',
            Condition: {
              ArnNotEquals: {
                'aws:PrincipalArn': [
                  { 'Fn::GetAtt': [roleOf(rotationFunctionId), 'Arn'] },
                  { 'Fn::Sub': Match.stringLikeRegexp('cfn-exec-role') },
                ],
              },
            },
          }),
        ]),
      },
    });
  });

  it('denies writing key versions to every principal but the rotation function\'s role', () => {
    template.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'secretsmanager:PutSecretValue',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [roleOf(rotationFunctionId), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('guards what else could change a client: current labels, another rotation function, rotation off, the policy itself and keyroll tags', () => {
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::ResourcePolicy');
    expect(policies).toHaveLength(2);
    const rotationRole = { 'Fn::GetAtt': [roleOf(rotationFunctionId), 'Arn'] };
    const deployer = { 'Fn::Sub': expect.stringMatching(/cfn-exec-role/) };
    for (const policy of policies) {
      const statements = (policy.Properties?.['ResourcePolicy'] as { Statement: { Sid: string; Effect: string; Action: unknown; Condition: Record<string, Record<string, unknown>> }[] }).Statement;
      const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
      expect(Object.keys(bySid).sort()).toEqual(Object.values(WRITE_GUARD_SIDS).sort());
      expect(statements.every((statement) => statement.Effect === 'Deny')).toBe(true);
      expect(bySid[WRITE_GUARD_SIDS.moveCurrent]).toMatchObject({
        Action: 'secretsmanager:UpdateSecretVersionStage',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': rotationRole }, StringEquals: { 'secretsmanager:VersionStage': ['AWSCURRENT', 'AWSPREVIOUS'] } },
      });
      expect(bySid[WRITE_GUARD_SIDS.rotateElsewhere]).toMatchObject({
        Action: 'secretsmanager:RotateSecret',
        Condition: { Null: { 'secretsmanager:RotationLambdaARN': 'false' }, ArnNotEquals: { 'secretsmanager:RotationLambdaARN': { 'Fn::GetAtt': [rotationFunctionId, 'Arn'] } } },
      });
      expect(bySid[WRITE_GUARD_SIDS.guardItself]).toMatchObject({
        Action: ['secretsmanager:CancelRotateSecret', 'secretsmanager:DeleteResourcePolicy', 'secretsmanager:PutResourcePolicy'],
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': deployer } },
      });
      expect(bySid[WRITE_GUARD_SIDS.tags]).toMatchObject({
        Action: ['secretsmanager:TagResource', 'secretsmanager:UntagResource'],
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': deployer }, 'ForAnyValue:StringLike': { 'aws:TagKeys': ['keyroll:*'] } },
      });
    }
  });

  it('attaches a REQUEST authorizer with the key header (and, with route scopes, the method and path) as identity sources and an explicit result TTL', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.x-api-key,context.httpMethod,context.path',
      AuthorizerResultTtlInSeconds: 60,
    });
    template.allResourcesProperties('AWS::ApiGateway::Method', { AuthorizationType: 'CUSTOM' });
  });

  it('runs every keyroll function on the house defaults', () => {
    for (const [, fn] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.['Description']).startsWith('keyroll:'))) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: expect.any(Number),
        MemorySize: expect.any(Number),
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('configures the functions with declared variables only, each with a value its function accepts, and nothing secret', () => {
    const variablesOf = (functionId: string) => (resources[functionId]?.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables;
    const declared: [string, VariableSet][] = [
      [rotationFunctionId, ROTATION_VARIABLES],
      [authorizerFunctionId, AUTHORIZER_VARIABLES],
      [usageFunctionId, USAGE_VARIABLES],
      [monitorFunctionId, MONITOR_VARIABLES],
    ];
    for (const [functionId, variables] of declared) {
      const byName = new Map(Object.values(variables).map((variable) => [variable.name, variable]));
      const environment = variablesOf(functionId);
      for (const [name, value] of Object.entries(environment)) {
        const variable = byName.get(name);
        expect({ functionId, name, declared: variable !== undefined }).toEqual({ functionId, name, declared: true });
        // A CloudFormation reference is checked with the declaration's example; a literal as it is.
        const text = typeof value === 'string' ? value : (variable?.example ?? '');
        expect(() => variable?.read({ [name]: text })).not.toThrow();
      }
      expect(() => Object.values(variables).forEach((variable) => variable.read(Object.fromEntries(Object.entries(environment).map(([n, v]) => [n, typeof v === 'string' ? v : (byName.get(n)?.example ?? '')]))))).not.toThrow();
    }
    expect(variablesOf(monitorFunctionId)).toMatchObject({ SECRET_NAME_PREFIX: 'keyroll/Example/ApiKeys/', REMINDER_LEAD_HOURS: '24,1', ROTATION_STUCK_AFTER_MINUTES: '60' });
    const environments = JSON.stringify(Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => r.Properties?.['Environment']));
    expect(environments).not.toMatch(/kr_[0-9A-Za-z]{20,}/);
  });

  it('limits the rotation function to its table, index, topic, key and secrets', () => {
    const roleId = roleOf(rotationFunctionId);
    expect(new Set(actionsOf(roleId))).toEqual(
      new Set([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'sns:Publish',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ]),
    );
    for (const statement of statementsOf(roleId)) expect(statement.Resource).not.toEqual('*');
  });

  it('lets the rotation function publish to both topics: key.rotated to clients, rotation.failed to operators', () => {
    const publish = statementsOf(roleOf(rotationFunctionId)).find((statement) => statement.Action === 'sns:Publish');
    expect(publish?.Resource).toEqual([{ Ref: topicId('keyroll client notifications') }, { Ref: topicId('keyroll operations') }]);
  });

  it('lets the usage counter write counters and read its delivery markers, and nothing else', () => {
    const roleId = roleOf(usageFunctionId);
    expect(new Set(actionsOf(roleId))).toEqual(
      new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'kms:Decrypt', 'kms:GenerateDataKey']),
    );
    for (const statement of statementsOf(roleId)) expect(statement.Resource).not.toEqual('*');
  });

  it('feeds the API access logs to the usage counter, without the lines of refused requests', () => {
    template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: { Ref: Match.stringLikeRegexp('^AccessLogs') },
      DestinationArn: { 'Fn::GetAtt': [usageFunctionId, 'Arn'] },
      FilterPattern: '{ ($.keyVersion != "-") && ($.status != "403") }',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [usageFunctionId, 'Arn'] },
      Principal: 'logs.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AccessLogs'), 'Arn'] },
    });
  });

  it('runs the monitor every 15 minutes, once per run (the next run is the retry)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [monitorFunctionId, 'Arn'] }, RetryPolicy: { MaximumEventAgeInSeconds: 900 } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: monitorFunctionId }, MaximumRetryAttempts: 0 });
  });

  it('lets the monitor list the managed secrets, read their labels and versions, and nothing of their values', () => {
    const roleId = roleOf(monitorFunctionId);
    expect(new Set(actionsOf(roleId))).toEqual(
      new Set([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'sns:Publish',
        'secretsmanager:ListSecrets',
        'secretsmanager:DescribeSecret',
        'secretsmanager:ListSecretVersionIds',
      ]),
    );
    const everywhere = statementsOf(roleId).filter((statement) => statement.Resource === '*');
    expect(everywhere).toEqual([expect.objectContaining({ Action: 'secretsmanager:ListSecrets' })]);
  });

  it('lets the authorizer read the table (items, and the revocation feed by Query) and nothing else: no write, no Secrets Manager', () => {
    const roleId = roleOf(authorizerFunctionId);
    expect(new Set(actionsOf(roleId))).toEqual(new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'dynamodb:GetItem', 'dynamodb:Query', 'kms:Decrypt']));
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ REVOCATION_POLL_MS: '1000' }) } });
    for (const statement of statementsOf(roleId)) expect(statement.Resource).not.toEqual('*');
  });

  it('encrypts both topics with the key and refuses publishing without TLS', () => {
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourcePropertiesCountIs(
      'AWS::SNS::TopicPolicy',
      { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } },
      2,
    );
  });

  it('rotates its KMS key and lets this account\'s CloudWatch alarms use it for the operations topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    expect(JSON.stringify(Object.values(resources).filter((r) => r.Type === 'AWS::KMS::Key'))).not.toContain('events.amazonaws.com');
  });

  it('lets exactly its alarms publish to the operations topic, from this account', () => {
    const opsTopic = logicalIdOf('AWS::SNS::Topic', (p) => p['DisplayName'] === 'keyroll operations');
    const alarmIds = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm').map(([id]) => id).sort();
    const policy = Object.values(resources).find((r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties?.['Topics']) === JSON.stringify([{ Ref: opsTopic }]));
    const statements = (policy?.Properties?.['PolicyDocument'] as { Statement: { Principal?: { Service?: string }; Action: string; Condition?: Record<string, Record<string, unknown>> }[] }).Statement;
    const fromAlarms = statements.filter((statement) => statement.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(fromAlarms).toHaveLength(1);
    expect(fromAlarms[0]).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish', Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } } });
    const sourceArns = fromAlarms[0]?.Condition?.['ArnLike']?.['aws:SourceArn'] as { 'Fn::GetAtt': [string, string] }[];
    expect(sourceArns.map((arn) => arn['Fn::GetAtt'][0]).sort()).toEqual(alarmIds);
    // EventBridge publishes with a role of its own: no statement lets every rule in the account publish.
    expect(JSON.stringify(statements)).not.toContain('events.amazonaws.com');
  });

  it('delivers rotation failures through a role trusted by EventBridge for this account only, allowed to publish to the operations topic', () => {
    const rule = Object.values(resources).find((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties?.['EventPattern'] ?? {}).includes('RotationFailed'));
    const roleId = ((rule?.Properties?.['Targets'] as { RoleArn: { 'Fn::GetAtt': [string, string] } }[])[0]?.RoleArn['Fn::GetAtt'][0]) ?? '';
    expect(resources[roleId]?.Properties?.['AssumeRolePolicyDocument']).toMatchObject({
      Statement: [expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } } })],
    });
    expect(new Set(actionsOf(roleId))).toEqual(new Set(['sns:Publish', 'kms:Decrypt', 'kms:GenerateDataKey*']));
  });

  it('keeps the key table (CMK, point-in-time recovery, TTL) when the stack is deleted', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ SSESpecification: { SSEEnabled: true, SSEType: 'KMS' }, TimeToLiveSpecification: { AttributeName: 'purgeAt', Enabled: true } }),
    });
  });

  it('sends failed rotations and six alarms to the operations topic, refused rotations among them', () => {
    const opsTopic = logicalIdOf('AWS::SNS::Topic', (p) => p['DisplayName'] === 'keyroll operations');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: {
          eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
          additionalEventData: { SecretId: [{ prefix: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/Example/ApiKeys/' }] },
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: opsTopic } })],
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RotationRefused', Namespace: 'keyroll', Dimensions: [{ Name: 'service', Value: 'keyroll-rotation' }], Threshold: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: monitorFunctionId } }], Period: 900 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: usageFunctionId } }] });
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: opsTopic }], TreatMissingData: 'notBreaching' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('logs each request as JSON with the authorizer\'s clientId and keyVersion', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { Format: Match.stringLikeRegexp('"clientId":"\\$context.authorizer.clientId".*"keyVersion":"\\$context.authorizer.keyVersion"') },
    });
  });

  it('outputs the API URL, the topics and each client\'s secret ARN', () => {
    expect(Object.keys(template.toJSON()['Outputs'] as object)).toEqual(expect.arrayContaining(['ApiUrl', 'ClientTopicArn', 'OperationsTopicArn', 'SecretArnacme', 'SecretArnglobex']));
  });

  it('passes the AWS Solutions checks with no unacknowledged finding', () => {
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
  });
});

describe('RotatingApiKeys props', () => {
  const env = { account: '111122223333', region: 'eu-west-1' };
  const build = (props: Partial<RotatingApiKeysProps>) => () =>
    new RotatingApiKeys(new Stack(appLikeTheCli(), 'Test', { env }), 'Keys', { clients: [{ clientId: 'acme' }], ...props });

  it.each<[string, Partial<RotatingApiKeysProps>, string]>([
    ['a grace period shorter than the caches', { gracePeriod: Duration.seconds(60) }, 'gracePeriod of 1 minute is shorter than the caches it must outlast: authorizerResultsCacheTtl (60 s) + authorizerCacheTtl (30 s) = 90 seconds'],
    ['a client grace period shorter than the caches', { clients: [{ clientId: 'acme', gracePeriod: Duration.seconds(0) }] }, 'gracePeriod of client "acme" of 0 seconds is shorter'],
    ['a duplicated client', { clients: [{ clientId: 'acme' }, { clientId: 'acme' }] }, 'clientId "acme" is used twice'],
    ['a client id with a space', { clients: [{ clientId: 'acme corp' }] }, 'clientId must be 1 to 64 letters, digits, ".", "_" or "-"; got "acme corp"'],
    ['a bad scope', { clients: [{ clientId: 'acme', scopes: ['read write'] }] }, 'scope "read write" of client "acme"'],
    ['a bad key prefix', { keyPrefix: 'KR' }, 'keyPrefix must be 2 to 16 lower-case letters or digits, starting with a letter; got "KR"'],
    ['a bad route map', { routeScopes: { 'post /orders': 'write' } }, 'routeScopes: route "post /orders" must be'],
    ['a result cache over an hour', { authorizerResultsCacheTtl: Duration.hours(2), gracePeriod: Duration.hours(3) }, 'authorizerResultsCacheTtl must be at most 1 hour; got 2 hours'],
    ['a fractional max key age', { clients: [{ clientId: 'acme', maxKeyAge: Duration.hours(36) }] }, 'maxKeyAge of client "acme" must be whole days'],
    ['a monitor interval in seconds', { monitorInterval: Duration.seconds(90) }, 'monitorInterval must be whole minutes, from 1 minute to 1 day; got 1 minute 30 seconds'],
    ['no reminder lead time', { reminderLeadTimes: [] }, 'reminderLeadTimes must be one or more whole hours; got none'],
    ['a reminder lead time in minutes', { reminderLeadTimes: [Duration.minutes(30)] }, 'reminderLeadTimes must be one or more whole hours; got 30 minutes'],
    ['a stuck threshold under 15 minutes', { rotationStuckAfter: Duration.minutes(5) }, 'rotationStuckAfter must be whole minutes, from 15 minutes to 7 days; got 5 minutes'],
    ['an extension step in minutes', { clients: [{ clientId: 'acme', extendWhileInUse: { step: Duration.minutes(90) } }] }, 'extendWhileInUse.step of client "acme" must be whole hours'],
  ])('refuses %s with a clear error', (_label, props, message) => {
    expect(build(props)).toThrow(InvalidKeyrollPropsError);
    expect(build(props)).toThrow(message);
  });

  it('takes per-client settings into the registration, and a cron schedule with a window', () => {
    const stack = new Stack(appLikeTheCli(), 'Test', { env });
    new RotatingApiKeys(stack, 'Keys', {
      clients: [{ clientId: 'acme', gracePeriod: Duration.hours(2), maxKeyAge: Duration.days(90), rotationSchedule: KeyRotationSchedule.cron('0 4 ? * MON *', { window: Duration.hours(2) }) }],
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::KeyrollClientRegistration', { ClientId: 'acme', Settings: { 'keyroll:gracePeriodSeconds': '7200', 'keyroll:maxKeyAgeDays': '90' } });
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'cron(0 4 ? * MON *)', Duration: '2h' } });
  });

  it('writes usage-aware retirement into the registration, and the monitor settings into its environment', () => {
    const stack = new Stack(appLikeTheCli(), 'Test', { env });
    const keys = new RotatingApiKeys(stack, 'Keys', {
      clients: [
        { clientId: 'acme', extendWhileInUse: { step: Duration.hours(12), maxGrace: Duration.days(3) }, closeWhenSwitched: Duration.hours(6), rescueMissedRotation: Duration.hours(4) },
        { clientId: 'globex' },
      ],
      missedRotation: { reportInterval: Duration.seconds(30), minRefusals: 10 },
      monitorInterval: Duration.minutes(5),
      reminderLeadTimes: [Duration.days(3), Duration.hours(2)],
      rotationStuckAfter: Duration.minutes(30),
    });
    keys.countUsageFrom(new LogGroup(stack, 'AccessLogs'));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::KeyrollClientRegistration', {
      ClientId: 'acme',
      Settings: { 'keyroll:closeWhenSwitchedHours': '6', 'keyroll:extendWhileInUseHours': '12', 'keyroll:maxGraceHours': '72', 'keyroll:rescueMissedHours': '4' },
    });
    expect(() => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Bad', { env }), 'Keys', { clients: [{ clientId: 'acme', rescueMissedRotation: Duration.days(2) }] })).toThrow(
      /rescueMissedRotation of client "acme" must be whole hours, from 1 to 24 hours/,
    );
    expect(() => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Bad', { env }), 'Keys', { clients: [{ clientId: 'acme' }], missedRotation: { reportInterval: Duration.seconds(5) } })).toThrow(
      /missedRotation.reportInterval must be whole seconds, from 10 seconds to 1 hour/,
    );
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ENDED_KEY_REPORT_SECONDS: '30', KEY_PREFIX: Match.anyValue() }) } });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ MISSED_ROTATION_MIN_REFUSALS: '10', REMINDER_LEAD_HOURS: '72,2' }) } });
    expect(() => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Bad', { env }), 'Keys', { clients: [{ clientId: 'acme', closeWhenSwitched: Duration.minutes(90) }] })).toThrow(
      /closeWhenSwitched of client "acme" must be whole hours/,
    );
    const globexTags = JSON.stringify(Object.values(t.findResources('AWS::SecretsManager::Secret', { Properties: { Name: 'keyroll/Test/Keys/globex' } }))[0]);
    expect(globexTags).not.toContain('extendWhileInUse');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REMINDER_LEAD_HOURS: '72,2', ROTATION_STUCK_AFTER_MINUTES: '30' }) },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    t.resourceCountIs('AWS::Logs::SubscriptionFilter', 2);
    // Without countUsageFrom there is only the authorizer's own subscription: which log group holds the API's
    // access logs is the API owner's.
    const bare = new Stack(appLikeTheCli(), 'Bare', { env });
    const bareKeys = new RotatingApiKeys(bare, 'Keys', { clients: [{ clientId: 'acme' }] });
    const bareTemplate = Template.fromStack(bare);
    bareTemplate.resourceCountIs('AWS::Logs::SubscriptionFilter', 1);
    bareTemplate.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: { Ref: bare.getLogicalId(bareKeys.authorizerFunction.logGroup.node.defaultChild as CfnElement) },
      DestinationArn: { 'Fn::GetAtt': [bare.getLogicalId(bareKeys.usageFunction.node.defaultChild as CfnElement), 'Arn'] },
      FilterPattern: '{ $.message = "ended key refused" }',
    });
  });
});

describe('KeyRotationSchedule', () => {
  it('writes rates in days when whole, in hours otherwise', () => {
    expect(KeyRotationSchedule.rate(Duration.days(7)).expression).toBe('rate(7 days)');
    expect(KeyRotationSchedule.rate(Duration.hours(6)).expression).toBe('rate(6 hours)');
  });

  it.each([
    ['a rate under 4 hours', () => KeyRotationSchedule.rate(Duration.hours(3)), 'rotation rate must be whole hours from 4 hours to 1000 days; got 3 hours'],
    ['a rate over 1000 days', () => KeyRotationSchedule.rate(Duration.days(1001)), 'got 1001 days'],
    ['a cron with 5 fields', () => KeyRotationSchedule.cron('0 4 * * MON'), 'a rotation cron expression has 6 fields'],
    ['a window over a day', () => KeyRotationSchedule.rate(Duration.days(1), { window: Duration.hours(25) }), 'a rotation window is 1 to 24 whole hours; got 1 day 1 hour'],
  ])('refuses %s', (_label, build, message) => {
    expect(build).toThrow(InvalidKeyrollPropsError);
    expect(build).toThrow(message);
  });
});

describe('Error bodies clients can act on (addErrorResponses)', () => {
  const responses = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::GatewayResponse');
  const byType = new Map(responses.map((r) => [String(r.Properties?.['ResponseType']), r.Properties ?? {}]));
  const body = (type: string) => {
    const templates = byType.get(type)?.['ResponseTemplates'] as Record<string, string>;
    // API Gateway fills in $context.requestId; the rest of the template must already be JSON.
    return JSON.parse((templates['application/json'] ?? '').replace('$context.requestId', 'req-1')) as { error: Record<string, string> };
  };

  it('answers 401, 403, both 429s and an authorizer failure with a stable code, what to do and the request id', () => {
    expect([...byType.keys()].sort()).toEqual(['ACCESS_DENIED', 'AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE', 'INVALID_API_KEY', 'QUOTA_EXCEEDED', 'THROTTLED', 'UNAUTHORIZED']);
    expect(Object.fromEntries([...byType].map(([type, p]) => [type, p['StatusCode']]))).toEqual({ UNAUTHORIZED: '401', ACCESS_DENIED: '403', INVALID_API_KEY: '403', THROTTLED: '429', QUOTA_EXCEEDED: '429', AUTHORIZER_FAILURE: '500', AUTHORIZER_CONFIGURATION_ERROR: '500' });
    for (const type of byType.keys()) expect(body(type).error).toMatchObject({ code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String), requestId: 'req-1' });
  });

  it('names the key header and key.rotated in the 401, with WWW-Authenticate', () => {
    expect(body('UNAUTHORIZED').error).toMatchObject({ code: 'api_key_invalid', header: 'x-api-key', message: expect.stringContaining('key.rotated') });
    expect(byType.get('UNAUTHORIZED')?.['ResponseParameters']).toMatchObject({ 'gatewayresponse.header.WWW-Authenticate': `'ApiKey header="x-api-key"'` });
  });

  it('links each error to its section of the client documentation when one is configured', () => {
    const withDocs = new Stack(appLikeTheCli(), 'Docs', { env: { account: '111122223333', region: 'eu-west-1' } });
    const keys = new RotatingApiKeys(withDocs, 'ApiKeys', { clients: [{ clientId: 'acme' }], clientDocumentationUrl: 'https://docs.example.com/api' });
    const api = new RestApi(withDocs, 'Api');
    api.root.addMethod('GET', new MockIntegration(), { authorizer: keys.authorizer });
    keys.addErrorResponses(api);
    const unauthorized = Template.fromStack(withDocs).findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: 'UNAUTHORIZED' } });
    const template = (Object.values(unauthorized)[0]?.['Properties'] as { ResponseTemplates: Record<string, string> }).ResponseTemplates['application/json'] ?? '';
    expect(JSON.parse(template).error.documentation).toBe('https://docs.example.com/api#key-rotated');
    expect(() => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Bad', { env: { account: '111122223333', region: 'eu-west-1' } }), 'ApiKeys', { clients: [], clientDocumentationUrl: 'http://docs.example.com' })).toThrow(/clientDocumentationUrl must be an https URL/);
  });
});

describe('Refusal anomaly alarm (refusalAnomalyAlarm)', () => {
  const env = { account: '111122223333', region: 'eu-west-1' };
  const alarmsOf = (props: Partial<RotatingApiKeysProps>) => {
    const stack = new Stack(appLikeTheCli(), 'Anomaly', { env });
    new RotatingApiKeys(stack, 'Keys', { clients: [{ clientId: 'acme' }], ...props });
    return Template.fromStack(stack);
  };

  it('is off by default: it costs what three metrics\' alarms cost', () => {
    expect(Object.keys(alarmsOf({}).findResources('AWS::CloudWatch::Alarm', { Properties: { ComparisonOperator: 'GreaterThanUpperThreshold' } }))).toEqual([]);
  });

  it('when asked for, alarms the operations topic on refusals of ended keys above the band CloudWatch learns', () => {
    const t = alarmsOf({ refusalAnomalyAlarm: true });
    const [alarm] = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { ComparisonOperator: 'GreaterThanUpperThreshold' } }));
    const properties = alarm?.['Properties'] as { Metrics: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[]; ThresholdMetricId: string; AlarmActions: unknown[]; EvaluationPeriods: number; DatapointsToAlarm: number };
    const band = properties.Metrics.find((m) => m.Id === properties.ThresholdMetricId);
    expect(band?.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(\w+, 3\)$/);
    expect(properties.Metrics.find((m) => m.MetricStat !== undefined)?.MetricStat?.Metric.MetricName).toBe('RefusedExpired');
    expect({ evaluationPeriods: properties.EvaluationPeriods, datapoints: properties.DatapointsToAlarm, actions: properties.AlarmActions.length }).toEqual({ evaluationPeriods: 5, datapoints: 3, actions: 1 });
    // The operations topic lets this alarm publish too.
    const policy = JSON.stringify(t.findResources('AWS::SNS::TopicPolicy'));
    expect(policy).toContain('RefusalAnomalyAlarm');
  });

  it('with usage plans, adds one per plan (client tier) on that plan\'s refusals, each allowed to publish', () => {
    const t = alarmsOf({ refusalAnomalyAlarm: true, clients: [{ clientId: 'acme', usagePlan: 'gold' }], usagePlans: { gold: { rateLimit: 10, burstLimit: 20 }, free: { rateLimit: 1, burstLimit: 2 } } });
    const anomalies = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { ComparisonOperator: 'GreaterThanUpperThreshold' } }));
    expect(anomalies).toHaveLength(3);
    const dimensionsOf = (alarm: unknown) =>
      ((alarm as { Properties: { Metrics: { MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } } }[] } }).Properties.Metrics.find((m) => m.MetricStat !== undefined)?.MetricStat?.Metric.Dimensions ?? [])
        .map(({ Name, Value }) => `${Name}=${Value}`)
        .sort();
    expect(anomalies.map(dimensionsOf).sort()).toEqual([['UsagePlan=free', 'service=keyroll-authorizer'], ['UsagePlan=gold', 'service=keyroll-authorizer'], ['service=keyroll-authorizer']]);
    const policy = JSON.stringify(t.findResources('AWS::SNS::TopicPolicy'));
    expect(policy).toContain('RefusalAnomalyAlarmgold');
    expect(policy).toContain('RefusalAnomalyAlarmfree');
  });
});

describe('Per-client usage plans (usagePlans, applyUsagePlans)', () => {
  const env = { account: '111122223333', region: 'eu-west-1' };
  const build = (apiKeySourceType?: ApiKeySourceType) => {
    const stack = new Stack(appLikeTheCli(), 'Plans', { env });
    const keys = new RotatingApiKeys(stack, 'Keys', {
      clients: [{ clientId: 'acme', usagePlan: 'gold' }, { clientId: 'globex', usagePlan: 'free' }, { clientId: 'initech' }],
      usagePlans: { gold: { rateLimit: 100, burstLimit: 200, quota: { limit: 1_000_000, period: 'MONTH' } }, free: { rateLimit: 5, burstLimit: 10, quota: { limit: 1_000, period: 'DAY' } } },
    });
    const api = new RestApi(stack, 'Api', { ...(apiKeySourceType === undefined ? {} : { apiKeySourceType }) });
    api.root.addMethod('GET', new MockIntegration(), { authorizer: keys.authorizer, apiKeyRequired: true });
    return { stack, keys, api };
  };

  it('makes one plan per name on the API stage, and one API key per client in its plan, valued as the authorizer answers', () => {
    const { stack, keys, api } = build(ApiKeySourceType.AUTHORIZER);
    keys.applyUsagePlans(api);
    const t = Template.fromStack(stack);
    const stageRef = { Ref: stack.getLogicalId(api.deploymentStage.node.defaultChild as CfnElement) };
    t.resourceCountIs('AWS::ApiGateway::UsagePlan', 2);
    t.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'keyroll/Plans/Keys/gold',
      Throttle: { RateLimit: 100, BurstLimit: 200 },
      Quota: { Limit: 1_000_000, Period: 'MONTH' },
      ApiStages: [{ ApiId: { Ref: stack.getLogicalId(api.node.defaultChild as CfnElement) }, Stage: stageRef }],
    });
    t.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
    t.hasResourceProperties('AWS::ApiGateway::ApiKey', { Name: 'keyroll-acme', Value: usageIdentifierKey('keyroll/Plans/Keys/', 'acme'), Enabled: true });
    t.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ USAGE_PLAN_KEY_NAMESPACE: 'keyroll/Plans/Keys/' }) } });
    t.hasResourceProperties('Custom::KeyrollClientRegistration', { ClientId: 'acme', Settings: { 'keyroll:usagePlan': 'gold' } });
    // A value the CLI can find: the description in the stack output names each plan's id.
    const output = JSON.stringify(t.findOutputs('*'));
    expect(output).toContain('usagePlanIds');
  });

  it('refuses an API whose key source is the header, an unknown plan, and plans without a plan', () => {
    const { keys, api } = build();
    expect(() => keys.applyUsagePlans(api)).toThrow(/must be created with apiKeySourceType: ApiKeySourceType.AUTHORIZER/);
    expect(() => new RotatingApiKeys(new Stack(appLikeTheCli(), 'Bad', { env }), 'Keys', { clients: [{ clientId: 'acme', usagePlan: 'gold' }] })).toThrow(
      /usagePlan of client "acme" is "gold", which is not one of usagePlans \(none\)/,
    );
    const plain = new Stack(appLikeTheCli(), 'Plain', { env });
    const none = new RotatingApiKeys(plain, 'Keys', { clients: [{ clientId: 'acme' }] });
    const plainApi = new RestApi(plain, 'Api', { apiKeySourceType: ApiKeySourceType.AUTHORIZER });
    plainApi.root.addMethod('GET', new MockIntegration(), { authorizer: none.authorizer });
    expect(() => none.applyUsagePlans(plainApi)).toThrow(/has no usagePlans/);
    // Without plans the authorizer is told nothing about them.
    expect(JSON.stringify(Template.fromStack(plain).toJSON())).not.toContain('USAGE_PLAN_KEY_NAMESPACE');
  });
});
