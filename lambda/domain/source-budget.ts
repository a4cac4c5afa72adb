import { ApproximateLruCache } from './approximate-lru-cache';
import { TokenBucket } from './token-bucket';

/** Sources remembered per container: a flood from more addresses than this forgets the oldest, never grows. */
const SOURCES_REMEMBERED = 10_000;

/**
 * A budget of requests per source address, per container, for a public endpoint: what a source spends beyond it
 * is refused before any read or call is made for it.
 */
export class SourceBudgets {
  private readonly budgets = new ApproximateLruCache<string, TokenBucket>(SOURCES_REMEMBERED);

  constructor(private readonly limit: { readonly perSecond: number; readonly burst: number }) {}

  allows(source: string, nowMs: number): boolean {
    let budget = this.budgets.get(source);
    if (budget === undefined) {
      budget = new TokenBucket(this.limit.perSecond, nowMs, this.limit.burst);
      this.budgets.set(source, budget);
    }
    return budget.tryTake(nowMs);
  }
}
