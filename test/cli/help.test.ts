import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

describe('keyroll --help', () => {
  it('works from a clone through the package\'s bin, with the exit statuses and the options of each command', () => {
    const help = execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'keyroll-cli.cjs'), '--help'], { encoding: 'utf8' });
    expect(help).toContain('Usage: keyroll [options] [command]');
    expect(help).toMatch(/Exit status: 0 done; 1 refused .* 2 the command line is wrong;\s+3 the install cannot be found/);
    const rotateHelp = execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'keyroll-cli.cjs'), 'rotate', '--help'], { encoding: 'utf8' });
    expect(rotateHelp).toContain('--no-wait');
  });
});
