import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { packClient } from '../../scripts/pack-client';

/**
 * The client SDK as API clients install it: `keyroll-client`, packed and installed with npm into an empty
 * folder (issue 21: `npm i keyroll` for `keyroll/client` installed 192 MB, 161 MB of it aws-cdk-lib).
 */
describe('keyroll-client installed into an empty folder', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-client-'));
  const app = path.join(work, 'app');
  let installedBytes = 0;
  let installed: string[] = [];

  beforeAll(() => {
    const tarball = packClient(work);
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'api-client', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, stdio: 'ignore' });
    installedBytes = Number(execFileSync('du', ['-sb', path.join(app, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
    installed = readdirSync(path.join(app, 'node_modules')).filter((name) => !name.startsWith('.'));
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('brings only itself (jose inside): a few hundred kilobytes, no CDK, no AWS SDK', () => {
    process.stdout.write(`keyroll-client installed: ${installedBytes} bytes (${installed.join(', ')})\n`);
    expect(installed).toEqual(['keyroll-client']);
    expect(installedBytes).toBeLessThan(300_000);
  });

  it('declares only modules it ships or depends on: its types compile without skipLibCheck (a trial found `jose` imported by its declarations)', () => {
    const root = path.join(app, 'node_modules', 'keyroll-client');
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const declared = new Set([...Object.keys(manifest['dependencies'] ?? {}), ...Object.keys(manifest['peerDependencies'] ?? {})]);
    const imported = new Set<string>();
    for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.d.ts'))) {
      for (const [, specifier] of readFileSync(path.join(root, file), 'utf8').matchAll(/(?:from|import\()\s*'([^'.][^']*)'/g)) imported.add(specifier ?? '');
    }
    const undeclared = [...imported].filter((specifier) => !specifier.startsWith('node:') && !declared.has(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '')));
    expect(undeclared).toEqual([]);
  });

  it('follows a rotation: on a 401 it reads its source again and retries once, with the new key', async () => {
    const server = createServer((request, response) => {
      response.writeHead(request.headers['x-api-key'] === 'kr_new' ? 200 : 401);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    const script = `
      const { KeyProvider } = require('keyroll-client');
      let key = 'kr_old';
      const keys = new KeyProvider({ source: { description: 'test', currentKey: async () => ({ key, versionId: key }) } });
      (async () => {
        const first = await keys.fetch(${JSON.stringify(url)});
        key = 'kr_new';
        const second = await keys.fetch(${JSON.stringify(url)});
        process.stdout.write(JSON.stringify([first.status, second.status]));
      })();`;
    try {
      // Asynchronously: the server answers from this process.
      const run = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', script], { cwd: app });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('exit', () => resolve({ stdout, stderr }));
      });
      expect(run.stderr).toBe('');
      // The first call is refused with the old key (no newer one yet); the second retries after its 401 with the new one.
      expect(JSON.parse(run.stdout)).toEqual([401, 200]);
    } finally {
      server.close();
    }
  });

  it('says which package to install when the Secrets Manager source is used without the AWS SDK', async () => {
    const script = `
      const { SecretsManagerKeySource } = require('keyroll-client');
      new SecretsManagerKeySource({ secretId: 'keyroll/Orders/ApiKeys/acme' }).currentKey().then(() => process.stdout.write('no error'), (error) => process.stdout.write(error.message));`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' });
    expect(run.stdout).toContain('npm install @aws-sdk/client-secrets-manager');
    expect(run.stdout).not.toContain('MODULE_NOT_FOUND');
  });
});
