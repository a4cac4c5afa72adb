import { Annotations, ArnFormat, CustomResource, DefaultStackSynthesizer, Fn, SecretValue, Stack, Tags } from 'aws-cdk-lib';
import { Grant, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, ViaServicePrincipal, type IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { CfnRotationSchedule, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { writeGuardStatements } from '../lambda/contracts/write-guard';
import { CLIENT_SETTING, CLIENT_TAG } from '../lambda/domain/client-settings';
import { AWSCURRENT } from '../lambda/domain/ports';
import { CLIENT_RESOURCE_TYPES } from '../lambda/handlers/first-key-handler';
import { usageIdentifierKey, usagePlanApiKeyName } from '../lambda/contracts/usage-plans';
import { ApiKey, type UsagePlan } from 'aws-cdk-lib/aws-apigateway';
import type { KeyrollFunction } from './keyroll-function';
import type { ApiClientProps } from './props';
import type { ValidSettings } from './validation';

export interface ClientResourcesContext {
  readonly settings: ValidSettings;
  readonly encryptionKey: IKey;
  readonly rotationFunction: KeyrollFunction;
  readonly rotationInvokePermission: CfnPermission;
  readonly firstKeyProvider: Provider;
  /** The install's usage plans by name. */
  readonly usagePlans: ReadonlyMap<string, UsagePlan>;
}

/**
 * One client's secret (a keyless placeholder) tagged with its client id, guarded so that only the rotation
 * function writes key versions, registered with its settings (before its rotation schedule, whose test run the
 * rotation would refuse otherwise), rotated on its schedule, and given its first key when it is created.
 * Construct ids are a contract: a new id would replace the secret and issue a new key.
 */
export function addClientResources(scope: Construct, client: ApiClientProps, context: ClientResourcesContext): Secret {
  const { settings } = context;
  const clientScope = new Construct(scope, `Client-${client.clientId}`);
  const secret = new Secret(clientScope, 'Secret', {
    secretName: `${settings.secretNamePrefix}${client.clientId}`,
    description: `keyroll: API key of client ${client.clientId}`,
    encryptionKey: context.encryptionKey,
    // A placeholder without a key: the first rotation, below, fills it. Nothing secret is in the template.
    secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ clientId: client.clientId })),
    // Multi-region: a read-only replica in each region, kept in step with every rotation by Secrets Manager.
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/create-manage-multi-region-secrets.html
    ...(settings.replicaRegions.length === 0
      ? {}
      : { replicaRegions: settings.replicaRegions.map(({ region, encryptionKeyArn }) => ({ region, encryptionKey: Key.fromKeyArn(clientScope, `ReplicaKey-${region}`, encryptionKeyArn) })) }),
  });
  Tags.of(secret).add(CLIENT_TAG.clientId, client.clientId);
  if (client.usagePlan !== undefined) {
    const plan = context.usagePlans.get(client.usagePlan);
    if (plan !== undefined) {
      // The client's identity for its plan, the same for every key version: see lambda/contracts/usage-plans.ts.
      const apiKey = new ApiKey(clientScope, 'UsagePlanApiKey', {
        apiKeyName: usagePlanApiKeyName(client.clientId),
        description: `keyroll: usage plan identity of client ${client.clientId} (not a credential: the authorizer returns it)`,
        value: usageIdentifierKey(settings.secretNamePrefix, client.clientId),
      });
      plan.addApiKey(apiKey);
    }
  }
  const guarded = writeGuard(secret, context.rotationFunction).map((statement) => secret.addToResourcePolicy(statement).policyDependable);
  // The registration makes the secret this client's, with its settings: the rotation issues keys only for it.
  const registration = new CustomResource(clientScope, 'Registration', {
    serviceToken: context.firstKeyProvider.serviceToken,
    resourceType: CLIENT_RESOURCE_TYPES.registration,
    properties: { ClientId: client.clientId, SecretArn: secret.secretArn, Settings: settingValuesOf(client) },
  });
  for (const policy of guarded) if (policy !== undefined) registration.node.addDependency(policy);

  const schedule = client.rotationSchedule ?? settings.rotationSchedule;
  const rotation = new CfnRotationSchedule(clientScope, 'RotationSchedule', {
    secretId: secret.secretArn,
    rotationLambdaArn: context.rotationFunction.functionArn,
    rotationRules: { scheduleExpression: schedule.expression, duration: schedule.window },
    // A deploy never rotates a key by itself; the first key comes from the custom resource below.
    rotateImmediatelyOnUpdate: false,
  });
  rotation.addResourceDependency(context.rotationInvokePermission, 'Secrets Manager must be allowed to invoke the function before the schedule is created');
  // The schedule's own test run (RotateImmediately=false) is refused for a secret that is not registered yet.
  rotation.node.addDependency(registration);
  const firstKey = new CustomResource(clientScope, 'FirstKey', {
    serviceToken: context.firstKeyProvider.serviceToken,
    resourceType: CLIENT_RESOURCE_TYPES.firstKey,
    properties: { SecretId: secret.secretArn },
  });
  firstKey.node.addDependency(rotation);
  return secret;
}

