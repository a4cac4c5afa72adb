import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { DeliveryKeySource, generateDeliveryKeyPair } from '../client/delivery-key-source';
import { KeyProvider } from '../client/key-provider';
import { notificationOfSqsBody } from '../client/notifications';
import { SecretsManagerKeySource } from '../client/secrets-manager-key-source';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { hashApiKey } from '../lambda/domain/api-key';
import { windowEndMs, windowStatus, type KeyVersion } from '../lambda/domain/key-version';
import type { ApiClientProps } from '../lib/props';
import { localDynamoDbClient } from './dynalite-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll, type LocalKeyroll } from './keyroll-local';

/** How each demo client follows rotations. */
export type ClientBehaviour = 'switches-at-once' | 'switches-late' | 'never-switches' | 'outside-aws';

export interface DemoOptions {
  /** How long to run; `Infinity` runs until `signal`. */
  readonly durationMs: number;
  /** Each client's key rotates this often (its schedule, compressed). */
  readonly rotateEveryMs: number;
  readonly gracePeriod: Duration;
  /** API Gateway's result cache TTL, and the authorizer's own cache TTL. */
  readonly cacheTtl: Duration;
  readonly monitorEveryMs: number;
  readonly requestIntervalMs: number;
  readonly logDirectory: string;
  /** Where to describe the running install for `keyroll --local`. */
  readonly stateFile?: string;
  /** Ends the run early (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Called about once a second with the state so far (the live view). */
  readonly onTick?: (state: DemoState) => void;
}

export interface ClientState {
  readonly clientId: string;
  readonly behaviour: ClientBehaviour;
  versionId: string | undefined;
  ok: number;
  refusedInWindow: number;
  refusedAfterWindow: number;
  /** Requests answered in the last few seconds: [time, ok]. */
  readonly recent: [number, boolean][];
  readonly notifications: Record<string, number>;
  /** Every key version the client sent. */
  readonly versionsUsed: Set<string>;
  /** When the first key this client kept using stopped being valid, and when it was first refused after that. */
  keptKeyEndedAtMs?: number;
  firstRefusedAfterEndMs?: number;
  /** When the client's queue first got `key.refused`: keyroll caught the missed switch. */
  firstMissedNoticeAtMs?: number;
}

export interface DemoState {
  readonly startedAtMs: number;
  readonly startupMs: number;
  /** Where the local install answers: the API, and the key delivery URL the client outside AWS reads. */
  readonly urls: { readonly api: string; readonly delivery?: string };
  readonly clients: readonly ClientState[];
  readonly rotations: number;
  readonly rotationsFailed: number;
  readonly boundMs: number;
}

export interface DemoSummary {
  readonly rotations: number;
  readonly rotationsFailed: number;
  /** Why each failed rotation failed: its client and the last attempt's error. */
  readonly rotationFailures: readonly string[];
  readonly requests: number;
  readonly ok: number;
  readonly refusedInWindow: number;
  readonly refusedAfterWindow: number;
  readonly notifications: number;
  readonly clients: number;
  readonly startupMs: number;
  readonly durationS: number;
  /** The stated bound: a key is refused at most this long after its window ends (API Gateway's TTL + the authorizer's). */
  readonly refusalBoundMs: number;
  /** For the client that never switches: how long after its key's end its first refusal came. */
  readonly neverSwitchingRefusedAfterMs: number | null;
  /** For the same client: how long after that first refusal its `key.refused` (and operations' `rotation.missed`) arrived. */
  readonly missedSwitchCaughtAfterMs: number | null;
  readonly perClient: readonly { readonly clientId: string; readonly behaviour: ClientBehaviour; readonly requests: number; readonly refusedInWindow: number; readonly refusedAfterWindow: number; readonly keyVersionsUsed: number }[];
}

