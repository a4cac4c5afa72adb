import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { SecretsManagerKeySource } from '../../client/secrets-manager-key-source';
import { LOCAL_CREDENTIALS, LOCAL_KEY_PREFIX, LOCAL_REGION, startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';
import { listeningAddresses } from '../support/listening';

/** What local mode exposes: nothing beyond this machine, and no key that could pass for a production key. */
describe('Local mode\'s boundaries', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-boundaries-'));
  let keyroll: LocalKeyroll;

  beforeAll(async () => {
    const { publicKey } = await generateDeliveryKeyPair();
    keyroll = await startLocalKeyroll({ clients: [{ clientId: 'acme', deliveryPublicKey: publicKey }], leakedKeyReports: {} }, { logDirectory: path.join(work, 'logs') });
  }, 60_000);
  afterAll(() => keyroll?.stop(), 30_000);

  it('listens on 127.0.0.1 only, every service and function URL alike', () => {
    const urls = [...Object.values(keyroll.endpoints), keyroll.api.url, keyroll.deliveryUrl ?? '', keyroll.leakReportUrl ?? ''];
    expect(urls.filter((url) => url !== '')).toHaveLength(8);
    for (const url of urls) {
      expect({ url, addresses: listeningAddresses(Number(new URL(url).port)) }).toEqual({ url, addresses: ['127.0.0.1'] });
    }
  });

  it('issues keys with the local prefix, which no production install uses', async () => {
    const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      const { key } = await new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets }).currentKey();
      expect(key.startsWith(`${LOCAL_KEY_PREFIX}_`)).toBe(true);
    } finally {
      secrets.destroy();
    }
  });

  it('refuses a key prefix that could pass for a production one', async () => {
    await expect(startLocalKeyroll({ clients: [{ clientId: 'acme' }], keyPrefix: 'kr' }, { logDirectory: path.join(work, 'refused') })).rejects.toThrow('must end in "local"');
  });
});
