import type { KeyVersion } from './key-version';

/** One report: how many requests presented this ended key since `sinceMs`. Never the key or its hash. */
export interface EndedKeyReport {
  readonly clientId: string;
  readonly versionId: string;
  readonly refused: number;
  readonly sinceMs: number;
}

/** How often a container reports refusals of one ended key version, at most. */
export const ENDED_KEY_REPORT_INTERVAL_MS = 60_000;
/** Versions a container keeps counts for; beyond it the one reported longest ago is dropped. */
const MAX_VERSIONS = 1_000;

/**
 * Refusals of keys whose window has ended, the sign of a client that missed its switch after a rotation,
 * counted per version and reported at most once per interval per container: the first refusal of a version
 * at once, then the count since the last report. A client hammering an ended key costs one log line a minute.
 */
export class EndedKeyReports {
  private readonly counts = new Map<string, { refused: number; sinceMs: number; reportedAtMs: number | undefined }>();

  constructor(private readonly intervalMs: number = ENDED_KEY_REPORT_INTERVAL_MS) {}

  /** Counts one refusal of `version`; returns the report to write now, if one is due. */
  record(version: Pick<KeyVersion, 'clientId' | 'versionId'>, nowMs: number): EndedKeyReport | undefined {
    const id = `${version.clientId}\u0000${version.versionId}`;
    const count = this.counts.get(id) ?? { refused: 0, sinceMs: nowMs, reportedAtMs: undefined };
    count.refused++;
    this.counts.delete(id);
    this.counts.set(id, count);
    if (this.counts.size > MAX_VERSIONS) this.counts.delete(this.counts.keys().next().value ?? id);
    if (count.reportedAtMs !== undefined && nowMs - count.reportedAtMs < this.intervalMs) return undefined;
    const report = { clientId: version.clientId, versionId: version.versionId, refused: count.refused, sinceMs: count.sinceMs };
    this.counts.set(id, { refused: 0, sinceMs: nowMs, reportedAtMs: nowMs });
    return report;
  }
}
