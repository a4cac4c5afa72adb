import { fleetEntryOf, sortFleet, type ClientStatus, type VersionStatus } from '../../lambda/domain/key-operations';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-03T12:00:00Z');
const version = (versionId: string, state: VersionStatus['state'], extra: Partial<VersionStatus> = {}, fields: Record<string, unknown> = {}): VersionStatus => ({
  version: { versionId, clientId: 'c', keyHash: versionId, keyDisplay: 'kr_AbCd…', scopes: [], notBeforeMs: NOW - 2 * HOUR, currentSinceMs: NOW - HOUR, ...fields } as VersionStatus['version'],
  state,
  ...extra,
});
const status = (clientId: string, versions: VersionStatus[], extra: Partial<ClientStatus> = {}): ClientStatus => ({ clientId, secretArn: `arn:${clientId}`, versions, nextRotationMs: NOW + 30 * 24 * HOUR, ...extra });

describe('the fleet view', () => {
  it('names what needs an operator: a missed switch, an old key still used after its replacement, a stalled rotation, no current key, no schedule', () => {
    const entry = fleetEntryOf(
      status('acme', [
        version('v3', 'pending', {}, { notBeforeMs: NOW - 3 * HOUR, currentSinceMs: undefined }),
        version('v2', 'in-grace', { endsAtMs: NOW + HOUR, stillUsedBeforeItsEnd: true, usage: { perHour: [], lastUsedMs: NOW - 60_000 } }),
        version('v1', 'ended', { refusedSinceItsEnd: { refused: 1, firstRefusedMs: NOW - HOUR, lastRefusedMs: NOW - HOUR } }),
      ], { nextRotationMs: undefined, rotationInProgress: 'v3' }),
      NOW,
    );
    expect(entry.attention).toEqual([
      'no current key',
      'still uses v2 after its replacement, and its window ends within a day',
      'missed its switch: v1 refused 1 time since its end',
      'rotation v3 started 3 h ago and has not finished',
      'no rotation scheduled',
    ]);
    expect(entry.inGrace).toEqual([{ versionId: 'v2', endsAtMs: NOW + HOUR, lastUsedMs: NOW - 60_000 }]);
  });

  it('puts the clients that need attention first, the most reasons first, then by id', () => {
    const healthy = (id: string) => fleetEntryOf(status(id, [version('v1', 'current')]), NOW);
    const troubled = fleetEntryOf(status('zeta', [version('v1', 'current')], { nextRotationMs: undefined }), NOW);
    expect(healthy('beta').attention).toEqual([]);
    expect(sortFleet([healthy('beta'), troubled, healthy('alpha')]).map((entry) => entry.clientId)).toEqual(['zeta', 'alpha', 'beta']);
  });
});
