/**
 * `npm run bench`: keyroll's speed and size figures, printed. Targets are reported, never asserted: a
 * benchmark on a shared machine is not a test.
 */
import { benchAuthorizer } from './authorizer';
import { benchUsage } from './usage';

async function main(): Promise<void> {
  const started = Date.now();
  for (const bench of [benchAuthorizer, benchUsage]) console.log((await bench()).join('\n'), '\n');
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
