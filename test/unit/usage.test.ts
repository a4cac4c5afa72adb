import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import fc from 'fast-check';
import type { RefusalSummary, UsageStore, UsageSummary } from '../../lambda/domain/ports';
import { aggregateAccessLogs, countDelivery, deliveryId, hourOf, hourStartMs, type AccessLogRecord, type RefusalCount, type UsageCount } from '../../lambda/domain/usage';
import { UnreadableLogDeliveryError } from '../../lambda/domain/errors';
import { ENDED_KEY_REPORT_MESSAGE } from '../../lambda/contracts/ended-key-report';
import { createUsageHandler, decodeLogDelivery } from '../../lambda/handlers/usage-handler';
import { accessLogLine, logDeliveryEvent, requestsDelivery } from '../../local/access-logs';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const MINUTE = 60_000;

let nextId = 0;
function record(message: unknown, timestamp = T0): AccessLogRecord {
  return { id: `e${++nextId}`, timestamp, message: typeof message === 'string' ? message : JSON.stringify(message) };
}

function line(clientId: string, keyVersion: string, atMs: number, extra: Record<string, unknown> = {}): AccessLogRecord {
  return record({ requestTimeEpoch: String(atMs), clientId, keyVersion, status: '200', ...extra }, atMs + 40);
}

/** The UsageStore contract in memory: counters add up, markers are remembered. */
class MemoryUsageStore implements UsageStore {
  readonly writes: UsageCount[][] = [];
  readonly counters = new Map<string, { requests: number; lastUsedMs: number }>();
  readonly batches = new Set<string>();
  readonly refusalWrites: RefusalCount[][] = [];
  failNextAdd = false;

  async isBatchCounted(batchId: string): Promise<boolean> {
    return this.batches.has(batchId);
  }
  async addUsage(counts: readonly UsageCount[]): Promise<void> {
    if (this.failNextAdd) {
      this.failNextAdd = false;
      throw new Error('ProvisionedThroughputExceededException');
    }
    this.writes.push([...counts]);
    for (const count of counts) {
      const key = `${count.clientId}#${count.versionId}#${count.hour}`;
      const counter = this.counters.get(key) ?? { requests: 0, lastUsedMs: 0 };
      this.counters.set(key, { requests: counter.requests + count.requests, lastUsedMs: Math.max(counter.lastUsedMs, count.lastUsedMs) });
    }
  }
  async markBatchCounted(batchId: string): Promise<void> {
    this.batches.add(batchId);
  }
  async readUsage(): Promise<UsageSummary> {
    throw new Error('not used here');
  }
  async addRefusals(counts: readonly RefusalCount[]): Promise<void> {
    this.refusalWrites.push([...counts]);
  }
  async readRefusals(): Promise<RefusalSummary> {
    throw new Error('not used here');
  }
  requests(): Record<string, number> {
    return Object.fromEntries([...this.counters].map(([key, counter]) => [key, counter.requests]));
  }
}

