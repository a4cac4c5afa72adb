import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import { RotatingApiKeysReplica } from '../../lib/replica';
import { generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { appLikeTheCli } from '../support/cdk-app';

const ACCOUNT = '111122223333';
const REPLICA_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`;

/** A two-region app as a team would write it: the install in eu-west-1, a replica and an API in us-east-1. */
function twoRegionApp(options: { leakedKeyReports?: boolean } = {}) {
  const app = appLikeTheCli();
  const primaryStack = new Stack(app, 'Primary', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const keys = new RotatingApiKeys(primaryStack, 'ApiKeys', {
    clients: [{ clientId: 'acme' }],
    keyTableName: 'orders-api-keys',
    replicaRegions: [{ region: 'us-east-1', encryptionKeyArn: REPLICA_KEY }],
    ...(options.leakedKeyReports === true ? { leakedKeyReports: { action: 'rotate' as const } } : {}),
  });
  const primaryApi = new RestApi(primaryStack, 'Api');
  primaryApi.root.addMethod('GET', new MockIntegration(), { authorizer: keys.authorizer });
  keys.addErrorResponses(primaryApi);

  const replicaStack = new Stack(app, 'Replica', { env: { account: ACCOUNT, region: 'us-east-1' } });
  const replica = new RotatingApiKeysReplica(replicaStack, 'ApiKeys', { primary: keys });
  const replicaApi = new RestApi(replicaStack, 'Api');
  replicaApi.root.addMethod('GET', new MockIntegration(), { authorizer: replica.authorizer });
  replica.addErrorResponses(replicaApi);
  return { app, primaryStack, replicaStack, keys, replica };
}

describe('A multi-region install (replicaRegions, RotatingApiKeysReplica)', () => {
  const { app, primaryStack, replicaStack } = twoRegionApp();
  const primary = Template.fromStack(primaryStack);
  const replica = Template.fromStack(replicaStack);

  it('makes the key table a global table with a replica in each region, encrypted with that region\'s key', () => {
    primary.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'orders-api-keys',
      Replicas: Match.arrayWith([
        Match.objectLike({ Region: 'us-east-1', SSESpecification: { KMSMasterKeyId: REPLICA_KEY } }),
        Match.objectLike({ Region: 'eu-west-1' }),
      ]),
    });
  });

  it('replicates each client secret there, and has the rotation wait for the replica, reading it there', () => {
    primary.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'keyroll/Primary/ApiKeys/acme', ReplicaRegions: [{ Region: 'us-east-1', KmsKeyId: REPLICA_KEY }] });
    primary.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('rotates'), Environment: { Variables: Match.objectLike({ KEY_TABLE_REPLICA_REGIONS: 'us-east-1' }) } });
    const policies = JSON.stringify(primary.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/`);
    expect(policies).toContain(REPLICA_KEY);
    // The CLI replicates the secrets of clients it adds.
    expect(JSON.stringify(primary.toJSON()['Outputs'])).toContain('replicaRegions');
  });

  it('runs the same authorizer in the replica region on the local replica of the table, with the primary\'s settings', () => {
    const [primaryAuthorizer] = Object.values(primary.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('authorizer') } }));
    const [replicaAuthorizer] = Object.values(replica.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('authorizer') } }));
    const variables = (resource: unknown) => (resource as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    const { KEY_TABLE_NAME: replicaTable, ...replicaSettings } = variables(replicaAuthorizer);
    const { KEY_TABLE_NAME: _primaryTable, ...primarySettings } = variables(primaryAuthorizer);
    expect(replicaTable).toBe('orders-api-keys');
    expect(replicaSettings).toEqual(primarySettings);
    const policies = JSON.stringify(replica.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(':dynamodb:us-east-1:');
    expect(policies).toContain(REPLICA_KEY);
    replica.resourceCountIs('AWS::ApiGateway::GatewayResponse', primary.findResources('AWS::ApiGateway::GatewayResponse') ? Object.keys(primary.findResources('AWS::ApiGateway::GatewayResponse')).length : 0);
    replica.resourceCountIs('AWS::SecretsManager::Secret', 0);
    replica.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  });

  it('returns no usage identifier key in a replica region, where the install\'s API keys and usage plans do not exist (they are regional)', () => {
    const other = appLikeTheCli();
    const primaryStack = new Stack(other, 'P', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const keys = new RotatingApiKeys(primaryStack, 'ApiKeys', {
      clients: [{ clientId: 'acme', usagePlan: 'gold' }],
      keyTableName: 'orders-api-keys',
      usagePlans: { gold: { rateLimit: 10, burstLimit: 20 } },
      replicaRegions: [{ region: 'us-east-1', encryptionKeyArn: REPLICA_KEY }],
    });
    new RotatingApiKeysReplica(new Stack(other, 'R', { env: { account: ACCOUNT, region: 'us-east-1' } }), 'ApiKeys', { primary: keys });
    const namespaceOf = (stack: string) =>
      Object.values(Template.fromStack(other.node.findChild(stack) as Stack).findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('authorizer') } })).map(
        (fn) => (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables['USAGE_PLAN_KEY_NAMESPACE'],
      );
    expect({ primary: namespaceOf('P'), replica: namespaceOf('R') }).toEqual({ primary: [expect.stringContaining('keyroll/')], replica: [undefined] });
  });

  it('passes the AWS Solutions checks in both stacks', () => {
    const violations = new AwsSolutionsChecks(app).validateScope(app).violations;
    // The test's own APIs are bare on purpose (no request validation, logging or WAF): every finding must be theirs.
    const paths = violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((path) => !/ (Primary|Replica)\/Api\//.test(path))).toEqual([]);
  });

  it('refuses a replica in a region the install does not list, one without the table\'s name, and bad replica regions', () => {
    const other = appLikeTheCli();
    const primaryStack = new Stack(other, 'P', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const keys = new RotatingApiKeys(primaryStack, 'ApiKeys', { clients: [{ clientId: 'acme' }], replicaRegions: [{ region: 'us-east-1', encryptionKeyArn: REPLICA_KEY }] });
    expect(() => new RotatingApiKeysReplica(new Stack(other, 'R1', { env: { account: ACCOUNT, region: 'ap-southeast-2' } }), 'ApiKeys', { primary: keys })).toThrow(/ap-southeast-2 is not one of the replicaRegions/);
    expect(() => new RotatingApiKeysReplica(new Stack(other, 'R2', { env: { account: ACCOUNT, region: 'us-east-1' } }), 'ApiKeys', { primary: keys })).toThrow(/keyTableName is needed/);
    const named = new RotatingApiKeysReplica(new Stack(other, 'R3', { env: { account: ACCOUNT, region: 'us-east-1' } }), 'ApiKeys', { primary: keys, keyTableName: 'P-ApiKeysKeyTable-ABC' });
    expect(named.keyTable.tableName).toBe('P-ApiKeysKeyTable-ABC');
    const bad = (replicaRegions: { region: string; encryptionKeyArn: string }[]) => () => new RotatingApiKeys(new Stack(appLikeTheCli(), 'B', { env: { account: ACCOUNT, region: 'eu-west-1' } }), 'ApiKeys', { clients: [], replicaRegions });
    expect(bad([{ region: 'eu-west-1', encryptionKeyArn: REPLICA_KEY }])).toThrow(/eu-west-1 is the stack's own region/);
    expect(bad([{ region: 'us-east-1', encryptionKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/x' }])).toThrow(/must be a KMS key ARN in us-east-1/);
    expect(bad([{ region: 'Mars', encryptionKeyArn: REPLICA_KEY }])).toThrow(/"Mars" is not a region name/);
  });
});

describe('A multi-region install\'s emergency flushes every region', () => {
  const { primaryStack, replicaStack } = twoRegionApp({ leakedKeyReports: true });
  const primary = Template.fromStack(primaryStack);
  const replica = Template.fromStack(replicaStack);
  const [name] = Object.values(replica.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('authorizer') } })).map((fn) => String((fn as { Properties: { FunctionName?: string } }).Properties.FunctionName));

  it('names the replica\'s authorizer function after the install, and gives the emergency function its ARN', () => {
    expect(name).toMatch(/^keyroll-authorizer-[0-9a-f]{16}$/);
    const [emergency] = Object.values(primary.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('ends leaked keys') } })) as { Properties: { Timeout: number; Environment: { Variables: Record<string, unknown> } } }[];
    expect(JSON.stringify(emergency?.Properties.Environment.Variables['REPLICA_AUTHORIZERS'])).toContain(`us-east-1=arn:`);
    expect(JSON.stringify(emergency?.Properties.Environment.Variables['REPLICA_AUTHORIZERS'])).toContain(`:lambda:us-east-1:${ACCOUNT}:function:${name}`);
    // Its asynchronous flush paces itself at the control plane's rate: minutes for a region with many APIs.
    expect(emergency?.Properties.Timeout).toBe(300);
  });

  it('lets the emergency function flush the replica region\'s stages and read its copy of the key table, nothing more there', () => {
    const statements = Object.values(primary.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy).includes('EmergencyFunctionRole'))
      .flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement);
    const inReplica = statements.filter((statement) => JSON.stringify(statement.Resource).includes('us-east-1'));
    expect(inReplica.flatMap((statement) => [statement.Action].flat()).sort()).toEqual(['apigateway:DELETE', 'apigateway:GET', 'dynamodb:GetItem', 'dynamodb:Query', 'kms:Decrypt']);
    expect(JSON.stringify(inReplica)).toContain('arn:aws:apigateway:us-east-1::/restapis/*/stages/*/cache/authorizers');
  });
});

