import { App, Stack } from 'aws-cdk-lib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { DynamoUsageStore } from '../lambda/adapters/dynamodb-usage-store';
import { SecretsManagerVersionStore } from '../lambda/adapters/secrets-manager-version-store';
import { generateApiKey, hashApiKey, displayKey } from '../lambda/domain/api-key';
import { KeyMonitor } from '../lambda/domain/monitor';
import { KeyRotation, ROTATION_STEPS } from '../lambda/domain/rotation';
import type { Notifier } from '../lambda/domain/ports';
import type { RotatingApiKeysProps } from '../lib/props';
import { RotatingApiKeys } from '../lib/rotating-api-keys';
import { createKeyTable, startDynalite } from '../local/dynalite-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/keyroll-local';
import { modelClient } from '../local/model-client';
import { SecretsManagerModel } from '../local/secrets-manager-model';

const CLIENTS = 1_000;
const HOUR_MS = 3_600_000;

/** Calls per AWS operation, counted by a middleware on the client. */
function countCalls(client: { middlewareStack: DynamoDBClient['middlewareStack'] }, counts: Map<string, number>): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      counts.set(context.commandName ?? '?', (counts.get(context.commandName ?? '?') ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'keyrollCallCount' },
  );
}

/**
 * One monitor run over 1,000 clients, each just rotated (a current key and a replaced one in its grace period):
 * the real monitor and adapters, DynamoDB on dynalite over HTTP, Secrets Manager as the model behind the SDK.
 * What grows with clients is the calls per client; the time here is local, without AWS's network latency.
 */
async function monitorOverClients(): Promise<{ readonly runMs: number; readonly callsPerClient: Record<string, number>; readonly callsPerRotation: Record<string, number> }> {
  const nowMs = Date.now();
  const model = new SecretsManagerModel({ region: LOCAL_REGION, accountId: '000000000000' });
  const dynalite = await startDynalite();
  const dynamodb = new DynamoDBClient({ endpoint: dynalite.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const tableName = 'keyroll-scale-keys';
  await createKeyTable(dynamodb, tableName);
  const table = new DynamoKeyTable(dynamodb, tableName);
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const clientId = `client-${String(i).padStart(4, '0')}`;
      const [oldKey, newKey] = [generateApiKey(), generateApiKey()];
      const { ARN = '' } = model.createSecret({ Name: `keyroll/scale/${clientId}`, SecretString: JSON.stringify({ clientId, apiKey: oldKey }), ClientRequestToken: `${clientId}-a`, Tags: [{ Key: 'keyroll:clientId', Value: clientId }] });
      model.rotateSecret({ SecretId: ARN, ClientRequestToken: `${clientId}-b`, RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:rotation' });
      model.putSecretValue({ SecretId: ARN, ClientRequestToken: `${clientId}-b`, SecretString: JSON.stringify({ clientId, apiKey: newKey }), VersionStages: ['AWSPENDING'] });
      model.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: `${clientId}-b`, RemoveFromVersionId: `${clientId}-a` });
      model.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'AWSPENDING', RemoveFromVersionId: `${clientId}-b` });
      model.endRotation(ARN, 'succeeded');
      await table.registerClient({ clientId, secretArn: ARN, settings: {}, registeredAtMs: nowMs, registeredBy: 'bench' });
      for (const [key, versionId, notBeforeMs] of [[oldKey, `${clientId}-a`, nowMs - 40 * 24 * HOUR_MS], [newKey, `${clientId}-b`, nowMs - HOUR_MS]] as const) {
        await table.register({ keyHash: hashApiKey(key), clientId, versionId, keyDisplay: displayKey(key), scopes: [], notBeforeMs });
        await table.markCurrent(hashApiKey(key), notBeforeMs);
      }
      await table.closeWindow(hashApiKey(oldKey), nowMs + 23 * HOUR_MS);
    }
    const dynamoCalls = new Map<string, number>();
    const secretsCalls = new Map<string, number>();
    countCalls(dynamodb, dynamoCalls);
    const secretsManager = modelClient(model, async (operation, call) => {
      secretsCalls.set(operation, (secretsCalls.get(operation) ?? 0) + 1);
      return call();
    });
    const silent: Notifier = { publish: async () => undefined };
    const monitor = new KeyMonitor({
      secrets: new SecretsManagerVersionStore(secretsManager),
      registry: table,
      keys: table,
      events: table,
      usage: new DynamoUsageStore(dynamodb, tableName),
      clientNotifier: silent,
      operationsNotifier: silent,
      settings: { reminderLeadsMs: [24 * HOUR_MS, HOUR_MS], stuckAfterMs: HOUR_MS, defaultGracePeriodSeconds: 24 * 3600, secretNamePrefix: 'keyroll/scale/' },
    });
    // One more client's rotation, step by step as Secrets Manager invokes them, counted the same way.
    const rotationCalls = new Map<string, number>();
    const rotationSecrets = modelClient(model, async (operation, call) => {
      rotationCalls.set(operation, (rotationCalls.get(operation) ?? 0) + 1);
      return call();
    });
    const rotationTable = new DynamoDBClient({ endpoint: dynalite.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    countCalls(rotationTable, rotationCalls);
    const rotatedTable = new DynamoKeyTable(rotationTable, tableName);
    const rotation = new KeyRotation({
      secrets: new SecretsManagerVersionStore(rotationSecrets),
      keys: rotatedTable,
      registry: rotatedTable,
      issued: rotatedTable,
      events: rotatedTable,
      notifier: silent,
      clock: Date.now,
      generateKey: () => generateApiKey(),
      keyPrefix: 'kr',
      defaultGracePeriodSeconds: 24 * 3600,
    });
    const rotatedArn = model.listSecrets({}).SecretList?.[0]?.ARN ?? '';
    model.rotateSecret({ SecretId: rotatedArn, ClientRequestToken: 'bench-rotation' });
    for (const step of ROTATION_STEPS) await rotation.runStep({ step, secretId: rotatedArn, token: 'bench-rotation' });
    model.endRotation(rotatedArn, 'succeeded');
    rotationTable.destroy();

    const started = process.hrtime.bigint();
    const report = await monitor.run(Date.now);
    const runMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (report.failures.length > 0) throw new Error(`the monitor failed for ${report.failures.length} clients`);
    const perClient = (counts: Map<string, number>) => Object.fromEntries([...counts].map(([name, count]) => [name.replace(/Command$/, ''), Math.round((1000 * count) / CLIENTS) / 1000]));
    const perRotation = Object.fromEntries([...rotationCalls].map(([name, count]) => [name.replace(/Command$/, ''), count]));
    return { runMs, callsPerClient: { ...perClient(secretsCalls), ...perClient(dynamoCalls) }, callsPerRotation: perRotation };
  } finally {
    dynamodb.destroy();
    await dynalite.close();
  }
}

