/**
 * A key version as the key table records it. All instants are epoch milliseconds.
 *
 * The version is accepted while `notBeforeMs <= now < end`, where `end` is the earlier of `notAfterMs` and
 * `expiresAtMs` (either may be absent), and it is not revoked. `notAfterMs` is absent while the version is
 * current or pending; finishSecret sets it when the version stops being current.
 */
export interface KeyVersion {
  /** SHA-256 of the key, hex. Never the key. */
  readonly keyHash: string;
  readonly clientId: string;
  /** The Secrets Manager VersionId, which is the rotation's ClientRequestToken. */
  readonly versionId: string;
  /** Safe display form (`kr_AbCd…`), for status output and logs. */
  readonly keyDisplay: string;
  readonly scopes: readonly string[];
  readonly notBeforeMs: number;
  readonly notAfterMs?: number;
  /** A hard end no window change may pass (the client's maximum key age), when one is configured. */
  readonly expiresAtMs?: number;
  readonly revokedAtMs?: number;
  readonly revokedReason?: string;
  /** When the version became AWSCURRENT; absent for a version that never did. */
  readonly currentSinceMs?: number;
  /** Set by the monitor once the version's window has ended and the client was told. */
  readonly expiredAtMs?: number;
  /** The client's usage plan when the version was registered: its refusals are counted per plan. */
  readonly usagePlan?: string;
}

export type WindowStatus = 'valid' | 'not_yet_valid' | 'expired' | 'revoked';

/** The instant the version stops being accepted, or undefined while its window is open-ended. */
export function windowEndMs(version: KeyVersion): number | undefined {
  const { notAfterMs, expiresAtMs } = version;
  if (notAfterMs === undefined) return expiresAtMs;
  if (expiresAtMs === undefined) return notAfterMs;
  return Math.min(notAfterMs, expiresAtMs);
}

/** Where `nowMs` falls in the version's window. A revocation outranks everything else. */
export function windowStatus(version: KeyVersion, nowMs: number): WindowStatus {
  if (version.revokedAtMs !== undefined) return 'revoked';
  if (nowMs < version.notBeforeMs) return 'not_yet_valid';
  const endMs = windowEndMs(version);
  if (endMs !== undefined && nowMs >= endMs) return 'expired';
  return 'valid';
}

/**
 * The `notAfterMs` to give a version that stops being current at `nowMs`: the grace period from now, but
 * never past the version's own hard expiry. The key table applies it only if it shortens the window and
 * the version is not revoked, so a retried or late finishSecret can never lengthen a window.
 */
export function closingNotAfterMs(version: KeyVersion, nowMs: number, gracePeriodMs: number): number {
  const graceEndMs = nowMs + gracePeriodMs;
  return version.expiresAtMs === undefined ? graceEndMs : Math.min(graceEndMs, version.expiresAtMs);
}

/**
 * A version left behind by an abandoned rotation: registered, never current, never closed, not revoked,
 * and not one that Secrets Manager still labels (the token in progress, AWSCURRENT or AWSPREVIOUS).
 */
export function isAbandonedPending(version: KeyVersion, labelledVersionIds: ReadonlySet<string>): boolean {
  return (
    version.revokedAtMs === undefined &&
    version.notAfterMs === undefined &&
    version.currentSinceMs === undefined &&
    !labelledVersionIds.has(version.versionId)
  );
}
