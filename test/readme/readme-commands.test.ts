import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DemoSummary } from '../../local/demo';

/**
 * Every shell command of the README, as a newcomer types it, in a fresh copy of this working tree (its files as
 * git sees them, no build output, no node_modules): `npm ci` once, then each command as written. Long-running
 * ones must still run after 30 s, answer on the URLs they print, and stop with their summary on SIGINT; the
 * others must exit 0. A command that cannot run here says why in PLANS; a README command missing from PLANS,
 * or a plan for a command the README no longer has, fails the first test.
 */

const REPO = path.join(__dirname, '..', '..');
const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');

type Plan =
  | { readonly kind: 'run' }
  | { readonly kind: 'until-sigint' }
  /** Run until its first AWS call, which must be the only thing that fails. */
  | { readonly kind: 'until-aws'; readonly failsWith: RegExp }
  | { readonly kind: 'not-here'; readonly why: string };

const AWS = (what: string): Plan => ({ kind: 'not-here', why: `calls AWS (${what}): no account here` });
const PROOF = (where: string): Plan => ({ kind: 'not-here', why: `a proof that runs for minutes; its short form runs in npm test (${where})` });

/** What this test does with each README command. */
const PLANS: Readonly<Record<string, Plan>> = {
  'npm ci && npm start': { kind: 'until-sigint' },
  'npm ci && npm test': { kind: 'not-here', why: 'it is the command that runs this test (CI runs it on a fresh clone: .ci/run)' },
  'npm start -- --duration 20 --json --rotate-every 3 --grace 6 --cache-ttl 1 --monitor-every 2 --request-interval 100': { kind: 'run' },
  'npm start -- --help': { kind: 'run' },
  'npm run local:aws': { kind: 'until-sigint' },
  'npm ci && npm pack': { kind: 'run' },
  'npm install aws-cdk-lib constructs cdk-nag /path/to/keyroll-0.1.0.tgz': { kind: 'run' },
  'npm install --save-dev aws-cdk@2.1148.1 typescript@5.9.3 @types/node@20': { kind: 'run' },
  'npx cdk synth': { kind: 'run' },
  'npm run bench': { kind: 'not-here', why: 'a benchmark: 45 s of both cores, whose figures mean nothing beside a test run; run by hand on a fresh clone for each release' },
  'npm run soak': PROOF('test/proof/soak.test.ts'),
  'npm run fuzz': PROOF('test/proof/fuzz.test.ts'),
  'npm run exhaustive': PROOF('test/proof/exhaustive.test.ts'),
  'npm run flood': PROOF('test/local/public-endpoint-flood.test.ts'),
  'npx keyroll --help': { kind: 'run' },
  'npm run pack:client': { kind: 'run' },
  'npm install /path/to/keyroll-client-0.1.0.tgz @aws-sdk/client-secrets-manager': { kind: 'run' },
  'keyroll --stack Orders clients list': AWS('CloudFormation, DynamoDB, Secrets Manager'),
  'npx keyroll --local status acme': { kind: 'run' },
  'aws sns subscribe --topic-arn "$CLIENT_TOPIC_ARN" --protocol https --notification-endpoint https://hooks.acme.example/keyroll --attributes \'{"FilterPolicy": "{\\"clientId\\": [\\"acme\\"]}"}\'': AWS('SNS, through the AWS CLI, which is not installed here'),
  'keyroll --stack S status acme': AWS('the runbook, on a deployed install'),
  'keyroll --stack S rotate acme --emergency --reason "key in public repo, ticket SEC-123"': AWS('the runbook, on a deployed install'),
  'keyroll --stack S events acme --since 1h': AWS('the runbook, on a deployed install'),
  'keyroll --stack S extend acme --version V --by 12h --reason "client deploy failed, ticket OPS-77"': AWS('the runbook, on a deployed install'),
  'SINCE=2026-12-02T10:00:00Z': AWS('the runbook\'s install-wide rotation, on a deployed install'),
  "for c in $(keyroll --stack S --json clients list | jq -r '.clients[].clientId'); do": AWS('the runbook\'s install-wide rotation, on a deployed install'),
  'current=$(keyroll --stack S --json status "$c" | jq -r \'.versions[] | select(.state == "current") | .currentSince\')': AWS('the runbook\'s install-wide rotation, on a deployed install'),
  '[[ "$current" > "$SINCE" ]] && continue': AWS('the runbook\'s install-wide rotation, on a deployed install'),
  'keyroll --stack S rotate "$c" --reason "install-wide rotation, ticket SEC-124" || break': AWS('the runbook\'s install-wide rotation, on a deployed install'),
  'sleep 2': AWS('the runbook\'s install-wide rotation, on a deployed install'),
  done: AWS('the runbook\'s install-wide rotation, on a deployed install'),
  'SECRET=keyroll/<stack>/<construct id>/<clientId>': AWS('the runbook, Secrets Manager through the AWS CLI'),
  'aws secretsmanager describe-secret --secret-id "$SECRET" --query VersionIdsToStages': AWS('the runbook, Secrets Manager through the AWS CLI'),
  'aws secretsmanager update-secret-version-stage --secret-id "$SECRET" --version-stage AWSPENDING --remove-from-version-id <versionId from the message>': AWS('the runbook, Secrets Manager through the AWS CLI'),
  'aws secretsmanager rotate-secret --secret-id "$SECRET"': AWS('the runbook, Secrets Manager through the AWS CLI'),
  'npm ci': { kind: 'run' },
  'npx cdk bootstrap aws://<account>/<region>': AWS('CloudFormation: the bootstrap stack'),
  'npx cdk deploy KeyrollExample': { kind: 'until-aws', failsWith: /Unable to resolve AWS account to use/ },
  "API_URL=$(aws cloudformation describe-stacks --stack-name KeyrollExample --query \"Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue\" --output text)": AWS('the deployed example: CloudFormation'),
  'KEY=$(aws secretsmanager get-secret-value --secret-id keyroll/KeyrollExample/ApiKeys/acme --query SecretString --output text | jq -r .apiKey)': AWS('the deployed example: Secrets Manager'),
  'curl -s -H "x-api-key: $KEY" "${API_URL}hello"': AWS('the deployed example\'s API'),
  'curl -s -X POST -H "x-api-key: $KEY" "${API_URL}orders"': AWS('the deployed example\'s API'),
  'curl -s "${API_URL}hello"': AWS('the deployed example\'s API'),
  'aws secretsmanager rotate-secret --secret-id keyroll/KeyrollExample/ApiKeys/acme': AWS('the deployed example: Secrets Manager'),
};