/** CloudFormation resources of a stack with `clients` clients declared in CDK. */
function resourcesWith(clients: number): number {
  const app = new App();
  const stack = new Stack(app, 'Scale', { env: { account: '123456789012', region: 'eu-west-1' } });
  const props: RotatingApiKeysProps = { clients: Array.from({ length: clients }, (_, i) => ({ clientId: `client-${i}` })) };
  new RotatingApiKeys(stack, 'ApiKeys', props);
  return Object.keys((app.synth().getStackByName('Scale').template as { Resources: object }).Resources).length;
}

/**
 * What grows with clients, measured here: a monitor run's calls per client, and the CloudFormation resources
 * each client declared in CDK adds. The README's Scale section multiplies them out.
 */
export async function benchScale(): Promise<string[]> {
  const { runMs, callsPerClient, callsPerRotation } = await monitorOverClients();
  const base = resourcesWith(1);
  const perClient = (resourcesWith(11) - base) / 10;
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html: 500 resources per stack.
  const maxDeclared = Math.floor((500 - (base - perClient)) / perClient);
  return [
    `Scale (Node.js ${process.version}, one process)`,
    `  monitor run over ${CLIENTS.toLocaleString('en-US')} clients (dynalite, Secrets Manager model; 16 clients at a time): ${(runMs / 1000).toFixed(1)} s, ${(runMs / CLIENTS).toFixed(2)} ms per client`,
    `  AWS calls per client per monitor run: ${Object.entries(callsPerClient).map(([name, count]) => `${name} ${count}`).join(', ')}`,
    `  AWS calls per rotation (the four steps, once each): ${Object.entries(callsPerRotation).map(([name, count]) => `${name} ${count}`).join(', ')}`,
    `  CloudFormation resources: ${base - perClient} for the install, ${perClient} per client declared in CDK; at most ${maxDeclared} declared clients in one stack (500 resources); clients added with the CLI add none`,
  ];
}
