/**
 * `npm run fuzz -- --events N [--seed S]`: the built authorizer bundle (`dist/bundles/authorizer/index.js`, as
 * Lambda loads it) against a key table on dynalite, fed N fuzz events; each answer judged by the oracle. Prints
 * progress to standard error and one JSON summary; exit 1 on a wrongful allow or denial, a crash, a wrong
 * error or a key or key hash in the function's output.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import * as path from 'node:path';
import { scriptArguments } from '../local/script-arguments';
import fc from 'fast-check';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { AUTHORIZER_VARIABLES } from '../lambda/config/authorizer-config';
import type { PolicyResponse, SimpleResponse } from '../lambda/handlers/authorizer-handler';
import { createKeyTable, localDynamoDbClient, startDynalite } from '../local/dynalite-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/keyroll-local';
import { FUZZ_ROUTE_SCOPES, fuzzEventArbitrary, fuzzKeys, oracle, record, type FuzzKeys } from './authorizer-cases';

interface FuzzSummary {
  events: number;
  seed: number;
  casesPerSecond: number;
  outcomes: { allow: number; forbidden: number; refuse: number };
  wrongfulAllows: number;
  wrongfulDenials: number;
  crashes: number;
  wrongErrors: number;
  plaintextFindings: number;
  logLines: number;
  durationS: number;
  firstFindings: string[];
}

async function seedTable(fuzz: FuzzKeys, table: DynamoKeyTable): Promise<void> {
  for (const version of fuzz.versions) {
    const { notAfterMs, revokedAtMs, revokedReason, ...fresh } = version;
    await table.register(fresh);
    if (notAfterMs !== undefined) await table.closeWindow(version.keyHash, notAfterMs);
    if (revokedAtMs !== undefined) await table.revoke(version.keyHash, revokedAtMs, revokedReason ?? 'revoked');
  }
}

async function main(): Promise<number> {
  const values = scriptArguments('npm run fuzz -- [--events 1000000] [--seed 42]\n\nRandom authorizer events against the built authorizer bundle; prints one JSON summary, exit 1 on a wrong answer.', { events: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '42' } });
  const events = Number(values.events);
  const seed = Number(values.seed);
  const dynalite = await startDynalite();
  const dynamodb = localDynamoDbClient(dynalite.endpoint);
  const tableName = 'keyroll-fuzz-keys';
  await createKeyTable(dynamodb, tableName);
  const fuzz = fuzzKeys(Date.now());
  await seedTable(fuzz, new DynamoKeyTable(dynamodb, tableName));
  dynamodb.destroy();

  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    [AUTHORIZER_VARIABLES.keyTableName.name]: tableName,
    [AUTHORIZER_VARIABLES.routeScopes.name]: JSON.stringify(FUZZ_ROUTE_SCOPES),
  });

  // The function's output (its log lines and EMF metrics) is read here, never shown: every line is searched
  // for every key and key hash of the table.
  const secrets = fuzz.versions.flatMap((version) => [version.keyHash]).concat(Object.values(fuzz.keys).map(({ key }) => key));
  const summary: FuzzSummary = {
    events,
    seed,
    casesPerSecond: 0,
    outcomes: { allow: 0, forbidden: 0, refuse: 0 },
    wrongfulAllows: 0,
    wrongfulDenials: 0,
    crashes: 0,
    wrongErrors: 0,
    plaintextFindings: 0,
    logLines: 0,
    durationS: 0,
    firstFindings: [],
  };
  const finding = (kind: keyof FuzzSummary, detail: string) => {
    (summary[kind] as number)++;
    if (summary.firstFindings.length < 10) summary.firstFindings.push(`${kind}: ${detail.slice(0, 300)}`);
  };
  const readLines = (chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      summary.logLines++;
      if (secrets.some((secret) => line.includes(secret))) finding('plaintextFindings', 'a log line holds a key or its hash');
      if (line.includes('"level":"ERROR"')) finding('crashes', line);
    }
    return true;
  };
  // Powertools writes warnings to standard error and the rest to standard output: both are read, neither shown.
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = readLines as typeof process.stdout.write;
  process.stderr.write = readLines as typeof process.stderr.write;
  const { handler } = require(path.resolve(__dirname, '..', 'dist', 'bundles', 'authorizer', 'index.js')) as { handler: (event: unknown) => Promise<unknown> };
  const arbitrary = fuzzEventArbitrary(fuzz);
  const startedMs = Date.now();
  const chunk = 5_000;
  try {
    for (let done = 0; done < events; done += chunk) {
      for (const event of fc.sample(arbitrary, { numRuns: Math.min(chunk, events - done), seed: seed + done })) {
        const expected = oracle(fuzz, event);
        summary.outcomes[expected.result]++;
        const isSimple = record(event)?.['version'] === '2.0' && record(event)?.['type'] === 'REQUEST';
        let response: unknown;
        try {
          response = await handler(event);
        } catch (error) {
          if (!(error instanceof Error) || error.message !== 'Unauthorized') finding(error instanceof TypeError || error instanceof RangeError ? 'crashes' : 'wrongErrors', String(error));
          else if (isSimple) finding('wrongErrors', 'a simple-response event got Unauthorized instead of isAuthorized: false');
          else if (expected.result !== 'refuse') finding('wrongfulDenials', `refused; the oracle says ${expected.result}`);
          continue;
        }
        if (isSimple) {
          const allowed = (response as SimpleResponse).isAuthorized === true;
          if (allowed && (expected.result !== 'allow' || (response as SimpleResponse).context?.clientId !== expected.owner.clientId)) finding('wrongfulAllows', `allowed; the oracle says ${expected.result}`);
          if (!allowed && expected.result === 'allow') finding('wrongfulDenials', 'isAuthorized false; the oracle says allow');
          continue;
        }
        if (expected.result === 'refuse') {
          finding('wrongfulAllows', 'a policy for a request the oracle refuses');
          continue;
        }
        const policy = response as PolicyResponse;
        if (policy.principalId !== expected.owner.clientId || policy.context.keyVersion !== expected.owner.versionId) finding('wrongfulAllows', 'a policy for another key version');
        const [statement, ...others] = policy.policyDocument.Statement;
        const coversOnlyTheMethod = others.length === 0 && statement?.Resource.length === 1 && statement.Resource[0] === expected.methodArn;
        if (!coversOnlyTheMethod) finding(statement?.Effect === 'Deny' ? 'wrongfulDenials' : 'wrongfulAllows', 'a policy beyond the method ARN it was decided for');
        else if (statement.Effect === 'Allow' && expected.result === 'forbidden') finding('wrongfulAllows', 'an Allow on a route the key lacks the scope for');
        else if (statement.Effect === 'Deny' && expected.result === 'allow') finding('wrongfulDenials', 'a Deny on a route the key has the scope for');
      }
      const elapsedS = (Date.now() - startedMs) / 1000;
      writeErr(`\r${(done + chunk).toLocaleString('en-US')} events, ${Math.round((done + chunk) / elapsedS).toLocaleString('en-US')} per second`);
    }
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.stderr.write('\n');
    await dynalite.close();
  }
  summary.durationS = Math.round((Date.now() - startedMs) / 100) / 10;
  summary.casesPerSecond = Math.round(events / summary.durationS);
  console.log(JSON.stringify(summary, null, 2));
  return summary.wrongfulAllows + summary.wrongfulDenials + summary.crashes + summary.wrongErrors + summary.plaintextFindings === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(2);
  },
);
