import { DescribeSecretCommand, ListSecretVersionIdsCommand, SecretsManagerClient, type ListSecretVersionIdsRequest } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { MonitorSettings } from '../../lambda/domain/monitor';
import { notificationEventId } from '../../lambda/domain/notifications';
import { MonitorRunError } from '../../lambda/domain/errors';
import { useDynalite } from '../support/dynamodb';
import { HOUR_MS } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();
const MINUTE = 60_000;
const DAY_MS = 24 * HOUR_MS;
const iso = (ms: number) => new Date(ms).toISOString();

async function newHarness(options: { gracePeriodSeconds?: number; monitorSettings?: Partial<MonitorSettings> } = {}): Promise<RotationHarness> {
  secretsManager.reset();
  sns.reset();
  return new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable(), ...options });
}

/** A client with its first key (v1), then rotated to v2; returns when v2 became current. */
async function rotatedClient(h: RotationHarness, clientId: string, tags?: Record<string, string>): Promise<{ arn: string; rotatedAtMs: number }> {
  const arn = await h.newClient(clientId, tags);
  await h.rotate(arn, { token: `${clientId}-v1` });
  h.clock.advance(DAY_MS);
  const rotatedAtMs = h.clock.nowMs;
  await h.rotate(arn, { token: `${clientId}-v2` });
  return { arn, rotatedAtMs };
}

/** Notifications since the last call, as (type, versionId, expiresAt). */
function drain(list: { type: string; versionId: string; expiresAt?: string }[]) {
  return list.splice(0).map(({ type, versionId, expiresAt }) => ({ type, versionId, ...(expiresAt === undefined ? {} : { expiresAt }) }));
}