describe('aggregateAccessLogs', () => {
  it('makes one count per client, version and UTC hour, with the number of requests and the latest request time', () => {
    const batch = aggregateAccessLogs([
      line('acme', 'v1', T0 + 5 * MINUTE),
      line('acme', 'v1', T0 + 59 * MINUTE),
      line('acme', 'v1', T0 + 20 * MINUTE),
      line('acme', 'v1', T0 + 61 * MINUTE),
      line('acme', 'v2', T0 + 6 * MINUTE),
      line('globex', 'v1', T0 + 7 * MINUTE),
    ]);

    expect(batch).toEqual({
      counts: [
        { clientId: 'acme', versionId: 'v1', hour: '2026-11-22T12', requests: 3, lastUsedMs: T0 + 59 * MINUTE },
        { clientId: 'acme', versionId: 'v1', hour: '2026-11-22T13', requests: 1, lastUsedMs: T0 + 61 * MINUTE },
        { clientId: 'acme', versionId: 'v2', hour: '2026-11-22T12', requests: 1, lastUsedMs: T0 + 6 * MINUTE },
        { clientId: 'globex', versionId: 'v1', hour: '2026-11-22T12', requests: 1, lastUsedMs: T0 + 7 * MINUTE },
      ],
      refusals: [],
      counted: 6,
      malformed: 0,
      unattributed: 0,
    });
  });

  it('skips and counts lines that cannot be read, and never fails on them', () => {
    const batch = aggregateAccessLogs([
      record('not json'),
      record(''),
      record('[1,2]'),
      record('null'),
      record('"a string"'),
      record({ clientId: 42, keyVersion: 'v1' }),
      record({ clientId: 'acme', keyVersion: ['v1'] }),
      record({ clientId: 'ac me', keyVersion: 'v1' }),
      record({ clientId: 'acme', keyVersion: 'v1/../../x' }),
      record({ clientId: 'x'.repeat(65), keyVersion: 'v1' }),
      line('acme', 'v1', T0),
    ]);
    expect(batch).toMatchObject({ counted: 1, malformed: 10, unattributed: 0 });
    expect(batch.counts).toEqual([{ clientId: 'acme', versionId: 'v1', hour: '2026-11-22T12', requests: 1, lastUsedMs: T0 }]);
  });

  it('skips requests without a key version (refused before or by the authorizer) as unattributed', () => {
    const batch = aggregateAccessLogs([
      record({ clientId: '-', keyVersion: '-', status: '401' }),
      record({ clientId: '', keyVersion: '', status: '403' }),
      record({ status: '429' }),
      record({ clientId: 'acme', keyVersion: '-' }),
    ]);
    expect(batch).toEqual({ counts: [], refusals: [], counted: 0, malformed: 0, unattributed: 4 });
  });

  it('does not count a request refused for scope (403) as usage, though it carries the key version', () => {
    const batch = aggregateAccessLogs([
      record({ clientId: 'acme', keyVersion: 'v1', status: '403', requestTimeEpoch: '1767225600000' }),
      record({ clientId: 'acme', keyVersion: 'v1', status: 403, requestTimeEpoch: '1767225600000' }),
      record({ clientId: 'acme', keyVersion: 'v1', status: '200', requestTimeEpoch: '1767225600000' }),
    ]);
    expect(batch).toMatchObject({ counted: 1, unattributed: 2, counts: [expect.objectContaining({ clientId: 'acme', versionId: 'v1', requests: 1 })] });
  });

  it('takes the request time from requestTimeEpoch, else from when CloudWatch Logs received the line', () => {
    const received = T0 + 3 * 3_600_000;
    const batch = aggregateAccessLogs([
      record({ clientId: 'acme', keyVersion: 'v1', requestTimeEpoch: T0 + MINUTE }, received),
      record({ clientId: 'acme', keyVersion: 'v2', requestTimeEpoch: 'yesterday' }, received),
      record({ clientId: 'acme', keyVersion: 'v3' }, received),
    ]);
    expect(batch.counts.map(({ versionId, hour, lastUsedMs }) => ({ versionId, hour, lastUsedMs }))).toEqual([
      { versionId: 'v1', hour: '2026-11-22T12', lastUsedMs: T0 + MINUTE },
      { versionId: 'v2', hour: '2026-11-22T15', lastUsedMs: received },
      { versionId: 'v3', hour: '2026-11-22T15', lastUsedMs: received },
    ]);
  });

  it('reads the lines API Gateway writes with the example stack\'s access log format', () => {
    const lines = [accessLogLine({ atMs: T0, clientId: 'acme', keyVersion: 'v1' }, 'r1'), accessLogLine({ atMs: T0, status: 401 }, 'r2')];
    expect(aggregateAccessLogs(lines.map((message) => record(message)))).toMatchObject({ counted: 1, unattributed: 1, malformed: 0 });
  });

  it('loses no request and invents none, whatever the mix of lines (property)', () => {
    const lineArb = fc.oneof(
      fc.record({ kind: fc.constant('valid' as const), client: fc.constantFrom('acme', 'globex'), version: fc.constantFrom('v1', 'v2'), offsetMs: fc.integer({ min: 0, max: 5 * 3_600_000 }) }),
      fc.record({ kind: fc.constant('junk' as const), text: fc.string() }),
    );
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 200 }), (lines) => {
        const records = lines.map((l) => (l.kind === 'valid' ? line(l.client, l.version, T0 + l.offsetMs) : record(l.text)));
        const batch = aggregateAccessLogs(records);
        const valid = lines.filter((l) => l.kind === 'valid');
        expect(batch.counts.reduce((sum, count) => sum + count.requests, 0)).toBe(valid.length);
        expect(batch.counted + batch.malformed + batch.unattributed).toBe(lines.length);
        const keys = batch.counts.map((count) => `${count.clientId}#${count.versionId}#${count.hour}`);
        expect(new Set(keys).size).toBe(keys.length);
        for (const count of batch.counts) expect(hourOf(count.lastUsedMs)).toBe(count.hour);
      }),
      { numRuns: 200 },
    );
  });
});

