import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { AUTHORIZER_METRICS, REFUSED_EXPIRED_BY_PLAN, refusalMetricName } from '../contracts/metrics';
import type { AuthorizationDecision } from '../domain/key-authorizer';
import type { DecisionRecorder } from '../handlers/authorizer-handler';

/**
 * Counts decisions in memory and writes them as one CloudWatch EMF record (Powertools Metrics) at most once
 * per flush interval, so that no console write sits on each request's path. Counts since the last flush
 * are lost if the container is recycled before the next one.
 *
 * Metrics: `Allowed`, `Forbidden`, `Refused` and `Refused<Reason>` (`RefusedNotFound`, `RefusedExpired`…);
 * `CacheHit` (answered from memory), `CacheMiss` (read from the table), `StaleAllowed` (the table failed and
 * a recently read version was used), `LookupFailed`.
 */
export class EmfDecisionMetrics implements DecisionRecorder {
  private readonly counts = new Map<string, number>();
  /** Refusals of ended keys by the version's usage plan. */
  private readonly expiredByPlan = new Map<string, number>();
  private lastFlushMs: number;

  constructor(
    private readonly metrics: Metrics,
    private readonly flushIntervalMs: number,
    nowMs: number,
  ) {
    this.lastFlushMs = nowMs;
  }

  record(decision: AuthorizationDecision, nowMs: number): void {
    if (decision.outcome === 'unauthorized') {
      this.count(AUTHORIZER_METRICS.refused);
      this.count(refusalMetricName(decision.reason));
      if (decision.reason === 'lookup_failed') this.count(AUTHORIZER_METRICS.lookupFailed);
      const plan = decision.reason === 'expired' ? decision.version?.usagePlan : undefined;
      if (plan !== undefined) this.expiredByPlan.set(plan, (this.expiredByPlan.get(plan) ?? 0) + 1);
    } else {
      this.count(decision.outcome === 'allow' ? AUTHORIZER_METRICS.allowed : AUTHORIZER_METRICS.forbidden);
    }
    if (decision.source === 'cache') this.count(AUTHORIZER_METRICS.cacheHit);
    else if (decision.source === 'table') this.count(AUTHORIZER_METRICS.cacheMiss);
    else if (decision.source === 'stale') {
      this.count(AUTHORIZER_METRICS.staleAllowed);
      this.count(AUTHORIZER_METRICS.lookupFailed);
    }
    if (nowMs - this.lastFlushMs >= this.flushIntervalMs) this.flush(nowMs);
  }

  /** Writes the counts gathered since the last flush, if any. */
  flush(nowMs: number): void {
    this.lastFlushMs = nowMs;
    for (const [plan, value] of this.expiredByPlan) {
      // One record per plan, with its own dimension: the metric the per-plan anomaly alarms read.
      const single = this.metrics.singleMetric();
      single.addDimension(REFUSED_EXPIRED_BY_PLAN.dimension, plan);
      single.addMetric(refusalMetricName('expired'), MetricUnit.Count, value);
    }
    this.expiredByPlan.clear();
    if (this.counts.size === 0) return;
    for (const [name, value] of this.counts) this.metrics.addMetric(name, MetricUnit.Count, value);
    this.counts.clear();
    this.metrics.publishStoredMetrics();
  }

  private count(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
}
