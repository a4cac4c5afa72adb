import { SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { generateApiKey, hashApiKey } from '../../lambda/domain/api-key';
import { notificationEventId } from '../../lambda/domain/notifications';
import type { RotationStep } from '../../lambda/domain/rotation';
import { useDynalite } from '../support/dynamodb';
import { rotateSecret } from '../../local/rotation-driver';
import { FaultInjector, InjectedFaultError } from '../../proof/faults';
import { HOUR_MS, stagesOf } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();

async function newHarness(options: { faults?: FaultInjector; gracePeriodSeconds?: number } = {}): Promise<RotationHarness> {
  secretsManager.reset();
  sns.reset();
  return new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable(), ...options });
}

const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

describe('Attack: a pending value keyroll did not generate', () => {
  it('is never registered: written into a client\'s secret between RotateSecret and createSecret, its key stays refused', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    // What someone who may write the secret (its resource policy removed) does: RotateSecret, then PutSecretValue first.
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'planted' });
    const planted = generateApiKey('kr');
    h.model.putSecretValue({ SecretId: arn, ClientRequestToken: 'planted', SecretString: JSON.stringify({ clientId: 'acme', apiKey: planted }), VersionStages: ['AWSPENDING'] });
    for (const step of STEPS) await h.invoke(step, arn, 'planted').catch(() => undefined);
    expect(await h.verify(planted)).toEqual({ status: 'not_found' });
    expect(h.versionWithStage(arn, 'AWSCURRENT')).toBe('v1');
    expect(h.operations).toContainEqual(expect.objectContaining({ type: 'rotation.refused', clientId: 'acme', versionId: 'planted' }));
  });
});

