/** `npm run exhaustive -- --depth N [--mutant finish-skips-close-when-label-moved]`: prints one JSON report; exit 1 on a violation. */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { scriptArguments } from '../local/script-arguments';
import { explore, type Mutant } from './exhaustive';

const values = scriptArguments('npm run exhaustive -- [--depth 8] [--mutant none]\n\nEvery event sequence of one client to the depth given, each state checked against the invariants; exit 1 on a violation.', { depth: { type: 'string', default: '8' }, mutant: { type: 'string', default: 'none' } });
explore({ depth: Number(values.depth), mutant: values.mutant as Mutant }).then(
  (report) => {
    console.log(JSON.stringify(report, null, 2));
    process.exit(report.violations.length === 0 ? 0 : 1);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(2);
  },
);
