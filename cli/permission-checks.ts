import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { authorizerCacheFlushPermissions } from '../lambda/contracts/authorizer-cache-flush-permissions';
import type { InstallDescription } from '../lambda/contracts/install-description';
import type { CheckResult } from '../lambda/domain/install-checks';

/** What the CLI's commands do, per resource of the install: what the caller must be allowed, checked by IAM's simulator. */
function needs(description: InstallDescription, account: string, region: string, secretArn: string | undefined): { readonly resource: string; readonly actions: readonly string[]; readonly used: string }[] {
  const table = `arn:aws:dynamodb:${region}:${account}:table/${description.keyTableName}`;
  return [
    { resource: table, actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'], used: 'status, revoke, extend, events, the audit trail' },
    { resource: `${table}/index/*`, actions: ['dynamodb:Query'], used: 'status (a client\'s versions)' },
    ...(secretArn === undefined
      ? []
      : [
          { resource: secretArn, actions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:PutResourcePolicy'], used: 'rotate, clients remove, clients add' },
          // A replicated secret's replicas go first (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RemoveRegionsFromReplication.html).
          ...((description.replicaRegions ?? []).length === 0 ? [] : [{ resource: secretArn, actions: ['secretsmanager:RemoveRegionsFromReplication'], used: 'clients remove (its replicas first)' }]),
        ]),
    { resource: description.rotationFunctionArn, actions: ['lambda:InvokeFunction'], used: 'rotate (RotateSecret needs it)' },
    { resource: description.clientTopicArn, actions: ['sns:Publish'], used: 'revoke (key.revoked)' },
    { resource: description.operationsTopicArn, actions: ['sns:Publish'], used: 'revoke (to operations)' },
    ...authorizerCacheFlushPermissions(description.authorizerFunctionArn.split(':')[1] ?? 'aws', region).flatMap(({ actions, resources }) =>
      resources.map((resource) => ({ resource, actions, used: 'rotate --emergency (API Gateway\'s authorizer caches)' })),
    ),
  ];
}

/**
 * The caller's permissions for the CLI's write commands, from IAM's policy simulator
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html). An assumed-role session
 * is checked as its role. When the simulator itself is denied, that is the finding.
 */
export async function checkCallerPermissions(options: {
  readonly callerArn: string;
  readonly description: InstallDescription;
  readonly region: string;
  readonly secretArn: string | undefined;
  readonly iam: IAMClient;
}): Promise<CheckResult[]> {
  const [, , , , account = '', resource = ''] = options.callerArn.split(':');
  let principal = options.callerArn;
  try {
    const assumed = /^assumed-role\/([^/]+)\//.exec(resource);
    if (assumed !== null) principal = (await options.iam.send(new GetRoleCommand({ RoleName: assumed[1] }))).Role?.Arn ?? principal;
    const missing: string[] = [];
    for (const need of needs(options.description, account, options.region, options.secretArn)) {
      const { EvaluationResults = [] } = await options.iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: principal, ActionNames: [...need.actions], ResourceArns: [need.resource] }));
      for (const result of EvaluationResults) if (result.EvalDecision !== 'allowed') missing.push(`${result.EvalActionName ?? '?'} on ${need.resource} (${need.used})`);
    }
    return [
      {
        check: 'permissions of the caller',
        ok: missing.length === 0,
        detail: missing.length === 0 ? `${principal} may run every command` : `${principal} may not: ${missing.join('; ')}`,
        fix: missing.length === 0 ? '' : 'grant those actions on those resources to the caller\'s role, or run the CLI with a role that has them',
      },
    ];
  } catch (error) {
    return [
      {
        check: 'permissions of the caller',
        ok: false,
        detail: `not checked: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        fix: 'allow the caller iam:GetRole and iam:SimulatePrincipalPolicy on itself so that doctor can check, or check the README\'s list by hand',
      },
    ];
  }
}
