#!/usr/bin/env node
// The `keyroll` command: the package's bundled CLI, or, in a clone before `npm run build`, its source through ts-node.
const fs = require('node:fs');
const path = require('node:path');

const bundled = path.join(__dirname, '..', 'dist', 'cli', 'keyroll.js');
if (fs.existsSync(bundled)) {
  require(bundled);
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
  require(path.join(__dirname, '..', 'cli', 'keyroll.ts'));
}
