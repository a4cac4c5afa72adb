import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { RotateSecretCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { KeyProvider } from '../client/key-provider';
import { SecretsManagerKeySource } from '../client/secrets-manager-key-source';
import { runCli } from '../cli/main';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { hashApiKey } from '../lambda/domain/api-key';
import type { FunctionEntry } from '../lib/function-bundles';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll, type LocalEndpoints, type LocalKeyroll } from '../local/keyroll-local';
import { percentile } from '../local/statistics';
import { seededRandom, startFaultProxy, type FaultDecision, type FaultProxy, type InjectedFault, type ProxiedCall } from './fault-proxy';

/**
 * The soak: keyroll on the local machinery (the real bundles in their processes, the real SDK over HTTP) with a
 * fault proxy between every function and every service it calls, client SDKs and a prober calling the local
 * gateway, and drills: rotations abandoned after setSecret, the answer to the AWSCURRENT move lost, emergency
 * rotations and revocations through the CLI, a key-table outage shorter than the stale window, the monitor
 * running all along. Every request is judged afterwards against what Secrets Manager's labels and the
 * operators' actions say, and every output of the run is searched for keys and key hashes.
 */

export interface SoakOptions {
  readonly rotations: number;
  readonly clients: number;
  readonly faultRate: number;
  readonly seed: number;
  readonly onProgress?: (line: string) => void;
}

export interface SoakSummary {
  readonly seed: number;
  readonly rotations: number;
  readonly rotationAttempts: number;
  readonly rotationsAbandoned: number;
  readonly requests: number;
  readonly wrongfulDenials: number;
  /** Refusals of a key inside its window whose table read the proxy had failed: keyroll fails closed then. */
  readonly refusedWhileTableFailed: number;
  readonly wrongfulAllows: number;
  /** Windows closed earlier than the replacement plus the grace period (must be 0). */
  readonly windowsEndedEarly: number;
  /** How much later than the replacement plus the grace period windows ended (a finishSecret retried later closes later). */
  readonly windowEndLagMs: { readonly max: number };
  readonly revocationDelayMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly revocations: number };
  readonly notificationsPerRotation: { readonly min: number; readonly max: number };
  readonly plaintextFindings: number;
  readonly faultsInjected: { readonly before: number; readonly after: number; readonly outage: number };
  readonly drills: Record<string, number>;
  readonly durationS: number;
  readonly findings: readonly string[];
}

const GRACE_MS = 20_000;
const RESULTS_TTL_MS = 2_000;
const CACHE_TTL_MS = 2_000;
const STALE_WINDOW_MS = 10_000;
/** How long after a window ends (or a revocation is made) a key may still pass: both caches, a stale entry while the table fails, a second of slack. */
const CACHE_BOUND_MS = RESULTS_TTL_MS + CACHE_TTL_MS + STALE_WINDOW_MS + 1_000;
const OUTAGE_MS = 3_000;
/** The drills, one cycle per 20 rotation attempts: each drill in every short run, in the same places for every seed. */
const DRILL_CYCLE: readonly (string | undefined)[] = [undefined, undefined, undefined, 'abandon-after-setSecret', undefined, undefined, undefined, 'emergency', undefined, undefined, undefined, 'revoke', undefined, 'lose-current-move', undefined, undefined, undefined, 'lose-current-move', undefined, undefined];

interface VersionTruth {
  readonly versionId: string;
  readonly secretArn: string;
  readonly clientId: string;
  currentFromMs?: number;
  currentUntilMs?: number;
  /** An operator's revocation: when the command started and when it returned. */
  revokedFromMs?: number;
  revokedReturnMs?: number;
  /** An abandoned rotation's key: refused once the next createSecret of its client has run. */
  abandonedAtMs?: number;
  refuseFromMs?: number;
}

interface RequestRecord {
  readonly key: string;
  readonly sentAtMs: number;
  readonly doneAtMs: number;
  readonly status: number;
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const startedMs = Date.now();
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-soak-'));
  const logDirectory = path.join(work, 'logs');
  const stateFile = path.join(work, 'local.json');
  const random = seededRandom(options.seed);
  const faultRandom = seededRandom(options.seed ^ 0x5eed);
  const findings: string[] = [];
  const drills: Record<string, number> = { abandonedAfterSetSecret: 0, rotationsAbandonedAfterFailure: 0, lostCurrentMoves: 0, emergencies: 0, emergenciesFailed: 0, revocations: 0, outages: 0, monitorRuns: 0 };
  const faultCounts = { before: 0, after: 0, outage: 0 };
  let faultsOn = false;
  let outageUntilMs = 0;
  let lostCurrentMoveArmed = 0;
  let revocationsOwed = 0;
  /** Per key hash, when the proxy failed one of the authorizer's reads of it. */
  const failedAuthorizerReads = new Map<string, number[]>();
  const proxies: FaultProxy[] = [];
  const cliOutputs: string[] = [];

