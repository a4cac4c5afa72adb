import { CustomResource, DefaultStackSynthesizer, Fn, SecretValue, Stack, Tags } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { CfnRotationSchedule, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { writeGuardStatements } from '../lambda/contracts/write-guard';
import { CLIENT_TAG } from '../lambda/domain/client-settings';
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
 * One client's secret (a keyless placeholder), tagged with its settings, guarded so that only the rotation
 * function writes key versions, rotated on its schedule, and given its first key when it is created.
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
  if (client.scopes !== undefined && client.scopes.length > 0) Tags.of(secret).add(CLIENT_TAG.scopes, client.scopes.join(' '));
  if (client.gracePeriod !== undefined) Tags.of(secret).add(CLIENT_TAG.gracePeriodSeconds, String(client.gracePeriod.toSeconds()));
  if (client.maxKeyAge !== undefined) Tags.of(secret).add(CLIENT_TAG.maxKeyAgeDays, String(client.maxKeyAge.toDays()));
  if (client.extendWhileInUse !== undefined) {
    Tags.of(secret).add(CLIENT_TAG.extendWhileInUseHours, String(client.extendWhileInUse.step.toHours()));
    if (client.extendWhileInUse.maxGrace !== undefined) Tags.of(secret).add(CLIENT_TAG.maxGraceHours, String(client.extendWhileInUse.maxGrace.toHours()));
  }
  if (client.closeWhenSwitched !== undefined) Tags.of(secret).add(CLIENT_TAG.closeWhenSwitchedHours, String(client.closeWhenSwitched.toHours()));
  if (client.usagePlan !== undefined) {
    Tags.of(secret).add(CLIENT_TAG.usagePlan, client.usagePlan);
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
  if (client.rescueMissedRotation !== undefined) Tags.of(secret).add(CLIENT_TAG.rescueMissedHours, String(client.rescueMissedRotation.toHours()));
  if (client.deliveryPublicKey !== undefined) Tags.of(secret).add(CLIENT_TAG.deliveryPublicKey, client.deliveryPublicKey);
  for (const statement of writeGuard(secret, context.rotationFunction)) secret.addToResourcePolicy(statement);

  const schedule = client.rotationSchedule ?? settings.rotationSchedule;
  const rotation = new CfnRotationSchedule(clientScope, 'RotationSchedule', {
    secretId: secret.secretArn,
    rotationLambdaArn: context.rotationFunction.functionArn,
    rotationRules: { scheduleExpression: schedule.expression, duration: schedule.window },
    // A deploy never rotates a key by itself; the first key comes from the custom resource below.
    rotateImmediatelyOnUpdate: false,
  });
  rotation.addResourceDependency(context.rotationInvokePermission, 'Secrets Manager must be allowed to invoke the function before the schedule is created');
  const firstKey = new CustomResource(clientScope, 'FirstKey', {
    serviceToken: context.firstKeyProvider.serviceToken,
    resourceType: 'Custom::KeyrollFirstKey',
    properties: { SecretId: secret.secretArn },
  });
  firstKey.node.addDependency(rotation);
  return secret;
}

/**
 * Only the rotation function writes key versions: PutSecretValue, and UpdateSecret (which writes a new
 * AWSCURRENT version when given a value: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html),
 * are denied to every other principal. CloudFormation's execution role keeps UpdateSecret, which it needs
 * to change a secret's description or key. Moving labels stays with IAM: clearing a stuck AWSPENDING is the
 * operators' recovery, and a label can only point at a version the rotation function wrote.
 */
function writeGuard(secret: Secret, rotationFunction: KeyrollFunction): PolicyStatement[] {
  const synthesizer = Stack.of(secret).synthesizer;
  const deployer = synthesizer instanceof DefaultStackSynthesizer ? [Fn.sub(synthesizer.cloudFormationExecutionRoleArn)] : undefined;
  return writeGuardStatements(rotationFunction.executionRole.roleArn, deployer).map((statement) => PolicyStatement.fromJson(statement));
}
