import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { usageIdentifierKey } from '../../lambda/contracts/usage-plans';
import type { PolicyResponse } from '../../lambda/handlers/authorizer-handler';
import { httpEvent, restEvent } from '../support/authorizer-fixture';
import { useDynalite } from '../support/dynamodb';
import { loadEntry, restoreEnvironmentAfterEach } from '../support/lambda-entry';
import { TestClock } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();
restoreEnvironmentAfterEach();

/**
 * Per-client usage plans: the authorizer entry point (real DynamoDB over HTTP, keys issued by the real rotation)
 * answers every key version of a client with the same `usageIdentifierKey`, so API Gateway counts the client's
 * throttle and quota on one API key across rotations.
 */
describe('The authorizer with usage plans', () => {
  const NAMESPACE = 'keyroll/Plans/Keys/';

  it('gives a client the same usageIdentifierKey before and after a rotation, on its old and new key; another client another', async () => {
    const tableName = await dynamo.newTable();
    // Keys issued a day ago with a long grace: the entry point judges them by the real clock.
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, clock: new TestClock(Date.now() - 24 * 3600_000), gracePeriodSeconds: 30 * 24 * 3600 });
    const acme = await h.newClient('acme', { 'keyroll:usagePlan': 'gold' });
    const globex = await h.newClient('globex');
    await h.rotate(acme, { token: 'acme-v1' });
    await h.rotate(globex, { token: 'globex-v1' });
    const env = { KEY_TABLE_NAME: tableName, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint(), USAGE_PLAN_KEY_NAMESPACE: NAMESPACE, CACHE_TTL_SECONDS: '0' };
    const handler = loadEntry<(event: unknown) => Promise<PolicyResponse & { usageIdentifierKey?: string }>>('authorizer', env, { isolated: true });
    const identity = async (key: string) => (await handler(restEvent({ 'x-api-key': key }))).usageIdentifierKey;

    const before = await identity(h.keyOf(acme, 'acme-v1'));
    h.clock.advance(3600_000);
    await h.rotate(acme, { token: 'acme-v2' });
    expect(h.currentKey(acme)).toBe(h.keyOf(acme, 'acme-v2'));

    expect(before).toBe(usageIdentifierKey(NAMESPACE, 'acme'));
    expect(await identity(h.keyOf(acme, 'acme-v1'))).toBe(before);
    expect(await identity(h.keyOf(acme, 'acme-v2'))).toBe(before);
    expect(await identity(h.keyOf(globex, 'globex-v1'))).toBe(usageIdentifierKey(NAMESPACE, 'globex'));
    expect(usageIdentifierKey(NAMESPACE, 'globex')).not.toBe(before);
    // Each version carries its client's plan, for the refusals counted per plan.
    const versions = await h.versionsOf('acme');
    expect([versions['acme-v1']?.usagePlan, versions['acme-v2']?.usagePlan]).toEqual(['gold', 'gold']);
    expect((await h.versionsOf('globex'))['globex-v1']?.usagePlan).toBeUndefined();
    // HTTP APIs have no usage plans: their simple answers carry no identifier.
    expect(await handler(httpEvent({ 'x-api-key': h.keyOf(acme, 'acme-v2') }) as never)).toEqual({ isAuthorized: true, context: expect.objectContaining({ clientId: 'acme' }) });
  });

  it('answers without a usageIdentifierKey when the install has no usage plans', async () => {
    const tableName = await dynamo.newTable();
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, clock: new TestClock(Date.now() - 3600_000) });
    const acme = await h.newClient('acme');
    await h.rotate(acme, { token: 'acme-v1' });
    const handler = loadEntry<(event: unknown) => Promise<PolicyResponse>>('authorizer', { KEY_TABLE_NAME: tableName, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint() }, { isolated: true });
    expect(Object.keys(await handler(restEvent({ 'x-api-key': h.keyOf(acme, 'acme-v1') }))).sort()).toEqual(['context', 'policyDocument', 'principalId']);
  });
});
