import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { localFunctionArn } from '../../local/install';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';
import { subscribeQueue } from '../support/local-notifications';

/**
 * The security review's way in, on the local machinery: someone allowed CreateSecret and RotateSecret (but not
 * keyroll's own roles) makes a secret under the install's prefix, tagged as an existing client with `write`,
 * and has keyroll's rotation function rotate it: no key is issued, and operations are told (the pending value
 * planted in a real client's secret is test/integration/rotation.test.ts's).
 */
describe('Only keyroll issues keys (local mode)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-rogue-'));
  let keyroll: LocalKeyroll;
  let secrets: SecretsManagerClient;
  let operations: Awaited<ReturnType<typeof subscribeQueue>>;

  beforeAll(async () => {
    keyroll = await startLocalKeyroll({ clients: [{ clientId: 'acme', scopes: ['read'] }], routeScopes: { 'POST /orders': 'write' } }, { logDirectory: path.join(work, 'logs') });
    secrets = new SecretsManagerClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: keyroll.endpoints.secretsManager });
    operations = await subscribeQueue(keyroll, keyroll.operationsTopicArn, 'rogue-operations');
  }, 60_000);
  afterAll(async () => {
    operations?.close();
    secrets?.destroy();
    await keyroll?.stop();
  }, 30_000);

  const call = (key: string, method = 'GET', route = '/hello') => fetch(`${keyroll.api.url}${route}`, { method, headers: { 'x-api-key': key } }).then((response) => response.status);
  const prefix = () => keyroll.install.secrets[0]?.name.replace(/acme$/, '') ?? '';
  const settled = async (secretId: string) => {
    for (let i = 0; i < 100; i++) {
      const { VersionIdsToStages = {} } = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
      const pendingAlone = Object.values(VersionIdsToStages).some((stages) => stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT'));
      if (!pendingAlone || keyroll.rotations.length > 0) await sleep(100);
      if (keyroll.rotations.some(({ run }) => run.outcome === 'failed')) return;
    }
  };
  const valueOf = async (secretId: string, stage: string) => {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage })).catch(() => ({ SecretString: undefined }));
    return SecretString === undefined ? undefined : (JSON.parse(SecretString) as { apiKey?: string }).apiKey;
  };

  it('refuses a secret it did not register, however it is tagged: no key is issued, operations are told', async () => {
    const { ARN = '' } = await secrets.send(
      new CreateSecretCommand({ Name: `${prefix()}rogue`, SecretString: JSON.stringify({ clientId: 'acme' }), Tags: [{ Key: 'keyroll:clientId', Value: 'acme' }, { Key: 'keyroll:scopes', Value: 'write' }] }),
    );
    await secrets.send(new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: localFunctionArn('rotation') }));
    await settled(ARN);
    const minted = (await valueOf(ARN, 'AWSPENDING')) ?? (await valueOf(ARN, 'AWSCURRENT'));
    expect(minted).toBeUndefined();
    let refused = (await operations.received()).filter((n) => n.type === 'rotation.refused');
    for (let i = 0; i < 30 && refused.length === 0; i++) {
      await sleep(100);
      refused = (await operations.received()).filter((n) => n.type === 'rotation.refused');
    }
    expect(refused[0]).toMatchObject({ type: 'rotation.refused', clientId: 'acme' });
    const rotationLog = readFileSync(path.join(work, 'logs', 'rotation.log'), 'utf8');
    expect(rotationLog).toContain('"RotationRefused"');
    expect(rotationLog).toContain('keyroll issues no key for it');
    expect(await call(minted ?? '')).toBe(401);
  });
});