  const decide = (service: keyof LocalEndpoints) => (call: ProxiedCall): FaultDecision => {
    if (!faultsOn) return 'pass';
    if (service === 'dynamodb' && Date.now() < outageUntilMs) {
      faultCounts.outage++;
      return 'before';
    }
    if (service === 'secretsManager' && lostCurrentMoveArmed > 0 && call.operation.endsWith('UpdateSecretVersionStage') && call.body.includes('"VersionStage":"AWSCURRENT"') && call.body.includes('MoveToVersionId')) {
      lostCurrentMoveArmed--;
      drills['lostCurrentMoves'] = (drills['lostCurrentMoves'] ?? 0) + 1;
      return 'after';
    }
    const draw = faultRandom();
    if (draw < options.faultRate / 2) return 'before';
    if (draw < options.faultRate) return 'after';
    return 'pass';
  };
  const onFault = (entry: FunctionEntry) => (fault: InjectedFault, call: ProxiedCall) => {
    if (fault.timing === 'before') faultCounts.before++;
    else faultCounts.after++;
    if (entry === 'authorizer' && call.operation.endsWith('GetItem')) {
      const hash = /KEY#([0-9a-f]{64})/.exec(call.body)?.[1];
      if (hash !== undefined) failedAuthorizerReads.set(hash, [...(failedAuthorizerReads.get(hash) ?? []), fault.atMs]);
    }
  };
  const functionEndpoints = async (entry: FunctionEntry, endpoints: LocalEndpoints): Promise<LocalEndpoints> => {
    const proxied = async (service: keyof LocalEndpoints) => {
      const proxy = await startFaultProxy({ service, target: endpoints[service], decide: decide(service), onFault: onFault(entry) });
      proxies.push(proxy);
      return proxy.endpoint;
    };
    return { dynamodb: await proxied('dynamodb'), secretsManager: await proxied('secretsManager'), snsSqs: await proxied('snsSqs'), apiGateway: endpoints.apiGateway, lambda: endpoints.lambda };
  };

