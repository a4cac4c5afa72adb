/**
 * `npm run soak -- [--rotations 1000] [--clients 10] [--fault-rate 0.2] [--seed 1]`: progress on standard error,
 * then one JSON summary; exit 1 when a key inside its window was refused, a key outside it accepted, a window
 * ended early, or a key or key hash was found in the run's output.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { scriptArguments } from '../local/script-arguments';
import { runSoak } from './soak';

const values = scriptArguments(
  `npm run soak -- [--rotations 1000] [--clients 10] [--fault-rate 0.2] [--seed 1]

Rotations of several clients on the local machinery under traffic, with faults injected between every function
and every service; prints one JSON summary. Exit 1 when a key inside its window was refused, one outside it
accepted, a window ended early, or a key found in the output.`,
  {
    rotations: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '10' },
    'fault-rate': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '1' },
  },
);
const number = (name: string, text: string | undefined, min: number, max: number): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} must be a number from ${min} to ${max}; got "${String(text)}"`);
    process.exit(2);
  }
  return value;
};
runSoak({
  rotations: number('rotations', values.rotations, 1, 1_000_000),
  clients: number('clients', values.clients, 1, 100),
  faultRate: number('fault-rate', values['fault-rate'], 0, 0.9),
  seed: number('seed', values.seed, 0, 2 ** 31),
  onProgress: (line) => process.stderr.write(`${line}\n`),
}).then(
  (summary) => {
    console.log(JSON.stringify(summary, null, 2));
    const failed = summary.wrongfulDenials + summary.wrongfulAllows + summary.plaintextFindings + summary.windowsEndedEarly > 0;
    process.exit(failed ? 1 : 0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(2);
  },
);
