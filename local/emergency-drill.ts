import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { runCli } from '../cli/main';
import { readAuthorizerConfig } from '../lambda/config/authorizer-config';
import { SecretsManagerKeySource } from '../client/secrets-manager-key-source';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll } from './keyroll-local';
import { percentile } from './statistics';

export interface DrillResult {
  readonly runs: number;
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
export async function runEmergencyDrill(options: { readonly runs: number; readonly observeMs: number; readonly requestIntervalMs: number; readonly callers?: number }): Promise<DrillResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-drill-'));
  const stateFile = path.join(work, 'local.json');
  const keyroll = await startLocalKeyroll(
    // A short known-key window: each drill rotates, and the rotation's wait is not what the drill measures.
    { clients: [{ clientId: 'acme' }], gracePeriod: Duration.hours(1), knownKeysWindow: Duration.millis(250) }, { logDirectory: path.join(work, 'logs'), stateFile });
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
    for (let run = 0; run < options.runs; run++) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the current key is cached everywhere before the drill
      const before = current;
      let output = '';
      const invokedAtMs = Date.now();
      commandRunning = true;
      const code = await runCli(['--local', '--json', 'rotate', 'acme', '--emergency', '--yes', '--reason', `drill ${run + 1}`], {
        stdout: (text) => (output += text),
        stderr: () => undefined,
        env: { ...process.env, KEYROLL_LOCAL_STATE: stateFile },
        pollMs: 50,
      });
      const returnedAtMs = Date.now();
      if (code !== 0) throw new Error(`keyroll rotate --emergency failed: ${output}`);
      commandMs.push(returnedAtMs - invokedAtMs);
      ended.push({ key: before, returnedAtMs, lastAcceptedSentMs: returnedAtMs });
      current = (await new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets }).currentKey()).key;
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
  return {
    runs: options.runs,
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
