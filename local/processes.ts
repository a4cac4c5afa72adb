import type { Readable } from 'node:stream';
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** A Lambda function running in its own process from its bundle; invocations are handled one at a time, as in one execution environment. */
export interface LocalFunction {
  readonly name: string;
  invoke(event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** A function's error, as Lambda reports it to the caller: name and message only. */
export class LocalFunctionError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = errorName;
  }
}

interface WorkerReply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly name?: string; readonly message?: string };
}

/**
 * Starts `bundleFile` in a child process with exactly `environment` (plus PATH): the function's own log lines
 * go to `logFile`, as CloudWatch Logs would keep them.
 */
export async function startLocalFunction(name: string, bundleFile: string, environment: Record<string, string>, logFile: string): Promise<LocalFunction & { readonly output: readonly (Readable | null)[] }> {
  const child = fork(path.join(__dirname, 'function-worker.cjs'), [bundleFile], {
    env: { PATH: process.env['PATH'] ?? '', AWS_LAMBDA_FUNCTION_NAME: name, ...environment },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: [],
    // A process group of its own: Ctrl-C on the terminal reaches local mode alone, which stops its functions in order.
    detached: true,
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await ready(child, name);

  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let queue: Promise<unknown> = Promise.resolve();
  child.on('message', (reply: WorkerReply) => {
    const waiter = pending.get(reply.id);
    if (waiter === undefined) return;
    pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new LocalFunctionError(reply.error?.name ?? 'Error', reply.error?.message ?? 'the function failed'));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new LocalFunctionError('Runtime.ExitError', `${name} exited with code ${String(code)}`));
    pending.clear();
  });

  const invokeNow = (event: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId;
      // A stopped function (local mode shutting down while an asynchronous invocation retries) fails the call, not the process.
      if (!child.connected) return reject(new LocalFunctionError('Runtime.ExitError', `${name} is stopped`));
      pending.set(id, { resolve, reject });
      child.send({ id, event }, (error) => {
        if (error === null) return;
        pending.delete(id);
        reject(new LocalFunctionError('Runtime.ExitError', `${name} is stopped: ${error.message}`));
      });
    });
  return {
    name,
    output: [child.stdout, child.stderr],
    invoke: (event) => {
      const run = queue.then(() => invokeNow(event));
      queue = run.catch(() => undefined);
      return run;
    },
    stop: () => stopChild(child, () => log.end()),
  };
}

/** The SNS/SQS emulator (fauxqs) in its own process; resolves with its endpoint. */
export async function startSnsSqsEmulator(): Promise<{ readonly endpoint: string; stop(): Promise<void> }> {
  const child = fork(path.join(__dirname, 'sns-sqs-emulator.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [], detached: true });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { endpoint?: string }) => (message.endpoint === undefined ? reject(new Error('the SNS/SQS emulator sent no endpoint')) : resolve(message.endpoint)));
    child.once('exit', (code) => reject(new Error(`the SNS/SQS emulator exited with code ${String(code)}`)));
  });
  return { endpoint, stop: () => stopChild(child) };
}

function ready(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${String(code)} while loading`)));
  });
}

function stopChild(child: ChildProcess, after?: () => void): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      after?.();
      resolve();
      return;
    }
    child.once('exit', () => {
      after?.();
      resolve();
    });
    if (child.connected) child.disconnect();
    setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
  });
}

/** A throttled function URL answers 429 without invoking the function; AWS documents the status, not the body. */
const THROTTLED_BODY = '{"message":"Too Many Requests"}';

/**
 * A Lambda function URL in front of a local function: each request becomes a payload 2.0 event, and the
 * function's `{ statusCode, headers, body }` the response (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
 * With reserved concurrency, as Lambda throttles a function URL: at most that many invocations at once and 10 a
 * second per unit, 429 beyond (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html, "Throttling").
 */
export async function startLocalFunctionUrl(fn: LocalFunction, stops: (() => Promise<void>)[], options: { readonly reservedConcurrency?: number } = {}): Promise<LocalFunctionUrl> {
  const reserved = options.reservedConcurrency;
  const counts = { invocations: 0, throttles: 0, peakInvocationsPerSecond: 0 };
  let inFlight = 0;
  let second = 0;
  let startedThisSecond = 0;
  const admit = (): boolean => {
    const now = Math.floor(Date.now() / 1_000);
    if (now !== second) {
      second = now;
      startedThisSecond = 0;
    }
    if (reserved !== undefined && (inFlight >= reserved || startedThisSecond >= reserved * 10)) {
      counts.throttles++;
      return false;
    }
    inFlight++;
    startedThisSecond++;
    counts.invocations++;
    counts.peakInvocationsPerSecond = Math.max(counts.peakInvocationsPerSecond, startedThisSecond);
    return true;
  };
  const server = createServer((request, response) => {
    if (!admit()) {
      request.resume();
      response.writeHead(429, { 'content-type': 'application/json' });
      response.end(THROTTLED_BODY);
      return;
    }
    const release = () => {
      inFlight--;
    };
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]));
      const [rawPath = '/', rawQueryString = ''] = (request.url ?? '/').split('?');
      const body = Buffer.concat(chunks);
      // A function URL passes a body as text, or base64 when it is not
      // (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads); text here.
      const event = {
        version: '2.0',
        rawPath,
        rawQueryString,
        headers,
        requestContext: { http: { method: request.method ?? 'GET', path: rawPath, sourceIp: request.socket.remoteAddress ?? '127.0.0.1' } },
        ...(body.length === 0 ? {} : { body: body.toString('utf8') }),
        isBase64Encoded: false,
      };
      fn.invoke(event).finally(release).then(
        (result) => {
          const answer = result as { statusCode?: number; headers?: Record<string, string>; body?: string };
          response.writeHead(answer.statusCode ?? 200, answer.headers ?? {});
          response.end(answer.body ?? '');
        },
        () => {
          response.writeHead(502, { 'content-type': 'application/json' });
          response.end('{"message":"Internal Server Error"}');
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, counts: () => ({ ...counts }) };
}

/** A local function URL: where it listens, and what it did with the requests it was sent. */
export interface LocalFunctionUrl {
  readonly url: string;
  counts(): { readonly invocations: number; readonly throttles: number; readonly peakInvocationsPerSecond: number };
}
