import { fork } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeliveryKeySource, generateDeliveryKeyPair } from '../client/delivery-key-source';
import { KeyProvider } from '../client/key-provider';
import { SecretsManagerKeySource } from '../client/secrets-manager-key-source';
import { PUBLIC_ENDPOINT_LIMITS } from '../lambda/contracts/public-endpoints';
import { GITHUB_KEYS_POLICY } from '../lambda/adapters/github-secret-scanning';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll } from '../local/keyroll-local';
import type { LocalFunctionUrl } from '../local/processes';
import { percentile } from '../local/statistics';

export interface FloodOptions {
  /** How long the flood lasts. */
  readonly seconds: number;
  /** Forged requests a second, split evenly between the leak-report and the key-delivery URL. */
  readonly ratePerSecond: number;
  /** API calls a second per client while the flood runs. */
  readonly clientCallsPerSecond?: number;
  readonly onProgress?: (line: string) => void;
}

type FunctionUrlCounts = ReturnType<LocalFunctionUrl['counts']>;

interface EndpointCounts {
  readonly sent: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly errors: number;
}

export interface FloodFigures {
  readonly seconds: number;
  readonly ratePerSecond: number;
  readonly forged: { readonly leakReports: EndpointCounts; readonly delivery: EndpointCounts };
  /** What each function URL did with every request it was sent (the flood's and the clients'): invoked or throttled (429). */
  readonly functionUrls: { readonly leakReports: FunctionUrlCounts; readonly delivery: FunctionUrlCounts };
  /** The most invocations a second each URL may start: 10 per unit of reserved concurrency. */
  readonly invokedPerSecondBound: { readonly leakReports: number; readonly delivery: number };
  /** The clients' API calls during the flood: every one made with a key inside its window. */
  readonly api: { readonly calls: number; readonly refused: number; readonly byStatus: Readonly<Record<string, number>>; readonly p50Ms: number; readonly p99Ms: number; readonly baselineP50Ms: number };
  /** Rotations of the clients' keys during the flood. */
  readonly rotations: number;
  /** A genuine report sent during the flood and retried once a second until answered 200, as GitHub retries. */
  readonly genuineReport: { readonly attempts: number; readonly acceptedAfterMs: number; readonly leakedKeyRefused: boolean };
  readonly githubKeyFetches: number;
  readonly githubKeyFetchBound: number;
}

/** At most one fetch at the first report, then at most one per refetch interval (the hourly refresh included). */
export function githubKeyFetchBound(durationMs: number): number {
  return 1 + Math.floor(durationMs / GITHUB_KEYS_POLICY.unknownKeyRefetchAfterMs);
}

/** Loopback addresses the flood is sent from: more sources than one address's budget, so only the URLs' throttling holds it. */
const FLOOD_SOURCES = Array.from({ length: 20 }, (_, i) => `127.0.1.${i + 1}`);

/**
 * Floods local keyroll's two public URLs with forged leak reports (each with a made-up GitHub key id) and forged
 * key-delivery calls, while two clients call the API (one reading its secret, one through key delivery, whose
 * provider refreshes every second and so meets the flood), both clients are rotated, and a genuine report of a
 * third client's key arrives and is retried as GitHub retries.
 */
