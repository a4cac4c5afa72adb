/**
 * `npm run flood -- [--seconds 60] [--rate 1000]`: floods local keyroll's leak-report and key-delivery URLs with
 * forged requests while clients call the API; progress on standard error, then one JSON summary. Exit 1 when a
 * client's call was refused, a forged request was accepted, a URL started more invocations a second than its
 * reserved concurrency allows, or GitHub's keys were fetched more often than the stated bound.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { scriptArguments } from '../local/script-arguments';
import { floodFailures, runFlood } from './flood';

const USAGE = `npm run flood -- [--seconds 60] [--rate 1000]

Floods local keyroll's leak-report and key-delivery URLs with forged requests (half each, from 20 source
addresses) while two clients call the API, are rotated, and a genuine report arrives; prints one JSON summary.
Exit 1 when a client's call was refused, a forged request accepted, a URL beyond its reserved concurrency, or
GitHub's keys fetched beyond the bound.`;
const values = scriptArguments(USAGE, { seconds: { type: 'string', default: '60' }, rate: { type: 'string', default: '1000' } });
const number = (name: string, text: string | undefined, min: number, max: number): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}; got "${String(text)}"`);
    process.exit(2);
  }
  return value;
};
runFlood({ seconds: number('seconds', values.seconds, 2, 3_600), ratePerSecond: number('rate', values.rate, 1, 5_000), onProgress: (line) => process.stderr.write(`${line}\n`) }).then(
  (figures) => {
    const failures = floodFailures(figures);
    console.log(JSON.stringify({ ...figures, failures }, null, 2));
    process.exit(failures.length > 0 ? 1 : 0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(2);
  },
);
