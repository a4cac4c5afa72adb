/**
 * `npm start`: keyroll on this machine, no AWS account. Every function runs from its bundle in its own process
 * over the real AWS SDK, against local DynamoDB (dynalite), Secrets Manager (keyroll's model over its JSON
 * protocol) and SNS/SQS (fauxqs); a local API Gateway sits in front; demo clients call it continuously while
 * keys rotate on a compressed schedule. Ctrl-C or --duration ends it with a summary.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { localStatePath } from '../cli/install-context';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import { runDemo, type DemoState } from './demo';

const processStartMs = Date.now() - Math.round(process.uptime() * 1000);

const USAGE = `npm start -- [options]

  --duration S          stop after S seconds (default: run until Ctrl-C)
  --rotate-every S      each client's key rotates every S seconds (default 20)
  --grace S             grace period of a replaced key, in seconds (default 30)
  --cache-ttl S         API Gateway's and the authorizer's cache TTL, in seconds (default 5)
  --monitor-every S     the monitor runs every S seconds (default 5)
  --request-interval MS each demo client sends a request every MS milliseconds (default 250)
  --json                no live view; the last line of standard output is the JSON summary
  --help

Exit status 1 if any request with a key inside its window was refused.`;

function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      'rotate-every': { type: 'string', default: '20' },
      grace: { type: 'string', default: '30' },
      'cache-ttl': { type: 'string', default: '5' },
      'monitor-every': { type: 'string', default: '5' },
      'request-interval': { type: 'string', default: '250' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return Promise.resolve(0);
  }
  const number = (name: string, text: string | undefined, min: number): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number of at least ${min}; got ${String(text)}`);
    return value;
  };
  const abort = new AbortController();
  // Ctrl-C, or a process manager's stop: the same orderly end, its summary, the state file removed.
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const json = values.json;
  const logDirectory = mkdtempSync(path.join(tmpdir(), 'keyroll-local-'));
  return runDemo(
    {
      durationMs: values.duration === undefined ? Number.POSITIVE_INFINITY : 1000 * number('duration', values.duration, 1),
      rotateEveryMs: 1000 * number('rotate-every', values['rotate-every'], 1),
      gracePeriod: Duration.seconds(number('grace', values.grace, 1)),
      cacheTtl: Duration.seconds(number('cache-ttl', values['cache-ttl'], 0)),
      monitorEveryMs: 1000 * number('monitor-every', values['monitor-every'], 1),
      requestIntervalMs: number('request-interval', values['request-interval'], 10),
      logDirectory,
      stateFile: localStatePath(),
      signal: abort.signal,
      onTick: (state) => (json ? progressLine(state) : render(state)),
    },
    processStartMs,
  ).then((summary) => {
    rmSync(logDirectory, { recursive: true, force: true });
    if (json) console.log(JSON.stringify(summary));
    else {
      const { perClient, ...totals } = summary;
      console.log(`\n${Object.entries(totals).map(([name, value]) => `${name.padEnd(30)} ${String(value)}`).join('\n')}`);
      for (const c of perClient) console.log(`  ${c.clientId.padEnd(9)} ${c.behaviour.padEnd(16)} ${c.requests} requests, ${c.keyVersionsUsed} key versions, refused in window ${c.refusedInWindow}, after ${c.refusedAfterWindow}`);
    }
    return summary.refusedInWindow > 0 ? 1 : 0;
  });
}

/** The live view: each client's key, its requests in the last 5 seconds, its notifications; then the totals and bounds. */
function render(state: DemoState): void {
  const rows = state.clients.map((c) => {
    const ok = c.recent.filter(([, allowed]) => allowed).length;
    const refused = c.recent.length - ok;
    const notes = Object.entries(c.notifications).map(([type, n]) => `${type}×${n}`).join(' ') || '-';
    return `  ${c.clientId.padEnd(9)} ${c.behaviour.padEnd(16)} key ${(c.versionId ?? '-').slice(0, 8)}  last 5 s: ${String(ok).padStart(3)} ok ${String(refused).padStart(3)} refused   refused in window ${c.refusedInWindow}, after ${c.refusedAfterWindow}   ${notes}`;
  });
  const elapsed = Math.round((Date.now() - state.startedAtMs) / 1000);
  process.stdout.write(
    `\x1b[2J\x1b[Hkeyroll, local (started in ${(state.startupMs / 1000).toFixed(1)} s, running ${elapsed} s; Ctrl-C stops)\n${urlLine(state)}\n\n${rows.join('\n')}\n\n` +
      `  rotations ${state.rotations} (${state.rotationsFailed} failed)   a key ends at most ${state.boundMs / 1000} s after its window (cache TTLs)\n`,
  );
}

function urlLine(state: DemoState): string {
  return `  API ${state.urls.api}${state.urls.delivery === undefined ? '' : `   key delivery ${state.urls.delivery}`}   keyroll --local <command> operates it`;
}

let urlsShown = false;
function progressLine(state: DemoState): void {
  if (!urlsShown) {
    urlsShown = true;
    process.stderr.write(`${urlLine(state).trim()}\n`);
  }
  const elapsed = Math.round((Date.now() - state.startedAtMs) / 1000);
  if (elapsed % 5 !== 0) return;
  const requests = state.clients.reduce((n, c) => n + c.ok + c.refusedInWindow + c.refusedAfterWindow, 0);
  const wrongful = state.clients.reduce((n, c) => n + c.refusedInWindow, 0);
  process.stderr.write(`[${elapsed} s] rotations ${state.rotations}, requests ${requests}, refused in window ${wrongful}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
