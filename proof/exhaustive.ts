import { createHash } from 'node:crypto';
import { SecretsManagerVersionStore } from '../lambda/adapters/secrets-manager-version-store';
import { acceptKey, directLookup } from '../lambda/domain/accept-key';
import { generateApiKey, hashApiKey, type ApiKey } from '../lambda/domain/api-key';
import { KeyMonitor } from '../lambda/domain/monitor';
import { notificationEventId, type Notification } from '../lambda/domain/notifications';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, type Notifier, type SecretDescription, type SecretVersionStore } from '../lambda/domain/ports';
import { KeyRotation, ROTATION_STEPS, type RotationStep } from '../lambda/domain/rotation';
import { parseSecretPayload } from '../lambda/domain/secret-payload';
import { modelClient } from '../local/model-client';
import { SecretsManagerModel } from '../local/secrets-manager-model';
import { FaultInjector, type AwsService, type ScheduledFault } from './faults';
import { InMemoryKeyTable } from './in-memory-key-table';

/**
 * Every sequence of events up to a depth, for one client, on the Secrets Manager model and the in-memory key
 * table, with the real rotation and monitor: Secrets Manager's next step, a step delivered again, an AWS call
 * failing before or after it took effect at each point of a step, a new rotation, a rotation abandoned (or
 * given up after its label moved), a monitor run, and the clock jumping to the next instant where a window ends or a pending version gets stuck.
 * States are deduplicated (the model's labels, the table, the notifications sent, the clock, and what the
 * oracle remembers); the invariants are checked in every state reached.
 */

const START_MS = Date.UTC(2026, 10, 22, 12, 0, 0);
const GRACE_MS = 3600_000;
const STUCK_MS = 2 * 3600_000;
const CLIENT = 'acme';
const SECRET_NAME = `keyroll/clients/${CLIENT}`;

export type Mutant = 'none' | 'finish-skips-close-when-label-moved';

export type ExplorationEvent =
  | { readonly kind: 'rotate' }
  | { readonly kind: 'next'; readonly fault?: ScheduledFault }
  | { readonly kind: 'repeat'; readonly step: RotationStep; readonly token: string; readonly fault?: ScheduledFault }
  | { readonly kind: 'abandon' }
  | { readonly kind: 'give-up' }
  | { readonly kind: 'monitor' }
  | { readonly kind: 'jump'; readonly toMs: number };

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
  readonly path: readonly string[];
}

export interface ExplorationReport {
  readonly depth: number;
  readonly states: number;
  /** Distinct states first reached at each depth, from 0. */
  readonly statesPerDepth: readonly number[];
  readonly transitions: number;
  readonly faultsInjected: number;
  readonly violations: readonly Violation[];
  readonly durationMs: number;
}

/** What the oracle remembers along a path: what Secrets Manager is doing and what the labels did. */
interface Ghost {
  /** The rotation in progress: the step Secrets Manager invokes next, and how many steps have been invoked at all. */
  progress: { token: string; next: number; reached: number } | undefined;
  tokenCount: number;
  lastCompleted: string | undefined;
  /** Per version: when it lost AWSCURRENT. */
  readonly stoppedAtMs: Map<string, number>;
  /** Per token whose finishSecret has succeeded: when it first did, and the version it replaced. */
  readonly finished: Map<string, { readonly atMs: number; readonly replaced: string }>;
  /** Abandoned tokens, and whether a later rotation's createSecret has succeeded since. */
  readonly abandoned: Map<string, boolean>;
  /** Per version, the window end last seen: it may shrink, never grow. */
  readonly notAfterMs: Map<string, number>;
  current: string;
}

interface World {
  readonly clock: { nowMs: number };
  readonly model: SecretsManagerModel;
  readonly table: InMemoryKeyTable;
  readonly faults: FaultInjector;
  readonly rotation: KeyRotation;
  readonly monitor: KeyMonitor;
  readonly secretArn: string;
  readonly published: Notification[];
  readonly ghost: Ghost;
  readonly violations: { invariant: string; detail: string }[];
  faultsInjected: number;
  /** The token whose finishSecret succeeded in the event being applied. */
  finishedNow: string | undefined;
  /** The AWS calls the last step invocation made, per service. */
  callsInLastStep: Readonly<Record<AwsService, number>>;
}