/** A declared client's settings as its registration keeps them (the CLI writes the same for a run-time client). */
function settingValuesOf(client: ApiClientProps): Record<string, string> {
  const values: Record<string, string> = {};
  if (client.scopes !== undefined && client.scopes.length > 0) values[CLIENT_SETTING.scopes] = client.scopes.join(' ');
  if (client.gracePeriod !== undefined) values[CLIENT_SETTING.gracePeriodSeconds] = String(client.gracePeriod.toSeconds());
  if (client.maxKeyAge !== undefined) values[CLIENT_SETTING.maxKeyAgeDays] = String(client.maxKeyAge.toDays());
  if (client.extendWhileInUse !== undefined) {
    values[CLIENT_SETTING.extendWhileInUseHours] = String(client.extendWhileInUse.step.toHours());
    if (client.extendWhileInUse.maxGrace !== undefined) values[CLIENT_SETTING.maxGraceHours] = String(client.extendWhileInUse.maxGrace.toHours());
  }
  if (client.closeWhenSwitched !== undefined) values[CLIENT_SETTING.closeWhenSwitchedHours] = String(client.closeWhenSwitched.toHours());
  if (client.usagePlan !== undefined) values[CLIENT_SETTING.usagePlan] = client.usagePlan;
  if (client.rescueMissedRotation !== undefined) values[CLIENT_SETTING.rescueMissedHours] = String(client.rescueMissedRotation.toHours());
  if (client.deliveryPublicKey !== undefined) values[CLIENT_SETTING.deliveryPublicKey] = client.deliveryPublicKey;
  return values;
}

/**
 * The write guard (lambda/contracts/write-guard.ts): key versions are the rotation function's alone, and the
 * secret's metadata, policy and keyroll tags the deployment's (CloudFormation's execution role, which changes
 * them on later deploys). Under a synthesizer whose deployment role is not known, those are left to IAM.
 */
function writeGuard(secret: Secret, rotationFunction: KeyrollFunction): PolicyStatement[] {
  return writeGuardStatements({
    rotationRoleArn: rotationFunction.executionRole.roleArn,
    rotationFunctionArn: rotationFunction.functionArn,
    ...deploymentAdministrators(Stack.of(secret)),
  }).map((statement) => PolicyStatement.fromJson(statement));
}

/** The role CloudFormation deploys the stack with, when the stack's synthesizer names it. */
export function deploymentAdministrators(stack: Stack): { readonly administratorArns?: readonly string[] } {
  const synthesizer = stack.synthesizer;
  return synthesizer instanceof DefaultStackSynthesizer ? { administratorArns: [Fn.sub(synthesizer.cloudFormationExecutionRoleArn)] } : {};
}

/**
 * Read access to one client's current key, in the install's region and every replica region: GetSecretValue of
 * AWSCURRENT (asked for by stage, or by naming no version at all, which GetSecretValue answers with AWSCURRENT:
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html), never another
 * version by id; decrypting through Secrets Manager only. The resource policy is replicated with the secret
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html), so its statements name
 * the secret as "*"; a replica key is the team's, so another account's right to it is said, not granted.
 */
export function grantReadClientKey(scope: Construct, clientId: string, secret: Secret, grantee: IGrantable, context: { readonly settings: ValidSettings; readonly encryptionKey: IKey }): Grant {
  const stack = Stack.of(scope);
  const secretName = `${context.settings.secretNamePrefix}${clientId}`;
  const secretArnIn = (region: string) =>
    stack.formatArn({ service: 'secretsmanager', region, resource: 'secret', resourceName: `${secretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const resourceArns = [secret.secretArn, ...context.settings.replicaRegions.map(({ region }) => secretArnIn(region))];
  const actions = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];
  const grants = [
    { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': [AWSCURRENT] } },
    { Null: { 'secretsmanager:VersionStage': 'true', 'secretsmanager:VersionId': 'true' } },
  ].map((condition) => {
    const grant = Grant.addToPrincipalOrResource({ grantee, actions, resourceArns, resourceSelfArns: ['*'], resource: secret });
    (grant.principalStatement ?? grant.resourceStatement)?.addConditions(condition);
    return grant;
  });
  const viaSecretsManager = (region: string) => ({ StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } });
  context.encryptionKey.grantDecrypt(new ViaServicePrincipal(`secretsmanager.${stack.region}.amazonaws.com`, grantee.grantPrincipal));
  for (const { region, encryptionKeyArn } of context.settings.replicaRegions) {
    const added = grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:Decrypt'], resources: [encryptionKeyArn], conditions: viaSecretsManager(region) }));
    if (!added.statementAdded) {
      Annotations.of(scope).addInfo(
        `grantReadKey: ${grantee.grantPrincipal.principalAccount ?? 'the grantee'} reads the replica of ${secretName} in ${region} only if the key policy of ${encryptionKeyArn} allows it kms:Decrypt with kms:ViaService secretsmanager.${region}.amazonaws.com`,
      );
    }
  }
  return grants.reduce((all, grant) => all.combine(grant));
}
