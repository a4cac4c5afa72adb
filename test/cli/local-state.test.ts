import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { localStatePath } from '../../cli/install-context';
import { EXIT, runCli } from '../../cli/main';

/** Each local run has a state file of its own (trial finding: a second run overwrote the first's, and stopping either deleted it). */
describe('keyroll --local finds the local run that is alive', () => {
  const env = { TMPDIR: mkdtempSync(path.join(tmpdir(), 'keyroll-runs-')) };
  const cli = async (argv: string[], environment: NodeJS.ProcessEnv = env) => {
    let stdout = '';
    const code = await runCli(['--local', '--json', ...argv], { stdout: (text) => (stdout += text), stderr: () => undefined, env: environment });
    return { code, error: (JSON.parse(stdout) as { error?: { message: string } }).error?.message ?? '' };
  };

  it('gives each run its own file, refuses to guess between two live runs, and forgets a run that was killed', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const mine = localStatePath(env, process.pid);
    const theirs = localStatePath(env, other.pid ?? 0);
    expect(mine).not.toBe(theirs);
    mkdirSync(path.dirname(mine), { recursive: true });
    for (const file of [mine, theirs]) writeFileSync(file, '{}');

    const two = await cli(['clients', 'list']);
    expect(two).toEqual({ code: EXIT.install, error: expect.stringContaining('2 local installs are running') });
    expect(two.error).toContain('KEYROLL_LOCAL_STATE=<file>');

    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    // The one alive is read (its content here is no install description).
    const one = await cli(['clients', 'list']);
    expect(one.error).toContain(mine);
    expect(existsSync(theirs)).toBe(false);
    expect(existsSync(mine)).toBe(true);
  });

  it('says how to start one when none is running', async () => {
    expect(await cli(['clients', 'list'], { TMPDIR: mkdtempSync(path.join(tmpdir(), 'keyroll-runs-')) })).toEqual({ code: EXIT.install, error: expect.stringContaining('start one with npm start or npm run local:aws') });
  });
});
