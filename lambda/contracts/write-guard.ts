/**
 * The resource policy that keeps a client's secret keyroll's, declared once: the construct puts it on the
 * secrets it creates, `keyroll clients add` (and `clients adopt`) on the ones made at run time. Each statement
 * denies an action to every principal but the ones named, using the condition keys of the Secrets Manager
 * permissions reference (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html):
 * - a new version: PutSecretValue, and UpdateSecret (which writes a new AWSCURRENT version when given a value:
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html);
 * - moving AWSCURRENT or AWSPREVIOUS (`secretsmanager:VersionStage`); moving AWSPENDING stays open, as the
 *   operators' way to clear a stuck rotation;
 * - rotating with another function (`secretsmanager:RotationLambdaARN`), or turning rotation off;
 * - changing or removing this policy, or the `keyroll:*` tags (`aws:TagKeys`).
 * Behind it, the rotation issues a key only for the secret registered for its client, and registers only keys
 * its own createSecret generated: the policy is the first wall, not the only one.
 */
export const WRITE_GUARD_SIDS = {
  putSecretValue: 'OnlyKeyrollRotationWritesKeyVersions',
  updateSecret: 'OnlyKeyrollRotationAndDeploymentsUpdateTheSecret',
  moveCurrent: 'OnlyKeyrollRotationMovesCurrentAndPrevious',
  rotateElsewhere: 'RotationOnlyWithKeyrollsFunction',
  guardItself: 'OnlyDeploymentsChangeThisPolicyOrStopRotation',
  tags: 'OnlyDeploymentsChangeKeyrollTags',
} as const;

/** Who the guard lets through: the rotation function, and the deployment that owns the secret (CloudFormation's role). */
export interface WriteGuardPrincipals {
  readonly rotationRoleArn: string;
  readonly rotationFunctionArn: string;
  /**
   * Principals that may change the secret's metadata, policy and tags (the deployment's role); an empty list
   * leaves that to no one. Undefined when the deployment's role is not known (a stack synthesized without
   * CDK's default synthesizer): those statements are then left out, or the next deployment could not update
   * the secret, and IAM alone decides.
   */
  readonly administratorArns?: readonly string[];
}

/** IAM policy statements as JSON. */
export function writeGuardStatements(principals: WriteGuardPrincipals): Record<string, unknown>[] {
  const { rotationRoleArn, rotationFunctionArn, administratorArns } = principals;
  const deny = (sid: string, actions: readonly string[], allowed: readonly string[], conditions: Record<string, unknown> = {}) => ({
    Sid: sid,
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: actions.length === 1 ? actions[0] : [...actions],
    Resource: '*',
    Condition: { ...(allowed.length === 0 ? {} : { ArnNotEquals: { 'aws:PrincipalArn': allowed.length === 1 ? allowed[0] : [...allowed] } }), ...conditions },
  });
  const versions = [
    deny(WRITE_GUARD_SIDS.putSecretValue, ['secretsmanager:PutSecretValue'], [rotationRoleArn]),
    deny(WRITE_GUARD_SIDS.moveCurrent, ['secretsmanager:UpdateSecretVersionStage'], [rotationRoleArn], {
      StringEquals: { 'secretsmanager:VersionStage': ['AWSCURRENT', 'AWSPREVIOUS'] },
    }),
    // Any caller, when the request names a rotation function that is not keyroll's.
    {
      Sid: WRITE_GUARD_SIDS.rotateElsewhere,
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'secretsmanager:RotateSecret',
      Resource: '*',
      Condition: { Null: { 'secretsmanager:RotationLambdaARN': 'false' }, ArnNotEquals: { 'secretsmanager:RotationLambdaARN': rotationFunctionArn } },
    },
  ];
  if (administratorArns === undefined) return versions;
  return [
    ...versions,
    deny(WRITE_GUARD_SIDS.updateSecret, ['secretsmanager:UpdateSecret'], [rotationRoleArn, ...administratorArns]),
    deny(WRITE_GUARD_SIDS.guardItself, ['secretsmanager:PutResourcePolicy', 'secretsmanager:DeleteResourcePolicy', 'secretsmanager:CancelRotateSecret'], administratorArns),
    deny(WRITE_GUARD_SIDS.tags, ['secretsmanager:TagResource', 'secretsmanager:UntagResource'], administratorArns, {
      'ForAnyValue:StringLike': { 'aws:TagKeys': ['keyroll:*'] },
    }),
  ];
}
