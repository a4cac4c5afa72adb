import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { EXIT, runCli } from '../../cli/main';
import { startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';

/**
 * The emergency paths fail closed (issue 20, part 1), against the local machinery through `--local`: whatever
 * happens to the rotation or the cache flush, the presented key is revoked first, and the command says which
 * of the two is not done (exit 5). Destructive commands ask, or take --yes.
 */

const work = mkdtempSync(path.join(tmpdir(), 'keyroll-emergency-'));
const env = { ...process.env, KEYROLL_LOCAL_STATE: path.join(work, 'local.json') };
let keyroll: LocalKeyroll;
let secrets: SecretsManagerClient;
/** Set by a test: API Gateway's control plane refuses every flush. */
let flushDenied = false;
/** Set by a test: Secrets Manager's invocations of the rotation function fail (a broken deploy). */
let rotationFails = false;

beforeAll(async () => {
  keyroll = await startLocalKeyroll(
    {
      clients: ['acme', 'globex', 'initech', 'hooli', 'umbrella', 'wayne', 'stark', 'tyrell', 'cyberdyne', 'oscorp'].map((clientId) => ({ clientId })),
      gracePeriod: Duration.hours(1),
      authorizerResultsCacheTtl: Duration.seconds(30),
      authorizerCacheTtl: Duration.seconds(1),
    },
    {
      logDirectory: path.join(work, 'logs'),
      stateFile: env.KEYROLL_LOCAL_STATE,
      rotationFault: () => (rotationFails ? Object.assign(new Error('Task timed out after 30.00 seconds'), { name: 'Sandbox.Timedout' }) : undefined),
      controlPlane: {
        fault: (method) => (flushDenied && method === 'DELETE' ? { status: 403, type: 'AccessDeniedException', message: 'User is not authorized to perform: apigateway:DELETE' } : undefined),
      },
    },
  );
  secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
}, 90_000);
afterAll(async () => {
  secrets?.destroy();
  await keyroll?.stop();
}, 30_000);

async function cli(argv: string[], confirm?: (question: string) => Promise<boolean>): Promise<{ code: number; stdout: string; stderr: string; json: Record<string, unknown> }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--local', ...argv], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env, pollMs: 100, ...(confirm === undefined ? {} : { confirm }) });
  let json: Record<string, unknown> = {};
  if (argv.includes('--json')) json = JSON.parse(stdout) as Record<string, unknown>;
  return { code, stdout, stderr, json };
}

const secretId = (clientId: string) => keyroll.secretArns.get(clientId) ?? clientId;
const currentKey = async (clientId: string) => (JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: secretId(clientId) }))).SecretString ?? '{}') as { apiKey: string }).apiKey;
const status = async (clientId: string) => (await cli(['--json', 'status', clientId])).json as { versions: { versionId: string; state: string; revokedReason: string | null }[] };
const currentVersion = async (clientId: string) => (await status(clientId)).versions.find((v) => v.state === 'current')?.versionId ?? '';
const answerFor = (key: string) => fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } }).then((response) => response.status);