/** Hides AWSPREVIOUS from the rotation: a finishSecret retried after the label moved then finds no version to close. */
function withoutPreviousLabel(store: SecretVersionStore): SecretVersionStore {
  return {
    describe: async (secretId) => {
      const secret = await store.describe(secretId);
      const versionStages = new Map([...secret.versionStages].map(([versionId, stages]) => [versionId, stages.filter((stage) => stage !== AWSPREVIOUS)]));
      return { ...secret, versionStages } satisfies SecretDescription;
    },
    readValue: (...args) => store.readValue(...args),
    putPendingValue: (...args) => store.putPendingValue(...args),
    moveStage: (...args) => store.moveStage(...args),
  };
}

/** Every method call of `target` goes through the fault injector as one call to `service`. */
function faulty<T extends object>(target: T, service: AwsService, faults: FaultInjector): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => faults.around(service, String(property), () => (value as (...a: unknown[]) => unknown).apply(object, args));
    },
  });
}

/** Keys from a counter, so that every replay of a path issues the same keys. */
function keysFromCounter(): () => ApiKey {
  let count = 0;
  return () => {
    const seed = `key-${count++}`;
    let block = 0;
    return generateApiKey('kr', (size) => {
      const bytes: Buffer[] = [];
      let length = 0;
      while (length < size) {
        const chunk = createHash('sha256').update(`${seed}/${block++}`).digest();
        bytes.push(chunk);
        length += chunk.length;
      }
      return Buffer.concat(bytes).subarray(0, size);
    });
  };
}

async function newWorld(mutant: Mutant): Promise<World> {
  const clock = { nowMs: START_MS };
  const now = () => clock.nowMs;
  const model = new SecretsManagerModel({ clock: now });
  const faults = new FaultInjector();
  const store = new SecretsManagerVersionStore(modelClient(model, (operation, call) => faults.around('secretsmanager', operation, call)));
  const table = new InMemoryKeyTable();
  const tableWithFaults = faulty(table, 'dynamodb', faults);
  const published: Notification[] = [];
  const clientNotifier: Notifier = { publish: (notification) => faults.around('sns', 'Publish', () => void published.push(notification)) };
  const operationsNotifier: Notifier = { publish: (notification) => faults.around('sns', 'Publish', () => void notification) };
  const rotation = new KeyRotation({
    secrets: mutant === 'finish-skips-close-when-label-moved' ? withoutPreviousLabel(store) : store,
    keys: tableWithFaults,
    registry: tableWithFaults,
    issued: tableWithFaults,
    events: tableWithFaults,
    notifier: clientNotifier,
    operationsNotifier,
    clock: now,
    generateKey: keysFromCounter(),
    keyPrefix: 'kr',
    defaultGracePeriodSeconds: GRACE_MS / 1000,
  });
  const monitor = new KeyMonitor({
    secrets: store,
    registry: tableWithFaults,
    keys: tableWithFaults,
    events: tableWithFaults,
    usage: table,
    clientNotifier,
    operationsNotifier,
    settings: { reminderLeadsMs: [GRACE_MS / 2], stuckAfterMs: STUCK_MS, defaultGracePeriodSeconds: GRACE_MS / 1000, secretNamePrefix: 'keyroll/clients/' },
  });
  const { ARN } = model.createSecret({ Name: SECRET_NAME, SecretString: JSON.stringify({ clientId: CLIENT }), ClientRequestToken: 'v0', Tags: [{ Key: 'keyroll:clientId', Value: CLIENT }] });
  const secretArn = ARN ?? '';
  await table.registerClient({ clientId: CLIENT, secretArn, settings: {}, registeredAtMs: START_MS, registeredBy: 'exhaustive' });
  model.rotateSecret({ SecretId: secretArn, ClientRequestToken: 'schedule-test', RotationLambdaARN: 'arn:aws:lambda:us-east-1:000000000000:function:rotation', RotateImmediately: false });
  model.endRotation(secretArn, 'succeeded');
  const ghost: Ghost = { progress: undefined, tokenCount: 0, lastCompleted: undefined, stoppedAtMs: new Map(), finished: new Map(), abandoned: new Map(), notAfterMs: new Map(), current: 'v0' };
  const world: World = { clock, model, table, faults, rotation, monitor, secretArn, published, ghost, violations: [], faultsInjected: 0, finishedNow: undefined, callsInLastStep: { secretsmanager: 0, dynamodb: 0, sns: 0 } };
  // The client's first key, as the construct's first rotation gives it: the exploration starts from there.
  await apply(world, { kind: 'rotate' });
  for (let step = 0; step < ROTATION_STEPS.length; step++) await apply(world, { kind: 'next' });
  world.violations.length = 0;
  return world;
}

