import type { AuthorizerCaches } from './ports';

/** Beyond the containers' poll interval: a read in flight when the revocation was written, and clocks that differ. */
export const REVOCATION_MARGIN_MS = 500;

/** How long after a revocation is written every authorizer container that polls has read it. */
export function revocationSeenAfterMs(revocationPollMs: number): number {
  return revocationPollMs + REVOCATION_MARGIN_MS;
}

/**
 * Flushes API Gateway's cached authorizer answers once every authorizer container has read a revocation: a flush
 * before that would let a container that still has the key cached answer Allow, and API Gateway would cache that
 * answer again for its whole TTL.
 */
export async function flushOnceRevocationIsSeen(caches: AuthorizerCaches, revocationPollMs: number, sleep: (ms: number) => Promise<void>): Promise<string[]> {
  await sleep(revocationSeenAfterMs(revocationPollMs));
  return caches.flush();
}
