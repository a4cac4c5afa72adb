import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { generateApiKey, hashApiKey } from '../../lambda/domain/api-key';
import type { RotationStep } from '../../lambda/domain/rotation';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { readAuthorizerConfig } from '../../lambda/config/authorizer-config';
import { buildAuthorizer, DEFAULT_CACHE, keyVersion, outcomeOf, restEvent } from '../support/authorizer-fixture';
import { useDynalite } from '../support/dynamodb';
import { FaultInjector, injectDynamoDbFaults } from '../../proof/faults';
import { HOUR_MS, TestClock } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

const GRACE_MS = HOUR_MS;
const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

async function rotatedClient() {
  secretsManager.reset();
  sns.reset();
  const tableName = await dynamo.newTable();
  const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName, gracePeriodSeconds: GRACE_MS / 1000 });
  const arn = await h.newClient('acme');
  await h.rotate(arn, { token: 'v1' });
  return { h, arn, tableName };
}

/** The authorizer over its own DynamoDB client to dynalite, as in Lambda; `faults` can make that client fail. */
function authorizerOn(h: RotationHarness, tableName: string, faults?: FaultInjector) {
  const client = localDynamoDbClient(dynamo.endpoint());
  if (faults !== undefined) injectDynamoDbFaults(client, faults);
  const table = new DynamoKeyTable(client, tableName);
  const authorizer = buildAuthorizer({ clock: h.clock, findByHash: (keyHash) => table.findByHash(keyHash), httpApiSimpleResponses: false });
  const verdict = async (key: string) => ((await outcomeOf(authorizer.handler(restEvent({ 'x-api-key': key })))).error === undefined ? 'allow' : 'refuse');
  return { ...authorizer, verdict };
}

describe('Authorizer on DynamoDB (dynalite)', () => {
  it('keeps accepting the old key and the new one through every step of a rotation, and the old one until its grace ends', async () => {
    const { h, arn, tableName } = await rotatedClient();
    const { verdict } = authorizerOn(h, tableName);
    const oldKey = h.currentKey(arn);
    expect(await verdict(oldKey)).toBe('allow');

    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v2' });
    for (const step of STEPS) {
      await h.invoke(step, arn, 'v2');
      h.clock.advance(1_000);
      expect({ step, old: await verdict(oldKey) }).toEqual({ step, old: 'allow' });
      if (step !== 'createSecret') expect({ step, new: await verdict(h.keyOf(arn, 'v2')) }).toEqual({ step, new: 'allow' });
    }
    const finishedAtMs = h.clock.nowMs - 1_000;
    const newKey = h.currentKey(arn);

    h.clock.nowMs = finishedAtMs + GRACE_MS - 1;
    expect(await verdict(oldKey)).toBe('allow');
    h.clock.nowMs = finishedAtMs + GRACE_MS;
    expect(await verdict(oldKey)).toBe('refuse');
    expect(await verdict(newKey)).toBe('allow');
  });

  it('refuses a revoked key once its cache entry is older than the cache TTL', async () => {
    const { h, arn, tableName } = await rotatedClient();
    const { verdict, decisions } = authorizerOn(h, tableName);
    const key = h.currentKey(arn);
    expect(await verdict(key)).toBe('allow');
    await h.table.revoke(hashApiKey(key), h.clock.nowMs, 'compromised');

    h.clock.advance(DEFAULT_CACHE.positiveTtlMs - 1);
    expect(await verdict(key)).toBe('allow');
    h.clock.advance(1);
    expect(await verdict(key)).toBe('refuse');
    expect(decisions.at(-1)).toMatchObject({ outcome: 'unauthorized', reason: 'revoked', source: 'table' });
  });

  it('keeps recently verified keys working through a table outage, for the stale window, and refuses all others', async () => {
    const { h, arn, tableName } = await rotatedClient();
    const faults = new FaultInjector();
    const { verdict, decisions } = authorizerOn(h, tableName, faults);
    const key = h.currentKey(arn);
    expect(await verdict(key)).toBe('allow');
    faults.schedule(Array.from({ length: 100 }, (_, callIndex) => ({ service: 'dynamodb' as const, callIndex, timing: 'before' as const })));

    h.clock.advance(DEFAULT_CACHE.positiveTtlMs);
    expect(await verdict(key)).toBe('allow');
    expect(decisions.at(-1)).toMatchObject({ outcome: 'allow', source: 'stale', failure: 'ThrottlingException' });
    expect(await verdict(generateApiKey())).toBe('refuse');
    expect(decisions.at(-1)).toMatchObject({ outcome: 'unauthorized', reason: 'lookup_failed' });

    h.clock.advance(DEFAULT_CACHE.staleWindowMs - DEFAULT_CACHE.positiveTtlMs);
    expect(await verdict(key)).toBe('refuse');
    expect(decisions.at(-1)).toMatchObject({ outcome: 'unauthorized', reason: 'lookup_failed' });

    faults.schedule([]);
    expect(await verdict(key)).toBe('allow');
  });
});