describe('rotate --emergency ends the key first, whatever the rotation does', () => {
  it('revokes the key at once when a rotation is already in progress (busy), says the new key is not issued, and exits 5', async () => {
    const leaked = await currentKey('acme');
    const before = await currentVersion('acme');
    expect(await answerFor(leaked)).toBe(200);
    // A rotation left half-done: AWSPENDING on a version of its own, which blocks RotateSecret.
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId('acme'), ClientRequestToken: 'stuck-rotation-0000000000000000000', SecretString: '{"note":"half-done"}', VersionStages: ['AWSPENDING'] }));
    const run = await cli(['--json', 'rotate', 'acme', '--emergency', '--yes', '--timeout', '3s', '--reason', 'key in a public gist']);
    expect(run.code).toBe(EXIT.partial);
    expect(run.json).toMatchObject({
      clientId: 'acme',
      previousVersionId: before,
      versionId: null,
      current: false,
      revoked: { versionId: before, reason: 'emergency: key in a public gist', before: false },
      flush: { flushed: ['rest:local0api/prod'], failed: [] },
      rotation: { state: 'busy', pendingVersionId: 'stuck-rotation-0000000000000000000' },
    });
    expect(await answerFor(leaked)).toBe(401);
    expect((await status('acme')).versions.find((v) => v.versionId === before)).toMatchObject({ state: 'revoked', revokedReason: 'emergency: key in a public gist' });
    await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secretId('acme'), VersionStage: 'AWSPENDING', RemoveFromVersionId: 'stuck-rotation-0000000000000000000' }));
  }, 30_000);

  it('a plain rotate refused because a rotation is in progress changes nothing and leaves no rotation in the audit trail (trial finding)', async () => {
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId('wayne'), ClientRequestToken: 'stuck-rotation-1111111111111111111', SecretString: '{"note":"half-done"}', VersionStages: ['AWSPENDING'] }));
    const before = await currentVersion('wayne');
    const run = await cli(['rotate', 'wayne', '--reason', 'quarterly']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: EXIT.refused, stderr: expect.stringContaining('already has a rotation in progress; nothing was changed') });
    expect(await currentVersion('wayne')).toBe(before);
    const trail = (await cli(['--json', 'events', 'wayne'])).json as { events: { what: string; reason: string | null }[] };
    expect(trail.events.filter((event) => event.reason === 'quarterly')).toEqual([]);
    await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secretId('wayne'), VersionStage: 'AWSPENDING', RemoveFromVersionId: 'stuck-rotation-1111111111111111111' }));
    expect((await cli(['rotate', 'wayne', '--reason', 'quarterly'])).code).toBe(EXIT.ok);
    const after = (await cli(['--json', 'events', 'wayne'])).json as { events: { what: string; reason: string | null }[] };
    expect(after.events.filter((event) => event.reason === 'quarterly').map((event) => event.what)).toEqual(['key.rotate']);
  }, 30_000);

  it('revokes the key at once when the rotation function fails, says the new key is not current, and exits 5', async () => {
    const leaked = await currentKey('globex');
    const before = await currentVersion('globex');
    rotationFails = true;
    let run;
    try {
      run = await cli(['rotate', 'globex', '--emergency', '--yes', '--timeout', '2s', '--reason', 'key in a log']);
    } finally {
      rotationFails = false;
    }
    expect(run.code).toBe(EXIT.partial);
    expect(run.stdout).toContain(`globex: version ${before} revoked at`);
    expect(run.stdout).toMatch(/new key NOT yet current: rotation (\S+) did not finish within 2 s/);
    expect(await answerFor(leaked)).toBe(401);
    // What the runbook says for a failed rotation: clear its AWSPENDING, rotate again.
    const pending = /rotation (\S+) did not finish/.exec(run.stdout)?.[1] ?? '';
    await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secretId('globex'), VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }));
    expect((await cli(['rotate', 'globex', '--reason', 'after the fix'])).code).toBe(EXIT.ok);
    expect(await answerFor(await currentKey('globex'))).toBe(200);
  }, 30_000);

  it('follows a healthy rotation already in progress to its new key: current, exit 0, not "busy" (trial finding)', async () => {
    const leaked = await currentKey('stark');
    expect((await cli(['rotate', 'stark', '--no-wait', '--reason', 'scheduled'])).code).toBe(EXIT.ok);
    const run = await cli(['--json', 'rotate', 'stark', '--emergency', '--yes', '--reason', 'key in a ticket']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.json).toMatchObject({ current: true, rotation: { state: 'current' } });
    expect(await answerFor(leaked)).toBe(401);
    expect(await answerFor(await currentKey('stark'))).toBe(200);
  }, 30_000);

  it('says what holds when API Gateway\'s caches cannot be flushed: the key is revoked, the cache bound, the commands by hand; exits 5', async () => {
    const leaked = await currentKey('initech');
    const before = await currentVersion('initech');
    flushDenied = true;
    try {
      const run = await cli(['--json', 'rotate', 'initech', '--emergency', '--yes', '--reason', 'key on a slide']);
      expect(run.code).toBe(EXIT.partial);
      expect(run.json).toMatchObject({
        current: true,
        revoked: { versionId: before },
        flush: {
          flushed: [],
          failed: [{ target: 'rest:local0api/prod', error: 'AccessDeniedException: User is not authorized to perform: apigateway:DELETE', byHand: expect.stringContaining('aws apigateway flush-stage-authorizers-cache --region us-east-1 --rest-api-id local0api --stage-name prod') }],
          cachedUntil: expect.any(String),
        },
        rotation: { state: 'current' },
      });
      const text = await cli(['revoke', 'initech', '--version', String(run.json['versionId']), '--reason', 'drill', '--yes']);
      expect(text.code).toBe(EXIT.partial);
      expect(text.stdout).toMatch(/WARNING: the key is revoked, but API Gateway's cached answers were not flushed everywhere: .* for up to 30 s \(until 20/);
      expect(text.stdout).toContain('by hand: aws apigateway flush-stage-authorizers-cache');
    } finally {
      flushDenied = false;
    }
    expect((await status('initech')).versions.find((v) => v.versionId === before)).toMatchObject({ state: 'revoked' });
    expect(leaked).not.toBe('');
  }, 30_000);
});

