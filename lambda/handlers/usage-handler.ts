import { gunzipSync } from 'node:zlib';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { USAGE_METRICS } from '../contracts/metrics';
import { UnreadableLogDeliveryError } from '../domain/errors';
import type { UsageStore } from '../domain/ports';
import { countDelivery, type AccessLogRecord } from '../domain/usage';

export interface LogDelivery {
  /** `DATA_MESSAGE`, or `CONTROL_MESSAGE` (CloudWatch Logs checking that the destination is reachable). */
  readonly messageType: string;
  readonly logEvents: readonly AccessLogRecord[];
}

/** Reads `awslogs.data`: base64 of gzip of JSON. A log event of the wrong shape becomes an empty, malformed line. */
export function decodeLogDelivery(event: unknown): LogDelivery {
  const data = typeof event === 'object' && event !== null ? (event as { awslogs?: { data?: unknown } }).awslogs?.data : undefined;
  if (typeof data !== 'string') throw new UnreadableLogDeliveryError('the event has no awslogs.data string');
  let text: string;
  try {
    text = gunzipSync(Buffer.from(data, 'base64')).toString('utf8');
  } catch {
    throw new UnreadableLogDeliveryError('awslogs.data is not base64 of gzip');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the input, and log lines are not ours to copy into our logs.
    throw new UnreadableLogDeliveryError('awslogs.data does not unzip to JSON');
  }
  if (typeof payload !== 'object' || payload === null) throw new UnreadableLogDeliveryError('awslogs.data holds no JSON object');
  const { messageType, logEvents } = payload as { messageType?: unknown; logEvents?: unknown };
  if (typeof messageType !== 'string' || !Array.isArray(logEvents)) throw new UnreadableLogDeliveryError('awslogs.data lacks messageType or logEvents');
  return {
    messageType,
    logEvents: logEvents.map((entry: unknown, index) => {
      const { id, timestamp, message } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      return {
        id: typeof id === 'string' ? id : `unidentified-${index}`,
        timestamp: typeof timestamp === 'number' ? timestamp : 0,
        message: typeof message === 'string' ? message : '',
      };
    }),
  };
}

/**
 * The usage counter: a CloudWatch Logs subscription on the API's access logs delivers batches of lines; each
 * batch becomes at most one counter write per key version and hour. A second subscription, on the
 * authorizer's own log group, delivers its reports of ended keys refused, counted the same way. An unreadable delivery is logged,
 * counted and dropped, never retried forever.
 */
export function createUsageHandler(deps: {
  readonly store: UsageStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
}) {
  return async (event: unknown): Promise<void> => {
    let delivery: LogDelivery;
    try {
      delivery = decodeLogDelivery(event);
    } catch (error) {
      deps.logger.error('log delivery dropped: it cannot be read', error instanceof Error ? error : String(error));
      publish(deps.metrics, { [USAGE_METRICS.deliveriesUnreadable]: 1 });
      return;
    }
    if (delivery.messageType !== 'DATA_MESSAGE') return;
    const result = await countDelivery(delivery.logEvents, { store: deps.store, nowMs: deps.clock() });
    deps.logger.info('usage counted', {
      lines: delivery.logEvents.length,
      counted: result.counted,
      malformed: result.malformed,
      unattributed: result.unattributed,
      counterWrites: result.counts.length,
      refusalCounterWrites: result.refusals.length,
      duplicateDelivery: result.duplicate,
    });
    publish(deps.metrics, {
      [USAGE_METRICS.linesCounted]: result.counted,
      [USAGE_METRICS.linesMalformed]: result.malformed,
      [USAGE_METRICS.linesUnattributed]: result.unattributed,
      [USAGE_METRICS.duplicateDeliveries]: result.duplicate ? 1 : 0,
    });
  };
}

/** One EMF record per delivery: metrics here are off the request path. */
function publish(metrics: Metrics, counts: Record<string, number>): void {
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.publishStoredMetrics();
}
