import type { Logger } from '@aws-lambda-powertools/logger';
import { InvalidEmergencyEventError } from '../domain/errors';
import { endLeakedKeys, type LeakedKey, type LeakedKeysDependencies, type LeakedKeysOutcome } from '../domain/leak-reports';

/** A report holds at most this many keys per invocation (GitHub batches matches; more is not a report). */
const MAX_KEYS = 1_000;
const KEY_HASH = /^[0-9a-f]{64}$/;

/** Reads `{ leakedKeys: [{ keyHash, source? }] }`: hashes only, never a key. */
export function parseEmergencyEvent(event: unknown): readonly LeakedKey[] {
  const keys = typeof event === 'object' && event !== null ? (event as { leakedKeys?: unknown }).leakedKeys : undefined;
  if (!Array.isArray(keys) || keys.length > MAX_KEYS) throw new InvalidEmergencyEventError(`the event must hold leakedKeys, a list of at most ${MAX_KEYS} keys`);
  return keys.map((key: unknown) => {
    const { keyHash, source } = (typeof key === 'object' && key !== null ? key : {}) as { keyHash?: unknown; source?: unknown };
    if (typeof keyHash !== 'string' || !KEY_HASH.test(keyHash)) throw new InvalidEmergencyEventError('each leaked key must be a keyHash: the SHA-256 of the key, in hex');
    if (source !== undefined && (typeof source !== 'string' || source.length > 200)) throw new InvalidEmergencyEventError('a leaked key\'s source must be a short string');
    return source === undefined ? { keyHash } : { keyHash, source };
  });
}

/** The emergency function: parse, end the keys, log what changed (counts and stages, never a hash). */
export function createEmergencyHandler(deps: { readonly leakedKeys: LeakedKeysDependencies; readonly logger: Logger }) {
  return async (event: unknown): Promise<LeakedKeysOutcome> => {
    const keys = parseEmergencyEvent(event);
    const outcome = await endLeakedKeys(keys, deps.leakedKeys);
    const summary = { keys: keys.length, known: outcome.known.length, revoked: outcome.revoked, action: deps.leakedKeys.action };
    if (outcome.flush !== undefined && 'failed' in outcome.flush) {
      deps.logger.error('leaked keys revoked, but API Gateway\'s authorizer caches were not flushed: flush them by hand', { ...summary, flushError: outcome.flush.failed });
    } else {
      deps.logger.info('leaked keys ended', { ...summary, flushed: outcome.flush?.flushed ?? [] });
    }
    return outcome;
  };
}
