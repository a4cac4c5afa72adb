import fc from 'fast-check';
import { closingNotAfterMs, isAbandonedPending, windowEndMs, windowStatus, type KeyVersion } from '../../lambda/domain/key-version';

const base: KeyVersion = { keyHash: 'h', clientId: 'acme', versionId: 'v1', keyDisplay: 'kr_AbCd…', scopes: [], notBeforeMs: 1_000 };

describe('key version windows', () => {
  it('accepts a version from notBefore (inclusive) to notAfter (exclusive)', () => {
    const version = { ...base, notAfterMs: 2_000 };
    expect(windowStatus(version, 999)).toBe('not_yet_valid');
    expect(windowStatus(version, 1_000)).toBe('valid');
    expect(windowStatus(version, 1_999)).toBe('valid');
    expect(windowStatus(version, 2_000)).toBe('expired');
  });

  it('keeps a version with an open window valid indefinitely', () => {
    expect(windowStatus(base, Number.MAX_SAFE_INTEGER)).toBe('valid');
    expect(windowEndMs(base)).toBeUndefined();
  });

  it('ends the window at the hard expiry when that comes first, open window or not', () => {
    expect(windowStatus({ ...base, expiresAtMs: 1_500 }, 1_500)).toBe('expired');
    expect(windowEndMs({ ...base, notAfterMs: 3_000, expiresAtMs: 1_500 })).toBe(1_500);
    expect(windowEndMs({ ...base, notAfterMs: 1_200, expiresAtMs: 1_500 })).toBe(1_200);
  });

  it('refuses a revoked version at every instant, even inside its window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (nowMs) => {
        expect(windowStatus({ ...base, notAfterMs: 5_000, revokedAtMs: 1_500 }, nowMs)).toBe('revoked');
      }),
    );
  });

  it('closes a window at now + grace, but never past the version\'s own expiry', () => {
    expect(closingNotAfterMs(base, 10_000, 500)).toBe(10_500);
    expect(closingNotAfterMs({ ...base, expiresAtMs: 10_200 }, 10_000, 500)).toBe(10_200);
    expect(closingNotAfterMs(base, 10_000, 0)).toBe(10_000);
  });

  it('calls a version abandoned only when it is registered, never current, open, unrevoked and unlabelled', () => {
    const none = new Set<string>();
    expect(isAbandonedPending(base, none)).toBe(true);
    expect(isAbandonedPending(base, new Set(['v1']))).toBe(false);
    expect(isAbandonedPending({ ...base, currentSinceMs: 5 }, none)).toBe(false);
    expect(isAbandonedPending({ ...base, notAfterMs: 5 }, none)).toBe(false);
    expect(isAbandonedPending({ ...base, revokedAtMs: 5 }, none)).toBe(false);
  });
});