describe('The public endpoints\' reserved concurrency', () => {
  it('reserves 10 for key delivery and 5 for leak reports by default, a declared number, or none with false', async () => {
    const { publicKey } = await generateDeliveryKeyPair();
    const reservations = (props: Record<string, unknown>) => {
      const stack = new Stack(appLikeTheCli(), 'Endpoints', { env: { account: ACCOUNT, region: 'eu-west-1' } });
      new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme', deliveryPublicKey: publicKey }], leakedKeyReports: {}, ...props });
      const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
      const of = (pattern: RegExp) => (Object.values(functions).find((fn) => pattern.test(String((fn as { Properties: { Description: string } }).Properties.Description))) as { Properties: { ReservedConcurrentExecutions?: number } } | undefined)?.Properties.ReservedConcurrentExecutions;
      return { delivery: of(/key delivery/), leakReports: of(/secret scanning partner/), authorizer: of(/API Gateway authorizer/) };
    };
    expect(reservations({})).toEqual({ delivery: 10, leakReports: 5, authorizer: undefined });
    expect(reservations({ publicEndpointConcurrency: { delivery: 50, leakReports: false } })).toEqual({ delivery: 50, leakReports: undefined, authorizer: undefined });
    expect(() => reservations({ publicEndpointConcurrency: { delivery: 0 } })).toThrow('publicEndpointConcurrency.delivery must be a whole number from 1 to 1000, or false; got 0');
  });
});