export async function runFlood(options: FloodOptions): Promise<FloodFigures> {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-flood-'));
  const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const githubKeyId = 'cd'.repeat(32);
  let githubKeyFetches = 0;
  const keysServer = createServer((_request, response) => {
    githubKeyFetches++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ public_keys: [{ key_identifier: githubKeyId, key: github.publicKey.export({ type: 'spki', format: 'pem' }).toString(), is_current: true }] }));
  });
  await new Promise<void>((resolve) => keysServer.listen(0, '127.0.0.1', resolve));
  const delivery = await generateDeliveryKeyPair();
  const keyroll = await startLocalKeyroll(
    { clients: [{ clientId: 'acme' }, { clientId: 'globex', deliveryPublicKey: delivery.publicKey }, { clientId: 'initech' }], leakedKeyReports: { action: 'revoke' } },
    { logDirectory: path.join(work, 'logs'), githubKeysUrl: `http://127.0.0.1:${(keysServer.address() as AddressInfo).port}/meta/public_keys/secret_scanning` },
  );
  const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    const secretSource = (clientId: string) => new SecretsManagerKeySource({ secretId: keyroll.secretArns.get(clientId) ?? '', client: secrets });
    const deliveryUrl = keyroll.deliveryUrl ?? '';
    const leakReportUrl = keyroll.leakReportUrl ?? '';
    const clients = [
      new KeyProvider({ source: secretSource('acme'), clientId: 'acme', refreshIntervalMs: 1_000 }),
      new KeyProvider({
        source: new DeliveryKeySource({ url: deliveryUrl, clientId: 'globex', privateKey: delivery.privateKey, initialKey: (await secretSource('globex').currentKey()).key }),
        clientId: 'globex',
        refreshIntervalMs: 1_000,
      }),
    ];
    const callRate = options.clientCallsPerSecond ?? 25;
    const apiUrl = `${keyroll.api.url}/hello`;
    const callEach = async (latencies: number[], byStatus: Record<string, number>) =>
      Promise.all(
        clients.map(async (client) => {
          const startedAt = performance.now();
          const response = await client.fetch(apiUrl).catch(() => undefined);
          await response?.body?.cancel();
          latencies.push(performance.now() - startedAt);
          const status = String(response?.status ?? 'network error');
          byStatus[status] = (byStatus[status] ?? 0) + 1;
        }),
      );

    const baseline: number[] = [];
    for (let i = 0; i < 50; i++) await callEach(baseline, {});

    const worker = fork(path.join(__dirname, 'flood-worker.cjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const finished = new Promise<{ counts: Record<'leakReports' | 'delivery', EndpointCounts> }>((resolve, reject) => {
      worker.on('message', (message: { counts?: Record<'leakReports' | 'delivery', EndpointCounts> }) => {
        if (message.counts !== undefined) resolve({ counts: message.counts });
      });
      worker.once('exit', (code) => reject(new Error(`the flood worker exited with code ${String(code)} before its counts`)));
    });
    const started = new Promise<void>((resolve) => worker.once('message', () => resolve()));
    worker.send({
      targets: [
        { name: 'leakReports', kind: 'leak-report', url: leakReportUrl },
        { name: 'delivery', kind: 'delivery', url: deliveryUrl, path: '/v1/clients/globex/key' },
      ],
      ratePerSecond: options.ratePerSecond,
      seconds: options.seconds,
      sourceAddresses: FLOOD_SOURCES,
    });
    await started;
    const floodStartedMs = Date.now();
    options.onProgress?.(`flooding ${leakReportUrl} and ${deliveryUrl} with ${options.ratePerSecond} forged requests a second for ${options.seconds} s`);

    const latencies: number[] = [];
    const byStatus: Record<string, number> = {};
    let flooding = true;
    let rotations = 0;
    const calls = (async () => {
      for (let tick = 0; flooding; tick++) {
        const due = floodStartedMs + (tick * 1_000) / callRate;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
        await callEach(latencies, byStatus);
      }
    })();
    const rotationsDone = (async () => {
      await new Promise((resolve) => setTimeout(resolve, (options.seconds * 1_000) / 3));
      await Promise.all(['acme', 'globex'].map((clientId) => keyroll.rotate(clientId)));
      rotations += 2;
    })();
    const genuine = (async () => {
      await new Promise((resolve) => setTimeout(resolve, (options.seconds * 1_000) / 2));
      const leaked = (await secretSource('initech').currentKey()).key;
      const body = JSON.stringify([{ token: leaked, type: 'keyroll_api_key', url: 'https://github.com/octocat/app/blob/abc/.env', source: 'content' }]);
      const signature = sign('sha256', Buffer.from(body), github.privateKey).toString('base64');
      const sentAt = Date.now();
      let attempts = 0;
      for (;;) {
        attempts++;
        const status = await fetch(leakReportUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'github-public-key-identifier': githubKeyId, 'github-public-key-signature': signature }, body }).then(
          (response) => response.status,
          () => 0,
        );
        if (status === 200 || attempts >= 60) break;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      const acceptedAfterMs = Date.now() - sentAt;
      const leakedKeyRefused = (await fetch(apiUrl, { headers: { 'x-api-key': leaked } })).status === 401;
      return { attempts, acceptedAfterMs, leakedKeyRefused };
    })();

    const { counts } = await finished;
    flooding = false;
    await Promise.all([calls, rotationsDone]);
    const genuineReport = await genuine;
    const urlCounts = (entry: 'delivery' | 'leak-report') => keyroll.functionUrls[entry]?.counts() ?? { invocations: 0, throttles: 0, peakInvocationsPerSecond: 0 };
    const sorted = [...latencies].sort((a, b) => a - b);
    const refused = Object.entries(byStatus).reduce((sum, [status, count]) => sum + (status === '200' ? 0 : count), 0);
    return {
      seconds: options.seconds,
      ratePerSecond: options.ratePerSecond,
      forged: counts,
      functionUrls: { leakReports: urlCounts('leak-report'), delivery: urlCounts('delivery') },
      invokedPerSecondBound: { leakReports: PUBLIC_ENDPOINT_LIMITS.leakReports.reservedConcurrency * 10, delivery: PUBLIC_ENDPOINT_LIMITS.delivery.reservedConcurrency * 10 },
      api: { calls: latencies.length, refused, byStatus, p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)), baselineP50Ms: round(percentile([...baseline].sort((a, b) => a - b), 0.5)) },
      rotations,
      genuineReport,
      githubKeyFetches,
      githubKeyFetchBound: githubKeyFetchBound(Date.now() - floodStartedMs),
    };
  } finally {
    secrets.destroy();
    await keyroll.stop();
    keysServer.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const round = (value: number) => Math.round(value * 100) / 100;

/** What the flood must not do, each as a sentence; none when it held. */
export function floodFailures(figures: FloodFigures): string[] {
  const failures: string[] = [];
  if (figures.api.refused > 0) failures.push(`${figures.api.refused} of ${figures.api.calls} client calls with a valid key were refused (${JSON.stringify(figures.api.byStatus)})`);
  for (const [endpoint, counts] of Object.entries(figures.forged)) {
    if ((counts.byStatus['200'] ?? 0) > 0) failures.push(`${String(counts.byStatus['200'])} forged ${endpoint} requests were accepted`);
  }
  for (const endpoint of ['leakReports', 'delivery'] as const) {
    if (figures.functionUrls[endpoint].peakInvocationsPerSecond > figures.invokedPerSecondBound[endpoint]) {
      failures.push(`the ${endpoint} URL started ${figures.functionUrls[endpoint].peakInvocationsPerSecond} invocations in a second, beyond ${figures.invokedPerSecondBound[endpoint]}`);
    }
  }
  if (figures.githubKeyFetches > figures.githubKeyFetchBound) failures.push(`GitHub's keys were fetched ${figures.githubKeyFetches} times, beyond ${figures.githubKeyFetchBound}`);
  if (!figures.genuineReport.leakedKeyRefused) failures.push(`the key of the genuine report was not refused after ${figures.genuineReport.attempts} attempts`);
  return failures;
}
