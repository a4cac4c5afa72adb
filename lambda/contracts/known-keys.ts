/**
 * The known-key set's timing, declared once for the authorizer (which refuses an unknown key without a read when
 * its set was synced within the window) and the rotation (which lets a new key be presented, to the probe or as
 * AWSCURRENT, only once every container that could refuse it has had time to learn it).
 */
export const DEFAULT_KNOWN_KEYS_WINDOW_MS = 1_500;

/** The window plus this slack is how long after its registration a new key is first presented. */
const PROPAGATION_SLACK_MS = 500;

export function knownKeyPropagationMs(windowMs: number): number {
  return windowMs === 0 ? 0 : windowMs + PROPAGATION_SLACK_MS;
}

/** Each sync reads the additions again from this far back: a replica region's copy can arrive late. */
export const KNOWN_KEYS_FEED_OVERLAP_MS = 60_000;
