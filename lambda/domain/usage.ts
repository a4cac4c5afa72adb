import { createHash } from 'node:crypto';
import { CLIENT_ID_PATTERN } from './client-settings';
import type { UsageStore } from './ports';
import { ABSENT_CONTEXT_VALUES as ABSENT, FORBIDDEN_STATUS } from '../contracts/access-log';
import { ENDED_KEY_REPORT_MESSAGE } from '../contracts/ended-key-report';

/** One access log line as CloudWatch Logs delivers it. */
export interface AccessLogRecord {
  /** CloudWatch Logs' id of the log event: the same on every delivery of it. */
  readonly id: string;
  /** When CloudWatch Logs received the line, epoch ms: the fallback for the request time. */
  readonly timestamp: number;
  readonly message: string;
}

/** Requests of one key version in one UTC hour, from one batch of log lines. */
export interface UsageCount {
  readonly clientId: string;
  readonly versionId: string;
  /** `yyyy-mm-ddThh`, UTC. */
  readonly hour: string;
  readonly requests: number;
  /** The latest request time among them, epoch ms. */
  readonly lastUsedMs: number;
}

/** Refusals of one ended key version in one UTC hour, from the authorizers' reports in one batch of log lines. */
export interface RefusalCount {
  readonly clientId: string;
  readonly versionId: string;
  /** `yyyy-mm-ddThh`, UTC, of the reports. */
  readonly hour: string;
  readonly refused: number;
  /** The earliest `since` among the reports, epoch ms. */
  readonly firstRefusedMs: number;
  /** The latest report's time, epoch ms. */
  readonly lastRefusedMs: number;
}

export interface UsageBatch {
  readonly counts: readonly UsageCount[];
  /** The authorizers' reports of ended keys refused, added up. */
  readonly refusals: readonly RefusalCount[];
  /** Lines that were counted. */
  readonly counted: number;
  /** Lines that are not JSON objects, or whose client or version is not an identifier: skipped. */
  readonly malformed: number;
  /** Lines of requests without a key version (refused before or by the authorizer), or refused for scope (403): skipped. */
  readonly unattributed: number;
}

const VERSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Adds up access log lines per (client, key version, UTC hour), so that a batch makes at most one write per
 * version and hour. A line that cannot be read is skipped and counted, never fatal.
 */
export function aggregateAccessLogs(records: Iterable<AccessLogRecord>): UsageBatch {
  const counts = new Map<string, { clientId: string; versionId: string; hour: string; requests: number; lastUsedMs: number }>();
  const refusals = new Map<string, { clientId: string; versionId: string; hour: string; refused: number; firstRefusedMs: number; lastRefusedMs: number }>();
  let counted = 0;
  let malformed = 0;
  let unattributed = 0;
  for (const record of records) {
    const line = parseLine(record.message);
    if (line === undefined) {
      malformed++;
      continue;
    }
    if (line.endedKeyReport !== undefined) {
      const report = readEndedKeyReport(line.endedKeyReport, record.timestamp);
      if (report === undefined) {
        malformed++;
        continue;
      }
      const key = `${report.clientId}\n${report.versionId}\n${report.hour}`;
      const sum = refusals.get(key);
      if (sum === undefined) refusals.set(key, report);
      else {
        sum.refused += report.refused;
        sum.firstRefusedMs = Math.min(sum.firstRefusedMs, report.firstRefusedMs);
        sum.lastRefusedMs = Math.max(sum.lastRefusedMs, report.lastRefusedMs);
      }
      counted++;
      continue;
    }
    const { clientId, keyVersion } = line;
    // A 403 carries the authorizer context (the key was valid, the scope was not): it served nothing.
    if (clientId === undefined || keyVersion === undefined || ABSENT.has(clientId) || ABSENT.has(keyVersion) || line.status === FORBIDDEN_STATUS) {
      unattributed++;
      continue;
    }
    if (!CLIENT_ID_PATTERN.test(clientId) || !VERSION_ID_PATTERN.test(keyVersion)) {
      malformed++;
      continue;
    }
    const requestMs = requestTimeOf(line.requestTimeEpoch, record.timestamp);
    const hour = hourOf(requestMs);
    const key = `${clientId}\n${keyVersion}\n${hour}`;
    const count = counts.get(key);
    if (count === undefined) {
      counts.set(key, { clientId, versionId: keyVersion, hour, requests: 1, lastUsedMs: requestMs });
    } else {
      count.requests++;
      if (requestMs > count.lastUsedMs) count.lastUsedMs = requestMs;
    }
    counted++;
  }
  return { counts: [...counts.values()], refusals: [...refusals.values()], counted, malformed, unattributed };
}