function stagesOf(world: World): Map<string, string[]> {
  const { Versions = [] } = world.model.listSecretVersionIds({ SecretId: world.secretArn });
  return new Map(Versions.map((version) => [version.VersionId ?? '', version.VersionStages ?? []]));
}

function versionWith(world: World, stage: string): string | undefined {
  return [...stagesOf(world)].find(([, stages]) => stages.includes(stage))?.[0];
}

function keyOf(world: World, versionId: string): ApiKey | undefined {
  try {
    const { SecretString } = world.model.getSecretValue({ SecretId: world.secretArn, VersionId: versionId });
    return parseSecretPayload(SecretString ?? '{}', versionId).apiKey as ApiKey | undefined;
  } catch {
    return undefined; // No value yet, or none at all.
  }
}

async function invoke(world: World, step: RotationStep, token: string, fault: ScheduledFault | undefined): Promise<boolean> {
  world.faults.schedule(fault === undefined ? [] : [fault]);
  try {
    await world.rotation.runStep({ step, secretId: world.secretArn, token, rotationToken: world.model.rotationInProgress(world.secretArn)?.rotationToken });
    if (step === 'createSecret' && world.ghost.progress?.token === token) {
      for (const abandoned of world.ghost.abandoned.keys()) world.ghost.abandoned.set(abandoned, true);
    }
    if (step === 'finishSecret') world.finishedNow = token;
    return true;
  } catch (error) {
    if (world.faults.fired.length === 0 && fault === undefined && world.ghost.progress?.token === token) {
      world.violations.push({ invariant: 'a clean step of the protocol succeeds', detail: `${step} ${token}: ${error instanceof Error ? error.message : String(error)}` });
    }
    return false;
  } finally {
    world.faultsInjected += world.faults.fired.length;
    world.callsInLastStep = world.faults.callCounts();
    world.faults.schedule([]);
  }
}

async function apply(world: World, event: ExplorationEvent): Promise<void> {
  const { ghost } = world;
  switch (event.kind) {
    case 'rotate': {
      const token = `t${ghost.tokenCount++}`;
      world.model.rotateSecret({ SecretId: world.secretArn, ClientRequestToken: token });
      ghost.progress = { token, next: 0, reached: 0 };
      break;
    }
    case 'next': {
      const progress = ghost.progress;
      if (progress === undefined) break;
      const step = ROTATION_STEPS[progress.next] ?? 'finishSecret';
      progress.reached = Math.max(progress.reached, progress.next + 1);
      if (await invoke(world, step, progress.token, event.fault)) {
        progress.next++;
        if (progress.next === ROTATION_STEPS.length) {
          world.model.endRotation(world.secretArn, 'succeeded');
          ghost.lastCompleted = progress.token;
          ghost.progress = undefined;
        }
      } else {
        progress.next = 0; // Secrets Manager retries a failed rotation from createSecret, with the same token.
      }
      break;
    }
    case 'repeat':
      await invoke(world, event.step, event.token, event.fault);
      break;
    case 'abandon': {
      const progress = ghost.progress;
      if (progress === undefined) break;
      // An operator clears the stuck AWSPENDING label, as the runbook says.
      world.model.endRotation(world.secretArn, 'failed');
      world.model.updateSecretVersionStage({ SecretId: world.secretArn, VersionStage: AWSPENDING, RemoveFromVersionId: progress.token });
      ghost.abandoned.set(progress.token, false);
      ghost.progress = undefined;
      break;
    }
    case 'give-up':
      // Secrets Manager stops retrying a rotation whose finishSecret moved AWSCURRENT but never completed;
      // AWSPENDING stays on the current version, so the next RotateSecret is accepted.
      world.model.endRotation(world.secretArn, 'failed');
      ghost.progress = undefined;
      break;
    case 'monitor':
      world.faults.schedule([]);
      await world.monitor.run(() => world.clock.nowMs);
      break;
    case 'jump':
      world.clock.nowMs = event.toMs;
      break;
  }
  const current = versionWith(world, AWSCURRENT);
  if (current !== undefined && current !== ghost.current) {
    ghost.stoppedAtMs.set(ghost.current, world.clock.nowMs);
    ghost.current = current;
  }
  const finished = world.finishedNow;
  world.finishedNow = undefined;
  // The version a token replaced is the last one to have lost AWSCURRENT, to that token.
  const replaced = [...ghost.stoppedAtMs.keys()].at(-1);
  if (finished !== undefined && finished === ghost.current && replaced !== undefined && !ghost.finished.has(finished)) {
    ghost.finished.set(finished, { atMs: world.clock.nowMs, replaced });
  }
  await checkInvariants(world);
}

