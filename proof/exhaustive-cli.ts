/** `npm run exhaustive -- --depth N [--mutant finish-skips-close-when-label-moved]`: prints one JSON report; exit 1 on a violation. */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { parseArgs } from 'node:util';
import { explore, type Mutant } from './exhaustive';

const { values } = parseArgs({ options: { depth: { type: 'string', default: '8' }, mutant: { type: 'string', default: 'none' } } });
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
