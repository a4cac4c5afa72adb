/**
 * `npm run drill -- --runs 50 [--then busy,failing-rotation,failing-flush] [--result-ttl 60]`: the emergency bound,
 * measured end to end on the local machinery, per mode; prints one JSON line.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { parseArgs } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import { runEmergencyDrill, type DrillMode } from './emergency-drill';

const MODES: readonly DrillMode[] = ['normal', 'busy', 'failing-rotation', 'failing-flush'];
const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' }, then: { type: 'string', default: '' }, 'result-ttl': { type: 'string' } } });
const thenModes = values.then.split(',').filter((mode) => mode !== '');
const unknown = thenModes.filter((mode) => !MODES.includes(mode as DrillMode));
if (unknown.length > 0) {
  console.error(`--then takes a comma-separated list of ${MODES.join(', ')}; got ${unknown.join(', ')}`);
  process.exit(2);
}
runEmergencyDrill({
  runs: Number(values.runs),
  observeMs: 5_000,
  requestIntervalMs: 20,
  thenModes: thenModes as DrillMode[],
  ...(values['result-ttl'] === undefined ? {} : { resultsCacheTtl: Duration.seconds(Number(values['result-ttl'])) }),
}).then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
