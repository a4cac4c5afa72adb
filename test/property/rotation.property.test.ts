import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { hashApiKey, type ApiKey } from '../../lambda/domain/api-key';
import type { RotationStep } from '../../lambda/domain/rotation';
import { useDynalite } from '../support/dynamodb';
import { FaultInjector, type ScheduledFault } from '../../proof/faults';
import { HOUR_MS, stagesOf, TestClock } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

/**
 * Drives whole rotations the way Secrets Manager and operators can: steps in order, a failed step restarting
 * the rotation from createSecret, steps invoked again at any time (also long after the rotation finished),
 * rotations abandoned, RotateImmediately=false tests, time passing, and an AWS call failing before or after
 * it took effect. After every operation it checks invariants 1, 3 and 5 of DESIGN.md; at the end, that the
 * state equals that of a clean run of the same rotations.
 */

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

const GRACE_MS = HOUR_MS;
const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

type Operation =
  | { readonly kind: 'testOnly' }
  | { readonly kind: 'step'; readonly fault: ScheduledFault | undefined }
  | { readonly kind: 'repeat'; readonly pick: number; readonly fault: ScheduledFault | undefined }
  | { readonly kind: 'abandon' }
  | { readonly kind: 'advance'; readonly ms: number };

const faultArb: fc.Arbitrary<ScheduledFault | undefined> = fc.option(
  fc.record({
    service: fc.constantFrom('secretsmanager' as const, 'dynamodb' as const, 'sns' as const),
    callIndex: fc.nat({ max: 5 }),
    timing: fc.constantFrom('before' as const, 'after' as const),
  }),
  { nil: undefined, freq: 2 },
);

const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'testOnly' as const }) },
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('step' as const), fault: faultArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('repeat' as const), pick: fc.nat({ max: 3 }), fault: faultArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abandon' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * GRACE_MS }) }) },
);

interface RotationRecord {
  readonly token: string;
  fate: 'in-progress' | 'completed' | 'abandoned';
  readonly succeeded: Set<RotationStep>;
}

/** What must be equal between a run with faults and retries and a clean run of the same rotations. */
interface NormalizedState {
  readonly stages: Record<string, string[]>;
  readonly versions: Record<string, 'current' | 'closed' | 'refused' | 'pending'>;
  readonly notifications: string[];
}

async function newHarness(faults?: FaultInjector): Promise<RotationHarness> {
  secretsManager.reset();
  sns.reset();
  return new RotationHarness({
    secretsManager,
    sns,
    dynamodbEndpoint: dynamo.endpoint(),
    tableName: await dynamo.newTable(),
    clock: new TestClock(),
    gracePeriodSeconds: GRACE_MS / 1000,
    faults,
  });
}

class FaultyRun {
  readonly rotations: RotationRecord[] = [];
  private inProgress: { record: RotationRecord; next: number } | undefined;
  private current: string;
  /** When each version stopped being AWSCURRENT. */
  private readonly stoppedAtMs = new Map<string, number>();
  /** The shortest window end seen so far for each version: a closed window may shrink, never grow. */
  private readonly notAfterSeenMs = new Map<string, number>();
  /** Abandoned versions, with the number of createSecret successes seen when they were abandoned. */
  private readonly abandoned: { token: string; createsBefore: number }[] = [];
  private createSuccesses = 0;
  private tokenCount = 1;

  private constructor(
    readonly h: RotationHarness,
    private readonly faults: FaultInjector,
    readonly arn: string,
  ) {
    this.current = 't0';
  }

