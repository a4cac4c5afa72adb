/**
 * The resource policy that keeps key versions the rotation function's alone, declared once: the construct puts
 * it on the secrets it creates, `keyroll clients add` on the ones it creates at run time. PutSecretValue writes
 * a version, and so does UpdateSecret with a value
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html): both are denied to
 * every principal but the rotation function's role (and, for UpdateSecret, whoever else must change the
 * secret's description or key, such as CloudFormation's execution role).
 */
export const WRITE_GUARD_SIDS = {
  putSecretValue: 'OnlyKeyrollRotationWritesKeyVersions',
  updateSecret: 'OnlyKeyrollRotationAndDeploymentsUpdateTheSecret',
} as const;

/** IAM policy statements as JSON; `updateSecretAllowedArns` undefined leaves UpdateSecret to IAM. */
export function writeGuardStatements(rotationRoleArn: string, updateSecretAllowedArns?: readonly string[]): Record<string, unknown>[] {
  const deny = (sid: string, action: string, allowed: string | readonly string[]) => ({
    Sid: sid,
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: action,
    Resource: '*',
    Condition: { ArnNotEquals: { 'aws:PrincipalArn': allowed } },
  });
  const statements = [deny(WRITE_GUARD_SIDS.putSecretValue, 'secretsmanager:PutSecretValue', rotationRoleArn)];
  if (updateSecretAllowedArns !== undefined) statements.push(deny(WRITE_GUARD_SIDS.updateSecret, 'secretsmanager:UpdateSecret', [rotationRoleArn, ...updateSecretAllowedArns]));
  return statements;
}
