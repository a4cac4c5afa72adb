/**
 * `npm run bench`: keyroll's speed and size figures, printed. Targets are reported, never asserted: a
 * benchmark on a shared machine is not a test.
 */
// Lambda runs Node.js 22 or later, where the SDK prints no Node-version warning; Node 20 here would, once.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { benchAuthorizer } from './authorizer';
import { benchBundles } from './bundles';
import { benchCacheFlush } from './cache-flush';
import { benchKnownKeys } from './known-keys';
import { benchReplicaWait } from './replica-wait';
import { benchScale } from './scale';
import { benchUsage } from './usage';

async function main(): Promise<void> {
  const started = Date.now();
  for (const bench of [benchAuthorizer, benchKnownKeys, benchUsage, benchScale, benchReplicaWait, benchCacheFlush, benchBundles]) console.log((await bench()).join('\n'), '\n');
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
