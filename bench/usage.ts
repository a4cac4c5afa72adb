import type { AccessLogRecord } from '../lambda/domain/usage';
import { aggregateAccessLogs } from '../lambda/domain/usage';
import { decodeLogDelivery } from '../lambda/handlers/usage-handler';
import { accessLogLine, logDeliveryEvent } from '../local/access-logs';
import { line } from './support';

const T0 = Date.UTC(2026, 10, 22, 12, 55, 0);
const RECORDS = 10_000;

/**
 * 10,000 access log lines of the kind one delivery holds: `clients` clients, each with its current key and
 * (for a third of them) a replaced one still in use, over `spanMs` from T0; 3% refused requests, 0.5% junk.
 */
function accessLogs(clients: number, spanMs: number): AccessLogRecord[] {
  const records: AccessLogRecord[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const atMs = T0 + Math.floor((i / RECORDS) * spanMs);
    const client = i % clients;
    const roll = (i * 7919) % 1000;
    const message =
      roll < 5
        ? 'not a JSON line'
        : roll < 35
          ? accessLogLine({ atMs, status: 401 }, `r${i}`)
          : accessLogLine({ atMs, clientId: `client-${client}`, keyVersion: client % 3 === 0 && roll % 2 === 0 ? `v-old-${client}` : `v-${client}` }, `r${i}`);
    records.push({ id: String(i).padStart(56, '0'), timestamp: atMs + 50, message });
  }
  return records;
}

/** Records per second over repeated passes of at least `minMs` in total. */
function throughput(records: number, pass: () => unknown, minMs = 1500): number {
  for (let i = 0; i < 3; i++) pass();
  let passes = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < minMs) {
    pass();
    passes++;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (passes * records) / (elapsedMs / 1000);
}

/**
 * The usage counter's figures: how fast one process adds up access log lines, and how many DynamoDB
 * writes a delivery of 10,000 lines costs (one counter write per client, key version and hour, plus the
 * delivery marker's read and write).
 */
export async function benchUsage(): Promise<string[]> {
  const busy = accessLogs(1, 60_000);
  const typical = accessLogs(50, 10 * 60_000);
  const many = accessLogs(1000, 10 * 60_000);
  const aggregateRate = throughput(RECORDS, () => aggregateAccessLogs(typical));
  const event = logDeliveryEvent(typical.map(({ message, timestamp }) => ({ message, timestamp })));
  const decodeRate = throughput(RECORDS, () => aggregateAccessLogs(decodeLogDelivery(event).logEvents));
  const counterWrites = (records: AccessLogRecord[]) => `${aggregateAccessLogs(records).counts.length} + 2`;

  return [
    'Usage counting (Node.js ' + process.version + ', one process)',
    line('lines aggregated per second', `${Math.round(aggregateRate).toLocaleString('en-US')}`, { text: '≥ 200,000', met: aggregateRate >= 200_000 }),
    line('lines decoded and aggregated per second', `${Math.round(decodeRate).toLocaleString('en-US')}`),
    '  DynamoDB writes per 10,000 lines (counter UpdateItems + marker GetItem and PutItem):',
    line('  1 client on 2 key versions, in 1 minute', counterWrites(busy)),
    line('  50 clients, across an hour boundary', counterWrites(typical)),
    line('  1,000 clients, across an hour boundary', counterWrites(many)),
  ];
}
