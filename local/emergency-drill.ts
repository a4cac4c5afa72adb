import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { runCli } from '../cli/main';
import { readAuthorizerConfig } from '../lambda/config/authorizer-config';
import { SecretsManagerKeySource } from '../client/secrets-manager-key-source';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll } from './keyroll-local';
import { percentile } from './statistics';

/**
 * What goes wrong in a run: nothing; a rotation already in progress (AWSPENDING planted, so RotateSecret is
 * refused, and the command waits --timeout 3s for it); a rotation function that fails every step (the command
 * gives up after --timeout 3s); or API
 * Gateway's control plane refusing every flush.
 */
export type DrillMode = 'normal' | 'busy' | 'failing-rotation' | 'failing-flush';

export interface DrillModeResult {
  readonly runs: number;
  /** From the command's return to the last request the ended key got through: 0 unless the flush failed. */
  readonly p50Ms: number;
  readonly maxMs: number;
  readonly commandP50Ms: number;
  readonly exitCodes: readonly number[];
}

export interface DrillResult {
  readonly runs: number;
  readonly byMode: Readonly<Partial<Record<DrillMode, DrillModeResult>>>;
  /** Per run: from the command's return to the sending of the last request the old key got through (0 when none was sent after it). */
  readonly boundsMs: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How long the command itself took (rotation, revocation, the wait for the containers, the flush), median and max. */
  readonly commandP50Ms: number;
  readonly commandMaxMs: number;
  /** Table reads the revocation feed costs: one per authorizer container per poll interval, while requests arrive. */
  readonly revocationPollMs: number;
  readonly requests: number;
  /** Requests with a revoked key sent once its command had returned, all of which must be refused. */
  readonly revokedKeyRequests: number;
  /** Requests with the key that was current when they were sent, refused (must be 0). */
  readonly currentKeyRefusals: number;
}

/**
 * The emergency bound, measured end to end on the local machinery with the construct's default cache TTLs
 * (API Gateway 60 s, authorizer 30 s): concurrent callers keep using the client's current key, and every key an
 * emergency ended, while `keyroll rotate --emergency` runs again and again. A run's bound is how long after its
 * command returned the ended key was still accepted; each ended key is watched for `observeMs` after its command
 * returned, through the runs that follow.
 */
