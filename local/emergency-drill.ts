import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { runCli } from '../cli/main';
import { SecretsManagerKeySource } from '../client/secrets-manager-key-source';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll } from './keyroll-local';

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
}

/**
 * The emergency bound, measured end to end on the local machinery with the construct's default cache TTLs
 * (API Gateway 60 s, authorizer 30 s): a client keeps calling with its current key while `keyroll rotate
 * --emergency` runs; the bound is how long after the command returns that key is still accepted.
 */
export async function runEmergencyDrill(options: { readonly runs: number; readonly observeMs: number; readonly requestIntervalMs: number }): Promise<DrillResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-drill-'));
  const stateFile = path.join(work, 'local.json');
  const keyroll = await startLocalKeyroll({ clients: [{ clientId: 'acme' }], gracePeriod: Duration.hours(1) }, { logDirectory: path.join(work, 'logs'), stateFile });
  const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const source = new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets });
  const boundsMs: number[] = [];
  const commandMs: number[] = [];
  let requests = 0;
  try {
    for (let run = 0; run < options.runs; run++) {
      const { key } = await source.currentKey();
      let acceptedAtMs: number[] = [];
      let running = true;
      const traffic = (async () => {
        while (running) {
          // A request counts from when it was sent: one already on its way when the command returns is not after it.
          const sentAtMs = Date.now();
          const response = await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } });
          await response.arrayBuffer();
          requests++;
          if (response.status === 200) acceptedAtMs.push(sentAtMs);
          await new Promise((resolve) => setTimeout(resolve, options.requestIntervalMs));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200)); // the key is cached everywhere before the drill
      acceptedAtMs = [];
      let output = '';
      const invokedAtMs = Date.now();
      const code = await runCli(['--local', '--json', 'rotate', 'acme', '--emergency', '--reason', `drill ${run + 1}`], {
        stdout: (text) => (output += text),
        stderr: () => undefined,
        env: { ...process.env, KEYROLL_LOCAL_STATE: stateFile },
        pollMs: 50,
      });
      const returnedAtMs = Date.now();
      commandMs.push(returnedAtMs - invokedAtMs);
      if (code !== 0) throw new Error(`keyroll rotate --emergency failed: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, options.observeMs));
      running = false;
      await traffic;
      const lastAcceptedMs = Math.max(returnedAtMs, ...acceptedAtMs);
      boundsMs.push(lastAcceptedMs - returnedAtMs);
    }
  } finally {
    secrets.destroy();
    await keyroll.stop();
  }
  const percentile = (values: readonly number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  };
  return {
    runs: options.runs,
    boundsMs,
    p50Ms: percentile(boundsMs, 0.5),
    p99Ms: percentile(boundsMs, 0.99),
    maxMs: Math.max(...boundsMs),
    commandP50Ms: percentile(commandMs, 0.5),
    commandMaxMs: Math.max(...commandMs),
    revocationPollMs: 1000,
    requests,
  };
}
