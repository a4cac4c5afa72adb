import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { LoggedRequest } from '../../local/access-logs';
import { useDynalite } from '../support/dynamodb';
import { HOUR_MS } from '../support/rotation-fixture';
import { RotationHarness } from '../support/rotation-harness';

const secretsManager = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const dynamo = useDynalite();
const MINUTE = 60_000;
const DAY_MS = 24 * HOUR_MS;
const iso = (ms: number) => new Date(ms).toISOString();

describe('A key\'s life as its clients see it: rotated, expiring, expired', () => {
  it('sends each client exactly its sequence of notifications, whatever the monitor runs in between', async () => {
    const h = new RotationHarness({ secretsManager, sns, dynamodbEndpoint: dynamo.endpoint(), tableName: await dynamo.newTable(), gracePeriodSeconds: 7 * 24 * 3600 });
    const acme = await h.newClient('acme');
    const globex = await h.newClient('globex');
    const startMs = h.clock.nowMs;
    await h.rotate(acme, { token: 'acme-v1' });
    await h.rotate(globex, { token: 'globex-v1' });

    const rotatedAtMs = startMs + DAY_MS;
    const endMs = rotatedAtMs + 7 * DAY_MS;
    // acme's integration keeps the old key until half an hour before its end; globex's SDK switches at once.
    const trafficAt = (atMs: number): LoggedRequest[] => [
      { atMs, clientId: 'acme', keyVersion: atMs < rotatedAtMs || atMs < endMs - 30 * MINUTE ? 'acme-v1' : 'acme-v2' },
      { atMs, clientId: 'globex', keyVersion: atMs < rotatedAtMs ? 'globex-v1' : 'globex-v2' },
      { atMs, status: 401 },
    ];
    let trafficUntilMs = startMs;
    /** Moves the clock, delivering the access logs of one request per client every 10 minutes on the way. */
    const advanceTo = async (ms: number) => {
      const requests: LoggedRequest[] = [];
      for (let at = trafficUntilMs + 10 * MINUTE; at <= ms; at += 10 * MINUTE) requests.push(...trafficAt(at));
      trafficUntilMs = Math.max(trafficUntilMs, ms);
      for (let i = 0; i < requests.length; i += 3000) await h.traffic(requests.slice(i, i + 3000));
      h.clock.nowMs = ms;
    };

    await advanceTo(rotatedAtMs);
    await h.rotate(acme, { token: 'acme-v2' });
    await h.rotate(globex, { token: 'globex-v2' });
    const oldAcmeKey = h.keyOf(acme, 'acme-v1');

    const monitorInstants = [
      rotatedAtMs + 15 * MINUTE,
      rotatedAtMs + DAY_MS,
      endMs - DAY_MS - 15 * MINUTE,
      endMs - DAY_MS,
      endMs - DAY_MS + 15 * MINUTE,
      endMs - HOUR_MS,
      endMs - 45 * MINUTE,
      endMs - MINUTE,
      endMs,
      endMs + 15 * MINUTE,
      endMs + DAY_MS,
    ];
    for (const atMs of monitorInstants) {
      await advanceTo(atMs);
      // Every run twice: a retried or overlapping run must not send anything again.
      await h.runMonitor();
      await h.runMonitor();
      expect((await h.verify(oldAcmeKey)).status).toBe(atMs < endMs ? 'valid' : 'expired');
    }

    const sequenceOf = (clientId: string) =>
      h.published.filter((n) => n.clientId === clientId).map(({ type, versionId, previousVersionId, expiresAt, at }) => ({ type, versionId, previousVersionId, expiresAt, at }));
    expect(sequenceOf('acme')).toEqual([
      { type: 'key.rotated', versionId: 'acme-v1', previousVersionId: undefined, expiresAt: undefined, at: iso(startMs) },
      { type: 'key.rotated', versionId: 'acme-v2', previousVersionId: 'acme-v1', expiresAt: iso(endMs), at: iso(rotatedAtMs) },
      { type: 'key.expiring', versionId: 'acme-v1', previousVersionId: undefined, expiresAt: iso(endMs), at: iso(endMs - DAY_MS) },
      { type: 'key.expiring', versionId: 'acme-v1', previousVersionId: undefined, expiresAt: iso(endMs), at: iso(endMs - HOUR_MS) },
      { type: 'key.expired', versionId: 'acme-v1', previousVersionId: undefined, expiresAt: iso(endMs), at: iso(endMs) },
    ]);
    expect(sequenceOf('globex')).toEqual([
      { type: 'key.rotated', versionId: 'globex-v1', previousVersionId: undefined, expiresAt: undefined, at: iso(startMs) },
      { type: 'key.rotated', versionId: 'globex-v2', previousVersionId: 'globex-v1', expiresAt: iso(endMs), at: iso(rotatedAtMs) },
      { type: 'key.expired', versionId: 'globex-v1', previousVersionId: undefined, expiresAt: iso(endMs), at: iso(endMs) },
    ]);
    expect(new Set(h.published.map((n) => n.eventId)).size).toBe(h.published.length);
    expect(h.operations).toEqual([]);
  }, 30_000);
});
