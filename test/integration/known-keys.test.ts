import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { generateApiKey } from '../../lambda/domain/api-key';
import { CachedKeyLookup } from '../../lambda/domain/cached-key-lookup';
import { KeyAuthorizer } from '../../lambda/domain/key-authorizer';
import { KnownKeys } from '../../lambda/domain/known-keys';
import { RevocationWatch } from '../../lambda/domain/revocation-watch';
import { RouteScopes } from '../../lambda/domain/route-scopes';
import { createAuthorizerHandler } from '../../lambda/handlers/authorizer-handler';
import { DEFAULT_CACHE, keyVersion, outcomeOf, restEvent } from '../support/authorizer-fixture';
import { useDynalite } from '../support/dynamodb';
import { buildRotation, TestClock } from '../support/rotation-fixture';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { createClientSecret, serveSecretsManagerFromModel } from '../support/secrets-manager';
import { SecretsManagerModel } from '../../local/secrets-manager-model';
import { runRotation } from '../../local/rotation-driver';
import { RotationHarness } from '../support/rotation-harness';
import { hashApiKey } from '../../lambda/domain/api-key';

/*
 * The security review's measurement, as a test: an attacker behind the victim's address (NAT, CGNAT, a CDN's
 * egress) sends 20 forged keys a second; each fresh authorizer container then sees the victim's valid key.
 * With the known-key set it is allowed in every container, and the forged keys cost no table read.
 */
const dynamo = useDynalite();
const FORGED_PER_SECOND = 20;
const CONTAINERS = 30;

async function installWithOneClient() {
  const tableName = await dynamo.newTable();
  const table = new DynamoKeyTable(dynamo.client(), tableName);
  const clock = new TestClock(Date.now());
  const victim = keyVersion({ clientId: 'victim', notBeforeMs: clock.nowMs - 60_000 });
  await table.addKnownKey(victim.version.keyHash, victim.version.notBeforeMs);
  await table.register(victim.version);
  await table.markKnownKeysComplete(clock.nowMs - 30_000);
  return { table, clock, victim };
}

/** A fresh authorizer container, wired as the function's entry point wires it; it counts its key reads. */
function freshContainer(table: DynamoKeyTable, clock: TestClock, withKnownKeys: boolean) {
  const reads = { keys: 0 };
  const known = withKnownKeys ? new KnownKeys(table, 1_500, clock.now) : undefined;
  void known?.start();
  const lookup = new CachedKeyLookup(
    (hash) => {
      reads.keys++;
      return table.findByHash(hash);
    },
    { ...DEFAULT_CACHE, unknownKeysPerSourcePerSecond: 10 },
    known,
  );
  const handler = createAuthorizerHandler({
    authorizer: new KeyAuthorizer({ lookup, routes: RouteScopes.parse(undefined), keyPrefix: 'kr', revocations: new RevocationWatch((since) => table.revokedSince(since), lookup, 1_000, clock.nowMs, known) }),
    keyHeader: 'x-api-key',
    httpApiSimpleResponses: true,
    logger: new Logger({ serviceName: 'keyroll-authorizer-test', logLevel: 'SILENT' }),
    recorder: { record: () => undefined },
    clock: clock.now,
  });
  return { handler, reads, known };
}

/** The attacker's second of forged keys, then the victim's request, all from the same address; true when the victim got in. */
async function victimAfterFlood(handler: (event: unknown) => Promise<unknown>, victimKey: string): Promise<boolean> {
  await Promise.all(Array.from({ length: FORGED_PER_SECOND }, () => outcomeOf(handler(restEvent({ 'x-api-key': generateApiKey() })))));
  const { response } = await outcomeOf(handler(restEvent({ 'x-api-key': victimKey })));
  return response !== undefined;
}

