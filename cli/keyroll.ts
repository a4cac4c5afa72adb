/** The `keyroll` command. */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
import { createInterface } from 'node:readline/promises';
import { runCli } from './main';

/** A yes/no question on the terminal; there is none to ask on when standard input is not a terminal. */
const confirm = process.stdin.isTTY
  ? async (question: string) => {
      const terminal = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await terminal.question(question)).trim());
      } finally {
        terminal.close();
      }
    }
  : undefined;

runCli(process.argv.slice(2), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), progress: process.stderr.isTTY, ...(confirm === undefined ? {} : { confirm }) }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`keyroll: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 4;
  },
);
