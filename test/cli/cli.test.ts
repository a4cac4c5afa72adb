import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeSecretCommand, GetResourcePolicyCommand, GetSecretValueCommand, RestoreSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { generateDeliveryKeyPair } from '../../client/delivery-key-source';
import { EXIT, runCli } from '../../cli/main';
import { startLocalKeyroll, type LocalKeyroll } from '../../local/keyroll-local';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { WRITE_GUARD_SIDS } from '../../lambda/contracts/write-guard';
import { localDynamoDbClient } from '../../local/dynalite-server';

/**
 * The keyroll CLI against the local machinery (the real functions in their processes, the Secrets Manager
 * model over its protocol, dynalite, fauxqs), through `--local`; each command's `--json` shape asserted.
 */

const work = mkdtempSync(path.join(tmpdir(), 'keyroll-cli-'));
const env = { ...process.env, KEYROLL_LOCAL_STATE: path.join(work, 'local.json') };
let keyroll: LocalKeyroll;

async function cli(...argv: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--local', '--json', ...argv], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env, pollMs: 100 });
  return { code, json: JSON.parse(stdout) as Record<string, unknown>, stderr };
}

async function text(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--local', ...argv], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, pollMs: 100 });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  keyroll = await startLocalKeyroll(
    {
      clients: [
        { clientId: 'acme', scopes: ['read'] },
        { clientId: 'globex', scopes: ['read', 'write'] },
        // A client on key delivery: the install then has a delivery URL, which `clients add --public-key` needs.
        { clientId: 'wayne', scopes: ['read'], deliveryPublicKey: (await generateDeliveryKeyPair()).publicKey },
      ],
      gracePeriod: Duration.hours(1),
      authorizerResultsCacheTtl: Duration.seconds(1),
      authorizerCacheTtl: Duration.seconds(1),
    },
    { logDirectory: path.join(work, 'logs'), stateFile: env.KEYROLL_LOCAL_STATE },
  );
}, 60_000);
afterAll(() => keyroll?.stop(), 30_000);

const versionsOf = async (clientId: string) => ((await cli('status', clientId)).json['versions'] as { versionId: string; state: string; endsAt: string | null; revokedReason: string | null }[]);

