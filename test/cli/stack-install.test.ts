import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT, runCli } from '../../cli/main';
import { INSTALL_OUTPUT_DESCRIPTION } from '../../lambda/contracts/install-description';

/** `--stack`: the install is found from the stack's outputs, as the construct writes them. */

const cloudformation = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);
const secretsManager = mockClient(SecretsManagerClient);
const apiGateway = mockClient(APIGatewayClient);
const topics = mockClient(SNSClient);
const iam = mockClient(IAMClient);
const dynamodb = mockClient(DynamoDBClient);

const DESCRIPTION = {
  version: 1,
  keyTableName: 'Orders-ApiKeysKeyTable-1',
  clientTopicArn: 'arn:aws:sns:eu-west-1:111122223333:clients',
  operationsTopicArn: 'arn:aws:sns:eu-west-1:111122223333:operations',
  secretNamePrefix: 'keyroll/Orders/ApiKeys/',
  rotationFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:rotation',
  authorizerFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:authorizer',
  keyPrefix: 'kr',
  apiKeyHeader: 'x-api-key',
  gracePeriodSeconds: 86400,
  revocationPollMs: 1000,
  rotationRoleArn: 'arn:aws:iam::111122223333:role/rotation',
  kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234',
  rotationScheduleExpression: 'rate(30 days)',
  rotationWindow: '4h',
};

async function cli(...argv: string[]) {
  let stdout = '';
  const code = await runCli(['--json', ...argv], { stdout: (text) => (stdout += text), stderr: () => undefined, env: { ...process.env } });
  return { code, json: JSON.parse(stdout) as Record<string, unknown> };
}

