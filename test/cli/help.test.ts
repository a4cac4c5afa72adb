import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EXIT, runCli } from '../../cli/main';
import { generateApiKey } from '../../lambda/domain/api-key';

describe('keyroll --help', () => {
  it('works from a clone through the package\'s bin, with the exit statuses and the options of each command', () => {
    const help = execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'keyroll-cli.cjs'), '--help'], { encoding: 'utf8' });
    expect(help).toContain('Usage: keyroll [options] [command]');
    expect(help).toMatch(/Exit status: 0 done; 1 refused .* 2 the command line is wrong;\s+3 the install cannot be found/);
    const rotateHelp = execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'keyroll-cli.cjs'), 'rotate', '--help'], { encoding: 'utf8' });
    expect(rotateHelp).toContain('--no-wait');
  });

  it('prints its version, and each command\'s help shows the global options and marks the required ones (issue 21)', () => {
    const bin = path.join(__dirname, '..', '..', 'bin', 'keyroll-cli.cjs');
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
    const revokeHelp = execFileSync(process.execPath, [bin, 'revoke', '--help'], { encoding: 'utf8' });
    expect(revokeHelp).toMatch(/--version <versionId>\s+the key version to revoke \(required\)/);
    expect(revokeHelp).toMatch(/Global Options:\s+--stack <name>/);
    expect(revokeHelp).toContain('--local');
  });
});

describe('keyroll never takes a key on its command line', () => {
  const key = generateApiKey('krlocal');
  it.each([
    ['as a client id', ['status', key]],
    ['as a version', ['extend', 'acme', '--version', key, '--by', '1h', '--reason', 'x']],
    ['inside a reason', ['revoke', 'acme', '--version', 'v1', '--reason', `leaked: ${key} in a log`, '--json']],
    ['percent-encoded in a reason', ['rotate', 'acme', '--reason', `url ${encodeURIComponent(key).replace('_', '%5F')}`]],
    ['base64-encoded in a reason', ['rotate', 'acme', '--reason', `header ${Buffer.from(`x-api-key: ${key}`).toString('base64')}`]],
  ])('refuses one %s with a usage error that does not repeat it, before reaching any install', async (_label, argv) => {
    let out = '';
    const code = await runCli(['--local', ...argv], { stdout: (text) => (out += text), stderr: (text) => (out += text), env: { KEYROLL_LOCAL_STATE: '/nonexistent/keyroll.json' } });
    expect(code).toBe(EXIT.usage);
    expect(out).toContain('has the shape of an API key');
    expect(out).not.toContain(key.slice(8));
  });

  it('refuses a blank --reason (exit 2): the audit trail is told why', async () => {
    let out = '';
    const code = await runCli(['--local', '--json', 'clients', 'remove', 'acme', '--yes', '--reason', '  '], { stdout: (text) => (out += text), stderr: () => undefined, env: { KEYROLL_LOCAL_STATE: '/nonexistent/keyroll.json' } });
    expect(code).toBe(EXIT.usage);
    expect(JSON.parse(out)).toEqual({ error: { code: 'usage', message: expect.stringContaining('--reason needs a text') } });
  });
});

describe('keyroll global options', () => {
  it.each([
    ['a missing option', ['revoke', 'acme', '--reason', 'x']],
    ['an unknown command', ['frobnicate']],
    ['a missing argument', ['events']],
    ['a missing subcommand', ['clients']],
  ])('answers %s with a JSON error on standard output under --json, exit 2, and no help text (a trial saw "(outputHelp)" and 49 lines of help)', async (_label, argv) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--local', '--json', ...argv], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: { KEYROLL_LOCAL_STATE: '/nonexistent/keyroll.json' } });
    expect(code).toBe(EXIT.usage);
    const { error } = JSON.parse(stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('usage');
    expect(error.message).toMatch(/^[a-z].{10,}/);
    expect(error.message).not.toContain('outputHelp');
    if (argv[0] !== 'clients') expect(stderr).not.toContain('Usage:');
  });

  it('refuses --local and --stack together (exit 2), before reaching any install', async () => {
    let out = '';
    const code = await runCli(['--local', '--stack', 'Orders', '--json', 'clients', 'list'], { stdout: (text) => (out += text), stderr: (text) => (out += text), env: { KEYROLL_LOCAL_STATE: '/nonexistent/keyroll.json' } });
    expect(code).toBe(EXIT.usage);
    expect(JSON.parse(out)).toEqual({ error: { code: 'usage', message: 'give --local or --stack <name>, not both: they name different installs' } });
  });
});

