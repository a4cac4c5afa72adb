import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { attributeKey, KEY_TABLE_KEYS } from '../../lambda/adapters/key-table-schema';
import { displayKey, hashApiKey } from '../../lambda/domain/api-key';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { buildAuthorizer, DEFAULT_CACHE, outcomeOf, restEvent } from '../support/authorizer-fixture';
import { useDynalite } from '../support/dynamodb';
import { HOUR_MS } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

/**
 * The authorizer (a fresh container, through its handler) and the rotation's testSecret (through the rotation
 * handler) must give the same answer about a pending key, whatever state the key table holds for it: a key the
 * rotation lets through must work at the gateway, and a key the gateway would refuse must never pass testSecret.
 */

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

/** What happened to the pending key's table item between setSecret and the two checks. */
type TableChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'closed'; readonly endOffsetMs: number }
  | { readonly kind: 'revoked' }
  | { readonly kind: 'deleted' }
  | { readonly kind: 'owned-by-another-client' };

const changeArb: fc.Arbitrary<TableChange> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('closed' as const), endOffsetMs: fc.integer({ min: -HOUR_MS, max: HOUR_MS }) }),
  fc.constant({ kind: 'revoked' as const }),
  fc.constant({ kind: 'deleted' as const }),
  fc.constant({ kind: 'owned-by-another-client' as const }),
);

describe('One definition of an accepted key (property)', () => {
  it('the authorizer allows a pending key exactly when testSecret passes it', async () => {
    await fc.assert(
      fc.asyncProperty(changeArb, fc.integer({ min: -2 * HOUR_MS, max: 2 * HOUR_MS }), async (change, clockShiftMs) => {
        secretsManager.reset();
        sns.reset();
        const tableName = await dynamo.newTable();
        const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName });
        const arn = await h.newClient('acme');
        await h.rotate(arn, { token: 'v1' });
        h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v2' });
        await h.invoke('createSecret', arn, 'v2');
        await h.invoke('setSecret', arn, 'v2');

        const pendingKey = h.keyOf(arn, 'v2');
        const keyHash = hashApiKey(pendingKey);
        const registered = await h.table.findByHash(keyHash);
        if (registered === undefined) throw new Error('setSecret did not register the pending key');
        const client = localDynamoDbClient(dynamo.endpoint());
        const table = new DynamoKeyTable(client, tableName);
        switch (change.kind) {
          case 'closed':
            await table.closeWindow(keyHash, h.clock.nowMs + change.endOffsetMs);
            break;
          case 'revoked':
            await table.revoke(keyHash, h.clock.nowMs, 'compromised');
            break;
          case 'deleted':
            await client.send(new DeleteItemCommand({ TableName: tableName, Key: attributeKey(KEY_TABLE_KEYS.keyVersion(keyHash)) }));
            break;
          case 'owned-by-another-client':
            await client.send(new DeleteItemCommand({ TableName: tableName, Key: attributeKey(KEY_TABLE_KEYS.keyVersion(keyHash)) }));
            await table.register({ keyHash, clientId: 'globex', versionId: 'g1', keyDisplay: displayKey(pendingKey), scopes: [], notBeforeMs: registered.notBeforeMs });
            break;
          case 'none':
            break;
        }
        h.clock.advance(clockShiftMs);

        const authorizer = buildAuthorizer({ clock: h.clock, findByHash: (hash) => table.findByHash(hash), httpApiSimpleResponses: false, cache: DEFAULT_CACHE });
        const gateway = (await outcomeOf(authorizer.handler(restEvent({ 'x-api-key': pendingKey })))).error === undefined ? 'allow' : 'refuse';
        const rotation = (await outcomeOf(h.invoke('testSecret', arn, 'v2'))).error === undefined ? 'allow' : 'refuse';
        client.destroy();

        // A key registered to another client works at the gateway (for that client) but must never become acme's.
        if (change.kind === 'owned-by-another-client') expect(rotation).toBe('refuse');
        else expect({ change, clockShiftMs, gateway }).toEqual({ change, clockShiftMs, gateway: rotation });
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