describe('keyroll CLI (--stack)', () => {
  beforeEach(() => {
    cloudformation.reset();
    sts.reset();
    secretsManager.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:sts::111122223333:assumed-role/oncall/alice' });
    iam.reset();
    iam.on(GetRoleCommand, { RoleName: 'oncall' }).resolves({ Role: { Arn: 'arn:aws:iam::111122223333:role/ops/oncall' } as never });
    // The role may do everything but RotateSecret.
    iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { ActionNames?: string[] }) => ({
      EvaluationResults: (input.ActionNames ?? []).map((action) => ({ EvalActionName: action, EvalDecision: action === 'secretsmanager:RotateSecret' ? 'implicitDeny' : 'allowed' })),
    }));
  });

  it('reads the install from the stack output and acts on that install\'s secrets', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Orders' }).resolves({
      Stacks: [{ StackName: 'Orders', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'ApiKeysInstall1234', OutputValue: JSON.stringify(DESCRIPTION), Description: `${INSTALL_OUTPUT_DESCRIPTION} (Orders/ApiKeys)` }] }],
    });
    secretsManager.onAnyCommand().resolves({ SecretList: [] });
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    const { code, json } = await cli('--stack', 'Orders', 'clients', 'list');
    expect({ code, json }).toEqual({ code: EXIT.ok, json: { clients: [], unregisteredSecrets: [] } });
    expect(dynamodb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ TableName: DESCRIPTION.keyTableName, ExpressionAttributeValues: { ':pk': { S: 'REGISTRATION' } } });
    expect(secretsManager.calls()[0]?.args[0].input).toMatchObject({ Filters: expect.arrayContaining([{ Key: 'name', Values: ['keyroll/Orders/ApiKeys/'] }]) });
  });

  it('doctor: reports what the caller may not read as a failed check with what to grant, rather than failing', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Orders' }).resolves({
      Stacks: [{ StackName: 'Orders', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'ApiKeysInstall1234', OutputValue: JSON.stringify(DESCRIPTION), Description: `${INSTALL_OUTPUT_DESCRIPTION} (Orders/ApiKeys)` }] }],
    });
    const denied = Object.assign(new Error('User: arn:aws:sts::111122223333:assumed-role/oncall/alice is not authorized to perform: secretsmanager:ListSecrets'), { name: 'AccessDeniedException' });
    secretsManager.onAnyCommand().rejects(denied);
    apiGateway.onAnyCommand().resolves({ cloudwatchRoleArn: 'arn:aws:iam::111122223333:role/apigw-logs' });
    topics.onAnyCommand().resolves({ Attributes: { Policy: '{"Statement":[{"Principal":{"Service":"cloudwatch.amazonaws.com"}}]}' } });
    // The service's clock, as Secrets Manager's endpoint would give it in its Date header: 20 s behind this machine.
    const serviceClock = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(null, { headers: { date: new Date(Date.now() - 20_000).toUTCString() } }));
    const { code, json } = await cli('--stack', 'Orders', 'doctor');
    const clockUrls = serviceClock.mock.calls.map(([url]) => String(url));
    serviceClock.mockRestore();
    expect(clockUrls).toEqual(['https://secretsmanager.eu-west-1.amazonaws.com/']); // the region of the standard configuration
    expect(code).toBe(EXIT.refused);
    expect(json).toMatchObject({
      ok: false,
      checks: expect.arrayContaining([
        { check: 'API Gateway logging role', ok: true, detail: 'role arn:aws:iam::111122223333:role/apigw-logs', fix: '' },
        expect.objectContaining({ check: 'alarms reach the operations topic', ok: true }),
        expect.objectContaining({ check: 'clock', ok: false, detail: expect.stringMatching(/off by about (19|20|21) s/) }),
        { check: 'clients: permissions of the caller', ok: false, detail: expect.stringContaining('not authorized to perform: secretsmanager:ListSecrets'), fix: expect.stringContaining('grant the caller') },
      ]),
    });
  });

  it('doctor: names the write actions the caller\'s role may not take, from IAM\'s policy simulator', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Orders' }).resolves({
      Stacks: [{ StackName: 'Orders', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'ApiKeysInstall1234', OutputValue: JSON.stringify(DESCRIPTION), Description: `${INSTALL_OUTPUT_DESCRIPTION} (Orders/ApiKeys)` }] }],
    });
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:keyroll/Orders/ApiKeys/acme-AbCdEf';
    secretsManager.on(ListSecretsCommand).resolves({ SecretList: [{ ARN: secretArn, Name: 'keyroll/Orders/ApiKeys/acme', Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }] }] });
    apiGateway.onAnyCommand().resolves({ cloudwatchRoleArn: 'arn:aws:iam::111122223333:role/apigw-logs' });
    topics.onAnyCommand().resolves({ Attributes: { Policy: 'cloudwatch.amazonaws.com' } });
    const clock = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(null, { headers: { date: new Date().toUTCString() } }));
    const { json } = await cli('--stack', 'Orders', 'doctor');
    clock.mockRestore();
    expect(json).toMatchObject({
      checks: expect.arrayContaining([
        {
          check: 'permissions of the caller',
          ok: false,
          detail: `arn:aws:iam::111122223333:role/ops/oncall may not: secretsmanager:RotateSecret on ${secretArn} (rotate, clients remove, clients add)`,
          fix: expect.stringContaining('grant those actions'),
        },
      ]),
    });
    expect(iam.commandCalls(SimulatePrincipalPolicyCommand).map((call) => call.args[0].input.PolicySourceArn)).toEqual(expect.arrayContaining(['arn:aws:iam::111122223333:role/ops/oncall']));
  });

  it('says clearly when the stack is not a keyroll install, or does not exist, and exits 3', async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: 'Website' }).resolves({ Stacks: [{ StackName: 'Website', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'Url', OutputValue: 'https://example.com' }] }] });
    await expect(cli('--stack', 'Website', 'clients', 'list')).resolves.toEqual({ code: EXIT.install, json: { error: { code: 'install_not_found', message: expect.stringContaining('stack "Website" has no keyroll install') } } });
    cloudformation.on(DescribeStacksCommand, { StackName: 'Nope' }).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    await expect(cli('--stack', 'Nope', 'clients', 'list')).resolves.toEqual({ code: EXIT.install, json: { error: { code: 'install_not_found', message: expect.stringContaining('check --stack, --region and --profile') } } });
    await expect(cli('clients', 'list')).resolves.toEqual({ code: EXIT.install, json: { error: { code: 'install_not_found', message: expect.stringContaining('--stack <stack name>') } } });
  });
});
