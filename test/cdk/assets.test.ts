import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ExampleApiStack } from '../../lib/example-api-stack';
import { appLikeTheCli } from '../support/cdk-app';

interface FunctionResource {
  readonly Type: string;
  readonly Metadata?: Record<string, unknown>;
  readonly Properties: { readonly Handler?: string; readonly Description?: string; readonly Environment?: { readonly Variables?: Record<string, unknown> } };
}

describe('The synthesized Lambda assets', () => {
  const app = appLikeTheCli();
  new ExampleApiStack(app, 'Example', { env: { account: '111122223333', region: 'eu-west-1' } });
  const assembly = app.synth();
  const template = assembly.getStackByName('Example').template as { Resources: Record<string, FunctionResource> };
  // keyroll's own functions; CDK's custom resource framework function relies on the runtime's SDK by design.
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description?.startsWith('keyroll:') === true);

  it('are one per keyroll function, each with an asset path', () => {
    expect(functions.map(([id]) => id).sort()).toEqual(['Authorizer', 'FirstKey', 'Monitor', 'Rotation', 'Usage'].map((name) => expect.stringMatching(new RegExp(`^ApiKeys${name}Function`))));
    for (const [, fn] of functions) expect(fn.Metadata?.['aws:asset:path']).toEqual(expect.stringMatching(/^asset\./));
  });

  it.each(functions.map(([id, fn]) => [id, fn] as const))('%s loads and exports its handler outside the project, with no node_modules', (_id, fn) => {
    // A copy far from the project: a bundle that is not self-contained cannot find its dependencies there.
    const directory = mkdtempSync(path.join(tmpdir(), 'keyroll-asset-'));
    cpSync(path.join(assembly.directory, String(fn.Metadata?.['aws:asset:path'])), directory, { recursive: true });
    const [file = 'index', exportName = 'handler'] = (fn.Properties.Handler ?? 'index.handler').split('.');
    // Environment values that are CloudFormation references become placeholders; literal ones are kept.
    const variables = Object.fromEntries(
      Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([name, value]) => [name, typeof value === 'string' ? value : `arn:aws:placeholder:${name}`]),
    );
    const script = `const m = require(${JSON.stringify(path.join(directory, `${file}.js`))}); if (typeof m[${JSON.stringify(exportName)}] !== 'function') { process.exit(3); }`;
    const env = { PATH: process.env['PATH'] ?? '', AWS_REGION: 'eu-west-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...variables };
    expect(() => execFileSync(process.execPath, ['-e', script], { cwd: directory, env, stdio: 'pipe' })).not.toThrow();
  });
});
