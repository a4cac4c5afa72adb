import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { acceptKey, directLookup } from '../../lambda/domain/accept-key';
import { hashApiKey } from '../../lambda/domain/api-key';
import { ReplicaLagError } from '../../lambda/domain/errors';
import { createKeyTable } from '../../local/dynalite-server';
import { useDynalite } from '../support/dynamodb';
import { RotationHarness } from '../support/rotation-harness';
import { TableReplicator } from '../../proof/table-replicator';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
// Two regions: the key table in the primary, its replica in the other, joined by a replicator with lag and outages.
const primary = useDynalite();
const replicaRegion = useDynalite();
const REGION = 'us-east-1';

/**
 * The rotation's replica wait, against two real DynamoDB implementations: testSecret (and finishSecret) pass
 * only once the new key is readable in the replica region, so that no region refuses a key another holds as
 * current; while the replica cannot be reached, the step fails after its bound, Secrets Manager retries, and
 * the keys already issued keep working in both regions.
 */
describe('Multi-region rotation: the replica wait (two dynalite servers and a replicator)', () => {
  let replicator: TableReplicator | undefined;
  afterEach(async () => {
    await replicator?.stop();
    replicator = undefined;
  });

  async function setUp(lagMs: number, boundMs: number) {
    const tableName = await primary.newTable();
    await createKeyTable(replicaRegion.client(), tableName);
    replicator = new TableReplicator(primary.client(), replicaRegion.client(), tableName, { lagMs });
    const replicaTable = new DynamoKeyTable(replicaRegion.client(), tableName);
    const waits: Record<string, number>[] = [];
    const h = new RotationHarness({
      secretsManager,
      sns,
      dynamodbEndpoint: primary.endpoint(),
      tableName,
      replicas: {
        tables: { regions: [REGION], findByHash: (_region, keyHash) => replicaTable.findByHash(keyHash) },
        wait: { boundMs, pollMs: 25, clock: Date.now, sleep: (ms) => sleep(ms) },
      },
    });
    const acceptedIn = async (table: DynamoKeyTable, key: string) => (await acceptKey(key, { prefix: 'kr', lookup: directLookup((hash) => table.findByHash(hash)), nowMs: h.clock.nowMs })).accepted;
    return { h, replicaTable, waits, acceptedIn };
  }

  it('lets the new key become current only once the replica has it, waiting out the replication lag', async () => {
    const { h, replicaTable, acceptedIn } = await setUp(400, 5_000);
    const arn = await h.newClient('acme');
    const started = Date.now();
    expect((await h.rotate(arn, { token: 'acme-v1' })).outcome).toBe('succeeded');
    // testSecret waited for the lag, at least.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const current = h.currentKey(arn);
    expect(await replicaTable.findByHash(hashApiKey(current))).toMatchObject({ versionId: 'acme-v1' });
    expect(await acceptedIn(replicaTable, current)).toBe(true);
    expect(await acceptedIn(h.table, current)).toBe(true);
  });

  it('fails the step after its bound while the replica region is down, keeps the old key working in both, and completes on the retry once it is back', async () => {
    const { h, replicaTable, acceptedIn } = await setUp(50, 600);
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'acme-v1' });
    const oldKey = h.currentKey(arn);
    await sleep(300); // the replica has acme-v1 and its later updates

    // The replica region goes down in the middle of a rotation that Secrets Manager retries, and comes back
    // after the second failed attempt (driven by the attempts, not by a timer, so a loaded machine changes nothing).
    replicator!.down = true;
    let during: Promise<{ current: string; primary: boolean; replica: boolean }> | undefined;
    let failedSteps = 0;
    const run = await h.rotate(arn, {
      token: 'acme-v2',
      attempts: 10,
      onStepError: () => {
        failedSteps += 1;
        if (failedSteps === 1) during = (async () => ({ current: h.currentKey(arn), primary: await acceptedIn(h.table, oldKey), replica: await acceptedIn(replicaTable, oldKey) }))();
        if (failedSteps === 2) replicator!.down = false;
      },
    });
    // While it was down: nothing moved, the old key was still the current one and accepted in both regions.
    expect(await during).toEqual({ current: oldKey, primary: true, replica: true });
    expect(run.errors.length).toBeGreaterThanOrEqual(2);
    for (const error of run.errors) {
      expect(error).toBeInstanceOf(ReplicaLagError);
      expect(String((error as Error).message)).toMatch(/key version acme-v2 is not readable in us-east-1 \(not there yet\) after 1 s; Secrets Manager retries the rotation/);
    }
    expect(run.outcome).toBe('succeeded');
    const newKey = h.currentKey(arn);
    expect(newKey).not.toBe(oldKey);
    expect(await acceptedIn(replicaTable, newKey)).toBe(true);
    // The old key keeps its grace in the primary, and the replica follows.
    expect(await acceptedIn(h.table, oldKey)).toBe(true);
    expect(await acceptedIn(replicaTable, oldKey)).toBe(true);
  });

  it('counts a replica that cannot be read as behind, naming the failure', async () => {
    const broken = new RotationHarness({
      secretsManager,
      sns,
      dynamodbEndpoint: primary.endpoint(),
      tableName: await primary.newTable(),
      replicas: {
        tables: { regions: [REGION], findByHash: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' })) },
        wait: { boundMs: 300, pollMs: 25, clock: Date.now, sleep: (ms) => sleep(ms) },
      },
    });
    const other = await broken.newClient('globex');
    const run = await broken.rotate(other, { token: 'globex-v1', attempts: 1 });
    expect(run.outcome).toBe('failed');
    expect(String((run.errors[0] as Error).message)).toContain('us-east-1 (TimeoutError: connect ECONNREFUSED)');
  });
});
