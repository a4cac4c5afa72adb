import { generateApiKey } from '../../lambda/domain/api-key';
import { PUBLIC_ENDPOINT_LIMITS } from '../../lambda/contracts/public-endpoints';
import { SourceBudgets } from '../../lambda/domain/source-budget';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { DeliveryKeySource, generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { JweKeySealer } from '../../lambda/adapters/jwe-key-sealer';
import { SecretsManagerVersionStore } from '../../lambda/adapters/secrets-manager-version-store';
import { hashApiKey } from '../../lambda/domain/api-key';
import { CLIENT_SETTING } from '../../lambda/domain/client-settings';
import { KeyDelivery } from '../../lambda/domain/key-delivery';
import { createDeliveryHandler } from '../../lambda/handlers/delivery-handler';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { startLocalFunctionUrl } from '../../local/processes';
import { useDynalite } from '../support/dynamodb';
import { HOUR_MS } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

/**
 * Key delivery end to end over HTTP: the delivery handler and domain on the real adapters (the key table on
 * dynalite, Secrets Manager as the model), behind a local function URL, and the client SDK's DeliveryKeySource.
 */

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();
const PER_MINUTE = 3;

async function deliveryFixture(options: { perSource?: { perSecond: number; burst: number } } = {}) {
  secretsManager.reset();
  sns.reset();
  const tableName = await dynamo.newTable();
  const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName });
  const pair = await generateDeliveryKeyPair();
  const acme = await h.newClient('acme', { [CLIENT_SETTING.deliveryPublicKey]: pair.publicKey });
  const globex = await h.newClient('globex');
  await h.rotate(acme, { token: 'a1' });
  await h.rotate(globex, { token: 'g1' });
  const table = new DynamoKeyTable(localDynamoDbClient(dynamo.endpoint()), tableName);
  const handler = createDeliveryHandler({
    delivery: new KeyDelivery({
      keys: table,
      registry: table,
      secrets: new SecretsManagerVersionStore(new SecretsManagerClient({})),
      ledger: table,
      sealer: new JweKeySealer(),
      keyPrefix: 'kr',
      deliveriesPerMinute: PER_MINUTE,
      clock: h.clock.now,
    }),
    keyHeader: 'x-api-key',
    sources: new SourceBudgets(options.perSource ?? PUBLIC_ENDPOINT_LIMITS.delivery.perSource),
    clock: h.clock.now,
    logger: new Logger({ serviceName: 'keyroll-delivery-test', logLevel: 'SILENT' }),
  });
  const stops: (() => Promise<void>)[] = [];
  const { url } = await startLocalFunctionUrl({ name: 'delivery', invoke: handler, stop: async () => undefined }, stops);
  const get = (clientId: string, key: string) => fetch(`${url}v1/clients/${clientId}/key`, { headers: { 'x-api-key': key } });
  return { h, acme, globex, pair, url, get, handler, table, tableName, close: () => Promise.all(stops.map((stop) => stop())) };
}

