import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
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
      clients: ['acme', 'globex', 'initech', 'hooli', 'umbrella', 'wayne', 'stark'].map((clientId) => ({ clientId })),
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
    const again = await cli(['--json', 'revoke', 'umbrella', '--version', current, '--reason', 'second', '--yes']);
    expect(again.code).toBe(EXIT.refused);
    expect((again.json['error'] as { message: string }).message).toMatch(/was already revoked at 20\S+ \(first\)/);
    expect((await status('umbrella')).versions.find((v) => v.versionId === current)).toMatchObject({ revokedReason: 'first' });

    expect((await cli(['clients', 'remove', 'wayne', '--reason', 'contract ended', '--yes'])).code).toBe(EXIT.ok);
    const twice = await cli(['--json', 'clients', 'remove', 'wayne', '--reason', 'again', '--yes']);
    expect(twice.code).toBe(EXIT.refused);
    expect((twice.json['error'] as { message: string }).message).toMatch(/already removed at 20\S+ \(contract ended, by local:/);
  }, 30_000);
});