describe('Attack: a flood of forged keys from the victim\'s address', () => {
  it(`lets the victim's valid key in on its first use in each of ${CONTAINERS} fresh containers`, async () => {
    const { table, clock, victim } = await installWithOneClient();
    let allowed = 0;
    for (let i = 0; i < CONTAINERS; i++) if (await victimAfterFlood(freshContainer(table, clock, true).handler, victim.key)) allowed++;
    expect(allowed).toBe(CONTAINERS);
  });

  it('refused it before the known-key set: the same flood spends the address\'s budget of unknown keys (the control)', async () => {
    const { table, clock, victim } = await installWithOneClient();
    let allowed = 0;
    for (let i = 0; i < CONTAINERS; i++) if (await victimAfterFlood(freshContainer(table, clock, false).handler, victim.key)) allowed++;
    expect(allowed).toBe(0);
  });

  it('costs no key read for a forged key once the set is loaded, and at most one sync per window', async () => {
    const { table, clock, victim } = await installWithOneClient();
    const { handler, reads, known } = freshContainer(table, clock, true);
    await known?.loaded();
    const syncs = jest.spyOn(table, 'knownKeysAddedSince');
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 100; i++) expect(await outcomeOf(handler(restEvent({ 'x-api-key': generateApiKey() })))).toEqual({ error: new Error('Unauthorized') });
      clock.advance(1_000);
    }
    expect(reads.keys).toBe(0);
    expect(syncs.mock.calls.length).toBeLessThanOrEqual(3);
    expect((await outcomeOf(handler(restEvent({ 'x-api-key': victim.key })))).response).toBeDefined();
    expect(reads.keys).toBe(1);
  });

  it('learns a key added after it loaded, from the additions, before that key can be presented', async () => {
    const { table, clock } = await installWithOneClient();
    const { handler, known } = freshContainer(table, clock, true);
    await known?.loaded();
    const late = keyVersion({ clientId: 'late', versionId: 'l1', notBeforeMs: clock.nowMs });
    await table.addKnownKey(late.version.keyHash, clock.nowMs);
    await table.register(late.version);
    clock.advance(2_000); // the rotation's wait before a new key is presented: the window and its slack
    expect((await outcomeOf(handler(restEvent({ 'x-api-key': late.key })))).response).toBeDefined();
  });
});

describe('The rotation and the known-key set', () => {
  it('adds a new key to the set before registering it, and presents it only the window and its slack later', async () => {
    const secretsManager = mockClient(SecretsManagerClient);
    const sns = mockClient(SNSClient);
    sns.onAnyCommand().resolves({ MessageId: 'm' });
    const clock = new TestClock(Date.now());
    const model = new SecretsManagerModel({ clock: clock.now });
    serveSecretsManagerFromModel(secretsManager, model);
    const tableName = await dynamo.newTable();
    const waits: number[] = [];
    const { rotation, table } = buildRotation({
      clock,
      dynamodb: dynamo.client(),
      keyTableName: tableName,
      knownKeys: { sleep: async (ms: number) => (waits.push(ms), clock.advance(ms)) },
    });
    const arn = createClientSecret(model, { clientId: 'acme', firstVersionId: 'v0' });
    await table.registerClient({ clientId: 'acme', secretArn: arn, settings: {}, registeredAtMs: clock.nowMs, registeredBy: 'test' });
    model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v1' });
    await runRotation(model, arn, async (event) => {
      await rotation.runStep({ step: event.Step, secretId: event.SecretId, token: event.ClientRequestToken });
      if (event.Step === 'setSecret') clock.advance(300);
    });
    const version = (await table.listClientVersions('acme'))[0];
    expect(version?.versionId).toBe('v1');
    expect((await table.loadKnownKeys()).prefixes).toContain(version?.keyHash.slice(0, 16));
    expect(await table.knownKeyAdded(version?.keyHash ?? '', version?.notBeforeMs ?? 0)).toBe(true);
    // setSecret at t, finishSecret at t + 0.3 s: it waits the rest of 2 s before AWSCURRENT moves.
    expect(waits).toEqual([1_700]);
    expect(version?.currentSinceMs).toBe((version?.notBeforeMs ?? 0) + 2_000);
    secretsManager.restore();
    sns.restore();
  });
});

describe('The monitor and the known-key set', () => {
  it('backfills the set once, marks it complete, and prunes a key two days after its end', async () => {
    const secretsManager = mockClient(SecretsManagerClient);
    const sns = mockClient(SNSClient);
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable(), gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    await h.rotate(arn, { token: 'v2' });
    const prefixes = async () => new Set((await h.table.loadKnownKeys()).prefixes);
    const [v1, v2] = [h.keyOf(arn, 'v1'), h.keyOf(arn, 'v2')].map((key) => hashApiKey(key).slice(0, 16));

    expect(await h.table.knownKeysCompleteSince()).toBeUndefined();
    expect(await h.runMonitor()).toMatchObject({ knownKeysBackfilled: 2 });
    expect(await h.table.knownKeysCompleteSince()).toBe(h.clock.nowMs);
    expect(await h.runMonitor()).toMatchObject({ knownKeysBackfilled: 0 });
    expect([...(await prefixes())].sort()).toEqual([v1, v2].sort());

    h.clock.advance(3600_000 + 2 * 24 * 3600_000 + 60_000); // v1's grace, then two days
    expect(await h.runMonitor()).toMatchObject({ knownKeysPruned: 1 });
    expect([...(await prefixes())]).toEqual([v2]);
    secretsManager.restore();
    sns.restore();
  });
});
