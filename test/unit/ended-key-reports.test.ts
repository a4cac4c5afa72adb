import { EndedKeyReports } from '../../lambda/domain/ended-key-reports';

describe('Ended key reports', () => {
  it('reports each version on its own: at once the first time, then at most once per interval with the count since the last report', () => {
    const reports = new EndedKeyReports(60_000);
    const v1 = { clientId: 'acme', versionId: 'v1' };
    const g1 = { clientId: 'globex', versionId: 'g1' };
    expect(reports.record(v1, 0)).toEqual({ ...v1, refused: 1, sinceMs: 0 });
    expect(reports.record(g1, 1_000)).toEqual({ ...g1, refused: 1, sinceMs: 1_000 });
    expect(reports.record(v1, 30_000)).toBeUndefined();
    expect(reports.record(v1, 59_999)).toBeUndefined();
    expect(reports.record(v1, 60_000)).toEqual({ ...v1, refused: 3, sinceMs: 0 });
    expect(reports.record(g1, 61_000)).toEqual({ ...g1, refused: 1, sinceMs: 1_000 });
  });

  it('keeps counts for a bounded number of versions, dropping the one reported longest ago', () => {
    const reports = new EndedKeyReports(60_000);
    for (let i = 0; i <= 1_000; i++) reports.record({ clientId: 'c', versionId: `v${i}` }, 0);
    // v0 was dropped: its next refusal is a first one again, reported at once.
    expect(reports.record({ clientId: 'c', versionId: 'v0' }, 1)).toEqual({ clientId: 'c', versionId: 'v0', refused: 1, sinceMs: 1 });
    expect(reports.record({ clientId: 'c', versionId: 'v1000' }, 1)).toBeUndefined();
  });
});
