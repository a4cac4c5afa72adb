import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The npm scripts a user runs, as its entry points: each has --help, refuses an unknown option plainly, and local mode stops cleanly on SIGTERM (trial findings). */
const REPO = path.join(__dirname, '..', '..');
const script = (file: string, args: readonly string[]) =>
  spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, file), ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' } });

describe('the npm scripts', () => {
  it.each([
    ['npm start', 'local/start.ts', 'npm start -- [options]'],
    ['npm run local:aws', 'local/endpoints.ts', 'npm run local:aws [-- --help]'],
    ['npm run drill', 'local/drill.ts', 'npm run drill -- [--runs 50]'],
    ['npm run flood', 'proof/flood-cli.ts', 'npm run flood -- [--seconds 60]'],
    ['npm run soak', 'proof/soak-cli.ts', 'npm run soak -- [--rotations 1000]'],
    ['npm run fuzz', 'proof/fuzz.ts', 'npm run fuzz -- [--events 1000000]'],
    ['npm run exhaustive', 'proof/exhaustive-cli.ts', 'npm run exhaustive -- [--depth 8]'],
  ])('%s -- --help prints its usage and exits 0, starting nothing', (_name, file, usage) => {
    const run = script(file, ['--help']);
    expect({ status: run.status, usage: run.stdout.startsWith(usage) }).toEqual({ status: 0, usage: true });
  }, 30_000);

  it('refuses an option it does not know with exit 2 and its usage, no stack trace', () => {
    const run = script('local/drill.ts', ['--bogus']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--bogus'");
    expect(run.stderr).toContain('npm run drill -- [--runs 50]');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('npm run local:aws stops on SIGTERM as on Ctrl-C: exit 0, its state file and temporary folder removed', async () => {
    const stateFile = path.join(mkdtempSync(path.join(tmpdir(), 'keyroll-sigterm-')), 'state.json');
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'local', 'endpoints.ts')], {
      cwd: REPO,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', KEYROLL_LOCAL_STATE: stateFile },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!output.includes('Ctrl-C stops') && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(stateFile)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(stateFile)).toBe(false);
    const logs = /function logs:\s+(\S+)/.exec(output)?.[1] ?? '';
    expect({ logs: logs !== '', removed: !existsSync(logs) }).toEqual({ logs: true, removed: true });
  }, 90_000);
});
