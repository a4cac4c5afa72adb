import { readFileSync } from 'node:fs';
import * as path from 'node:path';

interface LockFile {
  readonly packages: Record<string, { readonly version?: string }>;
}

describe('Dependencies', () => {
  it('install one version of every @aws-sdk/* and @smithy/* package, so SDK mocks and types line up', () => {
    const lock = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package-lock.json'), 'utf8')) as LockFile;
    const versions = new Map<string, Set<string>>();
    for (const [location, { version }] of Object.entries(lock.packages)) {
      const name = /node_modules\/((?:@aws-sdk|@smithy)\/[^/]+)$/.exec(location)?.[1];
      if (name === undefined || version === undefined) continue;
      versions.set(name, (versions.get(name) ?? new Set()).add(version));
    }
    expect(versions.size).toBeGreaterThan(20);
    const duplicated = [...versions].filter(([, found]) => found.size > 1).map(([name, found]) => `${name}: ${[...found].join(', ')}`);
    expect(duplicated).toEqual([]);
  });
});
