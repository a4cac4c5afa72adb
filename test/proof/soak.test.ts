import { runSoak, type SoakSummary } from '../../proof/soak';

/**
 * A short soak (`npm run soak` runs 1,000 rotations over 10 clients): 30 rotations of 2 clients on the local
 * machinery, one AWS call in five failing (before it took effect or with its answer lost), every drill at
 * least once, two client SDKs and a prober calling the gateway all along.
 */
describe('Soak (short)', () => {
  let summary: SoakSummary;

  beforeAll(async () => {
    summary = await runSoak({ rotations: 30, clients: 2, faultRate: 0.2, seed: 7 });
  }, 400_000);

  it('refuses no key inside its window and accepts none outside it, whatever fails', () => {
    expect({ wrongfulDenials: summary.wrongfulDenials, wrongfulAllows: summary.wrongfulAllows, windowsEndedEarly: summary.windowsEndedEarly, findings: summary.findings }).toEqual({
      wrongfulDenials: 0,
      wrongfulAllows: 0,
      windowsEndedEarly: 0,
      findings: [],
    });
    expect(summary.rotations).toBeGreaterThanOrEqual(30);
    expect(summary.requests).toBeGreaterThan(1_000);
    expect(summary.faultsInjected.before + summary.faultsInjected.after).toBeGreaterThan(100);
  });

  it('ran every drill', () => {
    for (const drill of ['abandonedAfterSetSecret', 'lostCurrentMoves', 'emergencies', 'revocations', 'outages', 'monitorRuns']) expect({ drill, ran: (summary.drills[drill] ?? 0) > 0 }).toEqual({ drill, ran: true });
    expect(summary.revocationDelayMs.revocations).toBeGreaterThan(0);
  });

  it('sends each completed rotation\'s key.rotated once, and no key or key hash anywhere', () => {
    expect(summary.notificationsPerRotation).toEqual({ min: 1, max: 1 });
    expect(summary.plaintextFindings).toBe(0);
  });
});