describe('keyroll CLI (--local)', () => {
  it('lists the clients with their current key version', async () => {
    const { code, json } = await cli('clients', 'list');
    expect(code).toBe(EXIT.ok);
    expect(json).toEqual({ clients: expect.arrayContaining([expect.objectContaining({ clientId: 'acme', currentVersionId: expect.any(String) }), expect.objectContaining({ clientId: 'globex' })]), unregisteredSecrets: [] });
  });

  it('rotates a client, waits for the new key, and shows both versions with their windows', async () => {
    const before = await versionsOf('acme');
    const { code, json } = await cli('rotate', 'acme', '--reason', 'quarterly rotation');
    expect(code).toBe(EXIT.ok);
    expect(json).toEqual({ clientId: 'acme', previousVersionId: before.find((v) => v.state === 'current')?.versionId, versionId: expect.any(String), current: true });
    const after = await versionsOf('acme');
    expect(after.find((v) => v.versionId === json['versionId'])).toMatchObject({ state: 'current', endsAt: null });
    // The install's schedule is rate(30 days): the next rotation is 30 days after this one.
    const nextRotation = Date.parse(String((await cli('status', 'acme')).json['nextRotation']));
    expect(Math.abs(nextRotation - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
    expect(after.find((v) => v.versionId === json['previousVersionId'])).toMatchObject({ state: 'in-grace', endsAt: expect.any(String) });
  }, 30_000);

  it('shows each version\'s requests per hour and last use, from the access logs the usage function counted', async () => {
    const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: 'keyroll/KeyrollLocal/ApiKeys/globex' }));
    secrets.destroy();
    const key = (JSON.parse(SecretString ?? '{}') as { apiKey: string }).apiKey;
    for (let i = 0; i < 5; i++) expect((await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the local gateway hands its access log lines over every second
    const current = (await cli('status', 'globex')).json['versions'] as { state: string; lastUsed: string | null; requestsLast24h: number; requestsPerHour: { requests: number }[] }[];
    const version = current.find((v) => v.state === 'current');
    expect(version).toMatchObject({ requestsLast24h: 5, lastUsed: expect.any(String) });
    expect(version?.requestsPerHour).toHaveLength(24);
    expect(version?.requestsPerHour.at(-1)?.requests ?? 0).toBeGreaterThan(0);
    expect((await text('status', 'globex')).stdout).toMatch(/requests per hour, last 24 h: .*5 in all, last used 20/);
  }, 30_000);

  it('status without a client id is the fleet: every client, its current key and age, keys in grace with time left and last use, the next rotation', async () => {
    const { code, json } = await cli('status');
    expect(code).toBe(EXIT.ok);
    const clients = json['clients'] as { clientId: string; current: { versionId: string; since: string } | null; inGrace: { endsAt: string; lastUsed: string | null }[]; nextRotation: string | null; attention: string[] }[];
    expect(clients.map((c) => c.clientId).sort()).toEqual(['acme', 'globex', 'wayne']);
    const acme = clients.find((c) => c.clientId === 'acme');
    expect(acme).toMatchObject({ current: { versionId: expect.any(String), since: expect.any(String) }, nextRotation: expect.any(String), attention: [] });
    // acme was rotated above: its previous key is in grace, with its end.
    expect(acme?.inGrace).toEqual([expect.objectContaining({ endsAt: expect.any(String) })]);
    expect(json['needAttention']).toBe(0);
    const { stdout } = await text('status');
    expect(stdout).toMatch(/^CLIENT\s+CURRENT KEY\s+IN GRACE\s+ROTATION\s+NEXT ROTATION \(UTC\)/);
    expect(stdout).toMatch(/acme\s+\S{8} for \d+ s\s+\S{8} (59|60) min left, (unused 24 h|used \d+ s ago)/);
  }, 30_000);

  it('extends a replaced version, refuses past the maximum without --force, and never extends a revoked one', async () => {
    const replaced = (await versionsOf('acme')).find((v) => v.state === 'in-grace');
    if (replaced === undefined) throw new Error('no replaced version');
    const extended = await cli('extend', 'acme', '--version', replaced.versionId, '--by', '3h', '--reason', 'client missed its switch');
    expect(extended.code).toBe(EXIT.ok);
    expect(Date.parse(String(extended.json['endsAt']))).toBeGreaterThan(Date.now() + 2.9 * 3600_000);
    const tooFar = await cli('extend', 'acme', '--version', replaced.versionId, '--by', '30d', '--reason', 'too far');
    expect(tooFar).toMatchObject({ code: EXIT.refused, json: { error: { code: 'refused', message: expect.stringContaining('add --force') } } });

    const revoked = await cli('revoke', 'acme', '--version', replaced.versionId, '--reason', 'leaked in a log');
    expect(revoked).toEqual({
      code: EXIT.ok,
      stderr: '',
      json: { clientId: 'acme', versionId: replaced.versionId, reason: 'leaked in a log', revokedAt: expect.any(String), alreadyRevoked: false, wasCurrent: false, notified: { sent: true, error: null }, flush: { flushed: ['rest:local0api/prod'], failed: [], cachedUntil: null }, flushed: ['rest:local0api/prod'] },
    });
    expect((await versionsOf('acme')).find((v) => v.versionId === replaced.versionId)).toMatchObject({ state: 'revoked', revokedReason: 'leaked in a log' });
    const afterRevoke = await cli('extend', 'acme', '--version', replaced.versionId, '--by', '1h', '--reason', 'undo', '--force', '--yes');
    expect(afterRevoke).toMatchObject({ code: EXIT.refused, json: { error: { message: expect.stringContaining('never extended') } } });
  }, 30_000);

  it('rotates in an emergency: the old key revoked, API Gateway\'s cache flushed on the stage whose authorizer is keyroll\'s', async () => {
    const before = (await versionsOf('globex')).find((v) => v.state === 'current')?.versionId;
    const { code, json } = await cli('rotate', 'globex', '--emergency', '--yes', '--reason', 'key in a screenshot');
    expect(code).toBe(EXIT.ok);
    expect(json).toEqual({
      clientId: 'globex',
      emergency: true,
      previousVersionId: before,
      versionId: expect.any(String),
      current: true,
      revoked: { versionId: before, revokedAt: expect.any(String), reason: 'emergency: key in a screenshot', before: false },
      notified: { sent: true, error: null },
      flush: { flushed: ['rest:local0api/prod'], failed: [], cachedUntil: null },
      rotation: { state: 'current', versionId: json['versionId'] },
    });
    expect((await versionsOf('globex')).find((v) => v.versionId === before)).toMatchObject({ state: 'revoked', revokedReason: 'emergency: key in a screenshot' });
  }, 30_000);

  it('keeps every action in the audit trail, with who did it and why, before it acts', async () => {
    const { code, json } = await cli('events', 'acme', '--since', '1h');
    expect(code).toBe(EXIT.ok);
    const events = json['events'] as { kind: string; what: string; actor: string | null; reason: string | null }[];
    const operator = events.filter((e) => e.kind === 'operator').map((e) => [e.what, e.reason]);
    expect(operator).toEqual([
      ['key.rotate', 'quarterly rotation'],
      ['key.extend', 'client missed its switch'],
      ['key.revoke', 'leaked in a log'],
    ]);
    expect(events.filter((e) => e.kind === 'operator').every((e) => e.actor?.startsWith('local:'))).toBe(true);
    expect(events.map((e) => e.what)).toEqual(expect.arrayContaining(['key.rotated', 'key.revoked']));

    // In text, `audit` is the same command; the trail is a table whose columns line up, from the start of yesterday (UTC).
    const table = await text('audit', 'acme', '--since', 'yesterday');
    expect(table.code).toBe(EXIT.ok);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^AT \(UTC\) +KIND +WHAT +VERSION +BY +WHY$/);
    expect(rows).toHaveLength(events.length);
    for (const column of ['KIND', 'WHAT', 'VERSION']) {
      const at = header?.indexOf(column) ?? -1;
      expect(rows.every((row) => row[at - 1] === ' ' && row[at] !== ' ')).toBe(true);
    }
    expect((await text('events', 'acme', '--since', '2999-01-01T00:00:00Z')).stdout).toBe('no events for acme since 2999-01-01T00:00:00.000Z\n');
  });

  it('adds a client at run time, no deploy: its key works at the API like a declared client\'s, with the same policy and tags', async () => {
    const pair = await generateDeliveryKeyPair();
    const publicKeyFile = path.join(work, 'initech.pub');
    writeFileSync(publicKeyFile, `${pair.publicKey}\n`);
    const added = await cli('clients', 'add', 'initech', '--scopes', 'read,reports', '--grace', '2h', '--public-key', publicKeyFile, '--close-when-switched', '6h', '--rescue-missed', '4h', '--reason', 'signed the contract');
    expect(added).toMatchObject({ code: EXIT.ok, json: { clientId: 'initech', secretArn: expect.stringContaining(':secret:keyroll/KeyrollLocal/ApiKeys/initech-'), versionId: expect.any(String), current: true } });
    expect(((await cli('clients', 'list')).json['clients'] as { clientId: string }[]).map((c) => c.clientId).sort()).toEqual(['acme', 'globex', 'initech', 'wayne']);

    const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const secretArn = String(added.json['secretArn']);
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    const { Tags = [] } = await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }));
    const { ResourcePolicy } = await secrets.send(new GetResourcePolicyCommand({ SecretId: secretArn }));
    secrets.destroy();
    // The secret names its client; the settings live in the registration, which no tag can change.
    expect(Object.fromEntries(Tags.map((t) => [t.Key, t.Value]))).toEqual({ 'keyroll:clientId': 'initech' });
    const registry = new DynamoKeyTable(localDynamoDbClient(keyroll.endpoints.dynamodb), keyroll.keyTableName);
    expect(await registry.registrationOf('initech')).toMatchObject({
      secretArn,
      registeredBy: expect.stringMatching(/^local:/),
      settings: {
        'keyroll:scopes': 'read reports',
        'keyroll:gracePeriodSeconds': '7200',
        'keyroll:deliveryPublicKey': pair.publicKey,
        'keyroll:closeWhenSwitchedHours': '6',
        'keyroll:rescueMissedHours': '4',
      },
    });
    expect((JSON.parse(ResourcePolicy ?? '{}') as { Statement: { Sid: string }[] }).Statement.map((statement) => statement.Sid).sort()).toEqual(Object.values(WRITE_GUARD_SIDS).sort());
    const key = (JSON.parse(SecretString ?? '{}') as { apiKey: string }).apiKey;
    expect((await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } })).status).toBe(200);

    const again = await cli('clients', 'add', 'initech', '--reason', 'twice');
    expect(again).toMatchObject({ code: EXIT.refused, json: { error: { message: expect.stringContaining('client "initech" already exists') } } });
    const badSchedule = await cli('clients', 'add', 'hooli', '--schedule', 'cron(30 4 ? * MON *)', '--reason', 'x');
    expect(badSchedule).toMatchObject({ code: EXIT.usage, json: { error: { message: expect.stringContaining('0 in the minutes field') } } });
    const halfHour = await cli('clients', 'add', 'hooli', '--close-when-switched', '90m', '--reason', 'x');
    expect(halfHour).toMatchObject({ code: EXIT.usage, json: { error: { message: expect.stringContaining('must be whole hours, from 1 to 168') } } });
    const longRescue = await cli('clients', 'add', 'hooli', '--rescue-missed', '2d', '--reason', 'x');
    expect(longRescue).toMatchObject({ code: EXIT.usage, json: { error: { message: expect.stringContaining('rescue of a missed switch must be whole hours, from 1 to 24') } } });
    const noPlan = await cli('clients', 'add', 'hooli', '--usage-plan', 'gold', '--reason', 'x');
    expect(noPlan).toMatchObject({ code: EXIT.refused, json: { error: { message: expect.stringContaining('this install has no usage plan "gold" (it has: none)') } } });
    // A setting the rotation would refuse is refused before any secret exists (it used to leave a half-made client).
    const longGrace = await cli('clients', 'add', 'hooli', '--grace', '400d', '--reason', 'x', '--no-wait');
    expect(longGrace).toMatchObject({ code: EXIT.usage, json: { error: { message: expect.stringContaining('must be a whole number from 0 to 31622400') } } });
    const bad = await cli('clients', 'add', 'bad client', '--reason', 'x');
    expect(bad).toMatchObject({ code: EXIT.usage, json: { error: { message: expect.stringContaining('a client id is 1 to 64 letters') } } });
    expect(((await cli('clients', 'list')).json['clients'] as unknown[]).length).toBe(4);
  }, 30_000);

  it('refuses at run time what the construct refuses at synth, before creating anything (issue 21)', async () => {
    for (const [argv, message] of [
      [['--grace', '1s'], 'is shorter than the caches it must outlast'],
      [['--max-key-age', '30'], '--max-key-age must be a duration like'],
      [['--max-key-age', '36h'], '--max-key-age must be whole days'],
      [['--timeout', 'soon'], '--timeout must be a duration like'],
    ] as const) {
      const run = await cli('clients', 'add', 'newco', ...argv);
      expect({ argv, code: run.code, message: (run.json['error'] as { message: string }).message }).toEqual({ argv, code: EXIT.usage, message: expect.stringContaining(message) });
    }
    expect(((await cli('clients', 'list')).json['clients'] as { clientId: string }[]).map((c) => c.clientId)).not.toContain('newco');
  }, 30_000);

  it('removes a client only when told to: every key revoked, the API refusing it, the secret gone from the install', async () => {
    const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: 'keyroll/KeyrollLocal/ApiKeys/initech' }));
    secrets.destroy();
    const key = (JSON.parse(SecretString ?? '{}') as { apiKey: string }).apiKey;

    const unasked = await cli('clients', 'remove', 'initech', '--reason', 'contract ended');
    expect(unasked).toMatchObject({ code: EXIT.usage, json: { error: { message: expect.stringContaining('add --yes') } } });
    expect((await versionsOf('initech')).every((v) => v.state !== 'revoked')).toBe(true);

    const removed = await cli('clients', 'remove', 'initech', '--reason', 'contract ended', '--yes');
    expect(removed).toMatchObject({ code: EXIT.ok, json: { clientId: 'initech', revokedVersionIds: [expect.any(String)], recoveryWindowDays: 7, flush: { flushed: ['rest:local0api/prod'], failed: [] } } });
    // Refused at once: the command returns after the authorizers read the revocation and API Gateway's cache is flushed.
    expect((await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } })).status).toBe(401);
    expect(((await cli('clients', 'list')).json['clients'] as { clientId: string }[]).map((c) => c.clientId).sort()).toEqual(['acme', 'globex', 'wayne']);
    // The audit trail outlives the client: its secret is only marked for deletion, for 7 days.
    const trail = (await cli('events', 'initech', '--since', '1h')).json['events'] as { what: string; reason: string | null }[];
    expect(trail.map((e) => e.what)).toEqual(['client.add', 'key.rotated', 'client.remove', 'key.revoke', 'key.revoked']);
    // Its status says it was removed and how to restore it; adopting the secret while it is going is refused (trial finding).
    expect((await cli('status', 'initech')).json['error']).toEqual({ code: 'not_found', message: expect.stringMatching(/was removed: its secret \S+ is scheduled for deletion since 20\S+ .*restore-secret/) });
    expect((await cli('clients', 'adopt', 'initech', '--reason', 'by mistake')).json['error']).toEqual({ code: 'refused', message: expect.stringContaining('is scheduled for deletion') });
  }, 30_000);

  it('clients remove says when the secret is deleted and how to restore it, and the steps it gives bring the client back', async () => {
    expect((await cli('clients', 'add', 'lazarus', '--reason', 'a client to remove and bring back')).code).toBe(EXIT.ok);
    const removed = await text('clients', 'remove', 'lazarus', '--reason', 'removed by mistake', '--yes');
    expect(removed.code).toBe(EXIT.ok);
    const deletesAt = /its secret is deleted at (\S+); until then it can be restored:/.exec(removed.stdout)?.[1];
    expect(Math.abs(Date.parse(deletesAt ?? '') - (Date.now() + 7 * 86_400_000))).toBeLessThan(60_000);
    const restore = /aws secretsmanager restore-secret --secret-id (\S+)/.exec(removed.stdout)?.[1];
    expect(restore).toMatch(/^arn:aws:secretsmanager:.*:secret:keyroll\/KeyrollLocal\/ApiKeys\/lazarus-/);
    expect(removed.stdout).toContain('keyroll clients adopt lazarus');

    // The steps as printed: restore the secret (the SDK's RestoreSecret, as the AWS CLI line calls), adopt it, rotate.
    const secrets = new SecretsManagerClient({ endpoint: keyroll.endpoints.secretsManager, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    await secrets.send(new RestoreSecretCommand({ SecretId: restore }));
    expect((await cli('clients', 'adopt', 'lazarus', '--reason', 'restored')).code).toBe(EXIT.ok);
    expect((await cli('rotate', 'lazarus', '--reason', 'restored: a new key')).code).toBe(EXIT.ok);
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: restore }));
    secrets.destroy();
    const key = (JSON.parse(SecretString ?? '{}') as { apiKey: string }).apiKey;
    expect((await fetch(`${keyroll.api.url}/hello`, { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await versionsOf('lazarus')).filter((v) => v.state === 'revoked').length).toBeGreaterThan(0);
  }, 60_000);

  it.each<[string, string[], number, string]>([
    ['an unknown client', ['status', 'nobody'], EXIT.refused, 'this install has no client "nobody"'],
    ['an unknown version', ['revoke', 'globex', '--version', 'nope', '--reason', 'x'], EXIT.refused, 'client "globex" has no key version nope'],
    ['a malformed duration', ['extend', 'globex', '--version', 'v', '--by', 'soon', '--reason', 'x'], EXIT.usage, '--by must be a duration like 90s'],
    ['both --until and --by', ['extend', 'globex', '--version', 'v', '--by', '1h', '--until', '2030-01-01T00:00:00Z', '--reason', 'x'], EXIT.usage, 'exactly one of --until'],
    ['an --until that is no time', ['extend', 'globex', '--version', 'v', '--until', 'soon', '--reason', 'x'], EXIT.usage, '--until must be an ISO-8601 time (2026-12-31T09:00:00Z), a duration like 90s'],
    ['a malformed client id', ['status', 'glob ex'], EXIT.usage, 'a client id is 1 to 64 letters'],
    ['a malformed client id to rotate', ['rotate', 'globex/../acme', '--reason', 'x'], EXIT.usage, 'a client id is 1 to 64 letters'],
    ['a region the install does not replicate to', ['regions', 'exclude', 'us-east-1', '--reason', 'x', '--yes'], EXIT.usage, 'us-east-1 is not a replica region of this install (it has none)'],
    ['a --since that is no time', ['events', 'globex', '--since', 'last week'], EXIT.usage, '--since must be an ISO-8601 time (2026-12-31T09:00:00Z), a duration like 90s, 30m, 12h or 7d, today or yesterday'],
  ])('refuses %s with a clear error and changes nothing', async (_name, argv, code, message) => {
    const before = await versionsOf('globex');
    const result = await cli(...argv);
    expect(result).toMatchObject({ code, json: { error: { message: expect.stringContaining(message) } } });
    expect(await versionsOf('globex')).toEqual(before);
  });

  it('writes no self-rewriting progress line when standard error is not a terminal (trial finding)', async () => {
    const run = await text('rotate', 'globex', '--reason', 'progress off a terminal');
    expect(run.code).toBe(EXIT.ok);
    expect(run.stderr).not.toContain('\r');
    expect(run.stdout).toMatch(/globex: version \S+ is current/);
  }, 30_000);

  it('answers in text without --json, and exits 2 on a command line it cannot read', async () => {
    const status = await text('status', 'globex');
    expect(status.code).toBe(EXIT.ok);
    expect(status.stdout).toMatch(/^globex {2}\(arn:aws:secretsmanager:/);
    expect(status.stdout).toMatch(/current/);
    expect((await text('revoke', 'globex')).code).toBe(EXIT.usage);
    // A replaced version's end in seconds, minutes, hours or days as fits; never "ends in 0 min".
    expect(status.stdout).toMatch(/in-grace .* ends in \d+ (s|min|h|d) \(20/);
    expect(status.stdout).not.toContain('ends in 0 min');
    expect((await text('status', 'globex')).stdout).not.toMatch(/krlocal_[0-9A-Za-z]{10}/);
  });

  it('doctor: finds nothing wrong in a healthy install, then names a client whose current key is refused, with the fix, and exits 1', async () => {
    const healthy = await cli('doctor');
    expect(healthy).toMatchObject({ code: EXIT.ok, json: { ok: true } });
    expect((healthy.json['checks'] as { check: string }[]).map((c) => c.check)).toEqual(expect.arrayContaining(['install found', 'caller', 'clock', 'clients found', 'acme: rotation on', 'acme: schedule valid', 'acme: no rotation stuck', 'acme: current key accepted']));
    // The schedule is read from ListSecrets, whose entries carry RotationRules (it used to say "no schedule").
    expect((healthy.json['checks'] as { check: string; detail: string }[]).find((c) => c.check === 'acme: schedule valid')?.detail).toContain('rate(30 days)');

    const current = (await versionsOf('acme')).find((v) => v.state === 'current');
    await cli('revoke', 'acme', '--version', current?.versionId ?? '', '--reason', 'doctor drill', '--yes');
    const sick = await cli('doctor');
    expect(sick.code).toBe(EXIT.refused);
    expect(sick.json).toMatchObject({ ok: false, checks: expect.arrayContaining([{ check: 'acme: current key accepted', ok: false, detail: expect.stringContaining('is revoked'), fix: 'rotate the client so that it gets a key the authorizer accepts: keyroll rotate acme' }]) });
    const rotated = await cli('rotate', 'acme', '--reason', 'after the drill');
    expect(rotated.code).toBe(EXIT.ok);
    expect((await cli('doctor')).json).toMatchObject({ ok: true });
  }, 30_000);
});
