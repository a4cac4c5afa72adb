import type { QuotaPeriod } from '../lambda/contracts/usage-plans';
import { TokenBucket } from '../lambda/domain/token-bucket';

/** A usage plan as the template declares it: the limits each of its API keys gets. */
export interface LocalUsagePlan {
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly quota?: { readonly limit: number; readonly period: QuotaPeriod };
}

export type UsagePlanVerdict = 'allowed' | 'no-plan' | 'throttled' | 'quota-exceeded';

/**
 * API Gateway's usage plan enforcement for one stage, in local mode
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html): per API key,
 * a token bucket of `burstLimit` tokens refilled at `rateLimit` a second, and a request count per quota
 * period (UTC day, week from Monday, month). A key in no plan is refused.
 */
export class LocalUsagePlans {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly used = new Map<string, { period: string; requests: number }>();

  constructor(private readonly planByKeyValue: ReadonlyMap<string, LocalUsagePlan>) {}

  admit(keyValue: string | undefined, nowMs: number): UsagePlanVerdict {
    const plan = keyValue === undefined ? undefined : this.planByKeyValue.get(keyValue);
    if (keyValue === undefined || plan === undefined) return 'no-plan';
    const bucket = this.buckets.get(keyValue) ?? new TokenBucket(plan.rateLimit, nowMs, plan.burstLimit);
    this.buckets.set(keyValue, bucket);
    if (!bucket.hasToken(nowMs)) return 'throttled';
    if (plan.quota !== undefined) {
      const period = periodOf(plan.quota.period, nowMs);
      const used = this.used.get(keyValue);
      const requests = used?.period === period ? used.requests : 0;
      if (requests >= plan.quota.limit) return 'quota-exceeded';
      this.used.set(keyValue, { period, requests: requests + 1 });
    }
    bucket.tryTake(nowMs);
    return 'allowed';
  }
}

function periodOf(period: QuotaPeriod, nowMs: number): string {
  const day = new Date(nowMs).toISOString().slice(0, 10);
  if (period === 'DAY') return day;
  if (period === 'MONTH') return day.slice(0, 7);
  const date = new Date(`${day}T00:00:00.000Z`);
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return `week-${date.toISOString().slice(0, 10)}`;
}
