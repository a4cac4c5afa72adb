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

  async function setUp(lagMs: number, boundMs: number, region = REGION) {
    const tableName = await primary.newTable();
    await createKeyTable(replicaRegion.client(), tableName);
    replicator = new TableReplicator(primary.client(), replicaRegion.client(), tableName, { lagMs });
    const replicaTable = new DynamoKeyTable(replicaRegion.client(), tableName);
    const primaryTable = new DynamoKeyTable(primary.client(), tableName);
    const waits: Record<string, number>[] = [];
    const h = new RotationHarness({
      secretsManager,
      sns,
      dynamodbEndpoint: primary.endpoint(),
      tableName,
      replicas: {
        tables: { regions: [region], findByHash: (_region, keyHash) => replicaTable.findByHash(keyHash) },
        wait: { boundMs, pollMs: 25, clock: Date.now, sleep: (ms) => sleep(ms) },
        exclusions: primaryTable,
      },
    });
    const acceptedIn = async (table: DynamoKeyTable, key: string) => (await acceptKey(key, { prefix: 'kr', lookup: directLookup((hash) => table.findByHash(hash)), nowMs: h.clock.nowMs })).accepted;
    return { h, replicaTable, primaryTable, waits, acceptedIn };
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

  it('stops waiting for a region an operator took out of the wait (audited), and waits for it again once it is put back', async () => {
    const { h, primaryTable } = await setUp(50, 400);
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'acme-v1' });
    replicator!.down = true;
    // The rotation fails while the region is down; the operator takes it out of the wait; Secrets Manager's retry completes.
    const run = await h.rotate(arn, {
      token: 'acme-v2',
      attempts: 3,
      onStepError: () => primaryTable.setReplicaWait({ region: REGION, excluded: true, atMs: Date.now(), actor: 'arn:aws:iam::111122223333:role/oncall', reason: 'us-east-1 is down' }),
    });
    expect({ outcome: run.outcome, failures: run.errors.length }).toEqual({ outcome: 'succeeded', failures: 1 });
    expect(String((run.errors[0] as Error).message)).toContain('is not readable in us-east-1');
    expect(await primaryTable.replicaWaitSettings()).toEqual([expect.objectContaining({ region: REGION, excluded: true, reason: 'us-east-1 is down' })]);

    // Put back while it is still down: the next rotation waits for it again.
    await primaryTable.setReplicaWait({ region: REGION, excluded: false, atMs: Date.now(), actor: 'arn:aws:iam::111122223333:role/oncall', reason: 'us-east-1 is back' });
    const refused = await h.rotate(arn, { token: 'acme-v3', attempts: 1 });
    expect(refused.outcome).toBe('failed');
    expect(String((refused.errors[0] as Error).message)).toContain('is not readable in us-east-1');
  });

  it('does not move AWSCURRENT while the client\'s secret replica in a region has failed; it does once the region is out of the wait', async () => {
    const { h, primaryTable } = await setUp(0, 2_000, 'eu-central-1');
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'acme-v1' });
    h.model.replicateSecretToRegions({ SecretId: arn, AddReplicaRegions: [{ Region: 'eu-central-1' }] });
    h.model.setReplicaStatus(arn, 'eu-central-1', 'Failed', 'Access denied to the KMS key');
    const oldKey = h.currentKey(arn);

    let currentWhileBlocked: string | undefined;
    const run = await h.rotate(arn, {
      token: 'acme-v2',
      attempts: 3,
      onStepError: async () => {
        currentWhileBlocked = h.currentKey(arn);
        await primaryTable.setReplicaWait({ region: 'eu-central-1', excluded: true, atMs: Date.now(), actor: 'ops', reason: 'replica being rebuilt' });
      },
    });
    expect(String((run.errors[0] as Error).message)).toMatch(/replica of secret .* in eu-central-1 has failed \(Access denied to the KMS key\): AWSCURRENT stays on acme-v1.*keyroll regions exclude eu-central-1/);
    expect(currentWhileBlocked).toBe(oldKey);
    expect(run.outcome).toBe('succeeded');
    expect(h.currentKey(arn)).not.toBe(oldKey);
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
