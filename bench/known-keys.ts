import { createHash } from 'node:crypto';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { KnownKeys } from '../lambda/domain/known-keys';
import { KnownKeySet } from '../lambda/domain/known-key-set';
import { createKeyTable, localDynamoDbClient, startDynalite } from '../local/dynalite-server';
import { line, median } from './support';
import { Logger } from '@aws-lambda-powertools/logger';
import { displayKey, generateApiKey, hashApiKey } from '../lambda/domain/api-key';
import { CachedKeyLookup } from '../lambda/domain/cached-key-lookup';
import { KeyAuthorizer } from '../lambda/domain/key-authorizer';
import { RevocationWatch } from '../lambda/domain/revocation-watch';
import { RouteScopes } from '../lambda/domain/route-scopes';
import { createAuthorizerHandler } from '../lambda/handlers/authorizer-handler';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import restRequest from '../test/fixtures/events/rest-request.json';

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
    lines.push(...(await floodFigures(client)));
  } finally {
    client.destroy();
    await dynalite.close();
  }
  return lines;
}

/**
 * The security review's flood, measured: 20 forged keys a second from the victim's own address, then the
 * victim's valid key, in each of 30 fresh containers (the real authorizer wiring, with and without the set);
 * then 100 forged keys a second for 5 s at one container, counting its table reads.
 */
async function floodFigures(client: DynamoDBClient): Promise<string[]> {
  await createKeyTable(client, 'bench-flood');
  const table = new DynamoKeyTable(client, 'bench-flood');
  const key = generateApiKey();
  const nowMs = Date.now();
  await table.addKnownKey(hashApiKey(key), nowMs - 60_000);
  await table.register({ keyHash: hashApiKey(key), clientId: 'victim', versionId: 'v1', keyDisplay: displayKey(key), scopes: [], notBeforeMs: nowMs - 60_000 });
  await table.markKnownKeysComplete(nowMs - 30_000);
  const event = (apiKey: string) => ({ ...restRequest, methodArn: 'arn:aws:execute-api:eu-west-1:111122223333:abc123def4/prod/GET/hello', headers: { ...restRequest.headers, 'x-api-key': apiKey } });
  const container = (withSet: boolean) => {
    const counts = { reads: 0, syncs: 0 };
    const source = { loadKnownKeys: () => table.loadKnownKeys(), knownKeysAddedSince: (since: number) => (counts.syncs++, table.knownKeysAddedSince(since)) };
    const known = withSet ? new KnownKeys(source, 1_500, Date.now) : undefined;
    void known?.start();
    const cache = { positiveTtlMs: 30_000, negativeTtlMs: 5_000, staleWindowMs: 300_000, maxEntries: 10_000, unknownKeysPerSourcePerSecond: 10 };
    const lookup = new CachedKeyLookup((hash) => (counts.reads++, table.findByHash(hash)), cache, known);
    const handler = createAuthorizerHandler({
      authorizer: new KeyAuthorizer({ lookup, routes: RouteScopes.parse(undefined), keyPrefix: 'kr', revocations: new RevocationWatch((since) => table.revokedSince(since), lookup, 1_000, Date.now(), known) }),
      keyHeader: 'x-api-key',
      httpApiSimpleResponses: true,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
      recorder: { record: () => undefined },
      clock: Date.now,
    });
    return { counts, known, answer: (apiKey: string) => handler(event(apiKey)).then(() => true, () => false) };
  };
  const victimAllowed = async (withSet: boolean) => {
    let allowed = 0;
    for (let i = 0; i < 30; i++) {
      const { answer } = container(withSet);
      await Promise.all(Array.from({ length: 20 }, () => answer(generateApiKey())));
      if (await answer(key)) allowed++;
    }
    return allowed;
  };
  const [withSet, without] = [await victimAllowed(true), await victimAllowed(false)];
  const flooded = container(true);
  await flooded.known?.loaded();
  const startMs = Date.now();
  for (let second = 0; second < 5; second++) {
    for (let i = 0; i < 100; i++) await flooded.answer(generateApiKey());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startMs + (second + 1) * 1_000 - Date.now())));
  }
  const seconds = (Date.now() - startMs) / 1000;
  return [
    line('victim\'s key after 20 forged/s from its address', `allowed in ${withSet}/30 fresh containers (${without}/30 without the set)`),
    line('table reads for unknown keys (100/s for 5 s)', `${(flooded.counts.reads / seconds).toFixed(1)} key reads/s, ${(flooded.counts.syncs / seconds).toFixed(2)} syncs/s per container`),
  ];
}