describe('an outage of SNS, Secrets Manager or the key table never leaves a revoked key working, nor the operator misinformed (trial findings)', () => {
  /** The CLI's view of the install with one service's endpoint dead. */
  const withDead = (service: 'snsSqs' | 'secretsManager' | 'dynamodb') => {
    const state = JSON.parse(readFileSync(env.KEYROLL_LOCAL_STATE, 'utf8')) as { endpoints: Record<string, string> };
    const file = path.join(work, `state-without-${service}.json`);
    writeFileSync(file, JSON.stringify({ ...state, endpoints: { ...state.endpoints, [service]: 'http://127.0.0.1:1' } }));
    return { ...env, KEYROLL_LOCAL_STATE: file };
  };
  const cliWith = async (environment: NodeJS.ProcessEnv, argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--local', ...argv], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: environment, pollMs: 100 });
    return { code, stdout, stderr };
  };

  it('SNS down: the emergency still revokes, flushes and rotates, says the client was not told, exits 5; the same revoke later sends it', async () => {
    const leaked = await currentKey('tyrell');
    const before = await currentVersion('tyrell');
    expect(await answerFor(leaked)).toBe(200);
    const run = await cliWith(withDead('snsSqs'), ['--json', 'rotate', 'tyrell', '--emergency', '--yes', '--timeout', '10s', '--reason', 'key in a gist']);
    expect(run.code).toBe(EXIT.partial);
    expect(JSON.parse(run.stdout)).toMatchObject({ current: true, revoked: { versionId: before }, notified: { sent: false, error: expect.any(String) }, flush: { failed: [] } });
    expect(await answerFor(leaked)).toBe(401);
    expect(await answerFor(await currentKey('tyrell'))).toBe(200);
    const revokedNotice = async () => ((await cli(['--json', 'events', 'tyrell'])).json as { events: { what: string; versionId: string | null; detail: string | null }[] }).events.find((event) => event.what === 'key.revoked' && event.versionId === before);
    expect(await revokedNotice()).toMatchObject({ detail: 'not sent yet' });
    const repaired = await cli(['--json', 'revoke', 'tyrell', '--version', before, '--reason', 'notify', '--yes']);
    expect(repaired.code).toBe(EXIT.refused);
    expect(repaired.json).toMatchObject({ alreadyRevoked: true, reason: 'emergency: key in a gist', notified: { sent: true } });
    expect(await revokedNotice()).toMatchObject({ detail: null });
  }, 30_000);

  it('Secrets Manager down: revoke needs only the key table (exit 0); an emergency revokes from the table\'s view and says the rotation failed (exit 5)', async () => {
    const dead = withDead('secretsManager');
    const oldKey = await currentKey('cyberdyne');
    const version = await currentVersion('cyberdyne');
    const revoke = await cliWith(dead, ['revoke', 'cyberdyne', '--version', version, '--reason', 'leaked', '--yes']);
    expect({ code: revoke.code, stdout: revoke.stdout }).toEqual({ code: EXIT.ok, stdout: expect.stringContaining(`version ${version} revoked at`) });
    expect(await answerFor(oldKey)).toBe(401);

    const leaked = await currentKey('oscorp');
    const emergency = await cliWith(dead, ['--json', 'rotate', 'oscorp', '--emergency', '--yes', '--timeout', '2s', '--reason', 'leaked']);
    expect(emergency.code).toBe(EXIT.partial);
    expect(JSON.parse(emergency.stdout)).toMatchObject({ current: false, rotation: { state: 'failed' }, notified: { sent: true } });
    expect(await answerFor(leaked)).toBe(401);
  }, 30_000);

  it('key table down: nothing can be revoked, and the command says so: NOT revoked, the key still works, exit 4', async () => {
    const key = await currentKey('stark');
    const version = await currentVersion('stark');
    const run = await cliWith(withDead('dynamodb'), ['revoke', 'stark', '--version', version, '--reason', 'leaked', '--yes']);
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain('NOT revoked');
    expect(run.stderr).toContain('The key is still accepted');
    expect(await answerFor(key)).toBe(200);
    const emergency = await cliWith(withDead('dynamodb'), ['rotate', 'stark', '--emergency', '--yes', '--reason', 'leaked']);
    expect({ code: emergency.code, notRevoked: emergency.stderr.includes('NOT revoked') }).toEqual({ code: EXIT.failed, notRevoked: true });
  }, 60_000);
});