describe('Key delivery', () => {
  it('answers a flood from one address 429 before any key is checked, and still serves another address', async () => {
    const f = await deliveryFixture({ perSource: { perSecond: 1, burst: 3 } });
    const forged = generateApiKey();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await f.get('acme', forged)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    const elsewhere = await f.handler({ rawPath: '/v1/clients/acme/key', requestContext: { http: { method: 'GET', sourceIp: '198.51.100.7' } }, headers: { 'x-api-key': f.h.keyOf(f.acme, 'a1') } });
    expect(elsewhere.statusCode).toBe(200);
    await f.close();
  });

  it('gives a client its next key, encrypted to its public key, for a key still in its window; and records each delivery', async () => {
    const f = await deliveryFixture();
    const firstKey = f.h.keyOf(f.acme, 'a1');
    const source = new DeliveryKeySource({ url: f.url, clientId: 'acme', privateKey: f.pair.privateKey, initialKey: firstKey });
    await expect(source.currentKey()).resolves.toEqual({ key: firstKey, versionId: 'a1' });
    await f.h.rotate(f.acme, { token: 'a2' });
    f.h.clock.advance(HOUR_MS / 2); // the old key is inside its grace period
    const fresh = new DeliveryKeySource({ url: f.url, clientId: 'acme', privateKey: f.pair.privateKey, initialKey: firstKey });
    await expect(fresh.currentKey()).resolves.toEqual({ key: f.h.keyOf(f.acme, 'a2'), versionId: 'a2' });

    const { Items = [] } = await dynamo.client().send(new QueryCommand({ TableName: f.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :audit)', ExpressionAttributeValues: { ':pk': { S: 'DELIVERY#acme' }, ':audit': { S: 'AUDIT#' } } }));
    expect(Items.map((item) => [item['action']?.S, item['versionId']?.S, item['presentedVersionId']?.S])).toEqual([
      ['key.delivered', 'a1', 'a1'],
      ['key.delivered', 'a2', 'a1'],
    ]);
    expect(JSON.stringify(Items)).not.toContain(firstKey);
    await f.close();
  });

  it('gives a leaked key nothing usable: the envelope opens only with the client\'s private key', async () => {
    const f = await deliveryFixture();
    const leaked = f.h.keyOf(f.acme, 'a1');
    const response = await f.get('acme', leaked);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/jose');
    const envelope = await response.text();
    expect(envelope.split('.')).toHaveLength(5); // a compact JWE
    expect(envelope).not.toContain(leaked);
    const attacker = await generateDeliveryKeyPair();
    const stolen = new DeliveryKeySource({ url: f.url, clientId: 'acme', privateKey: attacker.privateKey, initialKey: leaked });
    await expect(stolen.currentKey()).rejects.toThrow('the delivered envelope cannot be opened with this private key');
    await f.close();
  });

  it.each<[string, (f: Awaited<ReturnType<typeof deliveryFixture>>) => Promise<Response>, number, string]>([
    ['a revoked key', async (f) => {
      await f.h.table.revoke(hashApiKey(f.h.keyOf(f.acme, 'a1')), f.h.clock.nowMs, 'compromised');
      return f.get('acme', f.h.keyOf(f.acme, 'a1'));
    }, 401, 'key_not_accepted'],
    ['a key whose grace period has ended', async (f) => {
      await f.h.rotate(f.acme, { token: 'a2' });
      f.h.clock.advance(HOUR_MS);
      return f.get('acme', f.h.keyOf(f.acme, 'a1'));
    }, 401, 'key_not_accepted'],
    ['another client\'s key', (f) => f.get('acme', f.h.keyOf(f.globex, 'g1')), 403, 'delivery_not_allowed'],
    ['a client without a delivery key', (f) => f.get('globex', f.h.keyOf(f.globex, 'g1')), 403, 'delivery_not_allowed'],
    ['no key', (f) => fetch(`${f.url}v1/clients/acme/key`), 401, 'key_not_accepted'],
    ['another route', (f) => fetch(`${f.url}v1/clients/acme`, { headers: { 'x-api-key': f.h.keyOf(f.acme, 'a1') } }), 404, 'not_found'],
  ])('refuses %s', async (_name, request, status, error) => {
    const f = await deliveryFixture();
    const response = await request(f);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error, message: expect.any(String) });
    await f.close();
  });

  it('refuses requests over the client\'s rate with 429, and serves again the next minute', async () => {
    const f = await deliveryFixture();
    const key = f.h.keyOf(f.acme, 'a1');
    f.h.clock.nowMs = Date.UTC(2026, 11, 2, 10, 0, 0);
    const statuses: number[] = [];
    for (let i = 0; i < PER_MINUTE + 2; i++) statuses.push((await f.get('acme', key)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    f.h.clock.advance(60_000);
    expect((await f.get('acme', key)).status).toBe(200);
    await f.close();
  });

  it('makes key pairs whose public half the construct accepts', async () => {
    const { publicKey, privateKey } = await generateDeliveryKeyPair();
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(privateKey).toMatchObject({ kty: 'OKP', crv: 'X25519', x: publicKey, d: expect.any(String) });
  });
});
