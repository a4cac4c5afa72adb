/** `npm run drill -- --runs 50`: the emergency bound, measured end to end on the local machinery; prints one JSON line. */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { parseArgs } from 'node:util';
import { runEmergencyDrill } from './emergency-drill';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
runEmergencyDrill({ runs: Number(values.runs), observeMs: 5_000, requestIntervalMs: 20 }).then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