async function accepted(world: World, key: ApiKey): Promise<boolean> {
  const acceptance = await acceptKey(key, { prefix: 'kr', lookup: directLookup((hash) => world.table.findByHash(hash)), nowMs: world.clock.nowMs });
  return acceptance.accepted;
}

async function checkInvariants(world: World): Promise<void> {
  const { ghost } = world;
  const nowMs = world.clock.nowMs;
  const fail = (invariant: string, detail: string) => world.violations.push({ invariant, detail });
  const currentKey = keyOf(world, ghost.current);
  if (currentKey !== undefined && !(await accepted(world, currentKey))) fail('1: the AWSCURRENT key is accepted', `version ${ghost.current}`);
  for (const [versionId, stoppedAtMs] of ghost.stoppedAtMs) {
    const key = keyOf(world, versionId);
    if (key === undefined) continue;
    if (nowMs < stoppedAtMs + GRACE_MS && !(await accepted(world, key))) fail('1: a replaced key is accepted for its grace period', `version ${versionId}`);
    const version = await world.table.findByHash(hashApiKey(key));
    const notAfterMs = version?.notAfterMs;
    if (notAfterMs === undefined) continue;
    if (notAfterMs < stoppedAtMs + GRACE_MS) fail('1: a replaced key\'s window ends no earlier than its replacement plus the grace period', `version ${versionId}`);
    const seenMs = ghost.notAfterMs.get(versionId);
    if (seenMs !== undefined && notAfterMs > seenMs) fail('5: a window never grows again once closed', `version ${versionId}: ${seenMs} then ${notAfterMs}`);
    ghost.notAfterMs.set(versionId, notAfterMs);
  }
  for (const [token, { atMs, replaced }] of ghost.finished) {
    const key = keyOf(world, replaced);
    if (key === undefined) continue;
    const version = await world.table.findByHash(hashApiKey(key));
    if (version?.notAfterMs === undefined || version.notAfterMs > atMs + GRACE_MS) {
      fail('2: once finishSecret succeeds, the replaced key\'s window ends one grace period later', `token ${token} replaced ${replaced}: window end ${String(version?.notAfterMs)}`);
    }
    const eventId = notificationEventId('key.rotated', CLIENT, token);
    if (!world.published.some((notification) => notification.eventId === eventId)) fail('2: once finishSecret succeeds, key.rotated has been sent', `token ${token}`);
  }
  for (const [token, due] of ghost.abandoned) {
    const key = keyOf(world, token);
    if (due && key !== undefined && (await accepted(world, key))) fail('3: an abandoned key is refused once a later rotation has created its key', `token ${token}`);
  }
  const recorded = world.table.recordedEvents();
  for (const notification of world.published) {
    const body = recorded.get(notification.eventId);
    if (body !== undefined && body !== JSON.stringify(notification)) fail('5: one eventId, one body', notification.eventId);
  }
}

/** The state, in a form where equal states give equal strings. */
function canonical(world: World): string {
  const hashes = new Map<string, string>();
  const { Versions = [] } = world.model.listSecretVersionIds({ SecretId: world.secretArn, IncludeDeprecated: true });
  const versions = Versions.map((version) => {
    const key = keyOf(world, version.VersionId ?? '');
    if (key !== undefined) hashes.set(hashApiKey(key), version.VersionId ?? '');
    return [version.VersionId, [...(version.VersionStages ?? [])].sort(), key !== undefined];
  }).sort();
  const { ghost } = world;
  const relative = (ms: number) => ms - world.clock.nowMs;
  return JSON.stringify({
    now: world.clock.nowMs - START_MS,
    versions,
    rotation: world.model.rotationInProgress(world.secretArn)?.versionId ?? null,
    table: world.table.canonical((hash) => hashes.get(hash) ?? 'unknown'),
    sent: [...new Set(world.published.map((n) => n.eventId))].sort(),
    ghost: {
      progress: ghost.progress ?? null,
      tokenCount: ghost.tokenCount,
      lastCompleted: ghost.lastCompleted ?? null,
      stopped: [...ghost.stoppedAtMs].map(([v, ms]) => [v, relative(ms)]),
      finished: [...ghost.finished].map(([t, f]) => [t, relative(f.atMs), f.replaced]),
      abandoned: [...ghost.abandoned],
    },
  });
}