  static async start(): Promise<FaultyRun> {
    const faults = new FaultInjector();
    const h = await newHarness(faults);
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 't0' });
    return new FaultyRun(h, faults, arn);
  }

  async apply(operation: Operation): Promise<void> {
    switch (operation.kind) {
      case 'testOnly':
        await this.testOnlyRotation();
        break;
      case 'step':
        await this.nextStep(operation.fault);
        break;
      case 'repeat':
        await this.repeatStep(operation.pick, operation.fault);
        break;
      case 'abandon':
        this.abandon();
        break;
      case 'advance':
        this.h.clock.advance(operation.ms);
        break;
    }
    this.faults.schedule([]);
    this.observeLabels();
    await this.checkInvariants();
  }

  /** Lets Secrets Manager finish whatever is in progress, without faults, then runs one more clean rotation. */
  async settle(): Promise<void> {
    this.faults.schedule([]);
    while (this.inProgress !== undefined) await this.nextStep(undefined);
    do await this.nextStep(undefined);
    while (this.inProgress !== undefined);
    this.observeLabels();
    await this.checkInvariants();
  }

  /** RotateImmediately=false: testSecret alone, which must change nothing. */
  private async testOnlyRotation(): Promise<void> {
    if (this.inProgress !== undefined) return;
    const before = await this.snapshot();
    const run = await this.h.rotate(this.arn, { token: `test-${this.tokenCount}`, rotateImmediately: false });
    expect(run.outcome).toBe('succeeded');
    expect(await this.snapshot()).toEqual(before);
  }

  /** A scheduled or operator RotateSecret. */
  private startRotation(): { record: RotationRecord; next: number } {
    const token = `t${this.tokenCount++}`;
    this.h.model.rotateSecret({ SecretId: this.arn, ClientRequestToken: token });
    const record: RotationRecord = { token, fate: 'in-progress', succeeded: new Set() };
    this.rotations.push(record);
    this.inProgress = { record, next: 0 };
    return this.inProgress;
  }

  /** The next step of the rotation in progress, starting one when none is. */
  private async nextStep(fault: ScheduledFault | undefined): Promise<void> {
    const progress = this.inProgress ?? this.startRotation();
    const step = STEPS[progress.next] ?? 'finishSecret';
    if (await this.invoke(step, progress.record.token, fault)) {
      progress.record.succeeded.add(step);
      progress.next++;
      if (progress.next === STEPS.length) {
        this.h.model.endRotation(this.arn, 'succeeded');
        progress.record.fate = 'completed';
        this.inProgress = undefined;
      }
    } else {
      progress.next = 0; // Secrets Manager retries a failed rotation from createSecret, same token.
    }
  }

  /** A step invoked again: within the rotation in progress, or late, for the last completed one. */
  private async repeatStep(pick: number, fault: ScheduledFault | undefined): Promise<void> {
    const progress = this.inProgress;
    if (progress !== undefined) {
      if (progress.next === 0) return;
      const step = STEPS[pick % progress.next] ?? 'createSecret';
      if (!(await this.invoke(step, progress.record.token, fault))) progress.next = 0;
      return;
    }
    const last = this.rotations.filter((r) => r.fate === 'completed').at(-1);
    if (last !== undefined) await this.invoke(STEPS[pick % STEPS.length] ?? 'finishSecret', last.token, fault);
  }

  private abandon(): void {
    const progress = this.inProgress;
    if (progress === undefined || this.h.versionWithStage(this.arn, 'AWSCURRENT') === progress.record.token) return;
    this.h.model.endRotation(this.arn, 'failed');
    this.h.model.updateSecretVersionStage({ SecretId: this.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: progress.record.token });
    progress.record.fate = 'abandoned';
    this.abandoned.push({ token: progress.record.token, createsBefore: this.createSuccesses });
    this.inProgress = undefined;
  }

  private async invoke(step: RotationStep, token: string, fault: ScheduledFault | undefined): Promise<boolean> {
    this.faults.schedule(fault === undefined ? [] : [fault]);
    try {
      await this.h.invoke(step, this.arn, token);
      // Abandoned keys are revoked by the createSecret of the next rotation, not by a repeat of an old one.
      if (step === 'createSecret' && this.inProgress?.record.token === token) this.createSuccesses++;
      return true;
    } catch (error) {
      // Only an injected fault may fail a step; any other failure is a bug.
      if (this.faults.fired.length === 0) throw error;
      return false;
    } finally {
      this.faults.schedule([]);
    }
  }

  private observeLabels(): void {
    const current = this.h.versionWithStage(this.arn, 'AWSCURRENT');
    if (current !== undefined && current !== this.current) {
      this.stoppedAtMs.set(this.current, this.h.clock.nowMs);
      this.current = current;
    }
  }

  private keyOf(versionId: string): ApiKey | undefined {
    try {
      return this.h.keyOf(this.arn, versionId);
    } catch {
      return undefined; // The version never got a value.
    }
  }

  private async checkInvariants(): Promise<void> {
    const nowMs = this.h.clock.nowMs;
    // 1. The AWSCURRENT key is accepted.
    expect({ current: this.current, status: (await this.h.verify(this.h.currentKey(this.arn))).status }).toEqual({ current: this.current, status: 'valid' });
    // 1. A key that was current stays accepted until it stopped being current plus the grace period.
    for (const [versionId, stoppedAtMs] of this.stoppedAtMs) {
      const key = this.keyOf(versionId);
      if (key === undefined) continue;
      const verification = await this.h.verify(key);
      if (nowMs < stoppedAtMs + GRACE_MS) expect({ versionId, status: verification.status }).toEqual({ versionId, status: 'valid' });
      const notAfterMs = verification.version?.notAfterMs;
      if (notAfterMs !== undefined) expect(notAfterMs).toBeGreaterThanOrEqual(stoppedAtMs + GRACE_MS);
      // 5. A retried or late finishSecret never lengthens the window an earlier attempt closed.
      const seenMs = this.notAfterSeenMs.get(versionId);
      if (seenMs !== undefined) expect({ versionId, notAfterMs }).toEqual({ versionId, notAfterMs: seenMs });
      if (notAfterMs !== undefined) this.notAfterSeenMs.set(versionId, notAfterMs);
    }
    // 3. A key that never became current is refused once a later rotation has run createSecret.
    for (const { token, createsBefore } of this.abandoned) {
      const key = this.keyOf(token);
      if (key === undefined || this.createSuccesses === createsBefore) continue;
      expect({ token, status: (await this.h.verify(key)).status }).not.toEqual({ token, status: 'valid' });
    }
    // 5. Retries and repeats never announce one event with two different bodies.
    const bodies = new Map<string, string>();
    for (const notification of this.h.published) {
      const body = JSON.stringify(notification);
      expect(bodies.get(notification.eventId) ?? body).toBe(body);
      bodies.set(notification.eventId, body);
    }
  }

  /** What keyroll owns; AWSPENDING is left out, since the test run itself moves it off the current version. */
  private async snapshot() {
    const stages = Object.entries(stagesOf(this.h.model, this.arn)).map(([versionId, labels]) => [versionId, labels.filter((l) => l !== 'AWSPENDING')]);
    return { versions: await this.h.versionsOf('acme'), stages, published: this.h.published.length };
  }
}

