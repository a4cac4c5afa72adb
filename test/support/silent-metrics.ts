import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * A Metrics instance that records but never prints, for tests whose subject is not the metrics: Powertools
 * reads POWERTOOLS_METRICS_DISABLED when the instance is made, and only this instance sees it set.
 */
export function silentMetrics(): Metrics {
  const previous = process.env['POWERTOOLS_METRICS_DISABLED'];
  process.env['POWERTOOLS_METRICS_DISABLED'] = 'true';
  try {
    return new Metrics();
  } finally {
    if (previous === undefined) delete process.env['POWERTOOLS_METRICS_DISABLED'];
    else process.env['POWERTOOLS_METRICS_DISABLED'] = previous;
  }
}