describe('The monitor over DynamoDB (dynalite) and the Secrets Manager model, with time set by the test', () => {
  describe('reminders', () => {
    it('reminds a client still using a replaced key at 24 h and at 1 h before its end, each once', async () => {
      const h = await newHarness({ gracePeriodSeconds: 7 * 24 * 3600 });
      const { rotatedAtMs } = await rotatedClient(h, 'acme');
      const endMs = rotatedAtMs + 7 * DAY_MS;
      drain(h.published);
      await h.traffic([{ atMs: rotatedAtMs + 2 * HOUR_MS, clientId: 'acme', keyVersion: 'acme-v1' }]);

      h.clock.nowMs = endMs - DAY_MS - MINUTE;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([]);

      h.clock.nowMs = endMs - DAY_MS;
      // Still used within the last 24 hours.
      await h.traffic([{ atMs: h.clock.nowMs - HOUR_MS, clientId: 'acme', keyVersion: 'acme-v1' }]);
      await h.runMonitor();
      await h.runMonitor();
      expect(h.published).toEqual([
        expect.objectContaining({ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(endMs), at: iso(endMs - DAY_MS), eventId: notificationEventId('key.expiring', 'acme', 'acme-v1', `lead-${DAY_MS}-to-${endMs}`) }),
      ]);
      drain(h.published);

      h.clock.nowMs = endMs - HOUR_MS + 5 * MINUTE;
      await h.traffic([{ atMs: endMs - 2 * HOUR_MS, clientId: 'acme', keyVersion: 'acme-v1' }]);
      await h.runMonitor();
      expect(drain(h.published)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(endMs) }]);
      await h.runMonitor();
      expect(drain(h.published)).toEqual([]);
    });

    it('sends only the reminder due now when the monitor comes late', async () => {
      const h = await newHarness({ gracePeriodSeconds: 7 * 24 * 3600 });
      const { rotatedAtMs } = await rotatedClient(h, 'acme');
      const endMs = rotatedAtMs + 7 * DAY_MS;
      drain(h.published);
      h.clock.nowMs = endMs - 30 * MINUTE;
      await h.traffic([{ atMs: h.clock.nowMs - MINUTE, clientId: 'acme', keyVersion: 'acme-v1' }]);
      await h.runMonitor();
      expect(drain(h.published)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(endMs) }]);
      expect(h.published).toEqual([]);
    });

    it('does not remind a client that switched: no use after the switch-over, or none in the last 24 hours', async () => {
      const h = await newHarness({ gracePeriodSeconds: 7 * 24 * 3600 });
      const { rotatedAtMs } = await rotatedClient(h, 'acme');
      const endMs = rotatedAtMs + 7 * DAY_MS;
      drain(h.published);
      await h.traffic([
        { atMs: rotatedAtMs - HOUR_MS, clientId: 'acme', keyVersion: 'acme-v1' },
        { atMs: rotatedAtMs + 10 * MINUTE, clientId: 'acme', keyVersion: 'acme-v1' },
        { atMs: rotatedAtMs + 3 * DAY_MS, clientId: 'acme', keyVersion: 'acme-v1' },
        { atMs: endMs - 2 * HOUR_MS, clientId: 'acme', keyVersion: 'acme-v2' },
      ]);
      for (const atMs of [endMs - DAY_MS, endMs - HOUR_MS]) {
        h.clock.nowMs = atMs;
        await h.runMonitor();
      }
      expect(h.published).toEqual([]);
    });

    it('draws the lines exactly: 15 minutes after the switch, and 24 hours before now, to the millisecond', async () => {
      const h = await newHarness({ gracePeriodSeconds: 24 * 3600 });
      const { rotatedAtMs } = await rotatedClient(h, 'acme');
      drain(h.published);
      // The 24 h reminder is due at once; the first request counted is in the same hour as the switch-over.
      await h.traffic([{ atMs: rotatedAtMs + 15 * MINUTE, clientId: 'acme', keyVersion: 'acme-v1' }]);
      h.clock.nowMs = rotatedAtMs + 30 * MINUTE;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([]);
      await h.traffic([{ atMs: rotatedAtMs + 15 * MINUTE + 1, clientId: 'acme', keyVersion: 'acme-v1' }]);
      await h.runMonitor();
      expect(drain(h.published)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + DAY_MS) }]);

      const later = await newHarness({ gracePeriodSeconds: 7 * 24 * 3600 });
      const second = await rotatedClient(later, 'acme');
      const endMs = second.rotatedAtMs + 7 * DAY_MS;
      drain(later.published);
      // Monitor at hh:30; the last use at hh:20 the day before is in the same hour bucket, but too old.
      later.clock.nowMs = endMs - DAY_MS + 30 * MINUTE;
      await later.traffic([{ atMs: later.clock.nowMs - DAY_MS - 10 * MINUTE, clientId: 'acme', keyVersion: 'acme-v1' }]);
      await later.runMonitor();
      expect(later.published).toEqual([]);
    });

    it('reminds a client whose current key reaches its maximum age with no rotation to replace it', async () => {
      const h = await newHarness();
      const arn = await h.newClient('acme', { 'keyroll:maxKeyAgeDays': '30' });
      await h.rotate(arn, { token: 'acme-v1' });
      const endMs = h.clock.nowMs + 30 * DAY_MS;
      drain(h.published);
      h.clock.nowMs = endMs - DAY_MS;
      await h.runMonitor();
      h.clock.nowMs = endMs;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([
        { type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(endMs) },
        { type: 'key.expired', versionId: 'acme-v1', expiresAt: iso(endMs) },
      ]);
      expect((await h.verify(h.currentKey(arn))).status).toBe('expired');
    });
  });

  describe('expiry', () => {
    it('marks a replaced key expired when its window has ended and tells the client once, used or not', async () => {
      const h = await newHarness({ gracePeriodSeconds: 3600 });
      const { rotatedAtMs } = await rotatedClient(h, 'acme');
      drain(h.published);
      h.clock.nowMs = rotatedAtMs + HOUR_MS - 1;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([]);
      h.clock.nowMs = rotatedAtMs + HOUR_MS + 10 * MINUTE;
      const report = await h.runMonitor();
      await h.runMonitor();
      expect(report).toMatchObject({ clients: 1, markedExpired: 1, published: { 'key.expired': 1 }, failures: [] });
      expect(h.published).toEqual([
        expect.objectContaining({ type: 'key.expired', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + HOUR_MS), eventId: notificationEventId('key.expired', 'acme', 'acme-v1') }),
      ]);
      expect((await h.versionsOf('acme'))['acme-v1']).toMatchObject({ expiredAtMs: rotatedAtMs + HOUR_MS });
    });

    it('does not announce windows that ended more than a week before the monitor first saw them', async () => {
      const h = await newHarness({ gracePeriodSeconds: 3600 });
      const { rotatedAtMs } = await rotatedClient(h, 'acme');
      drain(h.published);
      h.clock.nowMs = rotatedAtMs + HOUR_MS + 8 * DAY_MS;
      await h.runMonitor();
      expect(h.published).toEqual([]);
    });
  });

  describe('reconciliation', () => {
    it('closes the window of a key that lost AWSCURRENT without one, and announces the rotation once', async () => {
      const h = await newHarness({ gracePeriodSeconds: 3600 });
      const { arn } = await rotatedClient(h, 'acme');
      h.clock.advance(DAY_MS);
      await h.runMonitor();
      expect(drain(h.published).at(-1)).toMatchObject({ type: 'key.expired', versionId: 'acme-v1' });
      // A rotation cut off right after finishSecret moved the label: no window closed, nothing announced.
      h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'acme-v3' });
      for (const step of ['createSecret', 'setSecret', 'testSecret'] as const) await h.invoke(step, arn, 'acme-v3');
      h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'acme-v3', RemoveFromVersionId: 'acme-v2' });
      h.model.endRotation(arn, 'failed');
      drain(h.published);
      const v2Key = h.keyOf(arn, 'acme-v2');

      h.clock.advance(5 * MINUTE);
      const reconciledAtMs = h.clock.nowMs;
      const report = await h.runMonitor();
      await h.runMonitor();

      expect(report).toMatchObject({ windowsClosed: 1, published: { 'key.rotated': 1 } });
      expect(drain(h.published)).toEqual([{ type: 'key.rotated', versionId: 'acme-v3', expiresAt: iso(reconciledAtMs + HOUR_MS) }]);
      const versions = await h.versionsOf('acme');
      expect(versions['acme-v2']).toMatchObject({ notAfterMs: reconciledAtMs + HOUR_MS });
      expect(versions['acme-v3']).toMatchObject({ currentSinceMs: reconciledAtMs });
      expect(versions['acme-v3']?.notAfterMs).toBeUndefined();
      expect((await h.verify(v2Key)).status).toBe('valid');
      h.clock.nowMs = reconciledAtMs + HOUR_MS;
      expect((await h.verify(v2Key)).status).toBe('expired');
      expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
    });

    it('never closes the window of a newer key, even when the labels it reads are older than the table', async () => {
      const h = await newHarness({ gracePeriodSeconds: 3600 });
      const { arn } = await rotatedClient(h, 'acme');
      drain(h.published);
      // Labels as an eventually consistent read may still show them: the replaced key as AWSCURRENT.
      h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: 'acme-v1', RemoveFromVersionId: 'acme-v2' });
      const report = await h.runMonitor();
      expect(report).toMatchObject({ clientsDeferred: 1, windowsClosed: 0 });
      expect((await h.versionsOf('acme'))['acme-v2']?.notAfterMs).toBeUndefined();
      expect(h.published).toEqual([]);
    });

    it('tells operators once when AWSPENDING has sat on a version longer than the threshold', async () => {
      const h = await newHarness();
      const arn = await h.newClient('acme');
      await h.rotate(arn, { token: 'acme-v1' });
      h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'acme-v2' });
      await h.invoke('createSecret', arn, 'acme-v2');
      h.model.endRotation(arn, 'failed');
      const startedAtMs = h.clock.nowMs;

      h.clock.nowMs = startedAtMs + HOUR_MS - MINUTE;
      await h.runMonitor();
      expect(h.operations).toEqual([]);
      h.clock.nowMs = startedAtMs + HOUR_MS;
      await h.runMonitor();
      h.clock.advance(15 * MINUTE);
      await h.runMonitor();
      expect(h.operations).toEqual([
        expect.objectContaining({ type: 'rotation.stuck', clientId: 'acme', versionId: 'acme-v2', eventId: notificationEventId('rotation.stuck', 'acme', 'acme-v2') }),
      ]);
    });

    it('still reports a stuck rotation whose pending version Secrets Manager does not list, counting from when keyroll first saw it', async () => {
      const h = await newHarness();
      const arn = await h.newClient('acme');
      await h.rotate(arn, { token: 'acme-v1' });
      // A rotation cut off before createSecret: AWSPENDING on a version with no value, which listings may omit.
      h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'acme-v2' });
      h.model.endRotation(arn, 'failed');
      secretsManager.on(ListSecretVersionIdsCommand).callsFake((input: ListSecretVersionIdsRequest) => {
        const listed = h.model.listSecretVersionIds(input);
        return { ...listed, Versions: (listed.Versions ?? []).filter((version) => version.VersionId !== 'acme-v2') };
      });
      const firstSeenMs = h.clock.nowMs;
      await h.runMonitor();
      h.clock.nowMs = firstSeenMs + HOUR_MS - MINUTE;
      await h.runMonitor();
      expect(h.operations).toEqual([]);
      h.clock.nowMs = firstSeenMs + HOUR_MS;
      await h.runMonitor();
      expect(h.operations).toEqual([expect.objectContaining({ type: 'rotation.stuck', clientId: 'acme', versionId: 'acme-v2' })]);
    });

    it('checks only its own install\'s secrets: another install\'s secrets in the account are not listed, so never denied', async () => {
      const h = await newHarness();
      const { arn } = await rotatedClient(h, 'acme');
      const other = h.model.createSecret({ Name: 'keyroll/OtherStack/ApiKeys/acme', SecretString: '{"clientId":"acme"}', Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }] });
      // What IAM answers when this install's monitor touches the other install's secret.
      secretsManager.on(DescribeSecretCommand, { SecretId: other.ARN }).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
      const report = await h.runMonitor();
      expect(report).toMatchObject({ clients: 1, failures: [] });
      expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
    });

    it('revokes the key of an abandoned rotation once it is older than the threshold', async () => {
      const h = await newHarness();
      const arn = await h.newClient('acme');
      await h.rotate(arn, { token: 'acme-v1' });
      h.model.rotateSecret({ SecretId: arn, ClientRequestToken: 'acme-v2' });
      await h.invoke('createSecret', arn, 'acme-v2');
      await h.invoke('setSecret', arn, 'acme-v2');
      const abandonedKey = h.keyOf(arn, 'acme-v2');
      // The runbook's recovery: the operator removes AWSPENDING from the stuck version.
      h.model.endRotation(arn, 'failed');
      h.model.updateSecretVersionStage({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'acme-v2' });
      expect((await h.verify(abandonedKey)).status).toBe('valid');

      h.clock.advance(30 * MINUTE);
      await h.runMonitor();
      expect((await h.verify(abandonedKey)).status).toBe('valid');
      h.clock.advance(30 * MINUTE);
      const report = await h.runMonitor();
      expect(report.revokedAbandoned).toBe(1);
      expect((await h.verify(abandonedKey)).status).toBe('revoked');
      expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
    });
  });

  describe('usage-aware retirement', () => {
    const tags = { 'keyroll:gracePeriodSeconds': String(24 * 3600), 'keyroll:extendWhileInUseHours': '24', 'keyroll:maxGraceHours': '72' };

    it('extends the window of a key still in use, step by step, never past the maximum, telling the client each time', async () => {
      const h = await newHarness();
      const { arn, rotatedAtMs } = await rotatedClient(h, 'acme', tags);
      const oldKey = h.keyOf(arn, 'acme-v1');
      drain(h.published);
      const monitorAt = async (offsetMs: number) => {
        h.clock.nowMs = rotatedAtMs + offsetMs;
        await h.traffic([{ atMs: h.clock.nowMs - 10 * MINUTE, clientId: 'acme', keyVersion: 'acme-v1' }]);
        await h.runMonitor();
        return drain(h.published);
      };

      // Within 24 hours of its end from the start: the ordinary reminder, as for any client.
      expect(await monitorAt(11 * HOUR_MS)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + 24 * HOUR_MS) }]);
      expect(await monitorAt(12 * HOUR_MS)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + 48 * HOUR_MS) }]);
      h.clock.nowMs = rotatedAtMs + 47 * HOUR_MS;
      expect((await h.verify(oldKey)).status).toBe('valid');
      expect(await monitorAt(36 * HOUR_MS)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + 72 * HOUR_MS) }]);
      // The maximum grace is reached: no more extension, the ordinary reminders take over.
      expect(await monitorAt(60 * HOUR_MS)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + 72 * HOUR_MS) }]);
      expect(await monitorAt(71 * HOUR_MS)).toEqual([{ type: 'key.expiring', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + 72 * HOUR_MS) }]);
      expect(await monitorAt(72 * HOUR_MS)).toEqual([{ type: 'key.expired', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + 72 * HOUR_MS) }]);
      expect((await h.verify(oldKey)).status).toBe('expired');
    });

    it('lets the window end on time once the key is no longer used, and never extends for a client that did not opt in', async () => {
      const h = await newHarness();
      const quiet = await rotatedClient(h, 'acme', tags);
      const busy = await rotatedClient(h, 'globex', { 'keyroll:gracePeriodSeconds': String(24 * 3600) });
      drain(h.published);
      h.clock.nowMs = busy.rotatedAtMs + 23 * HOUR_MS;
      await h.traffic([
        { atMs: quiet.rotatedAtMs + 2 * HOUR_MS, clientId: 'acme', keyVersion: 'acme-v1' },
        { atMs: h.clock.nowMs - MINUTE, clientId: 'globex', keyVersion: 'globex-v1' },
      ]);
      await h.runMonitor();
      expect((await h.versionsOf('acme'))['acme-v1']?.notAfterMs).toBe(quiet.rotatedAtMs + 24 * HOUR_MS);
      expect((await h.versionsOf('globex'))['globex-v1']?.notAfterMs).toBe(busy.rotatedAtMs + 24 * HOUR_MS);
    });

    it('closes a replaced key early once the client has used only its new key for the quiet time, and tells it', async () => {
      const h = await newHarness();
      const { arn, rotatedAtMs } = await rotatedClient(h, 'acme', { 'keyroll:gracePeriodSeconds': String(24 * 3600), 'keyroll:closeWhenSwitchedHours': '2' });
      const oldKey = h.keyOf(arn, 'acme-v1');
      drain(h.published);
      await h.traffic([
        { atMs: rotatedAtMs + 10 * MINUTE, clientId: 'acme', keyVersion: 'acme-v1' },
        { atMs: rotatedAtMs + 30 * MINUTE, clientId: 'acme', keyVersion: 'acme-v2' },
      ]);
      // Two hours after the replacement, but the old key was used 1 h 50 min ago: not yet.
      h.clock.nowMs = rotatedAtMs + 2 * HOUR_MS;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([]);
      expect((await h.verify(oldKey)).status).toBe('valid');
      // Two hours without the old key, the new one in use: the old key ends now.
      h.clock.nowMs = rotatedAtMs + 10 * MINUTE + 2 * HOUR_MS + 1;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([{ type: 'key.expired', versionId: 'acme-v1', expiresAt: iso(h.clock.nowMs) }]);
      expect((await h.verify(oldKey)).status).toBe('expired');
      expect((await h.verify(h.currentKey(arn))).status).toBe('valid');
    });

    it('never closes early while the old key is in use, before the quiet time after the replacement, or before the new key was used', async () => {
      const h = await newHarness();
      const tags = { 'keyroll:gracePeriodSeconds': String(24 * 3600), 'keyroll:closeWhenSwitchedHours': '2' };
      const stillUsing = await rotatedClient(h, 'acme', tags);
      const neverSwitched = await rotatedClient(h, 'globex', tags);
      h.clock.nowMs = Math.max(stillUsing.rotatedAtMs, neverSwitched.rotatedAtMs) + 5 * HOUR_MS;
      await h.traffic([
        { atMs: h.clock.nowMs - 30 * MINUTE, clientId: 'acme', keyVersion: 'acme-v1' },
        { atMs: h.clock.nowMs - 30 * MINUTE, clientId: 'acme', keyVersion: 'acme-v2' },
      ]);
      await h.runMonitor();
      expect((await h.versionsOf('acme'))['acme-v1']?.notAfterMs).toBe(stillUsing.rotatedAtMs + 24 * HOUR_MS);
      expect((await h.versionsOf('globex'))['globex-v1']?.notAfterMs).toBe(neverSwitched.rotatedAtMs + 24 * HOUR_MS);
    });
  });

  describe('missed switches', () => {
    const oneHourGrace = { 'keyroll:gracePeriodSeconds': '3600' };
    const evidence = (list: { type: string; versionId: string; refused?: number; refusedSince?: string; lastRefusedAt?: string; expiresAt?: string }[]) =>
      list.splice(0).map(({ type, versionId, refused, refusedSince, lastRefusedAt, expiresAt }) => ({ type, versionId, refused, refusedSince, lastRefusedAt, expiresAt }));

    it('tells operators and the client once, with the evidence, when the client keeps sending its ended key', async () => {
      const h = await newHarness();
      const { arn, rotatedAtMs } = await rotatedClient(h, 'acme', oneHourGrace);
      const endMs = rotatedAtMs + HOUR_MS;
      drain(h.published);
      h.clock.nowMs = endMs + MINUTE;
      await h.runMonitor();
      expect(drain(h.published)).toEqual([{ type: 'key.expired', versionId: 'acme-v1', expiresAt: iso(endMs) }]);
      // Two refusals are not yet a burst.
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 2, sinceMs: endMs + 10_000, atMs: endMs + 10_000 }]);
      await h.runMonitor();
      expect([...h.published, ...h.operations]).toEqual([]);
      h.clock.nowMs = endMs + 3 * MINUTE;
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 40, sinceMs: endMs + 70_000, atMs: endMs + 2 * MINUTE }]);
      const report = await h.runMonitor();
      const seen = { refused: 42, refusedSince: iso(endMs + 10_000), lastRefusedAt: iso(endMs + 2 * MINUTE), expiresAt: undefined };
      expect(evidence(h.operations)).toEqual([{ type: 'rotation.missed', versionId: 'acme-v1', ...seen }]);
      expect(evidence(h.published)).toEqual([{ type: 'key.refused', versionId: 'acme-v1', ...seen }]);
      expect(report).toMatchObject({ windowsRescued: 0, published: { 'rotation.missed': 1, 'key.refused': 1 } });
      // The client did not opt into the rescue: the key stays ended. Later runs repeat nothing.
      expect((await h.verify(h.keyOf(arn, 'acme-v1'))).status).toBe('expired');
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 9, sinceMs: endMs + 3 * MINUTE, atMs: endMs + 4 * MINUTE }]);
      h.clock.nowMs = endMs + 5 * MINUTE;
      await h.runMonitor();
      expect([...h.published, ...h.operations]).toEqual([]);
    });

    it('accepts the ended key again once, for the opted-in time, then never again', async () => {
      const h = await newHarness();
      const { arn, rotatedAtMs } = await rotatedClient(h, 'acme', { ...oneHourGrace, 'keyroll:rescueMissedHours': '4' });
      const oldKey = h.keyOf(arn, 'acme-v1');
      const endMs = rotatedAtMs + HOUR_MS;
      h.clock.nowMs = endMs + 5 * MINUTE;
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 30, sinceMs: endMs + MINUTE, atMs: endMs + 4 * MINUTE }]);
      const rescueEndMs = h.clock.nowMs + 4 * HOUR_MS;
      expect(await h.runMonitor()).toMatchObject({ windowsRescued: 1 });
      expect(evidence(h.operations)).toEqual([
        { type: 'rotation.missed', versionId: 'acme-v1', refused: 30, refusedSince: iso(endMs + MINUTE), lastRefusedAt: iso(endMs + 4 * MINUTE), expiresAt: iso(rescueEndMs) },
      ]);
      expect(evidence(h.published).filter(({ type }) => type === 'key.refused')).toEqual([
        { type: 'key.refused', versionId: 'acme-v1', refused: 30, refusedSince: iso(endMs + MINUTE), lastRefusedAt: iso(endMs + 4 * MINUTE), expiresAt: iso(rescueEndMs) },
      ]);
      expect((await h.verify(oldKey)).status).toBe('valid');
      // A repeated run re-applies the same end, never a later one.
      h.clock.nowMs += 30 * MINUTE;
      await h.runMonitor();
      expect((await h.versionsOf('acme'))['acme-v1']?.notAfterMs).toBe(rescueEndMs);
      // The rescue ends; the client still has not switched: no second rescue, no second message.
      h.clock.nowMs = rescueEndMs + MINUTE;
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 50, sinceMs: rescueEndMs, atMs: rescueEndMs + 30_000 }]);
      drain(h.published);
      expect(await h.runMonitor()).toMatchObject({ windowsRescued: 0 });
      expect([...h.published.filter(({ type }) => type !== 'key.expiring'), ...h.operations]).toEqual([]);
      expect((await h.verify(oldKey)).status).toBe('expired');
    });

    it('withholds the rescue from a client that already uses its new key: whoever sends the old one may have found it', async () => {
      const h = await newHarness();
      const { arn, rotatedAtMs } = await rotatedClient(h, 'acme', { ...oneHourGrace, 'keyroll:rescueMissedHours': '24' });
      const oldKey = h.keyOf(arn, 'acme-v1');
      const endMs = rotatedAtMs + HOUR_MS;
      // The client switched: its new key is in use since the rotation.
      await h.traffic([{ clientId: 'acme', keyVersion: 'acme-v2', atMs: rotatedAtMs + 10 * MINUTE }]);
      h.clock.nowMs = endMs + 5 * MINUTE;
      // A thief holding the ended key sends it three times (or more).
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 3, sinceMs: endMs + MINUTE, atMs: endMs + 4 * MINUTE }]);
      expect(await h.runMonitor()).toMatchObject({ windowsRescued: 0 });
      expect((await h.verify(oldKey)).status).toBe('expired');
      expect(h.operations.map(({ type, rescueWithheld, expiresAt }) => ({ type, rescueWithheld, expiresAt }))).toEqual([{ type: 'rotation.missed', rescueWithheld: true, expiresAt: undefined }]);
      expect(h.published.filter(({ type }) => type === 'key.refused').map(({ rescueWithheld }) => rescueWithheld)).toEqual([true]);
    });

    it('never rescues a revoked key, however many refusals are reported', async () => {
      const h = await newHarness();
      const { arn, rotatedAtMs } = await rotatedClient(h, 'acme', { ...oneHourGrace, 'keyroll:rescueMissedHours': '24' });
      const oldKey = h.keyOf(arn, 'acme-v1');
      const endMs = rotatedAtMs + HOUR_MS;
      h.clock.nowMs = endMs + 5 * MINUTE;
      const { version } = await h.verify(oldKey);
      if (version === undefined) throw new Error('acme-v1 is not in the table');
      await h.table.revoke(version.keyHash, h.clock.nowMs, 'leaked');
      await h.endedKeyReports([{ clientId: 'acme', versionId: 'acme-v1', refused: 500, sinceMs: endMs + MINUTE, atMs: endMs + 4 * MINUTE }]);
      expect(await h.runMonitor()).toMatchObject({ windowsRescued: 0 });
      expect((await h.verify(oldKey)).status).toBe('revoked');
      expect(h.operations).toEqual([]);
    });
  });

  it('checks every other client when one cannot be checked, then fails the run naming it', async () => {
    const h = await newHarness({ gracePeriodSeconds: 3600 });
    const { rotatedAtMs } = await rotatedClient(h, 'acme');
    const broken = await h.newClient('globex', { 'keyroll:gracePeriodSeconds': 'a week' });
    drain(h.published);
    h.clock.nowMs = rotatedAtMs + 2 * HOUR_MS;
    await expect(h.runMonitor()).rejects.toThrow(MonitorRunError);
    await expect(h.runMonitor()).rejects.toThrow(broken);
    expect(drain(h.published)).toEqual([{ type: 'key.expired', versionId: 'acme-v1', expiresAt: iso(rotatedAtMs + HOUR_MS) }]);
  });
});