describe('the authorizers\' reports of ended keys refused', () => {
  /** A line as the authorizer's Powertools logger writes it (lambda/handlers/authorizer-handler.ts). */
  const report = (fields: Record<string, unknown>, atMs: number) =>
    record({ level: 'WARN', message: ENDED_KEY_REPORT_MESSAGE, service: 'keyroll-authorizer', timestamp: new Date(atMs).toISOString(), ...fields }, atMs);

  it('adds them up per client, version and hour, keeping the earliest since and the latest report, beside the access log lines', () => {
    const batch = aggregateAccessLogs([
      report({ clientId: 'acme', versionId: 'v1', refused: 1, since: new Date(T0).toISOString() }, T0),
      report({ clientId: 'acme', versionId: 'v1', refused: 40, since: new Date(T0 + 1).toISOString() }, T0 + MINUTE),
      report({ clientId: 'acme', versionId: 'v1', refused: 2, since: new Date(T0 + 59 * MINUTE).toISOString() }, T0 + 61 * MINUTE),
      line('acme', 'v2', T0),
    ]);
    expect(batch.refusals).toEqual([
      { clientId: 'acme', versionId: 'v1', hour: '2026-11-22T12', refused: 41, firstRefusedMs: T0, lastRefusedMs: T0 + MINUTE },
      { clientId: 'acme', versionId: 'v1', hour: '2026-11-22T13', refused: 2, firstRefusedMs: T0 + 59 * MINUTE, lastRefusedMs: T0 + 61 * MINUTE },
    ]);
    expect(batch.counts).toEqual([expect.objectContaining({ clientId: 'acme', versionId: 'v2', requests: 1 })]);
    expect(batch.counted).toBe(4);
  });

  it.each([
    ['no client', { versionId: 'v1', refused: 1, since: '2026-11-22T12:00:00.000Z' }],
    ['a client id that is not one', { clientId: '../x', versionId: 'v1', refused: 1, since: '2026-11-22T12:00:00.000Z' }],
    ['a count that is not a positive whole number', { clientId: 'acme', versionId: 'v1', refused: 0.5, since: '2026-11-22T12:00:00.000Z' }],
    ['no since', { clientId: 'acme', versionId: 'v1', refused: 3 }],
  ])('skips a report with %s as malformed', (_name, fields) => {
    const batch = aggregateAccessLogs([report(fields, T0)]);
    expect(batch).toMatchObject({ refusals: [], counted: 0, malformed: 1 });
  });

  it('writes the refusal counters with the usage counters, and not again for a redelivery', async () => {
    const store = new MemoryUsageStore();
    const records = [report({ clientId: 'acme', versionId: 'v1', refused: 5, since: new Date(T0).toISOString() }, T0 + MINUTE)];
    await countDelivery(records, { store, nowMs: T0 });
    await countDelivery(records, { store, nowMs: T0 });
    expect(store.refusalWrites).toEqual([[{ clientId: 'acme', versionId: 'v1', hour: '2026-11-22T12', refused: 5, firstRefusedMs: T0, lastRefusedMs: T0 + MINUTE }]]);
  });
});

describe('hours', () => {
  it('names the UTC hour of an instant and back', () => {
    expect(hourOf(Date.UTC(2026, 0, 1, 0, 59, 59, 999))).toBe('2026-01-01T00');
    expect(hourStartMs('2026-01-01T23')).toBe(Date.UTC(2026, 0, 1, 23));
  });
});

describe('countDelivery', () => {
  it('writes once per version and hour, then marks the delivery counted', async () => {
    const store = new MemoryUsageStore();
    const records = [line('acme', 'v1', T0), line('acme', 'v1', T0 + MINUTE), line('acme', 'v2', T0)];
    const result = await countDelivery(records, { store, nowMs: T0 });
    expect(result).toMatchObject({ counted: 3, duplicate: false });
    expect(store.writes).toEqual([[expect.objectContaining({ versionId: 'v1', requests: 2 }), expect.objectContaining({ versionId: 'v2', requests: 1 })]]);
    expect(store.batches).toEqual(new Set([deliveryId(records)]));
  });

  it('counts a redelivery of the same log events (in any order) not at all', async () => {
    const store = new MemoryUsageStore();
    const records = [line('acme', 'v1', T0), line('acme', 'v1', T0 + MINUTE), line('globex', 'v1', T0)];
    await countDelivery(records, { store, nowMs: T0 });
    const again = await countDelivery([...records].reverse(), { store, nowMs: T0 + MINUTE });
    expect(again).toEqual({ counts: [], refusals: [], counted: 0, malformed: 0, unattributed: 0, duplicate: true });
    expect(store.requests()).toEqual({ 'acme#v1#2026-11-22T12': 2, 'globex#v1#2026-11-22T12': 1 });
  });

  it('counts a delivery whose counter writes failed when it is delivered again, exactly once', async () => {
    const store = new MemoryUsageStore();
    const records = [line('acme', 'v1', T0)];
    store.failNextAdd = true;
    await expect(countDelivery(records, { store, nowMs: T0 })).rejects.toThrow('ProvisionedThroughputExceededException');
    await countDelivery(records, { store, nowMs: T0 });
    await countDelivery(records, { store, nowMs: T0 });
    expect(store.requests()).toEqual({ 'acme#v1#2026-11-22T12': 1 });
  });

  it('gives different deliveries different ids, and the same events the same id', () => {
    const a = [record('x'), record('y')];
    expect(deliveryId(a)).toBe(deliveryId([...a].reverse()));
    expect(deliveryId(a)).not.toBe(deliveryId([a[0] as AccessLogRecord]));
  });
});