/** The events possible in a state; fault variants are added by the explorer once it knows how many calls the clean event makes. */
async function eventsFrom(world: World): Promise<ExplorationEvent[]> {
  const { ghost } = world;
  const events: ExplorationEvent[] = [];
  const pending = versionWith(world, AWSPENDING);
  if (ghost.progress === undefined && (pending === undefined || pending === ghost.current)) events.push({ kind: 'rotate' });
  if (ghost.progress !== undefined) {
    events.push({ kind: 'next' });
    events.push({ kind: versionWith(world, AWSCURRENT) === ghost.progress.token ? 'give-up' : 'abandon' });
    // A step already invoked in this rotation may be delivered again (Lambda retries an invocation that failed).
    for (const step of ROTATION_STEPS.slice(0, ghost.progress.reached)) events.push({ kind: 'repeat', step, token: ghost.progress.token });
  } else if (ghost.lastCompleted !== undefined) {
    for (const step of ROTATION_STEPS) events.push({ kind: 'repeat', step, token: ghost.lastCompleted });
  }
  events.push({ kind: 'monitor' });
  const nowMs = world.clock.nowMs;
  const instants = [
    ...[...ghost.stoppedAtMs.values()].map((ms) => ms + GRACE_MS),
    ...(await world.table.listClientVersions(CLIENT)).flatMap((version) => (version.notAfterMs === undefined ? [] : [version.notAfterMs])),
    ...(ghost.progress === undefined ? [] : [nowMs + STUCK_MS]),
  ].filter((ms) => ms >= nowMs);
  if (instants.length > 0) events.push({ kind: 'jump', toMs: Math.min(...instants) + 1 });
  return events;
}

function describeEvent(event: ExplorationEvent): string {
  const fault = 'fault' in event && event.fault !== undefined ? ` (${event.fault.service} call ${event.fault.callIndex} fails ${event.fault.timing} it took effect)` : '';
  switch (event.kind) {
    case 'repeat':
      return `${event.step} ${event.token} again${fault}`;
    case 'jump':
      return `clock to +${(event.toMs - START_MS) / 60_000} min`;
    case 'next':
      return `next step${fault}`;
    default:
      return event.kind;
  }
}

async function replay(path: readonly ExplorationEvent[], mutant: Mutant): Promise<World> {
  const world = await newWorld(mutant);
  for (const event of path) await apply(world, event);
  return world;
}

/** Breadth first over every event sequence up to `depth`, each distinct state expanded once. */
export async function explore(options: { readonly depth: number; readonly mutant?: Mutant; readonly stopAtFirstViolation?: boolean }): Promise<ExplorationReport> {
  const startedMs = Date.now();
  const mutant = options.mutant ?? 'none';
  const initial = await newWorld(mutant);
  const seen = new Set<string>([canonical(initial)]);
  const statesPerDepth = [1];
  const violations: Violation[] = [];
  let frontier: ExplorationEvent[][] = [[]];
  let transitions = 0;
  let faultsInjected = 0;
  for (let depth = 1; depth <= options.depth && frontier.length > 0; depth++) {
    const next: ExplorationEvent[][] = [];
    for (const path of frontier) {
      const parent = await replay(path, mutant);
      for (const clean of await eventsFrom(parent)) {
        const variants: ExplorationEvent[] = [clean];
        if (clean.kind === 'next' || clean.kind === 'repeat') {
          const probe = await replay(path, mutant);
          await apply(probe, clean);
          const calls = probe.callsInLastStep;
          for (const service of ['secretsmanager', 'dynamodb', 'sns'] as const) {
            for (let callIndex = 0; callIndex < calls[service]; callIndex++) {
              for (const timing of ['before', 'after'] as const) variants.push({ ...clean, fault: { service, callIndex, timing } });
            }
          }
        }
        for (const event of variants) {
          transitions++;
          const child = await replay(path, mutant);
          child.violations.length = 0;
          child.faultsInjected = 0;
          await apply(child, event);
          faultsInjected += child.faultsInjected;
          const childPath = [...path, event];
          for (const violation of child.violations) {
            if (!violations.some((known) => known.invariant === violation.invariant)) violations.push({ ...violation, path: childPath.map(describeEvent) });
          }
          if (violations.length > 0 && options.stopAtFirstViolation === true) {
            return { depth, states: seen.size, statesPerDepth, transitions, faultsInjected, violations, durationMs: Date.now() - startedMs };
          }
          const state = canonical(child);
          if (seen.has(state)) continue;
          seen.add(state);
          next.push(childPath);
        }
      }
    }
    statesPerDepth.push(next.length);
    frontier = next;
  }
  return { depth: options.depth, states: seen.size, statesPerDepth, transitions, faultsInjected, violations, durationMs: Date.now() - startedMs };
}