describe('Rotation over DynamoDB (dynalite), through the handler', () => {
  it('issues a new client\'s first key with its first rotation', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');

    await expect(h.rotate(arn, { token: 'v1' })).resolves.toMatchObject({ outcome: 'succeeded', errors: [] });

    const verification = await h.verify(h.currentKey(arn));
    expect(verification).toMatchObject({ status: 'valid', version: { clientId: 'acme', versionId: 'v1', currentSinceMs: h.clock.nowMs } });
    expect(h.published).toEqual([expect.objectContaining({ type: 'key.rotated', clientId: 'acme', versionId: 'v1' })]);
    expect(h.published[0]).not.toHaveProperty('previousVersionId');
    expect(stagesOf(h.model, arn)).toEqual({ 'acme-v0': ['AWSPREVIOUS'], v1: ['AWSCURRENT'] });
  });

  it('keeps the replaced key valid for exactly the grace period, with the new key valid throughout', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    const oldKey = h.currentKey(arn);
    h.clock.advance(24 * HOUR_MS);
    const rotatedAtMs = h.clock.nowMs;

    await h.rotate(arn, { token: 'v2' });
    const newKey = h.currentKey(arn);

    expect(newKey).not.toBe(oldKey);
    expect((await h.verify(oldKey)).status).toBe('valid');
    h.clock.advance(HOUR_MS - 1);
    expect((await h.verify(oldKey)).status).toBe('valid');
    expect((await h.verify(newKey)).status).toBe('valid');
    h.clock.advance(1);
    expect((await h.verify(oldKey)).status).toBe('expired');
    expect((await h.verify(newKey)).status).toBe('valid');
    expect(h.published.at(-1)).toEqual({
      version: 1,
      type: 'key.rotated',
      clientId: 'acme',
      versionId: 'v2',
      previousVersionId: 'v1',
      expiresAt: new Date(rotatedAtMs + HOUR_MS).toISOString(),
      eventId: notificationEventId('key.rotated', 'acme', 'v2'),
      at: new Date(rotatedAtMs).toISOString(),
    });
  });

  it('ends every step in the state of running it once, however often and however late it runs again', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v2' });

    for (const step of STEPS) {
      await h.invoke(step, arn, 'v2');
      const afterOnce = { versions: await h.versionsOf('acme'), stages: stagesOf(h.model, arn), pendingKey: h.keyOf(arn, 'v2'), published: h.published.length };
      for (let repeat = 0; repeat < 3; repeat++) {
        h.clock.advance(10 * 60_000);
        await h.invoke(step, arn, 'v2');
      }
      const afterMany = { versions: await h.versionsOf('acme'), stages: stagesOf(h.model, arn), pendingKey: h.keyOf(arn, 'v2'), published: h.published.length };
      expect(afterMany).toEqual(afterOnce);
    }
    expect(h.published.filter((n) => n.versionId === 'v2')).toHaveLength(1);
  });

  it('completes the old window and the notification when finishSecret was cut off after moving AWSCURRENT', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    const oldKey = h.currentKey(arn);
    let responseLost = false;
    secretsManager.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      const response = h.model.updateSecretVersionStage(input);
      if (responseLost) return response;
      responseLost = true;
      throw new InjectedFaultError('the response to UpdateSecretVersionStage was lost');
    });

    const run = await h.rotate(arn, { token: 'v2' });

    expect(run).toMatchObject({ outcome: 'succeeded', errors: [expect.any(InjectedFaultError)] });
    expect(h.versionWithStage(arn, 'AWSCURRENT')).toBe('v2');
    expect(await h.verify(oldKey)).toMatchObject({ status: 'valid', version: { notAfterMs: h.clock.nowMs + HOUR_MS } });
    expect(h.published.filter((n) => n.versionId === 'v2')).toEqual([expect.objectContaining({ previousVersionId: 'v1' })]);
  });

  it('refuses the key of an abandoned rotation once the next rotation starts', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    const currentKey = h.currentKey(arn);
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'v2' });
    await h.invoke('createSecret', arn, 'v2');
    await h.invoke('setSecret', arn, 'v2');
    const abandonedKey = h.keyOf(arn, 'v2');
    expect((await h.verify(abandonedKey)).status).toBe('valid');
    // The rotation fails for good; the operator clears AWSPENDING, as the runbook says, and rotates again.
    h.model.endRotation(arn, 'failed');
    h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'v2' });
    h.clock.advance(60_000);

    await expect(h.rotate(arn, { token: 'v3' })).resolves.toMatchObject({ outcome: 'succeeded' });

    expect(await h.verify(abandonedKey)).toMatchObject({ status: 'revoked', version: { revokedReason: 'rotation-abandoned' } });
    expect((await h.verify(currentKey)).status).toBe('valid');
    expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
    expect(h.published.map((n) => n.versionId)).toEqual(['v1', 'v3']);
  });

  it('changes nothing when RotateImmediately=false runs testSecret alone', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    const before = { versions: await h.versionsOf('acme'), stages: stagesOf(h.model, arn), published: h.published.length };

    await expect(h.rotate(arn, { token: 'test-only', rotateImmediately: false })).resolves.toMatchObject({ outcome: 'succeeded' });

    expect({ versions: await h.versionsOf('acme'), stages: stagesOf(h.model, arn), published: h.published.length }).toEqual(before);
  });

  it('leaves a revoked key revoked when the rotation that replaces it finishes', async () => {
    const h = await newHarness();
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    const leakedKey = h.currentKey(arn);
    await h.table.revoke(hashApiKey(leakedKey), h.clock.nowMs, 'compromised');

    await h.rotate(arn, { token: 'v2' });

    expect(await h.verify(leakedKey)).toMatchObject({ status: 'revoked', version: { notAfterMs: undefined } });
    expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
  });

  it('keeps every replaced key valid for its own grace period when rotations come faster than the grace period', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 'v1' });
    const k1 = h.currentKey(arn);
    const t1 = h.clock.nowMs;
    await h.rotate(arn, { token: 'v2' });
    const k2 = h.currentKey(arn);
    h.clock.advance(10 * 60_000);
    const t2 = h.clock.nowMs;
    await h.rotate(arn, { token: 'v3' });

    // Secrets Manager has forgotten v1 (AWSPREVIOUS is now v2); the key table has not.
    expect(stagesOf(h.model, arn)).not.toHaveProperty('v1');
    expect((await h.verify(k1)).status).toBe('valid');
    h.clock.nowMs = t1 + HOUR_MS - 1;
    expect((await h.verify(k1)).status).toBe('valid');
    h.clock.nowMs = t1 + HOUR_MS;
    expect((await h.verify(k1)).status).toBe('expired');
    expect((await h.verify(k2)).status).toBe('valid');
    h.clock.nowMs = t2 + HOUR_MS;
    expect((await h.verify(k2)).status).toBe('expired');
    expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
  });

  describe('a single failed AWS call anywhere in a rotation', () => {
    async function rotatedOnce(faults: FaultInjector) {
      const h = await newHarness({ faults });
      const arn = await h.newClient('acme');
      await h.rotate(arn, { token: 'v1' });
      return { h, arn, oldKey: h.currentKey(arn) };
    }

    it('leaves both keys working at the moment of failure, and the retried rotation completes once', async () => {
      const counting = new FaultInjector();
      const clean = await rotatedOnce(counting);
      counting.schedule([]);
      await clean.h.rotate(clean.arn, { token: 'v2' });
      const counts = counting.callCounts();
      expect(counts).toEqual({ secretsmanager: expect.any(Number), dynamodb: expect.any(Number), sns: 1 });

      let cases = 0;
      let firedCases = 0;
      for (const service of ['secretsmanager', 'dynamodb', 'sns'] as const) {
        for (let callIndex = 0; callIndex < counts[service]; callIndex++) {
          for (const timing of ['before', 'after'] as const) {
            const faults = new FaultInjector();
            const { h, arn, oldKey } = await rotatedOnce(faults);
            faults.schedule([{ service, callIndex, timing }]);
            const atFailure: string[] = [];

            const run = await rotateSecret(h.model, { SecretId: arn, ClientRequestToken: 'v2' }, async (event) => {
              try {
                await h.handler(event);
              } catch (error) {
                atFailure.push((await h.verify(h.currentKey(arn))).status, (await h.verify(oldKey)).status);
                throw error;
              }
            });

            // A call that fails by itself (reading the placeholder version) has no response to lose.
            const failures = faults.fired.length;
            const label = `${timing} ${service} call ${callIndex}`;
            expect({ label, outcome: run.outcome, failures: run.errors.length, atFailure }).toEqual({
              label,
              outcome: 'succeeded',
              failures,
              atFailure: failures === 1 ? ['valid', 'valid'] : [],
            });
            firedCases += failures;
            expect({ label, old: (await h.verify(oldKey)).status, current: h.versionWithStage(arn, 'AWSCURRENT') }).toEqual({
              label,
              old: 'valid',
              current: 'v2',
            });
            expect({ label, events: new Set(h.published.map((n) => n.eventId)).size }).toEqual({ label, events: 2 });
            cases++;
          }
        }
      }
      expect(cases).toBe(2 * (counts.secretsmanager + counts.dynamodb + counts.sns));
      expect(firedCases).toBeGreaterThan(cases * 0.9);
    }, 120_000);
  });
});

