import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FUNCTION_ENTRIES } from '../../lib/function-bundles';
import { packClient } from '../../scripts/pack-client';
import { AWS_RULES, type SynthesizedTemplate } from '../support/aws-rules';

/**
 * keyroll as a team gets it: `npm pack`, the tarball installed into a new CDK app in a temporary folder (offline:
 * the tarball, and the CDK libraries this repository already installed), the app type-checked against the packed
 * declarations and synthesized by the CDK CLI with cdk-nag. The app is examples/consumer-app, which the README shows.
 */

const REPO = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(REPO, 'examples', 'consumer-app');
const SNIPPETS = path.join(REPO, 'examples', 'readme');
const README_SNIPPETS = readdirSync(SNIPPETS).filter((file) => file.endsWith('.ts'));
/** What the app may find in its node_modules besides keyroll: its peer dependencies, its one dependency (jose), and what any CDK app has. */
const APP_DEPENDENCIES = ['aws-cdk-lib', 'constructs', 'cdk-nag', '@types/node', 'jose'];

interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly Metadata?: Record<string, unknown> }>;
}

describe('keyroll installed from its packed tarball into a new CDK app', () => {
  let workDir: string;
  let appDir: string;
  let packedFiles: string[];
  /** tsc over the app, against keyroll's packed declarations; it also writes the app.js that the CLI runs. */
  let typeCheck: { status: number | null; output: string };
  /** tsc over the README's other TypeScript snippets (examples/readme), against the same packed declarations. */
  let snippetCheck: { status: number | null; output: string };
  /** The app's template, as the CDK CLI synthesized it. */
  let synthesizedTemplate: SynthesizedTemplate | undefined;

  beforeAll(() => {
    if (!existsSync(path.join(REPO, 'dist', 'lib', 'index.js'))) throw new Error('dist/ is not built: run "npm run build" first (npm test does)');
    workDir = mkdtempSync(path.join(os.tmpdir(), 'keyroll-consumer-'));
    // --ignore-scripts: `npm test` has just built dist/, so prepack need not build it again.
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', workDir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
      filename: string;
      files: { path: string }[];
    }[];
    if (packed === undefined) throw new Error('npm pack reported no package');
    packedFiles = packed.files.map((file) => file.path);

    appDir = path.join(workDir, 'orders-api');
    const installed = path.join(appDir, 'node_modules', 'keyroll');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(workDir, packed.filename), '-C', installed, '--strip-components=1']);
    for (const dependency of APP_DEPENDENCIES) {
      mkdirSync(path.dirname(path.join(appDir, 'node_modules', dependency)), { recursive: true });
      symlinkSync(path.join(REPO, 'node_modules', dependency), path.join(appDir, 'node_modules', dependency), 'dir');
    }
    for (const file of ['app.ts', 'tsconfig.json']) copyFileSync(path.join(EXAMPLE, file), path.join(appDir, file));
    const tsc = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', appDir], { encoding: 'utf8' });
    typeCheck = { status: tsc.status, output: tsc.stdout + tsc.stderr };
    // The README's other snippets, each a whole module, with the app's compiler options; the client ones import keyroll-client.
    const clientInstalled = path.join(appDir, 'node_modules', 'keyroll-client');
    mkdirSync(clientInstalled, { recursive: true });
    execFileSync('tar', ['-xzf', packClient(workDir), '-C', clientInstalled, '--strip-components=1']);
    mkdirSync(path.join(appDir, 'readme'));
    for (const file of README_SNIPPETS) copyFileSync(path.join(SNIPPETS, file), path.join(appDir, 'readme', file));
    writeFileSync(path.join(appDir, 'tsconfig.readme.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, files: README_SNIPPETS.map((file) => `readme/${file}`) }));
    const snippets = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(appDir, 'tsconfig.readme.json')], { encoding: 'utf8' });
    snippetCheck = { status: snippets.status, output: snippets.stdout + snippets.stderr };
  }, 120_000);

  afterAll(() => {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  });

  it('ships JavaScript with type declarations and the functions\' bundles: no TypeScript source, tests or examples', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'schemas/notification-v1.schema.json']));
    for (const entry of FUNCTION_ENTRIES) expect(packedFiles).toContain(`dist/bundles/${entry}/index.js`);
    expect(packedFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(packedFiles.filter((file) => /^(test|bench|local|examples|scripts)\//.test(file))).toEqual([]);
    // What subscribers validate notifications against, and the types of the construct's public members.
    const schema = execFileSync(process.execPath, ['-e', "process.stdout.write(require.resolve('keyroll/schemas/notification-v1.schema.json'))"], { cwd: appDir, encoding: 'utf8' });
    expect(schema).toContain(path.join('node_modules', 'keyroll', 'schemas'));
    const exported = readFileSync(path.join(appDir, 'node_modules', 'keyroll', 'dist', 'lib', 'index.d.ts'), 'utf8');
    for (const name of ['KeyrollFunction', 'QuotaPeriod']) expect(exported).toContain(name);
    const manifest = JSON.parse(readFileSync(path.join(appDir, 'node_modules', 'keyroll', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['dependencies']).toEqual({ jose: expect.any(String) });
    expect(manifest['peerDependencies']).toEqual({ 'aws-cdk-lib': expect.any(String), constructs: expect.any(String), '@aws-sdk/client-secrets-manager': expect.any(String) });
    expect(manifest['peerDependenciesMeta']).toEqual({ '@aws-sdk/client-secrets-manager': { optional: true } });
  });

  it('gives API clients keyroll/client, which loads with no AWS SDK installed', () => {
    const script = "const c = require('keyroll/client'); process.stdout.write(JSON.stringify(Object.keys(c).sort()))";
    const exported = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: appDir, encoding: 'utf8' })) as string[];
    expect(exported).toEqual(expect.arrayContaining(['KeyProvider', 'SecretsManagerKeySource', 'DeliveryKeySource', 'generateDeliveryKeyPair', 'verifySnsMessage', 'notificationOfSqsBody']));
    expect(() => execFileSync(process.execPath, ['-e', "require('@aws-sdk/client-secrets-manager')"], { cwd: appDir, stdio: 'ignore' })).toThrow();
  });

  it('gives operators the keyroll command, bundled: it runs with nothing else installed', () => {
    const help = execFileSync(process.execPath, [path.join(appDir, 'node_modules', 'keyroll', 'bin', 'keyroll-cli.cjs'), '--help'], { cwd: appDir, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: keyroll \[options\] \[command\]/);
    for (const command of ['clients', 'status', 'rotate', 'revoke', 'extend', 'events']) expect(help).toContain(`  ${command}`);
  });

  it('type-checks the app against the packed declarations', () => {
    expect(typeCheck).toEqual({ status: 0, output: '' });
  });

  it('synthesizes with the CDK CLI and passes cdk-nag, with a REST and an HTTP API authorizer and keyroll\'s five functions from the packed bundles', () => {
    // No esbuild, Docker or TypeScript source is reachable from the app's node_modules.
    const cdk = spawnSync(
      process.execPath,
      [path.join(REPO, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--app', 'node app.js', '--output', 'cdk.out', '--no-notices', '--no-version-reporting', '--quiet', '--ci'],
      { cwd: appDir, encoding: 'utf8', env: { ...process.env, AWS_REGION: 'eu-west-1', CDK_DEFAULT_REGION: undefined, CDK_DEFAULT_ACCOUNT: undefined } },
    );
    expect({ status: cdk.status, errors: cdk.stderr.split('\n').filter((line) => /ERROR|Error/.test(line)) }).toEqual({ status: 0, errors: [] });

    const cdkOut = path.join(appDir, 'cdk.out');
    const template = JSON.parse(readFileSync(path.join(cdkOut, 'OrdersApi.template.json'), 'utf8')) as Template;
    synthesizedTemplate = template;
    const ofType = (type: string) => Object.values(template.Resources).filter((resource) => resource.Type === type);
    expect(ofType('AWS::ApiGateway::Authorizer')).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ Type: 'REQUEST', IdentitySource: 'method.request.header.x-api-key,context.httpMethod,context.path' }) })]);
    expect(ofType('AWS::ApiGatewayV2::Authorizer')).toEqual([
      expect.objectContaining({ Properties: expect.objectContaining({ AuthorizerType: 'REQUEST', AuthorizerPayloadFormatVersion: '2.0', EnableSimpleResponses: true }) }),
    ]);
    // Each API stage's access logs, and the authorizer's own reports of ended keys refused.
    expect(ofType('AWS::Logs::SubscriptionFilter')).toHaveLength(3);

    // Each of keyroll's functions runs the bundle the package ships, byte for byte.
    const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const codeOf = Object.fromEntries(
      Object.entries(template.Resources)
        .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Properties?.['Handler'] === 'index.handler')
        .map(([logicalId, resource]) => [logicalId, resource.Metadata?.['aws:asset:path']])
        .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
        .map(([logicalId, assetPath]) => [logicalId.replace(/[0-9A-F]{8}$/, ''), digest(path.join(cdkOut, assetPath, 'index.js'))]),
    );
    const shipped = (entry: string) => digest(path.join(appDir, 'node_modules', 'keyroll', 'dist', 'bundles', entry, 'index.js'));
    expect(codeOf).toEqual({
      ApiKeysAuthorizerFunction: shipped('authorizer'),
      ApiKeysRotationFunction: shipped('rotation'),
      ApiKeysUsageFunction: shipped('usage'),
      ApiKeysMonitorFunction: shipped('monitor'),
      ApiKeysFirstKeyFunction: shipped('first-key'),
    });
  }, 120_000);

  // The AWS rules of test/cdk/aws-rules.test.ts, on this app; it has one region and no anomaly alarm.
  const notApplicable = [
    'CloudWatch: an anomaly detection alarm on a metric emitted only above zero fills missing points with 0',
    'Secrets Manager: the rotation role may encrypt new versions with each replica region\'s KMS key',
    'CloudFormation: a replica region\'s stack deploys after the primary stack it reads',
  ];
  it.each(AWS_RULES.map((rule) => [rule.name, rule] as const))('keeps the AWS rule: %s', (_name, rule) => {
    if (synthesizedTemplate === undefined) throw new Error('the app did not synthesize (see the test above)');
    const app = { templates: { OrdersApi: synthesizedTemplate }, dependencies: {} };
    expect({ rule: rule.name, applies: rule.appliesTo(app) }).toEqual({ rule: rule.name, applies: !notApplicable.includes(rule.name) });
    expect(rule.violations(app)).toEqual([]);
  });

  it('is the app the README shows under "Use it in your own CDK app"', () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    expect(readme).toContain(['```ts', readFileSync(path.join(EXAMPLE, 'app.ts'), 'utf8').trimEnd(), '```'].join('\n'));
  });

  it('type-checks every other TypeScript snippet of the README, each a whole module, against the packed package', () => {
    expect(snippetCheck).toEqual({ status: 0, output: '' });
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map(([, body = '']) => body);
    const sources = [path.join(EXAMPLE, 'app.ts'), ...README_SNIPPETS.map((file) => path.join(SNIPPETS, file))].map((file) => readFileSync(file, 'utf8'));
    expect(blocks.filter((block) => !sources.includes(block)).map((block) => block.slice(0, 80))).toEqual([]);
    expect(sources.filter((source) => !blocks.includes(source)).map((source) => source.slice(0, 80))).toEqual([]);
  });
});