  const clientIds = Array.from({ length: options.clients }, (_, i) => `client-${String(i).padStart(2, '0')}`);
  let keyroll: LocalKeyroll | undefined;
  try {
    keyroll = await startLocalKeyroll(
      {
        clients: clientIds.map((clientId) => ({ clientId })),
        gracePeriod: Duration.millis(GRACE_MS),
        authorizerResultsCacheTtl: Duration.millis(RESULTS_TTL_MS),
        authorizerCacheTtl: Duration.millis(CACHE_TTL_MS),
        authorizerNegativeCacheTtl: Duration.seconds(1),
        authorizerStaleWindow: Duration.millis(STALE_WINDOW_MS),
        // The compressed schedule compresses the known-key window too (its rules hold at any length).
        knownKeysWindow: Duration.millis(250),
      },
      { logDirectory, stateFile, functionEndpoints },
    );
    const local = keyroll;
    const direct = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const secrets = new SecretsManagerClient({ ...direct, endpoint: local.endpoints.secretsManager });
    const sns = new SNSClient({ ...direct, endpoint: local.endpoints.snsSqs });
    const sqs = new SQSClient({ ...direct, endpoint: local.endpoints.snsSqs });
    const dynamodb = new DynamoDBClient({ ...direct, endpoint: local.endpoints.dynamodb });

    // Every notification to clients, to count them per rotation and search them.
    const { QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'keyroll-soak-notifications' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn: local.clientTopicArn, Protocol: 'sqs', Endpoint: Attributes?.['QueueArn'] }));
    const notifications: string[] = [];
    const drainNotifications = async () => {
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (Messages.length === 0) return;
        notifications.push(...Messages.map((message) => message.Body ?? ''));
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })) }));
      }
    };

    // The truth: who was AWSCURRENT when, from the model's own calls, and what operators did.
    const truths = new Map<string, VersionTruth>();
    const secretArnOf = new Map(clientIds.map((clientId) => [clientId, local.secretArns.get(clientId) ?? '']));
    const clientOfArn = new Map([...secretArnOf].map(([clientId, arn]) => [arn, clientId]));
    const truthOf = (secretArn: string, versionId: string): VersionTruth => {
      let truth = truths.get(versionId);
      if (truth === undefined) {
        truth = { versionId, secretArn, clientId: clientOfArn.get(secretArn) ?? '?' };
        truths.set(versionId, truth);
      }
      return truth;
    };
    const currentOf = new Map<string, string>();
    const model = local.model;
    const observe = (secretId: string | undefined) => {
      const described = model.describeSecret({ SecretId: secretId });
      const arn = described.ARN ?? '';
      const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
      const before = currentOf.get(arn);
      if (current === undefined || current === before) return;
      const nowMs = Date.now();
      if (before !== undefined) truthOf(arn, before).currentUntilMs = nowMs;
      truthOf(arn, current).currentFromMs = nowMs;
      currentOf.set(arn, current);
    };
    for (const arn of secretArnOf.values()) observe(arn);
    const updateStage = model.updateSecretVersionStage.bind(model);
    model.updateSecretVersionStage = (input) => {
      const output = updateStage(input);
      observe(input.SecretId);
      return output;
    };
    const putValue = model.putSecretValue.bind(model);
    model.putSecretValue = (input) => {
      const output = putValue(input);
      if (input.VersionStages?.includes('AWSPENDING') === true) {
        // createSecret writes this after revoking the keys of its client's abandoned rotations.
        const arn = output.ARN ?? '';
        for (const truth of truths.values()) if (truth.secretArn === arn && truth.abandonedAtMs !== undefined && truth.refuseFromMs === undefined) truth.refuseFromMs = Date.now();
      }
      observe(input.SecretId);
      return output;
    };

    const keyOf = (secretArn: string, versionId: string): string | undefined => {
      try {
        const { SecretString } = model.getSecretValue({ SecretId: secretArn, VersionId: versionId });
        return (JSON.parse(SecretString ?? '{}') as { apiKey?: string }).apiKey;
      } catch {
        return undefined;
      }
    };

    // Traffic: one client SDK per client following its rotations, and a prober trying keys of every kind.
    const records: RequestRecord[] = [];
    let running = true;
    const call = async (key: string) => {
      const sentAtMs = Date.now();
      const response = await fetch(`${local.api.url}/hello`, { headers: { 'x-api-key': key } });
      await response.arrayBuffer();
      records.push({ key, sentAtMs, doneAtMs: Date.now(), status: response.status });
      return response.status;
    };
    const followers = clientIds.map(async (clientId) => {
      const provider = new KeyProvider({ source: new SecretsManagerKeySource({ secretId: secretArnOf.get(clientId) ?? '', client: secrets }), refreshIntervalMs: 1_000 });
      while (running) {
        const status = await call(await provider.key()).catch(() => 0);
        if (status === 401) await provider.refresh('unauthorized').catch(() => undefined);
        await sleep(40);
      }
    });
    const prober = (async () => {
      while (running) {
        const candidates = [...truths.values()].filter((truth) => truth.currentFromMs !== undefined || truth.abandonedAtMs !== undefined);
        const truth = candidates[Math.floor(random() * candidates.length)];
        const key = truth === undefined ? undefined : keyOf(truth.secretArn, truth.versionId);
        if (key !== undefined) await call(key).catch(() => 0);
        await sleep(25);
      }
    })();
    const monitor = (async () => {
      while (running) {
        await sleep(3_000);
        drills['monitorRuns'] = (drills['monitorRuns'] ?? 0) + 1;
        await local.runMonitor().catch(() => undefined);
      }
    })();

    faultsOn = true;
    const runsBefore = local.rotations.length;
    let started = 0;
    let completed = 0;
    let abandoned = 0;
    const progress = setInterval(() => {
      options.onProgress?.(`${completed}/${options.rotations} rotations, ${records.length} requests, ${faultCounts.before + faultCounts.after + faultCounts.outage} faults injected, ${Math.round((Date.now() - startedMs) / 1000)} s`);
    }, 5_000);

    const pendingOf = (arn: string) => Object.entries(model.describeSecret({ SecretId: arn }).VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT'))?.[0];
    /** What an operator does with a stuck rotation (the runbook): clear AWSPENDING. */
    const abandon = async (arn: string) => {
      const pending = pendingOf(arn);
      if (pending === undefined) return;
      await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }));
      truthOf(arn, pending).abandonedAtMs = Date.now();
      abandoned++;
    };
    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(['--local', '--json', ...argv], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { ...process.env, KEYROLL_LOCAL_STATE: stateFile }, pollMs: 50 });
      cliOutputs.push(stdout, stderr);
      return { code, json: (stdout.trim() === '' ? {} : JSON.parse(stdout)) as Record<string, unknown> };
    };
    const waitForRun = async (versionId: string) => {
      for (;;) {
        const run = local.rotations.find((rotation) => rotation.run.versionId === versionId);
        if (run !== undefined) return run.run;
        await sleep(20);
      }
    };

    const rotateOnce = async (clientId: string, attempt: number) => {
      const arn = secretArnOf.get(clientId) ?? '';
      await abandon(arn);
      const drill = DRILL_CYCLE[attempt % DRILL_CYCLE.length];
      if (drill === 'abandon-after-setSecret') {
        // A rotation abandoned after setSecret: RotateSecret on the model (no driver), two steps, then the operator gives up.
        drills['abandonedAfterSetSecret'] = (drills['abandonedAfterSetSecret'] ?? 0) + 1;
        const { VersionId = '' } = model.rotateSecret({ SecretId: arn });
        const rotationToken = model.rotationInProgress(arn)?.rotationToken;
        for (const Step of ['createSecret', 'setSecret']) await local.functions.rotation?.invoke({ Step, SecretId: arn, ClientRequestToken: VersionId, RotationToken: rotationToken }).catch(() => undefined);
        model.endRotation(arn, 'failed');
        await abandon(arn);
        return;
      }
      if (drill === 'emergency') {
        drills['emergencies'] = (drills['emergencies'] ?? 0) + 1;
        const revokedFromMs = Date.now();
        const { code, json } = await cli('rotate', clientId, '--emergency', '--yes', '--reason', 'soak drill', '--timeout', '20s');
        const returnedMs = Date.now();
        // The key is revoked first: with exit 0, and with exit 5 (the new key or a flush not done), it is revoked.
        const revoked = (json['revoked'] as { versionId?: unknown } | undefined)?.versionId;
        if ((code === 0 || code === 5) && typeof revoked === 'string') {
          const truth = truthOf(arn, revoked);
          truth.revokedFromMs ??= revokedFromMs;
          truth.revokedReturnMs ??= returnedMs;
          if (code === 0) completed++;
          else drills['emergenciesPartial'] = (drills['emergenciesPartial'] ?? 0) + 1;
        } else {
          drills['emergenciesFailed'] = (drills['emergenciesFailed'] ?? 0) + 1;
          // A command that failed after its revocation (an AWS error) still revoked: the table says which version.
          const status = await cli('status', clientId);
          for (const version of (status.json['versions'] as { versionId: string; state: string; revokedReason: string | null }[] | undefined) ?? []) {
            if (version.state === 'revoked' && version.revokedReason === 'emergency: soak drill') {
              const truth = truthOf(arn, version.versionId);
              truth.revokedFromMs ??= revokedFromMs;
              truth.revokedReturnMs ??= Date.now();
            }
          }
        }
        return;
      }
      // A revocation is owed until a client has a previous version to revoke (an emergency may have revoked it).
      if (drill === 'revoke') revocationsOwed++;
      const previous = Object.entries(model.describeSecret({ SecretId: arn }).VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSPREVIOUS'))?.[0];
      if (revocationsOwed > 0 && previous !== undefined && keyOf(arn, previous) !== undefined && truthOf(arn, previous).revokedFromMs === undefined) {
        revocationsOwed--;
        drills['revocations'] = (drills['revocations'] ?? 0) + 1;
        const revokedFromMs = Date.now();
        const { code } = await cli('revoke', clientId, '--version', previous, '--reason', 'soak drill');
        if (code === 0) Object.assign(truthOf(arn, previous), { revokedFromMs, revokedReturnMs: Date.now() });
      }
      if (drill === 'lose-current-move') lostCurrentMoveArmed++;
      const { VersionId = '' } = await secrets.send(new RotateSecretCommand({ SecretId: arn }));
      const run = await waitForRun(VersionId);
      if (run.outcome === 'succeeded') completed++;
      else {
        drills['rotationsAbandonedAfterFailure'] = (drills['rotationsAbandonedAfterFailure'] ?? 0) + 1;
        await abandon(arn);
        // A rotation during the key-table outage fails by design; the next one waits for the table.
        await sleep(Math.max(0, outageUntilMs - Date.now()));
      }
    };

    const outages = [0.3, 0.6].map((share) => Math.max(1, Math.round(share * options.rotations)));
    await Promise.all(
      clientIds.map(async (clientId) => {
        // Until N rotations have completed; a run where most attempts fail stops after 3N attempts.
        while (completed < options.rotations && started < 3 * options.rotations) {
          const attempt = started++;
          if (outages.includes(attempt)) {
            drills['outages'] = (drills['outages'] ?? 0) + 1;
            outageUntilMs = Date.now() + OUTAGE_MS;
          }
          await rotateOnce(clientId, attempt);
        }
      }),
    );
    faultsOn = false;
    await sleep(CACHE_BOUND_MS);
    running = false;
    clearInterval(progress);
    await Promise.all([...followers, prober, monitor]);
    await drainNotifications();

    // ---- judging ----------------------------------------------------------------------------------
    const table = new DynamoKeyTable(dynamodb, local.keyTableName);
    const byKey = new Map<string, VersionTruth>();
    const keys: string[] = [];
    for (const arn of secretArnOf.values()) {
      for (const version of model.listSecretVersionIds({ SecretId: arn, IncludeDeprecated: true }).Versions ?? []) {
        const key = keyOf(arn, version.VersionId ?? '');
        if (key === undefined) continue;
        keys.push(key);
        byKey.set(key, truthOf(arn, version.VersionId ?? ''));
      }
    }
    const windowEnds = new Map<string, number | undefined>();
    for (const key of keys) windowEnds.set(key, (await table.findByHash(hashApiKey(key)))?.notAfterMs);
    let windowsEndedEarly = 0;
    let windowEndLagMs = 0;
    for (const key of keys) {
      const truth = byKey.get(key);
      const endMs = windowEnds.get(key);
      if (truth?.currentUntilMs === undefined || endMs === undefined) continue;
      if (endMs < truth.currentUntilMs + GRACE_MS - 5) {
        windowsEndedEarly++;
        findings.push(`window of ${truth.versionId} ends ${truth.currentUntilMs + GRACE_MS - endMs} ms early`);
      }
      windowEndLagMs = Math.max(windowEndLagMs, endMs - (truth.currentUntilMs + GRACE_MS));
    }
    const inWindow = (truth: VersionTruth, atMs: number) =>
      truth.currentFromMs !== undefined && truth.currentFromMs <= atMs && (truth.currentUntilMs === undefined || atMs < truth.currentUntilMs + GRACE_MS) && !(truth.revokedFromMs !== undefined && truth.revokedFromMs <= atMs);
    const tableFailedDuring = (key: string, fromMs: number, toMs: number) => (failedAuthorizerReads.get(hashApiKey(key)) ?? []).some((atMs) => atMs >= fromMs - 50 && atMs <= toMs + 50);
    let wrongfulDenials = 0;
    let refusedWhileTableFailed = 0;
    let wrongfulAllows = 0;
    const lastAcceptedAfterRevocation = new Map<string, number>();
    for (const record of records) {
      const truth = byKey.get(record.key);
      if (truth === undefined) continue;
      if ((record.status === 401 || record.status === 403) && inWindow(truth, record.sentAtMs) && inWindow(truth, record.doneAtMs)) {
        if (tableFailedDuring(record.key, record.sentAtMs, record.doneAtMs)) refusedWhileTableFailed++;
        else {
          wrongfulDenials++;
          if (findings.length < 20) findings.push(`refused ${truth.clientId}/${truth.versionId} inside its window at +${record.sentAtMs - startedMs} ms (status ${record.status})`);
        }
      }
      if (record.status !== 200) continue;
      const endMs = windowEnds.get(record.key) ?? (truth.currentUntilMs === undefined ? undefined : truth.currentUntilMs + GRACE_MS);
      const reasons = [
        endMs !== undefined && record.sentAtMs > endMs + CACHE_BOUND_MS ? 'its window had ended' : undefined,
        truth.revokedReturnMs !== undefined && record.sentAtMs > truth.revokedReturnMs + CACHE_BOUND_MS ? 'it had been revoked' : undefined,
        truth.refuseFromMs !== undefined && record.sentAtMs > truth.refuseFromMs + CACHE_BOUND_MS ? 'its rotation was abandoned' : undefined,
      ].filter((reason) => reason !== undefined);
      if (reasons.length > 0) {
        wrongfulAllows++;
        if (findings.length < 20) findings.push(`accepted ${truth.clientId}/${truth.versionId} at +${record.sentAtMs - startedMs} ms though ${reasons.join(' and ')}`);
      }
      if (truth.revokedReturnMs !== undefined && record.sentAtMs > truth.revokedReturnMs) {
        lastAcceptedAfterRevocation.set(truth.versionId, Math.max(lastAcceptedAfterRevocation.get(truth.versionId) ?? 0, record.sentAtMs - truth.revokedReturnMs));
      }
    }
    const revocationDelays = [...truths.values()].filter((truth) => truth.revokedReturnMs !== undefined).map((truth) => lastAcceptedAfterRevocation.get(truth.versionId) ?? 0);

    // key.rotated per completed rotation, duplicates (same eventId) dropped.
    const rotatedEvents = new Map<string, Set<string>>();
    for (const body of notifications) {
      const message = JSON.parse((JSON.parse(body) as { Message?: string }).Message ?? body) as { type?: string; versionId?: string; eventId?: string };
      if (message.type !== 'key.rotated' || message.versionId === undefined || message.eventId === undefined) continue;
      rotatedEvents.set(message.versionId, new Set([...(rotatedEvents.get(message.versionId) ?? []), message.eventId]));
    }
    // Rotations Secrets Manager completed; one it gave up on after moving AWSCURRENT is superseded by the next, whose key.rotated the client gets.
    const completedVersions = local.rotations
      .slice(runsBefore)
      .filter(({ run }) => run.outcome === 'succeeded')
      .map(({ run }) => truths.get(run.versionId))
      .filter((truth): truth is VersionTruth => truth !== undefined);
    const perRotation = completedVersions.map((truth) => rotatedEvents.get(truth.versionId)?.size ?? 0);
    for (const truth of completedVersions) {
      const sent = rotatedEvents.get(truth.versionId)?.size ?? 0;
      if (sent !== 1 && findings.length < 20) findings.push(`${truth.clientId}/${truth.versionId} became current with ${sent} distinct key.rotated`);
    }

    // Plaintext: keys anywhere; key hashes anywhere but the table, which is indexed by them.
    const hashes = keys.map((key) => createHash('sha256').update(key).digest('hex'));
    const logs = readdirSync(logDirectory).map((file) => readFileSync(path.join(logDirectory, file), 'utf8'));
    const tableItems: string[] = [];
    for await (const page of paginateScan({ client: dynamodb }, { TableName: local.keyTableName })) tableItems.push(...(page.Items ?? []).map((item) => JSON.stringify(item)));
    let plaintextFindings = 0;
    const search = (where: string, texts: readonly string[], secretsToFind: readonly string[]) => {
      for (const text of texts) {
        for (const secret of secretsToFind) {
          if (!text.includes(secret)) continue;
          plaintextFindings++;
          if (findings.length < 20) findings.push(`${where} holds a key or key hash`);
        }
      }
    };
    search('a function log', logs, [...keys, ...hashes]);
    search('a notification', notifications, [...keys, ...hashes]);
    search('CLI output', cliOutputs, [...keys, ...hashes]);
    search('a table item', tableItems, keys);

    secrets.destroy();
    sns.destroy();
    sqs.destroy();
    dynamodb.destroy();
    return {
      seed: options.seed,
      rotations: completed,
      rotationAttempts: started,
      rotationsAbandoned: abandoned,
      requests: records.length,
      wrongfulDenials,
      refusedWhileTableFailed,
      wrongfulAllows,
      windowsEndedEarly,
      windowEndLagMs: { max: windowEndLagMs },
      revocationDelayMs: {
        p50: revocationDelays.length === 0 ? 0 : percentile(revocationDelays, 0.5),
        p99: revocationDelays.length === 0 ? 0 : percentile(revocationDelays, 0.99),
        max: Math.max(0, ...revocationDelays),
        revocations: revocationDelays.length,
      },
      notificationsPerRotation: { min: Math.min(...perRotation), max: Math.max(...perRotation) },
      plaintextFindings,
      faultsInjected: faultCounts,
      drills,
      durationS: Math.round((Date.now() - startedMs) / 1000),
      findings,
    };
  } finally {
    await keyroll?.stop();
    await Promise.all(proxies.map((proxy) => proxy.close()));
  }
}