describe('clients add on an install without key delivery', () => {
  it('refuses --public-key (exit 2) and creates nothing: no delivery URL would serve the client (issue 21)', async () => {
    const publicKey = path.join(work, 'newco.pub');
    writeFileSync(publicKey, (await generateDeliveryKeyPair()).publicKey);
    const run = await cli(['--json', 'clients', 'add', 'newco', '--public-key', publicKey]);
    expect({ code: run.code, message: (run.json['error'] as { message: string }).message }).toEqual({ code: EXIT.usage, message: expect.stringContaining('this install has no key delivery URL') });
    expect(((await cli(['--json', 'clients', 'list'])).json['clients'] as { clientId: string }[]).map((c) => c.clientId)).not.toContain('newco');
  });
});

describe('destructive commands confirm, or take --yes', () => {
  it('refuses rotate --emergency, revoke of the current version and extend --force without a terminal or --yes, changing nothing', async () => {
    const current = await currentVersion('hooli');
    for (const argv of [
      ['rotate', 'hooli', '--emergency', '--reason', 'x'],
      ['revoke', 'hooli', '--version', current, '--reason', 'x'],
      ['extend', 'hooli', '--version', current, '--by', '1h', '--reason', 'x', '--force'],
    ]) {
      const run = await cli(['--json', ...argv]);
      expect({ argv, code: run.code, message: (run.json['error'] as { message: string }).message }).toEqual({ argv, code: EXIT.usage, message: expect.stringContaining('add --yes') });
    }
    expect(await currentVersion('hooli')).toBe(current);
    expect(await answerFor(await currentKey('hooli'))).toBe(200);
  });

  it('asks on a terminal and changes nothing on no; revokes the current version on yes, and the next rotate says it stays revoked', async () => {
    const current = await currentVersion('hooli');
    const questions: string[] = [];
    const no = await cli(['revoke', 'hooli', '--version', current, '--reason', 'x'], async (question) => (questions.push(question), false));
    expect(no.code).toBe(EXIT.refused);
    expect(questions[0]).toContain(`Version ${current} is hooli's current key`);
    expect(await currentVersion('hooli')).toBe(current);
    const yes = await cli(['revoke', 'hooli', '--version', current, '--reason', 'leaked in chat'], async () => true);
    expect(yes.code).toBe(EXIT.ok);
    expect(yes.stdout).toContain('hooli has no valid key until keyroll rotate hooli');
    const rotated = await cli(['rotate', 'hooli', '--reason', 'after the leak']);
    expect(rotated.code).toBe(EXIT.ok);
    expect(rotated.stdout).toContain(`${current} stays revoked (leaked in chat)`);
  }, 30_000);

  it('refuses to revoke a revoked version again, keeping the first reason; and to remove a client twice', async () => {
    const current = await currentVersion('umbrella');
    expect((await cli(['revoke', 'umbrella', '--version', current, '--reason', 'first', '--yes'])).code).toBe(EXIT.ok);
    const again = await cli(['revoke', 'umbrella', '--version', current, '--reason', 'second', '--yes']);
    expect(again.code).toBe(EXIT.refused);
    expect(again.stdout).toMatch(/was already revoked at 20\S+ \(first\)/);
    expect((await status('umbrella')).versions.find((v) => v.versionId === current)).toMatchObject({ revokedReason: 'first' });

    expect((await cli(['clients', 'remove', 'wayne', '--reason', 'contract ended', '--yes'])).code).toBe(EXIT.ok);
    const twice = await cli(['--json', 'clients', 'remove', 'wayne', '--reason', 'again', '--yes']);
    expect(twice.code).toBe(EXIT.refused);
    expect((twice.json['error'] as { message: string }).message).toMatch(/already removed at 20\S+ \(contract ended, by local:/);
  }, 30_000);
});