describe('decodeLogDelivery', () => {
  it('reads awslogs.data: base64 of gzipped JSON', () => {
    const event = logDeliveryEvent([{ message: '{"a":1}', timestamp: T0 }], ['id-1']);
    expect(decodeLogDelivery(event)).toEqual({ messageType: 'DATA_MESSAGE', logEvents: [{ id: 'id-1', timestamp: T0, message: '{"a":1}' }] });
  });

  it.each([
    ['no awslogs', {}],
    ['data that is not a string', { awslogs: { data: 42 } }],
    ['data that is not gzip', { awslogs: { data: Buffer.from('{"messageType":"DATA_MESSAGE"}').toString('base64') } }],
    ['gzip that is not JSON', { awslogs: { data: gzipSync('nope').toString('base64') } }],
    ['JSON without logEvents', { awslogs: { data: gzipSync('{"messageType":"DATA_MESSAGE"}').toString('base64') } }],
  ])('refuses an event with %s, clearly', (_name, event) => {
    expect(() => decodeLogDelivery(event)).toThrow(UnreadableLogDeliveryError);
  });

  it('turns a log event of the wrong shape into an empty line, which counts as malformed', () => {
    const payload = { messageType: 'DATA_MESSAGE', logEvents: [null, { id: 7, message: 3 }] };
    const decoded = decodeLogDelivery({ awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } });
    expect(decoded.logEvents).toEqual([
      { id: 'unidentified-0', timestamp: 0, message: '' },
      { id: 'unidentified-1', timestamp: 0, message: '' },
    ]);
    expect(aggregateAccessLogs(decoded.logEvents).malformed).toBe(2);
  });
});

describe('the usage handler', () => {
  function capture() {
    const out: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) => jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true)));
    return { out, restore: () => spies.forEach((spy) => spy.mockRestore()) };
  }
  const handlerWith = (store: UsageStore) =>
    createUsageHandler({
      store,
      logger: new Logger({ serviceName: 'keyroll-usage', logLevel: 'INFO' }),
      metrics: new Metrics({ namespace: 'keyroll', serviceName: 'keyroll-usage' }),
      clock: () => T0,
    });

  it('counts a delivery and reports lines, malformed lines and duplicates as metrics', async () => {
    const store = new MemoryUsageStore();
    const event = requestsDelivery([{ atMs: T0, clientId: 'acme', keyVersion: 'v1' }, { atMs: T0, status: 401 }]);
    const io = capture();
    try {
      await handlerWith(store)(event);
      await handlerWith(store)(event);
    } finally {
      io.restore();
    }
    expect(store.requests()).toEqual({ 'acme#v1#2026-11-22T12': 1 });
    const emf = io.out.map((text) => JSON.parse(text) as Record<string, unknown>).filter((entry) => '_aws' in entry);
    expect(emf).toEqual([
      expect.objectContaining({ UsageLinesCounted: 1, UsageLinesMalformed: 0, UsageLinesUnattributed: 1, UsageDuplicateDeliveries: 0 }),
      expect.objectContaining({ UsageLinesCounted: 0, UsageDuplicateDeliveries: 1 }),
    ]);
  });

  it('drops an unreadable delivery with an error log and a metric, and does not fail (a retry cannot help)', async () => {
    const store = new MemoryUsageStore();
    const io = capture();
    try {
      await expect(handlerWith(store)({ awslogs: { data: 'garbage' } })).resolves.toBeUndefined();
    } finally {
      io.restore();
    }
    expect(store.writes).toEqual([]);
    const entries = io.out.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(entries).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'log delivery dropped: it cannot be read' }));
    expect(entries).toContainEqual(expect.objectContaining({ UsageDeliveriesUnreadable: 1 }));
  });

  it('ignores CloudWatch Logs\' control messages', async () => {
    const store = new MemoryUsageStore();
    const payload = { messageType: 'CONTROL_MESSAGE', logEvents: [{ id: '1', timestamp: T0, message: 'CWL CONTROL MESSAGE: Checking health of destination Lambda.' }] };
    await handlerWith(store)({ awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } });
    expect(store.writes).toEqual([]);
    expect(store.batches.size).toBe(0);
  });

  it('fails, for Lambda to retry, when the counters cannot be written', async () => {
    const store = new MemoryUsageStore();
    store.failNextAdd = true;
    await expect(handlerWith(store)(requestsDelivery([{ atMs: T0, clientId: 'acme', keyVersion: 'v1' }]))).rejects.toThrow('ProvisionedThroughputExceededException');
  });
});