export async function runEmergencyDrill(options: {
  readonly runs: number;
  readonly observeMs: number;
  readonly requestIntervalMs: number;
  readonly callers?: number;
  /** The mode of each run, after `runs` normal ones. */
  readonly thenModes?: readonly DrillMode[];
  /** API Gateway's result TTL. @default the construct's (60 s) */
  readonly resultsCacheTtl?: Duration;
}): Promise<DrillResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-drill-'));
  const stateFile = path.join(work, 'local.json');
  let flushFails = false;
  let rotationFails = false;
  const keyroll = await startLocalKeyroll(
    // A short known-key window: each drill rotates, and the rotation's wait is not what the drill measures.
    { clients: [{ clientId: 'acme' }], gracePeriod: Duration.hours(1), knownKeysWindow: Duration.millis(250), ...(options.resultsCacheTtl === undefined ? {} : { authorizerResultsCacheTtl: options.resultsCacheTtl }) },
    {
      logDirectory: path.join(work, 'logs'),
      stateFile,
      controlPlane: { fault: (method) => (flushFails && method === 'DELETE' ? { status: 403, type: 'AccessDeniedException', message: 'User is not authorized to perform: apigateway:DELETE' } : undefined) },
      rotationFault: () => (rotationFails ? Object.assign(new Error('Task timed out after 30.00 seconds'), { name: 'Sandbox.Timedout' }) : undefined),
    },
  );
  const modes: readonly DrillMode[] = [...Array.from({ length: options.runs }, (): DrillMode => 'normal'), ...(options.thenModes ?? [])];
  const runMode: DrillMode[] = [];
  const exitCodes: number[] = [];
  const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const source = new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets });
  const { revocationPollMs } = readAuthorizerConfig(keyroll.install.environments.authorizer ?? {});
  const ended: { readonly key: string; readonly returnedAtMs: number; lastAcceptedSentMs: number }[] = [];
  const commandMs: number[] = [];
  let current = (await source.currentKey()).key;
  let requests = 0;
  let revokedKeyRequests = 0;
  let currentKeyRefusals = 0;
  let running = true;
  // While a command runs, the key it ends may be refused or not: the emergency is under way.
  let commandsRun = 0;
  let commandRunning = false;
  const send = async (key: string) => {
    // A request counts from when it was sent: one already on its way when the command returns is not after it.
    const sentAtMs = Date.now();
    const judged = !commandRunning && key === current ? commandsRun : undefined;
    const response = await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } });
    await response.arrayBuffer();
    requests++;
    const endedKey = ended.find((entry) => entry.key === key);
    if (endedKey !== undefined && sentAtMs >= endedKey.returnedAtMs) {
      revokedKeyRequests++;
      if (response.status === 200) endedKey.lastAcceptedSentMs = Math.max(endedKey.lastAcceptedSentMs, sentAtMs);
    } else if (judged === commandsRun && !commandRunning && response.status !== 200) {
      currentKeyRefusals++;
    }
  };
  const caller = async () => {
    while (running) {
      const nowMs = Date.now();
      const watched = ended.filter((entry) => nowMs - entry.returnedAtMs <= options.observeMs).map((entry) => entry.key);
      await Promise.all([current, ...watched].map(send));
      await new Promise((resolve) => setTimeout(resolve, options.requestIntervalMs));
    }
  };
  const callers = Array.from({ length: options.callers ?? 2 }, caller);
  try {
    const cli = (argv: readonly string[], output: { text: string } = { text: '' }) =>
      runCli(['--local', '--json', ...argv], { stdout: (text) => (output.text += text), stderr: () => undefined, env: { ...process.env, KEYROLL_LOCAL_STATE: stateFile }, pollMs: 50 });
    const secretId = keyroll.secretArns.get('acme') ?? '';
    const pendingOn = async (versionId: string) => ((await secrets.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages?.[versionId] ?? []).includes('AWSPENDING');
    const currentOfSecret = async () => (await new SecretsManagerKeySource({ secretId, client: secrets }).currentKey()).key;
    for (const [run, mode] of modes.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the current key is cached everywhere before the drill
      const before = current;
      const planted = `drill-stuck-${run}-00000000000000000000000`;
      if (mode === 'busy') await secrets.send(new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: planted, SecretString: '{"note":"half-done"}', VersionStages: ['AWSPENDING'] }));
      flushFails = mode === 'failing-flush';
      rotationFails = mode === 'failing-rotation';
      const output = { text: '' };
      const invokedAtMs = Date.now();
      commandRunning = true;
      const code = await cli(['rotate', 'acme', '--emergency', '--yes', '--reason', `drill ${run + 1}`, ...(mode === 'failing-rotation' || mode === 'busy' ? ['--timeout', '3s'] : [])], output);
      const returnedAtMs = Date.now();
      flushFails = false;
      rotationFails = false;
      // The key must be revoked whatever else happened: exit 0, or 5 with the part not done.
      if (code !== 0 && code !== 5) throw new Error(`keyroll rotate --emergency (${mode}) failed: ${output.text}`);
      commandMs.push(returnedAtMs - invokedAtMs);
      exitCodes.push(code);
      runMode.push(mode);
      ended.push({ key: before, returnedAtMs, lastAcceptedSentMs: returnedAtMs });
      // Back to a client with a working key before the next run: clear the planted rotation and rotate, or wait for the slow one.
      if (mode === 'busy' || mode === 'failing-rotation') {
        const pending = mode === 'busy' ? planted : String((JSON.parse(output.text) as { rotation?: { versionId?: unknown } }).rotation?.versionId);
        // A failed rotation leaves AWSPENDING on its version once Secrets Manager gives up (runbook, rotation.stuck).
        for (let waited = 0; mode === 'failing-rotation' && !(await pendingOn(pending)) && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
        await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }));
        if ((await cli(['rotate', 'acme', '--reason', 'after the drill'])) !== 0) throw new Error('the rotation after a busy drill run failed');
      }
      for (let waited = 0; (await currentOfSecret()) === before && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      current = await currentOfSecret();
      commandsRun++;
      commandRunning = false;
    }
    await new Promise((resolve) => setTimeout(resolve, options.observeMs));
  } finally {
    running = false;
    await Promise.all(callers);
    secrets.destroy();
    await keyroll.stop();
  }
  const boundsMs = ended.map((entry) => entry.lastAcceptedSentMs - entry.returnedAtMs);
  const byMode: Partial<Record<DrillMode, DrillModeResult>> = {};
  for (const mode of new Set(runMode)) {
    const indexes = runMode.flatMap((candidate, index) => (candidate === mode ? [index] : []));
    const bounds = indexes.map((index) => boundsMs[index] ?? 0);
    byMode[mode] = { runs: indexes.length, p50Ms: percentile(bounds, 0.5), maxMs: Math.max(...bounds), commandP50Ms: percentile(indexes.map((index) => commandMs[index] ?? 0), 0.5), exitCodes: indexes.map((index) => exitCodes[index] ?? -1) };
  }
  return {
    runs: modes.length,
    byMode,
    boundsMs,
    p50Ms: percentile(boundsMs, 0.5),
    p99Ms: percentile(boundsMs, 0.99),
    maxMs: Math.max(...boundsMs),
    commandP50Ms: percentile(commandMs, 0.5),
    commandMaxMs: Math.max(...commandMs),
    revocationPollMs,
    requests,
    revokedKeyRequests,
    currentKeyRefusals,
  };
}
