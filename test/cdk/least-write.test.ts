import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import { appLikeTheCli } from '../support/cdk-app';

/**
 * Who may write what, read from the synthesized template with every optional part on: per role, its write
 * actions on the key table (with the item families IAM lets it write) and on Secrets Manager. The expected table
 * is the security model; any widening (a new action, a new family, a role that gains writes) fails here.
 */
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

const TABLE_WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems|\*)$|^dynamodb:\*$|^\*$/;
const SECRET_WRITES = /^secretsmanager:(PutSecretValue|UpdateSecret|UpdateSecretVersionStage|RotateSecret|CancelRotateSecret|TagResource|UntagResource|PutResourcePolicy|DeleteResourcePolicy|DeleteSecret|RestoreSecret|CreateSecret|\*)$|^\*$/;

describe('Least write: what each role may change', () => {
  let writes: Record<string, { keyTable?: { actions: string[]; families: string[] | 'any item'; attributes?: string[] }[]; secrets?: string[] }>;
  let keyTableId: string;

  beforeAll(async () => {
    const stack = new Stack(appLikeTheCli(), 'Everything', { env: { account: '111122223333', region: 'eu-west-1' } });
    const { publicKey } = await generateDeliveryKeyPair();
    const keys = new RotatingApiKeys(stack, 'ApiKeys', {
      clients: [{ clientId: 'acme', deliveryPublicKey: publicKey, usagePlan: 'gold' }],
      leakedKeyReports: { action: 'rotate' },
      usagePlans: { gold: { rateLimit: 10, burstLimit: 20 } },
      refusalAnomalyAlarm: true,
    });
    const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }> };
    keyTableId = stack.getLogicalId(keys.keyTable.node.defaultChild as never);
    // Logical ids are the construct path without separators, and a hash: ApiKeysRotationFunctionRoleD8B2C52B.
    const roleName = (id: string) => id.replace(/^ApiKeys/, '').replace(/[0-9A-F]{8}$/, '');
    writes = {};
    for (const policy of Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::IAM::Policy')) {
      const statements = (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement.filter((statement) => statement.Effect === 'Allow');
      for (const { Ref } of policy.Properties['Roles'] as { Ref: string }[]) {
        const role = (writes[roleName(Ref)] ??= {});
        for (const statement of statements) {
          const actions = [statement.Action].flat();
          const resources = JSON.stringify(statement.Resource);
          const tableActions = actions.filter((action) => TABLE_WRITES.test(action));
          if (tableActions.length > 0 && (resources.includes(keyTableId) || resources.includes('"*"'))) {
            const leading = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
            // Attribute-level: the only attributes the writes may touch (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
            const attributes = statement.Condition?.['ForAllValues:StringEquals']?.['dynamodb:Attributes'];
            (role.keyTable ??= []).push({
              actions: tableActions.sort(),
              families: leading === undefined ? 'any item' : [leading].flat().map(String).sort(),
              ...(attributes === undefined ? {} : { attributes: [attributes].flat().map(String).sort() }),
            });
          }
          const secretActions = actions.filter((action) => SECRET_WRITES.test(action));
          if (secretActions.length > 0) role.secrets = [...(role.secrets ?? []), ...secretActions].sort();
        }
      }
    }
    for (const [name, role] of Object.entries(writes)) if (role.keyTable === undefined && role.secrets === undefined) delete writes[name];
  });

  it('gives each role exactly its item families and Secrets Manager writes, and nothing reachable from the internet or fed by logs a key version', () => {
    const putUpdate = ['dynamodb:PutItem', 'dynamodb:UpdateItem'];
    expect(writes).toEqual({
      RotationFunctionRole: { keyTable: [{ actions: putUpdate, families: ['CLIENT#*', 'ISSUED#*', 'KEY#*', 'KEYSET'] }], secrets: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'] },
      MonitorFunctionRole: { keyTable: [{ actions: putUpdate, families: ['CLIENT#*', 'KEY#*', 'KEYSET'] }] },
      UsageFunctionRole: { keyTable: [{ actions: putUpdate, families: ['REFUSED#*', 'USAGE#*', 'USAGEBATCH#*'] }] },
      DeliveryFunctionRole: { keyTable: [{ actions: putUpdate, families: ['DELIVERY#*'] }] },
      EmergencyFunctionRole: { keyTable: [{ actions: putUpdate, families: ['CLIENT#*', 'KEY#*', 'REVOCATIONS', 'STAGES'] }], secrets: ['secretsmanager:RotateSecret'] },
      // Removing a declared client revokes its keys: on key versions and the revocation feed, only the revocation's attributes.
      FirstKeyFunctionRole: {
        keyTable: [
          { actions: ['dynamodb:DeleteItem', 'dynamodb:PutItem'], families: ['REGISTRATION'] },
          { actions: ['dynamodb:UpdateItem'], families: ['KEY#*'], attributes: ['pk', 'purgeAt', 'revokedAtMs', 'revokedReason', 'sk'] },
          { actions: ['dynamodb:UpdateItem'], families: ['REVOCATIONS'], attributes: ['itemType', 'pk', 'purgeAt', 'revoked', 'sk'] },
        ],
        secrets: ['secretsmanager:RotateSecret'],
      },
    });
  });

  it('names no role for the authorizer or the leak report endpoint: they write nothing', () => {
    expect(Object.keys(writes)).not.toContain('AuthorizerFunctionRole');
    expect(Object.keys(writes)).not.toContain('LeakReportFunctionRole');
  });
});
