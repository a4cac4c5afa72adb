/**
 * `npm run drill -- --runs 50 [--then busy,failing-rotation,failing-flush] [--result-ttl 60]`: the emergency bound,
 * measured end to end on the local machinery, per mode; prints one JSON line.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { Duration } from 'aws-cdk-lib';
import { runEmergencyDrill, type DrillMode } from './emergency-drill';
import { scriptArguments } from './script-arguments';

const MODES: readonly DrillMode[] = ['normal', 'busy', 'failing-rotation', 'failing-flush'];
const USAGE = `npm run drill -- [--runs 50] [--then busy,failing-rotation,failing-flush] [--result-ttl S]

Runs emergency rotations in a row on the local machinery under traffic and measures, per run, the time from the
command's return to the last request the ended key got through (the bound), and the command's own time.
  --runs N         ordinary emergencies first (default 50)
  --then MODES     then one run per mode: busy (a rotation already stuck), failing-rotation (every step fails),
                   failing-flush (API Gateway's control plane refuses every flush)
  --result-ttl S   API Gateway's result cache TTL in seconds (default: the construct's, 60)
Prints one JSON line.`;
const values = scriptArguments(USAGE, { runs: { type: 'string', default: '50' }, then: { type: 'string', default: '' }, 'result-ttl': { type: 'string' } });
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
