/**
 * A token bucket: up to `ratePerSecond` takes per second on average, with bursts up to `capacity` (by default
 * one second's worth).
 * Kept by hand (a dozen lines) rather than a library: it sits in the authorizer bundle and hot path.
 */
export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number;

  constructor(
    private readonly ratePerSecond: number,
    nowMs: number,
    private readonly capacity: number = ratePerSecond,
  ) {
    this.tokens = capacity;
    this.lastRefillMs = nowMs;
  }

  /** True when a take would succeed now; takes nothing. */
  hasToken(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= 1;
  }

  tryTake(nowMs: number): boolean {
    if (!this.hasToken(nowMs)) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.lastRefillMs);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.lastRefillMs = nowMs;
  }
}
