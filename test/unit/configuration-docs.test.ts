import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AUTHORIZER_VARIABLES } from '../../lambda/config/authorizer-config';
import { DELIVERY_VARIABLES } from '../../lambda/config/delivery-config';
import { FIRST_KEY_VARIABLES } from '../../lambda/config/first-key-config';
import { EMERGENCY_VARIABLES, LEAK_REPORT_VARIABLES } from '../../lambda/config/leak-report-config';
import { MONITOR_VARIABLES } from '../../lambda/config/monitor-config';
import { ROTATION_VARIABLES } from '../../lambda/config/rotation-config';
import { USAGE_VARIABLES } from '../../lambda/config/usage-config';

describe('Configuration reference', () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const declared = [AUTHORIZER_VARIABLES, DELIVERY_VARIABLES, FIRST_KEY_VARIABLES, LEAK_REPORT_VARIABLES, EMERGENCY_VARIABLES, MONITOR_VARIABLES, ROTATION_VARIABLES, USAGE_VARIABLES].flatMap((set) => Object.values(set).map((variable) => variable.name));

  it('documents every environment variable a function declares, in a table row of the README', () => {
    const undocumented = [...new Set(declared)].filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(undocumented).toEqual([]);
  });
});
