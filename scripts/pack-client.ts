/**
 * `npm run pack:client`: the client SDK as a package of its own, `keyroll-client`, for API clients that need
 * neither the CDK nor keyroll's functions: one CommonJS file with jose inside (its notice beside it; the optional
 * Secrets Manager client is left to npm), the declarations `npm run build` wrote for `keyroll/client` and those they import, a README and the
 * licence. Writes `keyroll-client-<version>.tgz` into the folder given (default: the repository) and prints its path.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const REPO = path.join(__dirname, '..');
const DIST = path.join(REPO, 'dist');

export function packClient(destination: string = REPO): string {
  if (!existsSync(path.join(DIST, 'client', 'index.d.ts'))) throw new Error('dist/client is not built: run npm run build first');
  const root = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string; license: string; engines: Record<string, string>; dependencies: Record<string, string>; peerDependencies: Record<string, string> };
  const out = path.join(DIST, 'keyroll-client');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  buildSync({
    entryPoints: [path.join(REPO, 'client', 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: path.join(out, 'index.js'),
    external: ['@aws-sdk/client-secrets-manager'],
    minify: true,
    logLevel: 'error',
    legalComments: 'none',
  });

  // The declarations of dist/client and every relative module they import, in the same layout.
  const pending = [path.join(DIST, 'client', 'index.d.ts')];
  const copied = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() ?? '';
    if (copied.has(file)) continue;
    copied.add(file);
    const target = path.join(out, 'types', path.relative(DIST, file));
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(file, target);
    for (const [, specifier = ''] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) pending.push(path.join(path.dirname(file), `${specifier}.d.ts`));
  }

  writeFileSync(
    path.join(out, 'package.json'),
    `${JSON.stringify(
      {
        name: 'keyroll-client',
        version: root.version,
        description: 'The client SDK of keyroll: an API key that follows its rotations, from Secrets Manager or keyroll\'s key delivery',
        license: root.license,
        engines: root.engines,
        main: 'index.js',
        types: 'types/client/index.d.ts',
        files: ['index.js', 'types/', 'README.md', 'LICENSE', 'THIRD-PARTY-NOTICES'],
        peerDependencies: { '@aws-sdk/client-secrets-manager': root.peerDependencies['@aws-sdk/client-secrets-manager'] },
        peerDependenciesMeta: { '@aws-sdk/client-secrets-manager': { optional: true } },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    path.join(out, 'README.md'),
    '# keyroll-client\n\nThe client SDK of [keyroll](https://github.com/keyroll/keyroll): `KeyProvider` always has a key of a keyroll-protected API that works, from the client\'s secret in AWS Secrets Manager (`SecretsManagerKeySource`, which needs `@aws-sdk/client-secrets-manager`) or from keyroll\'s key delivery route (`DeliveryKeySource`, outside AWS). See keyroll\'s README, "Integrate: the client SDK".\n',
  );
  copyFileSync(path.join(REPO, 'LICENSE'), path.join(out, 'LICENSE'));
  // jose is bundled: its MIT licence goes with it.
  writeFileSync(path.join(out, 'THIRD-PARTY-NOTICES'), `index.js includes jose ${root.dependencies['jose'] ?? ''} (https://github.com/panva/jose):\n\n${readFileSync(path.join(REPO, 'node_modules', 'jose', 'LICENSE.md'), 'utf8')}`);
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', destination], { cwd: out, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string }[];
  return path.join(destination, packed?.filename ?? '');
}

if (require.main === module) console.log(packClient(process.argv[2]));