describe('Authorizer under a burst of distinct keys (dynalite, default settings)', () => {
  /** The cache settings a deployed authorizer gets when the construct sets nothing: the declared defaults. */
  const deployedCache = readAuthorizerConfig({ KEY_TABLE_NAME: 'unused' }).cache;

  async function tableWithValidKeys(count: number) {
    const tableName = await dynamo.newTable();
    const table = new DynamoKeyTable(localDynamoDbClient(dynamo.endpoint()), tableName);
    const keys = Array.from({ length: count }, (_, i) => keyVersion({ clientId: `client-${i}` }));
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(keys.slice(start, start + 50).map(({ version }) => table.register(version)));
    }
    return { table, keys: keys.map(({ key }) => key) };
  }

  /**
   * One fresh container: an empty cache, the table over HTTP, the clock standing still (a burst within one
   * millisecond). Requests are handled one after another, as a Lambda execution environment handles one event at a time.
   */
  function freshContainer(table: DynamoKeyTable) {
    const clock = new TestClock(Date.UTC(2026, 11, 2));
    const authorizer = buildAuthorizer({ clock, findByHash: (keyHash) => table.findByHash(keyHash), httpApiSimpleResponses: false, cache: deployedCache });
    const verdict = async (key: string, sourceIp: string) => {
      const event = restEvent({ 'x-api-key': key });
      const withSource = { ...event, requestContext: { ...event.requestContext, identity: { ...event.requestContext.identity, sourceIp } } };
      return (await outcomeOf(authorizer.handler(withSource))).error === undefined ? 'allow' : 'refuse';
    };
    return { ...authorizer, verdict };
  }

  it('allows 1,000 distinct valid keys arriving together on a fresh container, even from one source', async () => {
    expect(deployedCache.unknownKeysPerSourcePerSecond).toBeLessThan(1_000);
    const { table, keys } = await tableWithValidKeys(1_000);
    const { verdict } = freshContainer(table);
    const refused: string[] = [];
    for (const key of keys) if ((await verdict(key, '198.51.100.1')) === 'refuse') refused.push(key);
    expect(refused).toHaveLength(0);
  }, 30_000);

  it('allows every valid key from other sources while one source floods it with well-formed random keys', async () => {
    const { table, keys } = await tableWithValidKeys(200);
    const { verdict, decisions } = freshContainer(table);
    const flood: string[] = [];
    const valid: string[] = [];
    for (const [i, key] of keys.entries()) {
      for (let r = 0; r < 5; r++) flood.push(await verdict(generateApiKey(), '203.0.113.66'));
      valid.push(await verdict(key, `198.51.100.${i % 250}`));
    }
    expect(valid).toEqual(keys.map(() => 'allow'));
    expect(flood).toEqual(flood.map(() => 'refuse'));
    // The flood cost the table no more than the source's budget: the rest were refused without a read.
    const throttled = decisions.filter((d) => d.outcome === 'unauthorized' && d.reason === 'lookup_throttled').length;
    expect(throttled).toBeGreaterThanOrEqual(1_000 - deployedCache.unknownKeysPerSourcePerSecond);
  }, 30_000);
});
