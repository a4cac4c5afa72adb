import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { SecretsManagerKeySource } from '../../client/secrets-manager-key-source';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';

/**
 * Per-client usage plans in local mode, from the template's plans, keys and the authorizer's usageIdentifierKey:
 * the client's throttle and quota hold across a rotation (the new key draws on the same quota), a client in no
 * plan is refused, and each refusal has its error body.
 */
describe('Usage plans that survive rotation (local mode)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-plans-'));
  let keyroll: LocalKeyroll;
  let secrets: SecretsManagerClient;

  beforeAll(async () => {
    keyroll = await startLocalKeyroll(
      {
        clients: [{ clientId: 'acme', usagePlan: 'tiny' }, { clientId: 'globex' }],
        usagePlans: { tiny: { rateLimit: 2, burstLimit: 2, quota: { limit: 6, period: 'DAY' } } },
        gracePeriod: Duration.seconds(10),
        authorizerResultsCacheTtl: Duration.seconds(1),
        authorizerCacheTtl: Duration.seconds(1),
      },
      { logDirectory: path.join(work, 'logs') },
    );
    secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  }, 60_000);
  afterAll(async () => {
    secrets?.destroy();
    await keyroll?.stop();
  }, 30_000);

  const call = async (key: string) => {
    const response = await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } });
    const body = (await response.json()) as { error?: { code?: string } };
    return response.status === 200 ? 200 : `${response.status} ${body.error?.code ?? '?'}`;
  };
  const keyOf = async (clientId: string) => (await new SecretsManagerKeySource({ secretId: keyroll.secretArns.get(clientId) ?? '', client: secrets }).currentKey()).key;

  it('throttles a burst, counts the quota across a rotation, and refuses a client in no plan', async () => {
    const before = await keyOf('acme');
    // A burst of 3: the bucket holds 2.
    expect([await call(before), await call(before), await call(before)]).toEqual([200, 200, '429 rate_limited']);
    await sleep(1_100);
    expect(await call(before)).toBe(200);

    await keyroll.rotate('acme');
    let after = before;
    for (let attempt = 0; attempt < 50 && after === before; attempt++) {
      await sleep(100);
      after = await keyOf('acme');
    }
    expect(after).not.toBe(before);
    await sleep(1_100);
    // 3 of the day's 6 requests were made with the old key; the new key gets the rest, then the quota answer.
    expect([await call(after), await call(after)]).toEqual([200, 200]);
    await sleep(1_100);
    expect([await call(after), await call(after)]).toEqual([200, '429 quota_exceeded']);
    expect(await call(before)).toBe('429 quota_exceeded');

    expect(await call(await keyOf('globex'))).toBe('403 usage_plan_missing');
  }, 30_000);
});