describe('Rotations that Secrets Manager gave up on after AWSCURRENT moved (found by the soak)', () => {
  /** A rotation whose finishSecret moved AWSCURRENT and was cut off before anything else; then Secrets Manager gives up. */
  async function cutOffAfterTheMove(h: RotationHarness, arn: string, token: string): Promise<void> {
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: token });
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.invoke(step, arn, token);
    const previous = h.versionWithStage(arn, 'AWSCURRENT');
    h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: previous });
    h.model.endRotation(arn, 'failed');
  }

  it('never revokes a key that was current as if its rotation had been abandoned; the monitor gives it its grace period', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 't0' });
    await cutOffAfterTheMove(h, arn, 't1');
    const wasCurrent = h.currentKey(arn);
    h.clock.advance(60_000);
    const replacedAtMs = h.clock.nowMs;
    await cutOffAfterTheMove(h, arn, 't2');
    h.clock.advance(60_000);
    await cutOffAfterTheMove(h, arn, 't3');
    // t1 is unlabelled now, never marked current and never closed: the next createSecret must not take it for an orphan.
    expect(stagesOf(h.model, arn)).not.toHaveProperty('t1');
    await expect(h.rotate(arn, { token: 't4' })).resolves.toMatchObject({ outcome: 'succeeded', errors: [] });
    expect(await h.verify(wasCurrent)).toMatchObject({ status: 'valid' });

    await h.runMonitor();
    const { version } = await h.verify(wasCurrent);
    expect(version?.revokedAtMs).toBeUndefined();
    expect(version?.notAfterMs).toBeGreaterThanOrEqual(replacedAtMs + HOUR_MS);
    h.clock.advance(2 * HOUR_MS);
    expect(await h.verify(wasCurrent)).toMatchObject({ status: 'expired' });
  });

  it('completes a finishSecret cut off after it marked the new key current: the next rotation closes the old key\'s window and sends the missed key.rotated (found by the soak in CI)', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 't0' });
    const t0Key = h.currentKey(arn);
    // t1's finishSecret moved AWSCURRENT and marked t1 current, then was cut off before closing t0 and publishing.
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 't1' });
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.invoke(step, arn, 't1');
    h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 't1', RemoveFromVersionId: 't0' });
    const cutOffAtMs = h.clock.nowMs;
    await h.table.markCurrent(hashApiKey(h.keyOf(arn, 't1')), cutOffAtMs);
    h.clock.advance(60_000);

    await expect(h.rotate(arn, { token: 't2' })).resolves.toMatchObject({ outcome: 'succeeded', errors: [] });
    const t0 = (await h.verify(t0Key)).version;
    expect(t0?.notAfterMs).toBeLessThanOrEqual(cutOffAtMs + 60_000 + HOUR_MS);
    expect(h.published.filter((n) => n.type === 'key.rotated').map((n) => n.versionId)).toEqual(['t0', 't1', 't2']);
    // A completed finish is not redone: t2's window for t1 and t1's for t0 stand as they were.
    const before = await h.versionsOf('acme');
    await h.rotate(arn, { token: 't3' });
    const after = await h.versionsOf('acme');
    expect({ t0: after['t0']?.notAfterMs, t1: after['t1']?.currentSinceMs }).toEqual({ t0: before['t0']?.notAfterMs, t1: before['t1']?.currentSinceMs });
  });

  it('sends the missed key.rotated of a finishSecret cut off after it closed the old key\'s window and before it published (found by the soak in CI)', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 't0' });
    const t0Key = h.currentKey(arn);
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 't1' });
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.invoke(step, arn, 't1');
    h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 't1', RemoveFromVersionId: 't0' });
    const cutOffAtMs = h.clock.nowMs;
    await h.table.markCurrent(hashApiKey(h.keyOf(arn, 't1')), cutOffAtMs);
    await h.table.closeWindow(hashApiKey(t0Key), cutOffAtMs + HOUR_MS);
    h.clock.advance(60_000);

    await expect(h.rotate(arn, { token: 't2' })).resolves.toMatchObject({ outcome: 'succeeded', errors: [] });
    const rotated = h.published.filter((n) => n.type === 'key.rotated');
    expect(rotated.map((n) => n.versionId)).toEqual(['t0', 't1', 't2']);
    // It tells the client the window the cut-off step set, which this rotation left as it was.
    expect(rotated[1]).toMatchObject({ previousVersionId: 't0', expiresAt: new Date(cutOffAtMs + HOUR_MS).toISOString() });
    expect((await h.verify(t0Key)).version?.notAfterMs).toBe(cutOffAtMs + HOUR_MS);
    // Sent once: later rotations do not send it again.
    await h.rotate(arn, { token: 't3' });
    expect(h.published.filter((n) => n.type === 'key.rotated' && n.versionId === 't1')).toHaveLength(1);
  });

  it('answers a retried step of such a rotation, replaced since, as superseded: no failure, no change (found by the README\'s npm start test)', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const arn = await h.newClient('acme');
    await h.rotate(arn, { token: 't0' });
    // t1's finishSecret moved AWSCURRENT and was cut off, AWSPENDING still on it; RotateSecret may start t2 then.
    h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 't1' });
    for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.invoke(step, arn, 't1');
    h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 't1', RemoveFromVersionId: 't0' });
    await expect(h.rotate(arn, { token: 't2' })).resolves.toMatchObject({ outcome: 'succeeded', errors: [] });
    const before = { versions: await h.versionsOf('acme'), stages: stagesOf(h.model, arn), published: h.published.length };
    expect(before.stages['t1']).toEqual(['AWSPREVIOUS']);

    // Secrets Manager's retry of t1, from createSecret: every step succeeds doing nothing, and operations hear nothing.
    const operationsBefore = h.operations.length;
    for (const step of STEPS) await expect(h.invoke(step, arn, 't1')).resolves.toBeUndefined();
    expect({ versions: await h.versionsOf('acme'), stages: stagesOf(h.model, arn), published: h.published.length }).toEqual(before);
    expect(h.operations.slice(operationsBefore)).toEqual([]);

    // Once a third rotation leaves t1 with no label at all, the same.
    await h.rotate(arn, { token: 't3' });
    expect(stagesOf(h.model, arn)).not.toHaveProperty('t1');
    for (const step of STEPS) await expect(h.invoke(step, arn, 't1')).resolves.toBeUndefined();
    // A version that was never current is still refused.
    await expect(h.invoke('createSecret', arn, 'never-made')).rejects.toThrow('has no staging label');
  });
});