async function normalizedState(h: RotationHarness, arn: string, tokens: readonly string[]): Promise<NormalizedState> {
  const versions: NormalizedState['versions'] = {};
  for (const token of tokens) {
    let hash: string | undefined;
    try {
      hash = hashApiKey(h.keyOf(arn, token));
    } catch {
      hash = undefined;
    }
    const version = hash === undefined ? undefined : await h.table.findByHash(hash);
    versions[token] =
      version === undefined || version.revokedAtMs !== undefined
        ? 'refused'
        : version.notAfterMs !== undefined
          ? 'closed'
          : version.currentSinceMs !== undefined
            ? 'current'
            : 'pending';
  }
  const stages = Object.fromEntries(Object.entries(stagesOf(h.model, arn)).map(([versionId, labels]) => [versionId, [...labels].sort()]));
  const notifications = [...new Set(h.published.map((n) => `${n.type} ${n.versionId} after ${n.previousVersionId ?? '-'}`))].sort();
  return { stages, versions, notifications };
}

/** The same rotations, each step once, no faults: what the faulty run must end up equal to. */
async function cleanRun(rotations: readonly RotationRecord[]): Promise<NormalizedState> {
  const h = await newHarness();
  const arn = await h.newClient('acme');
  await h.rotate(arn, { token: 't0' });
  for (const rotation of rotations) {
    if (rotation.fate === 'completed') {
      await expect(h.rotate(arn, { token: rotation.token })).resolves.toMatchObject({ outcome: 'succeeded', errors: [] });
      continue;
    }
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: rotation.token });
    for (const step of STEPS) if (rotation.succeeded.has(step)) await h.invoke(step, arn, rotation.token);
    h.model.endRotation(arn, 'failed');
    h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: rotation.token });
  }
  return normalizedState(h, arn, ['t0', ...rotations.map((r) => r.token)]);
}

describe('Rotation under retries, repeats, abandonment and injected AWS failures (property)', () => {
  it('keeps invariants 1, 3 and 5 after every call and ends in the state of a clean run', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operationArb, { minLength: 5, maxLength: 40, size: 'max' }), async (operations) => {
        const run = await FaultyRun.start();
        for (const operation of operations) await run.apply(operation);
        await run.settle();
        const tokens = ['t0', ...run.rotations.map((r) => r.token)];
        const faulty = await normalizedState(run.h, run.arn, tokens);
        expect(Object.values(faulty.versions).filter((fate) => fate === 'current')).toHaveLength(1);
        expect(Object.values(faulty.versions)).not.toContain('pending');
        expect(faulty).toEqual(await cleanRun(run.rotations));
      }),
      { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 25) },
    );
  }, 240_000);
});
