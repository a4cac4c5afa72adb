import { buildSync } from 'esbuild';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AUTHORIZER_VARIABLES } from '../lambda/config/authorizer-config';
import { DELIVERY_VARIABLES } from '../lambda/config/delivery-config';
import { EMERGENCY_VARIABLES, LEAK_REPORT_VARIABLES } from '../lambda/config/leak-report-config';
import { FIRST_KEY_VARIABLES } from '../lambda/config/first-key-config';
import { MONITOR_VARIABLES } from '../lambda/config/monitor-config';
import { ROTATION_VARIABLES } from '../lambda/config/rotation-config';
import { USAGE_VARIABLES } from '../lambda/config/usage-config';
import type { VariableSet } from '../lambda/config/variables';
import { FUNCTION_ENTRIES, type FunctionEntry } from '../lib/function-bundles';
import { bundleFunction, line, medianRequireMs } from './support';

const VARIABLES: Record<FunctionEntry, VariableSet> = {
  authorizer: AUTHORIZER_VARIABLES,
  rotation: ROTATION_VARIABLES,
  usage: USAGE_VARIABLES,
  monitor: MONITOR_VARIABLES,
  'first-key': FIRST_KEY_VARIABLES,
  delivery: DELIVERY_VARIABLES,
  'leak-report': LEAK_REPORT_VARIABLES,
  emergency: EMERGENCY_VARIABLES,
};

/** Every function's bundle, built as the package builds it: its size and its cold `require` time, configured with the declared examples. */
export async function benchBundles(): Promise<string[]> {
  const lines = [`Function bundles (Node.js ${process.version}; require: median of 10 fresh processes)`];
  for (const entry of FUNCTION_ENTRIES) {
    const bundle = bundleFunction(entry);
    const env = {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      ...Object.fromEntries(Object.values(VARIABLES[entry]).map((variable) => [variable.name, variable.example])),
    };
    const requireMs = medianRequireMs(bundle.file, env);
    lines.push(line(entry, `${(bundle.bytes / 1024).toFixed(1)} KB  ${requireMs.toFixed(1).padStart(5)} ms`));
  }
  lines.push(line('client SDK (keyroll/client, AWS SDK not included)', `${(clientBundleBytes() / 1024).toFixed(1)} KB`));
  return lines;
}

/** What `keyroll/client` adds to an application's bundle, minified; the AWS SDK is the application's own. */
function clientBundleBytes(): number {
  const outfile = path.join(mkdtempSync(path.join(tmpdir(), 'keyroll-client-')), 'client.js');
  buildSync({ entryPoints: [path.join(__dirname, '..', 'client', 'index.ts')], bundle: true, platform: 'node', format: 'cjs', minify: true, external: ['@aws-sdk/*'], outfile, logLevel: 'error' });
  return statSync(outfile).size;
}