const DEMO_CLIENTS: readonly (ApiClientProps & { readonly behaviour: ClientBehaviour })[] = [
  { clientId: 'acme', scopes: ['read'], behaviour: 'switches-at-once' },
  { clientId: 'globex', scopes: ['read', 'write'], behaviour: 'switches-at-once' },
  { clientId: 'initech', scopes: ['read'], behaviour: 'switches-late' },
  { clientId: 'umbrella', scopes: ['read'], behaviour: 'never-switches' },
  // Outside AWS: no secret access, no notifications; it fetches its next key from the delivery route.
  { clientId: 'hooli', scopes: ['read'], behaviour: 'outside-aws' },
];

/**
 * Runs keyroll locally under continuous traffic from demo clients using the client SDK, rotates every key on
 * its compressed schedule, runs the monitor, and counts every refusal by whether the key sent was inside its
 * window (a failure of keyroll) or not.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function runDemo(options: DemoOptions, processStartMs: number): Promise<DemoSummary> {
  const deliveryKeys = await generateDeliveryKeyPair();
  const keyroll = await startLocalKeyroll(
    {
      clients: DEMO_CLIENTS.map(({ behaviour, ...client }) => (behaviour === 'outside-aws' ? { ...client, deliveryPublicKey: deliveryKeys.publicKey } : client)),
      gracePeriod: options.gracePeriod,
      authorizerResultsCacheTtl: options.cacheTtl,
      authorizerCacheTtl: options.cacheTtl,
      authorizerNegativeCacheTtl: Duration.seconds(1),
      routeScopes: { 'POST /orders': 'write' },
      // Compressed time: the client outside AWS asks every third of a grace period, far more often than in AWS.
      deliveriesPerMinute: 120,
      // Any request with an ended key is a missed switch here; the authorizer reports the first one at once.
      missedRotation: { minRefusals: 1 },
    },
    { logDirectory: options.logDirectory, ...(options.stateFile === undefined ? {} : { stateFile: options.stateFile }) },
  );
  const startupMs = Date.now() - processStartMs;
  // The schedules' test runs and the first keys happened during start-up; the run counts its own rotations.
  const rotationsAtStart = keyroll.rotations.length;
  const rotationsOf = (outcome: 'succeeded' | 'failed') => keyroll.rotations.slice(rotationsAtStart).filter((r) => r.run.outcome === outcome).length;
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const secretsManager = new SecretsManagerClient({ ...aws, endpoint: keyroll.endpoints.secretsManager });
  const sqs = new SQSClient({ ...aws, endpoint: keyroll.endpoints.snsSqs });
  const sns = new SNSClient({ ...aws, endpoint: keyroll.endpoints.snsSqs });
  const dynamodb = localDynamoDbClient(keyroll.endpoints.dynamodb);
  const table = new DynamoKeyTable(dynamodb, keyroll.keyTableName);
  const boundMs = 2 * options.cacheTtl.toMilliseconds();
  const urls = { api: keyroll.api.url, ...(keyroll.deliveryUrl === undefined ? {} : { delivery: keyroll.deliveryUrl }) };
  const state: DemoState & { rotations: number; rotationsFailed: number } = { startedAtMs: Date.now(), startupMs, urls, clients: [], rotations: 0, rotationsFailed: 0, boundMs };

  let running = true;
  const loops: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (const [index, demo] of DEMO_CLIENTS.entries()) {
      const client: ClientState = { clientId: demo.clientId, behaviour: demo.behaviour, versionId: undefined, ok: 0, refusedInWindow: 0, refusedAfterWindow: 0, recent: [], notifications: {}, versionsUsed: new Set() };
      (state.clients as ClientState[]).push(client);
      const queueUrl = await subscribe(keyroll, sns, sqs, demo.clientId);
      const sent: { key: string; status: number; atMs: number }[] = [];
      const recordingFetch: typeof fetch = async (input, init) => {
        const key = new Headers(init?.headers).get('x-api-key') ?? '';
        const response = await fetch(input, init);
        sent.push({ key, status: response.status, atMs: Date.now() });
        return response;
      };
      const secretSource = new SecretsManagerKeySource({ secretId: keyroll.secretArns.get(demo.clientId) ?? demo.clientId, client: secretsManager });
      // The operator hands the client outside AWS its first key; from then on it asks the delivery route.
      const source =
        demo.behaviour === 'outside-aws'
          ? new DeliveryKeySource({ url: keyroll.deliveryUrl ?? '', clientId: demo.clientId, privateKey: deliveryKeys.privateKey, initialKey: (await secretSource.currentKey()).key })
          : secretSource;
      const provider = new KeyProvider({
        source,
        clientId: demo.clientId,
        fetch: recordingFetch,
        // Clients without notifications look again at a fraction of the grace period: late, but in time.
        refreshIntervalMs: demo.behaviour === 'switches-late' ? options.gracePeriod.toMilliseconds() / 2 : demo.behaviour === 'outside-aws' ? options.gracePeriod.toMilliseconds() / 3 : 5 * 60_000,
      });
      const keptKey = demo.behaviour === 'never-switches' ? await secretSource.currentKey() : undefined;

      loops.push(
        (async () => {
          while (running) {
            const messages = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 })).catch(() => ({ Messages: [] }));
            for (const message of messages.Messages ?? []) {
              const notification = notificationOfSqsBody(message.Body ?? '');
              client.notifications[notification.type] = (client.notifications[notification.type] ?? 0) + 1;
              if (notification.type === 'key.refused') client.firstMissedNoticeAtMs ??= Date.now();
              if (demo.behaviour === 'switches-at-once') await provider.handleNotification(notification);
            }
            if ((messages.Messages ?? []).length > 0) {
              await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: (messages.Messages ?? []).map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
            }
          }
        })(),
        (async () => {
          while (running) {
            const path = demo.clientId === 'globex' && client.ok % 5 === 4 ? '/orders' : '/hello';
            const method = path === '/orders' ? 'POST' : 'GET';
            if (keptKey !== undefined) await recordingFetch(`${keyroll.api.url}${path}`, { method, headers: { 'x-api-key': keptKey.key } });
            else await provider.fetch(`${keyroll.api.url}${path}`, { method, body: method === 'POST' ? '{}' : undefined }).catch(() => undefined);
            client.versionId = keptKey?.versionId ?? (await provider.currentKey().catch(() => undefined))?.versionId;
            if (client.versionId !== undefined) client.versionsUsed.add(client.versionId);
            for (const attempt of sent.splice(0)) await judge(client, attempt, table);
            await sleep(options.requestIntervalMs);
          }
        })(),
      );
      timers.push(
        setTimeout(() => {
          const rotate = () => void keyroll.rotate(demo.clientId).catch(() => undefined);
          rotate();
          timers.push(setInterval(rotate, options.rotateEveryMs));
        }, (options.rotateEveryMs * (index + 1)) / DEMO_CLIENTS.length),
      );
    }
    timers.push(setInterval(() => void keyroll.runMonitor().catch(() => undefined), options.monitorEveryMs));
    timers.push(
      setInterval(() => {
        state.rotations = rotationsOf('succeeded');
        state.rotationsFailed = rotationsOf('failed');
        options.onTick?.(state);
      }, 1_000),
    );
    await new Promise<void>((resolve) => {
      // Beyond a timer's 32-bit range (about 24.8 days; Node fires it at once) the run lasts until the signal.
      const timer = options.durationMs <= MAX_TIMER_MS ? setTimeout(resolve, options.durationMs) : undefined;
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    running = false;
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(loops);
    await keyroll.stop();
    for (const c of [secretsManager, sqs, sns, dynamodb]) c.destroy();
  }

  const clients = state.clients;
  const sum = (pick: (c: ClientState) => number) => clients.reduce((total, c) => total + pick(c), 0);
  const neverSwitching = clients.find((c) => c.behaviour === 'never-switches');
  return {
    rotations: rotationsOf('succeeded'),
    rotationsFailed: rotationsOf('failed'),
    rotationFailures: keyroll.rotations
      .slice(rotationsAtStart)
      .filter((r) => r.run.outcome === 'failed')
      .map((r) => `${r.clientId}: ${String((r.run.errors.at(-1) as Error | undefined)?.message ?? r.run.errors.at(-1))}`),
    requests: sum((c) => c.ok + c.refusedInWindow + c.refusedAfterWindow),
    ok: sum((c) => c.ok),
    refusedInWindow: sum((c) => c.refusedInWindow),
    refusedAfterWindow: sum((c) => c.refusedAfterWindow),
    notifications: sum((c) => Object.values(c.notifications).reduce((a, b) => a + b, 0)),
    clients: clients.length,
    startupMs,
    durationS: Math.round((Date.now() - state.startedAtMs) / 1000),
    refusalBoundMs: boundMs,
    neverSwitchingRefusedAfterMs:
      neverSwitching?.firstRefusedAfterEndMs === undefined || neverSwitching.keptKeyEndedAtMs === undefined ? null : neverSwitching.firstRefusedAfterEndMs - neverSwitching.keptKeyEndedAtMs,
    missedSwitchCaughtAfterMs:
      neverSwitching?.firstMissedNoticeAtMs === undefined || neverSwitching.firstRefusedAfterEndMs === undefined ? null : neverSwitching.firstMissedNoticeAtMs - neverSwitching.firstRefusedAfterEndMs,
    perClient: clients.map((c) => ({
      clientId: c.clientId,
      behaviour: c.behaviour,
      requests: c.ok + c.refusedInWindow + c.refusedAfterWindow,
      refusedInWindow: c.refusedInWindow,
      refusedAfterWindow: c.refusedAfterWindow,
      keyVersionsUsed: c.versionsUsed.size,
    })),
  };
}

/** Sorts one answer: allowed, refused with a key inside its window (keyroll's failure), or refused after it. */
async function judge(client: ClientState, attempt: { key: string; status: number; atMs: number }, table: DynamoKeyTable): Promise<void> {
  const allowed = attempt.status !== 401 && attempt.status !== 403;
  client.recent.push([attempt.atMs, allowed]);
  while ((client.recent[0]?.[0] ?? attempt.atMs) < attempt.atMs - 5_000) client.recent.shift();
  if (attempt.status === 403) {
    client.ok++; // refused for scope by design (acme has no write scope): not a key refusal
    return;
  }
  if (allowed) {
    client.ok++;
    return;
  }
  const version: KeyVersion | undefined = attempt.key === '' ? undefined : await table.findByHash(hashApiKey(attempt.key));
  if (version !== undefined && windowStatus(version, attempt.atMs) === 'valid') {
    client.refusedInWindow++;
    return;
  }
  client.refusedAfterWindow++;
  const endMs = version === undefined ? undefined : windowEndMs(version);
  if (client.behaviour === 'never-switches' && client.firstRefusedAfterEndMs === undefined && endMs !== undefined) {
    client.keptKeyEndedAtMs = endMs;
    client.firstRefusedAfterEndMs = attempt.atMs;
  }
}

/** The client's queue, subscribed to the client topic with a filter policy on its id, as a subscriber in AWS would. */
async function subscribe(keyroll: LocalKeyroll, sns: SNSClient, sqs: SQSClient, clientId: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `keyroll-local-${clientId}` }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(
    new SubscribeCommand({
      TopicArn: keyroll.clientTopicArn,
      Protocol: 'sqs',
      Endpoint: Attributes?.['QueueArn'],
      Attributes: { FilterPolicy: JSON.stringify({ clientId: [clientId] }) },
    }),
  );
  if (QueueUrl === undefined) throw new Error(`no queue for ${clientId}`);
  return QueueUrl;
}
