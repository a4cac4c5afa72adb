import { spawn } from 'node:child_process';
import * as path from 'node:path';

/**
 * `npm start` end to end, as a user runs it (the command's own entry point, the built bundles, every function in
 * its own process over the real AWS SDK against the local endpoints): four clients under continuous traffic
 * while their keys rotate every few seconds.
 */

const REPO = path.join(__dirname, '..', '..');

interface Summary {
  readonly rotations: number;
  readonly rotationsFailed: number;
  readonly rotationFailures: readonly string[];
  readonly requests: number;
  readonly refusedInWindow: number;
  readonly refusedAfterWindow: number;
  readonly notifications: number;
  readonly clients: number;
  readonly startupMs: number;
  readonly refusalBoundMs: number;
  readonly durationS: number;
  readonly neverSwitchingRefusedAfterMs: number | null;
  readonly missedSwitchCaughtAfterMs: number | null;
  readonly perClient: readonly { readonly clientId: string; readonly behaviour: string; readonly requests: number; readonly refusedInWindow: number; readonly keyVersionsUsed: number }[];
}

function runLocal(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'local', 'start.ts'), ...args], { cwd: REPO, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm start (local mode)', () => {
  let result: { code: number | null; stdout: string; stderr: string };
  let summary: Summary;

  beforeAll(async () => {
    result = await runLocal(['--duration', '25', '--json', '--rotate-every', '3', '--grace', '6', '--cache-ttl', '1', '--monitor-every', '2', '--request-interval', '100']);
    summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Summary;
  }, 120_000);

  it('rotates at least 20 times under traffic from 5 clients and refuses no key inside its window; exits 0', () => {
    expect({ code: result.code, stderrErrors: result.stderr.split('\n').filter((line) => /error|warning/i.test(line)) }).toEqual({ code: 0, stderrErrors: [] });
    expect(summary).toMatchObject({ clients: 5, refusedInWindow: 0, rotationsFailed: 0, rotationFailures: [] });
    expect(summary.rotations).toBeGreaterThanOrEqual(20);
    expect(summary.requests).toBeGreaterThan(400);
    // Each rotation sends its client key.rotated; the last one of each client may still be in its queue when the run ends.
    expect(summary.notifications).toBeGreaterThanOrEqual(summary.rotations - summary.clients);
  });

  it('lets every client but the one that never switches follow its rotations: by notification, by polling, and through key delivery', () => {
    const byBehaviour = Object.fromEntries(summary.perClient.map((c) => [c.clientId, c]));
    for (const clientId of ['acme', 'globex', 'initech', 'hooli']) {
      expect({ clientId, requests: (byBehaviour[clientId]?.requests ?? 0) > 50, refusedInWindow: byBehaviour[clientId]?.refusedInWindow }).toEqual({ clientId, requests: true, refusedInWindow: 0 });
      expect(byBehaviour[clientId]?.keyVersionsUsed).toBeGreaterThanOrEqual(3);
    }
    expect(byBehaviour['hooli']?.behaviour).toBe('outside-aws');
    expect(byBehaviour['umbrella']?.keyVersionsUsed).toBe(1);
  });

  it('refuses the client that never switches once its key\'s window has ended, within the stated bound', () => {
    expect(summary.refusedAfterWindow).toBeGreaterThan(0);
    expect(summary.neverSwitchingRefusedAfterMs).not.toBeNull();
    // The bound, plus one request interval (the first request after the end may come that much later) and the
    // time a loaded machine takes to answer it.
    expect(summary.neverSwitchingRefusedAfterMs).toBeLessThanOrEqual(summary.refusalBoundMs + 100 + 500);
  });

  it('catches the missed switch: the client gets key.refused soon after its first refused request', () => {
    expect(summary.missedSwitchCaughtAfterMs).not.toBeNull();
    // The report is written at the first refusal; then the log delivery (1 s), a monitor run (every 2 s here)
    // and the queue's long poll (1 s), with the same allowance for a loaded machine as above.
    expect(summary.missedSwitchCaughtAfterMs).toBeLessThanOrEqual(1_000 + 2_000 + 1_000 + 2_000);
  });
});