/** The README's shell commands: each line of its `sh` blocks, continuations joined, comments dropped. */
function readmeCommands(readme: string): string[] {
  const commands: string[] = [];
  for (const [, body = ''] of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = body.replace(/\s*\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const command = line.replace(/(^|\s{2,})#.*$/, '').trim();
      if (command !== '' && !commands.includes(command)) commands.push(command);
    }
  }
  return commands;
}

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly ms: number;
}

/** Runs a command line with bash in `cwd`, in a process group of its own. */
function start(command: string, cwd: string, env: NodeJS.ProcessEnv) {
  const startedAt = Date.now();
  const child = spawn('bash', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const finished = new Promise<Finished>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output, ms: Date.now() - startedAt })));
  return { child, finished, output: () => output, stop: () => process.kill(-(child.pid ?? 0), 'SIGINT') };
}

const run = (command: string, cwd: string, env: NodeJS.ProcessEnv) => start(command, cwd, env).finished;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the README\'s commands, as written, on a fresh copy', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'keyroll-readme-'));
  const clone = path.join(work, 'keyroll');
  const env: NodeJS.ProcessEnv = { ...process.env, KEYROLL_LOCAL_STATE: path.join(work, 'local-state.json'), AWS_EC2_METADATA_DISABLED: 'true', CI: 'true' };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'CDK_DEFAULT_ACCOUNT', 'npm_config_prefix']) delete env[name];
  const timings: Record<string, number> = {};
  const plan = (command: string): Plan => PLANS[command] ?? { kind: 'not-here', why: 'no plan' };

  /** Runs a long-running command for 30 s, checks it while it runs, then stops it with SIGINT and returns what it printed. */
  async function untilSigint(command: string, whileRunning: (output: string) => Promise<void>): Promise<Finished> {
    const running = start(command, clone, env);
    const exitedEarly = running.finished.then((finished) => finished);
    const startedAt = Date.now();
    await Promise.race([sleep(30_000), exitedEarly]);
    expect({ command, runningAfter30s: running.child.exitCode === null && running.child.signalCode === null }).toEqual({ command, runningAfter30s: true });
    // Started by now: whatever it printed names its URLs.
    while (!/Ctrl-C/.test(running.output()) && Date.now() - startedAt < 90_000) await sleep(500);
    await whileRunning(running.output());
    running.stop();
    const finished = await running.finished;
    timings[command] = finished.ms;
    return finished;
  }

  beforeAll(async () => {
    // The working tree as git sees it: tracked files and new ones not ignored, as they are on disk.
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter((file) => file !== '' && existsSync(path.join(REPO, file)));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      copyFileSync(path.join(REPO, file), path.join(clone, file));
    }
    // The first command of the README, `npm ci && npm start`, begins with the one npm ci of this copy.
    const ci = await run('npm ci --no-audit --no-fund', clone, env);
    timings['npm ci'] = ci.ms;
    expect({ code: ci.code, ebadengine: /EBADENGINE/.test(ci.output) }).toEqual({ code: 0, ebadengine: false });
  }, 300_000);

  afterAll(() => {
    process.stdout.write(`README commands, ms: ${JSON.stringify(timings)}\n`);
    rmSync(work, { recursive: true, force: true });
  });

  it('has a plan for every shell command of the README, and no plan for a command it no longer has', () => {
    const commands = readmeCommands(README);
    expect(commands.filter((command) => PLANS[command] === undefined)).toEqual([]);
    expect(Object.keys(PLANS).filter((command) => !commands.includes(command))).toEqual([]);
    for (const [command, { kind }] of Object.entries(PLANS)) if (kind === 'not-here') expect({ command, why: (PLANS[command] as { why: string }).why.length > 10 }).toEqual({ command, why: true });
  });

  it('npm start runs until Ctrl-C, its API and the CLI answer meanwhile, and it stops with its summary', async () => {
    expect(plan('npm ci && npm start').kind).toBe('until-sigint');
    expect(plan('npx keyroll --local status acme').kind).toBe('run');
    // npm ci ran once above; the rest of the line as written.
    const finished = await untilSigint('npm start', async (output) => {
      const api = /API (http:\/\/127\.0\.0\.1:\d+\S*)/.exec(output)?.[1];
      expect((await fetch(`${api ?? 'http://127.0.0.1:1'}/hello`)).status).toBe(401);
      const status = await run('npx keyroll --local status acme', clone, env);
      expect({ code: status.code, output: status.output }).toEqual({ code: 0, output: expect.stringContaining('acme') });
    });
    // npm ends itself with the signal it was sent (as it does for any script); the script's summary is printed.
    expect(finished.signal).toBe('SIGINT');
    expect(finished.output).toMatch(/refusedInWindow\s+0/);
  }, 180_000);

  it('npm start -- --help exits 0', async () => {
    const help = await run('npm start -- --help', clone, env);
    expect({ code: help.code, usage: help.output.includes('--duration S') }).toEqual({ code: 0, usage: true });
  }, 60_000);

  describe('npm start for 20 s, time compressed: five clients under traffic while their keys rotate every 3 s', () => {
    const command = 'npm start -- --duration 20 --json --rotate-every 3 --grace 6 --cache-ttl 1 --monitor-every 2 --request-interval 100';
    let finished: Finished;
    let summary: DemoSummary;

    beforeAll(async () => {
      expect(plan(command).kind).toBe('run');
      finished = await run(command, clone, env);
      timings[command] = finished.ms;
      summary = JSON.parse(finished.output.trim().split('\n').at(-1) ?? '{}') as DemoSummary;
    }, 180_000);

    it('rotates at least 20 times and refuses no key inside its window; exits 0 with no error or warning', () => {
      expect({ code: finished.code, errors: finished.output.split('\n').filter((line) => /error|warning/i.test(line) && !/refused in window 0$/.test(line)) }).toEqual({ code: 0, errors: [] });
      expect(summary).toMatchObject({ clients: 5, refusedInWindow: 0, rotationsFailed: 0, rotationFailures: [] });
      expect(summary.rotations).toBeGreaterThanOrEqual(20);
      expect(summary.requests).toBeGreaterThan(300);
      // Each rotation sends its client key.rotated; the last one of each client may still be in its queue when the run ends.
      expect(summary.notifications).toBeGreaterThanOrEqual(summary.rotations - summary.clients);
    });

    it('lets every client but the one that never switches follow its rotations: by notification, by polling, and through key delivery', () => {
      const byClient = Object.fromEntries(summary.perClient.map((c) => [c.clientId, c]));
      for (const clientId of ['acme', 'globex', 'initech', 'hooli']) {
        expect({ clientId, requests: (byClient[clientId]?.requests ?? 0) > 40, refusedInWindow: byClient[clientId]?.refusedInWindow }).toEqual({ clientId, requests: true, refusedInWindow: 0 });
        expect(byClient[clientId]?.keyVersionsUsed).toBeGreaterThanOrEqual(3);
      }
      expect(byClient['hooli']?.behaviour).toBe('outside-aws');
      expect(byClient['umbrella']?.keyVersionsUsed).toBe(1);
    });

    it('refuses the client that never switches once its key\'s window has ended, within the bound, and catches the missed switch', () => {
      expect(summary.refusedAfterWindow).toBeGreaterThan(0);
      // The bound, plus one request interval and the time a loaded machine takes to answer.
      expect(summary.neverSwitchingRefusedAfterMs).not.toBeNull();
      expect(summary.neverSwitchingRefusedAfterMs).toBeLessThanOrEqual(summary.refusalBoundMs + 100 + 500);
      // The report at the first refusal, the log delivery (1 s), a monitor run (every 2 s) and the queue's long poll (1 s), with the same allowance.
      expect(summary.missedSwitchCaughtAfterMs).not.toBeNull();
      expect(summary.missedSwitchCaughtAfterMs).toBeLessThanOrEqual(1_000 + 2_000 + 1_000 + 2_000);
    });
  });

  it('npm run local:aws runs until Ctrl-C, its printed endpoints answer, and it says what it removed; meanwhile npx cdk deploy KeyrollExample gets as far as its first AWS call', async () => {
    expect(plan('npm run local:aws').kind).toBe('until-sigint');
    // The deploy alongside: local mode is idle once started, and the two share nothing.
    const deploy = 'npx cdk deploy KeyrollExample';
    const expected = plan(deploy);
    if (expected.kind !== 'until-aws') throw new Error(`${deploy} is planned as ${expected.kind}`);
    const deploying = run(deploy, clone, env);
    const finished = await untilSigint('npm run local:aws', async (output) => {
      const api = /API \(REST[^)]*\):\s+(http:\/\/\S+)/.exec(output)?.[1];
      expect((await fetch(api ?? 'http://127.0.0.1:1')).status).toBe(401);
      const secretsManager = /Secrets Manager:\s+(http:\/\/\S+)/.exec(output)?.[1];
      const answer = await fetch(secretsManager ?? 'http://127.0.0.1:1', { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' }, body: '{}' });
      expect(((await answer.json()) as { SecretList: unknown[] }).SecretList).toHaveLength(2);
    });
    expect(finished.output).toMatch(/stopped after \d+ s; removed \S+ and this run's state file/);
    const removed = /removed (\S+) and/.exec(finished.output)?.[1] ?? '';
    expect(existsSync(removed)).toBe(false);

    // The bundles are built on demand and the app synthesizes; only the AWS call fails.
    const deployed = await deploying;
    timings[deploy] = deployed.ms;
    expect(deployed.output).toMatch(/Synthesis time/);
    expect(deployed.output).toMatch(expected.failsWith);
    expect(deployed.code).not.toBe(0);
    expect(deployed.output.split('\n').filter((line) => /Cannot find|ENOENT|not exist/.test(line))).toEqual([]);
  }, 180_000);

  it('npx keyroll --help exits 0', async () => {
    const help = await run('npx keyroll --help', clone, env);
    expect({ code: help.code, usage: help.output.includes('Usage: keyroll') }).toEqual({ code: 0, usage: true });
  }, 60_000);

  it('npm pack, then the README\'s install lines in a new CDK app, then npx cdk synth there', async () => {
    const pack = await run('npm pack', clone, env);
    timings['npm pack'] = pack.ms;
    expect(pack.code).toBe(0);
    const tarball = readdirSync(clone).find((file) => /^keyroll-.*\.tgz$/.test(file)) ?? '';
    expect(tarball).toBe('keyroll-0.1.0.tgz');

    const app = path.join(work, 'orders-api');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'orders-api', private: true }));
    for (const file of ['app.ts', 'tsconfig.json', 'cdk.json']) cpSync(path.join(clone, 'examples', 'consumer-app', file), path.join(app, file));
    for (const command of ['npm install aws-cdk-lib constructs cdk-nag /path/to/keyroll-0.1.0.tgz', 'npm install --save-dev aws-cdk@2.1148.1 typescript@5.9.3 @types/node@20', 'npx cdk synth']) {
      expect(plan(command).kind).toBe('run');
      // The README's placeholder is where npm pack wrote the tarball.
      const finished = await run(command.replace('/path/to/', `${clone}/`), app, { ...env, AWS_REGION: 'eu-west-1' });
      timings[command] = finished.ms;
      expect({ command, code: finished.code, errors: finished.output.split('\n').filter((line) => /npm (ERR|error)|EBADENGINE|error TS/.test(line)) }).toEqual({ command, code: 0, errors: [] });
    }
    expect(existsSync(path.join(app, 'cdk.out', 'OrdersApi.template.json'))).toBe(true);
  }, 300_000);

  it('npm run pack:client, then the client\'s install line in an empty folder: the SDK loads', async () => {
    const pack = await run('npm run pack:client', clone, env);
    timings['npm run pack:client'] = pack.ms;
    expect(pack.code).toBe(0);
    const client = path.join(work, 'api-client');
    mkdirSync(client);
    writeFileSync(path.join(client, 'package.json'), JSON.stringify({ name: 'api-client', private: true }));
    const command = 'npm install /path/to/keyroll-client-0.1.0.tgz @aws-sdk/client-secrets-manager';
    expect(plan(command).kind).toBe('run');
    const install = await run(command.replace('/path/to/', `${clone}/`), client, env);
    timings[command] = install.ms;
    expect(install.code).toBe(0);
    const loaded = await run(`node -e "process.stdout.write(Object.keys(require('keyroll-client')).join(','))"`, client, env);
    expect(loaded.output).toContain('KeyProvider');
  }, 180_000);

});
