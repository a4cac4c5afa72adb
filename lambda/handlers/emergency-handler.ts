import type { Logger } from '@aws-lambda-powertools/logger';
import type { CacheFlushReport } from '../domain/authorizer-cache-flush';
import { CacheFlushFailedError, InvalidEmergencyEventError } from '../domain/errors';
import { endLeakedKeys, type LeakedKey, type LeakedKeysDependencies, type LeakedKeysOutcome, type PendingFlush } from '../domain/leak-reports';

/** A report holds at most this many keys per invocation (GitHub batches matches; more is not a report). */
const MAX_KEYS = 1_000;
const KEY_HASH = /^[0-9a-f]{64}$/;

/** What the report endpoint asks: end these keys now, or (asynchronously) flush API Gateway after these revocations. */
export type EmergencyEvent = { readonly kind: 'end'; readonly keys: readonly LeakedKey[] } | { readonly kind: 'flush'; readonly flush: PendingFlush };

/** Reads `{ leakedKeys: [{ keyHash, source? }] }` or `{ flushAfterRevocation: { keyHashes, revokedAtMs } }`: hashes only, never a key. */
export function parseEmergencyEvent(event: unknown): EmergencyEvent {
  const fields = (typeof event === 'object' && event !== null ? event : {}) as { leakedKeys?: unknown; flushAfterRevocation?: unknown };
  if (fields.flushAfterRevocation !== undefined) {
    const { keyHashes, revokedAtMs } = (typeof fields.flushAfterRevocation === 'object' && fields.flushAfterRevocation !== null ? fields.flushAfterRevocation : {}) as { keyHashes?: unknown; revokedAtMs?: unknown };
    if (!Array.isArray(keyHashes) || keyHashes.length === 0 || keyHashes.length > MAX_KEYS || !keyHashes.every((hash) => typeof hash === 'string' && KEY_HASH.test(hash))) {
      throw new InvalidEmergencyEventError(`flushAfterRevocation.keyHashes must be a list of at most ${MAX_KEYS} SHA-256 hashes in hex`);
    }
    if (typeof revokedAtMs !== 'number' || !Number.isSafeInteger(revokedAtMs) || revokedAtMs <= 0) throw new InvalidEmergencyEventError('flushAfterRevocation.revokedAtMs must be epoch milliseconds');
    return { kind: 'flush', flush: { keyHashes: keyHashes as string[], revokedAtMs } };
  }
  const keys = fields.leakedKeys;
  if (!Array.isArray(keys) || keys.length > MAX_KEYS) throw new InvalidEmergencyEventError(`the event must hold leakedKeys, a list of at most ${MAX_KEYS} keys`);
  return {
    kind: 'end',
    keys: keys.map((key: unknown) => {
      const { keyHash, source } = (typeof key === 'object' && key !== null ? key : {}) as { keyHash?: unknown; source?: unknown };
      if (typeof keyHash !== 'string' || !KEY_HASH.test(keyHash)) throw new InvalidEmergencyEventError('each leaked key must be a keyHash: the SHA-256 of the key, in hex');
      if (source !== undefined && (typeof source !== 'string' || source.length > 200)) throw new InvalidEmergencyEventError('a leaked key\'s source must be a short string');
      return source === undefined ? { keyHash } : { keyHash, source };
    }),
  };
}

/**
 * The emergency function: end the keys, then flush API Gateway's caches for as long as the report endpoint can
 * wait (`syncFlushMs`); what is left, the endpoint hands back as an asynchronous flush, which fails (and Lambda
 * retries it) while any stage could not be flushed. Logs counts and stages, never a hash.
 */
export function createEmergencyHandler(deps: {
  readonly leakedKeys: LeakedKeysDependencies;
  readonly flush: (revocation: PendingFlush, deadlineMs?: number) => Promise<CacheFlushReport>;
  readonly syncFlushMs: number;
  readonly clock: () => number;
  readonly logger: Logger;
}) {
  return async (event: unknown): Promise<LeakedKeysOutcome | CacheFlushReport> => {
    const request = parseEmergencyEvent(event);
    if (request.kind === 'flush') {
      const report = await deps.flush(request.flush);
      logFlush(deps.logger, report, { keys: request.flush.keyHashes.length });
      if (report.failed.length > 0) throw new CacheFlushFailedError(`${report.failed.length} stage(s) or region(s) could not be flushed: ${report.failed.map((failure) => `${failure.target} (${failure.error})`).join('; ')}`);
      return report;
    }
    const outcome = await endLeakedKeys(request.keys, deps.leakedKeys);
    const summary = { keys: request.keys.length, known: outcome.known.length, revoked: outcome.revoked, rotated: outcome.rotated.length, action: deps.leakedKeys.action };
    if (outcome.flushAfter === undefined) {
      deps.logger.info('leaked keys ended', summary);
      return outcome;
    }
    const flush = await deps.flush(outcome.flushAfter, deps.clock() + deps.syncFlushMs);
    logFlush(deps.logger, flush, summary);
    return { ...outcome, flush };
  };
}

function logFlush(logger: Logger, report: CacheFlushReport, summary: Record<string, unknown>): void {
  const fields = { ...summary, flushed: report.flushed, unfinished: report.unfinished.length };
  if (report.failed.length > 0) {
    logger.error('leaked keys revoked, but API Gateway\'s authorizer caches were not flushed everywhere: flush them by hand', { ...fields, flushFailures: report.failed });
  } else {
    logger.info(report.unfinished.length > 0 ? 'leaked keys ended; the rest of the flush is handed to an asynchronous call' : 'leaked keys ended', fields);
  }
}
