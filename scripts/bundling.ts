import { buildSync } from 'esbuild';
import * as path from 'node:path';
import { FUNCTION_ENTRIES, type FunctionEntry } from '../lib/function-bundles';

/**
 * How every keyroll Lambda is bundled, shared by the package build and the benchmark so that what is
 * measured is what is deployed: CommonJS for Node.js 24, minified, the AWS SDK included (the runtime's copy
 * lags npm), and module-first resolution (ES module builds of the SDK load in about half the time of the
 * CommonJS ones).
 */
export const LAMBDA_BUNDLING = {
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
} as const;

/** Bundles one function's entry module (`lambda/functions/<entry>.ts`) into `<directory>/index.js`. */
export function bundleFunction(entry: FunctionEntry, directory: string): string {
  const outfile = path.join(directory, 'index.js');
  buildSync({
    entryPoints: [path.join(__dirname, '..', 'lambda', 'functions', `${entry}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'error',
    legalComments: 'none',
    ...LAMBDA_BUNDLING,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
  });
  return outfile;
}

/** Bundles every function into `dist/bundles/<entry>/`, where the construct finds them. */
export function bundleAllFunctions(root = path.join(__dirname, '..', 'dist', 'bundles')): void {
  for (const entry of FUNCTION_ENTRIES) bundleFunction(entry, path.join(root, entry));
}

/**
 * The `keyroll` CLI as one file (`dist/cli/keyroll.js`), its libraries and the AWS SDK included, so that the
 * package needs no runtime dependency for it. It runs on the operator's Node.js 20 or later.
 */
export function bundleCli(root = path.join(__dirname, '..', 'dist', 'cli')): string {
  const outfile = path.join(root, 'keyroll.js');
  buildSync({
    entryPoints: [path.join(__dirname, '..', 'cli', 'keyroll.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    mainFields: ['module', 'main'],
    minify: true,
    outfile,
    logLevel: 'error',
    legalComments: 'none',
  });
  return outfile;
}
