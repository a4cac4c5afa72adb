import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidKeyrollPropsError } from '../lambda/domain/errors';

/** keyroll's functions, one bundle each (`lambda/functions/<entry>.ts`). */
export const FUNCTION_ENTRIES = ['authorizer', 'rotation', 'usage', 'monitor', 'first-key', 'delivery', 'leak-report', 'emergency'] as const;
export type FunctionEntry = (typeof FUNCTION_ENTRIES)[number];

/**
 * Where a function's prebuilt bundle is: `dist/bundles/<entry>` of the package. The bundles are made when
 * the package is built (`npm run bundle`), so an app that uses keyroll synthesizes without esbuild,
 * Docker or TypeScript sources. This file runs from `lib/` in the repository and from `dist/lib/` when
 * installed.
 */
export function bundleDirectory(entry: FunctionEntry): string {
  const candidates = [path.join(__dirname, '..', 'bundles', entry), path.join(__dirname, '..', 'dist', 'bundles', entry)];
  const found = candidates.find((directory) => existsSync(path.join(directory, 'index.js')));
  if (found === undefined) {
    throw new InvalidKeyrollPropsError(`the bundle of keyroll's ${entry} function is missing (looked in ${candidates.join(', ')}); run "npm run bundle" in keyroll`);
  }
  return found;
}
