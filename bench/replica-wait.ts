import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { SecretsManagerVersionStore } from '../lambda/adapters/secrets-manager-version-store';
import { generateApiKey } from '../lambda/domain/api-key';
import type { Notifier } from '../lambda/domain/ports';
import { KeyRotation, ROTATION_STEPS } from '../lambda/domain/rotation';
import { createKeyTable, startDynalite } from '../local/dynalite-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/keyroll-local';
import { modelClient } from '../local/model-client';
import { SecretsManagerModel } from '../local/secrets-manager-model';
import { TableReplicator } from '../proof/table-replicator';
import { line, median } from './support';

const ROTATIONS = 10;

/**
 * The multi-region replica wait: the real rotation over two dynalite servers joined by a replicator (scan every
 * 20 ms, then the replication lag). For each lag, how long testSecret waited for the replica region, and how
 * long the whole rotation took. In AWS the lag is DynamoDB's `ReplicationLatency`.
 */
export async function benchReplicaWait(): Promise<string[]> {
  const lines = ['Replica wait (multi-region rotation, 2 dynalite servers, replicator polling every 20 ms)'];
  const [primary, replica] = await Promise.all([startDynalite(), startDynalite()]);
  const clientOf = (endpoint: string) => new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const [primaryClient, replicaClient] = [clientOf(primary.endpoint), clientOf(replica.endpoint)];
  try {
    for (const lagMs of [0, 250, 1_000]) {
      const tableName = `keyroll-replica-${lagMs}`;
      await Promise.all([createKeyTable(primaryClient, tableName), createKeyTable(replicaClient, tableName)]);
      const replicator = new TableReplicator(primaryClient, replicaClient, tableName, { lagMs });
      const model = new SecretsManagerModel({ region: LOCAL_REGION, accountId: '000000000000' });
      const table = new DynamoKeyTable(primaryClient, tableName);
      const replicaTable = new DynamoKeyTable(replicaClient, tableName);
      const silent: Notifier = { publish: async () => undefined };
      const rotation = new KeyRotation({
        secrets: new SecretsManagerVersionStore(modelClient(model)),
        keys: table,
        registry: table,
        issued: table,
        events: table,
        notifier: silent,
        clock: Date.now,
        generateKey: () => generateApiKey(),
        keyPrefix: 'kr',
        defaultGracePeriodSeconds: 3600,
        replicas: {
          tables: { regions: ['us-east-1'], findByHash: (_region, keyHash) => replicaTable.findByHash(keyHash) },
          wait: { boundMs: 30_000, pollMs: 25, clock: Date.now, sleep: (ms) => sleep(ms) },
        },
      });
      const { ARN = '' } = model.createSecret({ Name: 'keyroll/bench/acme', SecretString: JSON.stringify({ clientId: 'acme', apiKey: generateApiKey() }), Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }] });
      await table.registerClient({ clientId: 'acme', secretArn: ARN, settings: {}, registeredAtMs: Date.now(), registeredBy: 'bench' });
      const waits: number[] = [];
      const totals: number[] = [];
      for (let i = 0; i < ROTATIONS; i++) {
        const token = `bench-${lagMs}-${i}`;
        model.rotateSecret({ SecretId: ARN, ClientRequestToken: token, RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:rotation' });
        const started = Date.now();
        for (const step of ROTATION_STEPS) {
          const outcome = await rotation.runStep({ step, secretId: ARN, token });
          if (outcome.step === 'testSecret' && outcome.result === 'verified') waits.push(outcome.replicatedAfterMs?.['us-east-1'] ?? Number.NaN);
        }
        totals.push(Date.now() - started);
        model.endRotation(ARN, 'succeeded');
      }
      await replicator.stop();
      lines.push(line(`lag ${lagMs} ms: testSecret's wait, median / max`, `${median(waits)} / ${Math.max(...waits)} ms; rotation median ${median(totals)} ms (${ROTATIONS} rotations)`));
    }
  } finally {
    primaryClient.destroy();
    replicaClient.destroy();
    await Promise.all([primary.close(), replica.close()]);
  }
  return lines;
}
