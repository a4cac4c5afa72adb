import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerKeySource } from '../../client/secrets-manager-key-source';
import { hashApiKey } from '../../lambda/domain/api-key';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';

/**
 * A key reported leaked by GitHub secret scanning, end to end on the local machinery with the construct's default
 * cache TTLs (API Gateway 60 s, authorizer 30 s): the report is signed with a generated key that a local server
 * publishes in GitHub's format. When the endpoint has answered, the leaked key is refused at the API although
 * API Gateway had cached its Allow a moment before, and the client's new key works.
 */
describe('Leaked key report (local mode)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-leak-'));
  const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const KEY_ID = 'ab'.repeat(32);
  let keysServer: Server;
  let keyroll: LocalKeyroll;
  let secrets: SecretsManagerClient;

  beforeAll(async () => {
    keysServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: github.publicKey.export({ type: 'spki', format: 'pem' }).toString(), is_current: true }] }));
    });
    await new Promise<void>((resolve) => keysServer.listen(0, '127.0.0.1', resolve));
    keyroll = await startLocalKeyroll(
      { clients: [{ clientId: 'acme' }], leakedKeyReports: { action: 'rotate' } },
      { logDirectory: path.join(work, 'logs'), githubKeysUrl: `http://127.0.0.1:${(keysServer.address() as AddressInfo).port}/meta/public_keys/secret_scanning` },
    );
    secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  }, 60_000);
  afterAll(async () => {
    secrets?.destroy();
    await keyroll?.stop();
    keysServer?.close();
  }, 30_000);

  const call = (key: string) => fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } }).then((response) => response.status);

  it('refuses the leaked key at the API as soon as the endpoint answers, and the client\'s next key works', async () => {
    const source = new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets });
    const { key: leaked } = await source.currentKey();
    expect(await call(leaked)).toBe(200); // API Gateway caches this Allow for 60 s

    const body = JSON.stringify([{ token: leaked, type: 'keyroll_api_key', url: 'https://github.com/octocat/app/blob/abc/.env', source: 'content' }]);
    const response = await fetch(keyroll.leakReportUrl ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': sign('sha256', Buffer.from(body), github.privateKey).toString('base64') },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ token_hash: hashApiKey(leaked), token_type: 'keyroll_api_key', label: 'true_positive' }]);
    expect(await call(leaked)).toBe(401);

    let next = leaked;
    for (let attempt = 0; attempt < 50 && next === leaked; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = (await new SecretsManagerKeySource({ secretId: keyroll.secretArns.get('acme') ?? '', client: secrets }).currentKey()).key;
    }
    expect(next).not.toBe(leaked);
    expect(await call(next)).toBe(200);
    expect(await call(leaked)).toBe(401);

    const logs = readdirSync(path.join(work, 'logs')).map((file) => readFileSync(path.join(work, 'logs', file), 'utf8')).join('\n');
    expect(logs).toContain('"flushed":["rest:local0api/prod"]');
    for (const secret of [leaked, next]) expect(logs).not.toContain(secret);
  }, 30_000);
});
