import { attributeKey, KEY_TABLE_KEYS } from '../lambda/adapters/key-table-schema';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { displayKey, generateApiKey, hashApiKey } from '../lambda/domain/api-key';
import { createKeyTable, localDynamoDbClient, startDynalite } from '../local/dynalite-server';
import restRequest from '../test/fixtures/events/rest-request.json';
import { bundleFunction, line, median, medianRequireMs, percentile, timeCalls, timeSyncCalls } from './support';

type Handler = (event: unknown) => Promise<unknown>;

const TABLE = 'bench-keys';
const STAGE_ARN = 'arn:aws:execute-api:eu-west-1:111122223333:abc123def4/prod';

/**
 * The authorizer's figures, measured on the bundle that is deployed: the floor any correct authorizer
 * must pay, the warm cache-hit path against it, the cache-miss path against a bare GetItem to the same
 * dynalite, the bundle's size and its cold `require` time.
 */
export async function benchAuthorizer(): Promise<string[]> {
  const bundle = bundleFunction('authorizer');
  const bundleText = readFileSync(bundle.file, 'utf8');
  // Lambda runs Node.js 22, where the SDK prints no Node-version warning; Node 20 here would, at client creation.
  const baseEnv = {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    KEY_TABLE_NAME: TABLE,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
  const requireMs = medianRequireMs(bundle.file, baseEnv);

  const dynalite = await startDynalite();
  const client = localDynamoDbClient(dynalite.endpoint);
  await createKeyTable(client, TABLE);
  const key = generateApiKey();
  await new DynamoKeyTable(client, TABLE).register({ keyHash: hashApiKey(key), clientId: 'acme', versionId: 'v1', keyDisplay: displayKey(key), scopes: [], notBeforeMs: 0 });
  const event = { ...restRequest, methodArn: `${STAGE_ARN}/GET/hello`, headers: { ...restRequest.headers, 'X-Api-Key': key } };

  Object.assign(process.env, baseEnv, { AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, METRICS_FLUSH_INTERVAL_SECONDS: '3600' });
  const cached = loadHandler(bundle.file, { CACHE_TTL_SECONDS: '3600' });
  const uncached = loadHandler(bundle.file, { CACHE_TTL_SECONDS: '0' });

  // The floor: the work any correct authorizer must do on an already parsed event: find the header, hash
  // the key, one Map lookup, build the policy object.
  const versions = new Map([[hashApiKey(key), { clientId: 'acme', versionId: 'v1', resource: `${STAGE_ARN}/*` }]]);
  const headers: Record<string, string> = event.headers;
  const floor = () => {
    let presented = '';
    for (const name in headers) if (name.toLowerCase() === 'x-api-key') presented = headers[name] ?? '';
    const version = versions.get(createHash('sha256').update(presented).digest('hex'));
    if (version === undefined) throw new Error('Unauthorized');
    return {
      principalId: version.clientId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [version.resource] }] },
      context: { clientId: version.clientId, keyVersion: version.versionId },
    };
  };
  const floorUs = timeSyncCalls(floor, 200_000);

  const writes = { count: 0 };
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (writes.count++, write(chunk, ...rest))) as typeof process.stdout.write;
  const hitUs = await timeCalls(() => cached(event), 200_000);
  process.stdout.write = write;

  const missUs = await timeCalls(() => uncached(event), 2_000, 200);
  const getItem = new GetItemCommand({ TableName: TABLE, Key: attributeKey(KEY_TABLE_KEYS.keyVersion(hashApiKey(key))), ConsistentRead: true });
  const bareUs = await timeCalls(() => client.send(getItem), 2_000, 200);
  client.destroy();
  await dynalite.close();

  const floorP50 = median(floorUs);
  const hitP50 = median(hitUs);
  const hitP99 = percentile(hitUs, 99);
  const missP50 = median(missUs);
  const bareP50 = median(bareUs);
  return [
    'Authorizer (the deployed bundle, Node.js ' + process.version + ')',
    line('floor per request, p50', `${floorP50.toFixed(2)} µs`),
    line('cache hit p50', `${hitP50.toFixed(2)} µs`, { text: '≤ 5× floor', met: hitP50 <= 5 * floorP50 }),
    line('cache hit p99', `${hitP99.toFixed(2)} µs`, { text: '≤ 25× floor', met: hitP99 <= 25 * floorP50 }),
    line('cache hit p50 / floor', `${(hitP50 / floorP50).toFixed(2)}×`),
    line('cache hit p99 / floor', `${(hitP99 / floorP50).toFixed(2)}×`),
    line('cache miss p50 (dynalite)', `${(missP50 / 1000).toFixed(2)} ms`, { text: '≤ 1.5× bare GetItem', met: missP50 <= 1.5 * bareP50 }),
    line('bare consistent GetItem p50 (same dynalite)', `${(bareP50 / 1000).toFixed(2)} ms`),
    line('cache miss / bare GetItem', `${(missP50 / bareP50).toFixed(2)}×`),
    line('bundle size', `${(bundle.bytes / 1024).toFixed(1)} KB`, { text: '≤ 400 KB', met: bundle.bytes <= 400 * 1024 }),
    line('require, median of 10 fresh processes', `${requireMs.toFixed(1)} ms`, { text: '≤ 60 ms', met: requireMs <= 60 }),
    line('stdout writes in 202,000 cache hits', `${writes.count}`, { text: '0', met: writes.count === 0 }),
    line('Secrets Manager client in the bundle', /secretsmanager/i.test(bundleText) ? 'yes' : 'no', { text: 'no', met: !/secretsmanager/i.test(bundleText) }),
  ];
}

/** A fresh copy of the bundle's module, so each configuration gets its own container state. */
function loadHandler(file: string, env: Record<string, string>): Handler {
  const copy = file.replace(/index\.js$/, `index-${Object.values(env).join('-')}.js`);
  copyFileSync(file, copy);
  Object.assign(process.env, env);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(copy) as { handler: Handler }).handler;
}
