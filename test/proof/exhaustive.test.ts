import { explore } from '../../proof/exhaustive';

/**
 * The exhaustive exploration, shallow: every sequence of up to 5 events for one client (`npm run exhaustive`
 * goes deeper), and a deliberately broken finishSecret that must be caught.
 */
describe('Exhaustive exploration of one client\'s rotations', () => {
  it('reaches every state up to depth 5, injecting faults at every AWS call, and finds no violation', async () => {
    const report = await explore({ depth: 5 });
    expect(report.violations).toEqual([]);
    // Each level adds states (the exploration is not stuck), and faults were injected before and after calls.
    expect(report.statesPerDepth.every((count) => count > 0)).toBe(true);
    expect(report.states).toBeGreaterThan(100);
    expect(report.faultsInjected).toBeGreaterThan(500);
  }, 60_000);

  it('catches a finishSecret that skips closing the old window when the label has already moved', async () => {
    const report = await explore({ depth: 6, mutant: 'finish-skips-close-when-label-moved', stopAtFirstViolation: true });
    expect(report.violations).toEqual([
      {
        invariant: "2: once finishSecret succeeds, the replaced key's window ends one grace period later",
        detail: expect.stringContaining('window end undefined'),
        path: ['rotate', 'next step', 'next step', 'next step', 'next step (secretsmanager call 2 fails after it took effect)', 'finishSecret t1 again'],
      },
    ]);
  }, 60_000);
});
