import { createHash } from 'node:crypto';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { KnownKeys } from '../lambda/domain/known-keys';
import { KnownKeySet } from '../lambda/domain/known-key-set';
import { createKeyTable, localDynamoDbClient, startDynalite } from '../local/dynalite-server';
import { line, median } from './support';

const hashOf = (n: number) => createHash('sha256').update(`bench-${n}`).digest('hex');

/**
 * The known-key set: its memory at 10,000 and 100,000 key versions (the arrays it keeps), and the start-up cost of loading it from dynalite (one consistent Query
 * over the buckets, paginated, plus the additions). Times are local, without AWS's network.
 */
export async function benchKnownKeys(): Promise<string[]> {
  const lines = ['known-key set (each authorizer container; lambda/domain/known-keys.ts)'];
  for (const versions of [10_000, 100_000]) {
    const set = new KnownKeySet();
    for (let n = 0; n < versions; n++) set.add(hashOf(n));
    lines.push(line(`memory at ${versions.toLocaleString('en-US')} versions`, `${(set.byteLength / 1024 / 1024).toFixed(2)} MB (${(set.byteLength / versions).toFixed(1)} B a key)`));
  }

  const dynalite = await startDynalite();
  const client = localDynamoDbClient(dynalite.endpoint);
  try {
    for (const versions of [10_000, 100_000]) {
      const tableName = `bench-known-${versions}`;
      await createKeyTable(client, tableName);
      const table = new DynamoKeyTable(client, tableName);
      // Filled as the monitor's backfill fills it: one ADD per bucket, in slices a write takes.
      const hashes = Array.from({ length: versions }, (_, n) => hashOf(n));
      for (let i = 0; i < hashes.length; i += 20_000) await table.addToKnownKeySnapshot(hashes.slice(i, i + 20_000));
      await table.markKnownKeysComplete(Date.now() - 1_000);
      const loads: number[] = [];
      for (let run = 0; run < 3; run++) {
        const known = new KnownKeys(table, 1_500, Date.now);
        const startMs = performance.now();
        await known.start();
        loads.push(performance.now() - startMs);
        if (known.size !== versions || known.classify(hashOf(1), Date.now()) !== 'known' || known.classify(hashOf(-1), Date.now()) !== 'unknown') throw new Error('the loaded set is not the one written');
      }
      lines.push(line(`start-up load at ${versions.toLocaleString('en-US')} versions`, `${median(loads).toFixed(0)} ms median of 3 (dynalite on this machine)`));
    }
  } finally {
    client.destroy();
    await dynalite.close();
  }
  return lines;
}
