import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { logDeliveryEvent } from './access-logs';

/**
 * A CloudWatch Logs JSON filter pattern, for the forms the construct writes: `{ $.field = "value" }` and
 * `{ $.field != "value" }`, joined with `&&`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html). Anything else is
 * refused at start, so local mode never delivers lines AWS would not.
 */
export function jsonFilterPattern(pattern: string): (line: string) => boolean {
  const body = /^\{\s*(.*?)\s*\}$/s.exec(pattern.trim())?.[1];
  if (body === undefined) throw new Error(`local mode reads only JSON filter patterns; got ${pattern}`);
  const terms = body.split('&&').map((term) => {
    const match = /^\(?\s*\$\.([A-Za-z0-9_]+)\s*(=|!=)\s*"([^"]*)"\s*\)?$/.exec(term.trim());
    if (match === null) throw new Error(`local mode cannot read the filter term ${term.trim()} of ${pattern}`);
    const [, field = '', operator, value] = match;
    return (fields: Record<string, unknown>) => (String(fields[field]) === value) === (operator === '=');
  });
  return (line) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return false;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    return terms.every((term) => term(value as Record<string, unknown>));
  };
}

/**
 * A subscription filter on a function's log group, in local mode: the function's output lines that match the
 * pattern are gathered and delivered to `deliver` as a CloudWatch Logs subscription event, once per `flushMs`
 * (CloudWatch Logs batches too). Returns the stop of the flush timer.
 */
export function tapLogLines(streams: readonly (Readable | null)[], pattern: string, deliver: (event: unknown) => Promise<unknown>, flushMs: number): () => void {
  const matches = jsonFilterPattern(pattern);
  let pending: { message: string; timestamp: number }[] = [];
  for (const stream of streams) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      if (matches(line)) pending.push({ message: line, timestamp: Date.now() });
    });
  }
  const timer = setInterval(() => {
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    void deliver(logDeliveryEvent(lines)).catch(() => undefined);
  }, flushMs);
  return () => clearInterval(timer);
}