/** An authorizer's `ended key refused` line (lambda/contracts/ended-key-report.ts), or undefined if it is not a sound one. */
function readEndedKeyReport(fields: Record<string, unknown>, timestampMs: number): RefusalCount | undefined {
  const { clientId, versionId, refused, since } = fields;
  if (typeof clientId !== 'string' || !CLIENT_ID_PATTERN.test(clientId) || typeof versionId !== 'string' || !VERSION_ID_PATTERN.test(versionId)) return undefined;
  if (typeof refused !== 'number' || !Number.isSafeInteger(refused) || refused < 1) return undefined;
  const sinceMs = typeof since === 'string' ? Date.parse(since) : Number.NaN;
  const lastRefusedMs = timestampMs > 0 ? timestampMs : sinceMs;
  if (!Number.isFinite(sinceMs) || !Number.isFinite(lastRefusedMs)) return undefined;
  return { clientId, versionId, hour: hourOf(lastRefusedMs), refused, firstRefusedMs: Math.min(sinceMs, lastRefusedMs), lastRefusedMs };
}

/**
 * Counts one delivery of log lines. Delivery is at least once: a delivery already counted (its marker is in
 * the table) is skipped. The marker is written after the counters, so only a run cut off between its first
 * counter write and its marker can be counted again, once, by its redelivery.
 */
export async function countDelivery(
  records: readonly AccessLogRecord[],
  deps: { readonly store: UsageStore; readonly nowMs: number },
): Promise<UsageBatch & { readonly duplicate: boolean }> {
  const batchId = deliveryId(records);
  if (await deps.store.isBatchCounted(batchId)) return { counts: [], refusals: [], counted: 0, malformed: 0, unattributed: 0, duplicate: true };
  const batch = aggregateAccessLogs(records);
  await deps.store.addUsage(batch.counts);
  await deps.store.addRefusals(batch.refusals);
  await deps.store.markBatchCounted(batchId, deps.nowMs);
  return { ...batch, duplicate: false };
}

/** The same for every delivery of the same log events, whatever their order. */
export function deliveryId(records: readonly AccessLogRecord[]): string {
  const hash = createHash('sha256');
  for (const id of records.map((record) => record.id).sort()) hash.update(id).update('\n');
  return hash.digest('hex');
}

/** `yyyy-mm-ddThh` of an instant, in UTC. */
export function hourOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 13);
}

/** The start of an hour bucket, epoch ms. */
export function hourStartMs(hour: string): number {
  return Date.parse(`${hour}:00:00.000Z`);
}

interface LogLine {
  /** Set when the line is an authorizer's report of an ended key refused, not an access log line. */
  readonly endedKeyReport?: Record<string, unknown>;
  readonly clientId?: string;
  readonly keyVersion?: string;
  readonly requestTimeEpoch?: unknown;
  readonly status?: string;
}

function parseLine(message: string): LogLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  if (fields['message'] === ENDED_KEY_REPORT_MESSAGE) return { endedKeyReport: fields };
  const clientId = fields['clientId'];
  const keyVersion = fields['keyVersion'];
  if ((clientId !== undefined && typeof clientId !== 'string') || (keyVersion !== undefined && typeof keyVersion !== 'string')) return undefined;
  const status = fields['status'];
  return { clientId, keyVersion, requestTimeEpoch: fields['requestTimeEpoch'], status: typeof status === 'number' ? String(status) : typeof status === 'string' ? status : undefined };
}

/** `$context.requestTimeEpoch` (ms, written as a string or a number), else when CloudWatch Logs got the line. */
function requestTimeOf(value: unknown, fallbackMs: number): number {
  const ms = typeof value === 'string' && /^\d{12,14}$/.test(value) ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : fallbackMs;
}
