import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a proxy does with one AWS call: let it through, fail it before it reaches the service, or let it take effect and lose the answer. */
export type FaultDecision = 'pass' | 'before' | 'after';

/** One AWS call as the proxy saw it. */
export interface ProxiedCall {
  /** `DynamoDB_20120810.GetItem`, `secretsmanager.PutSecretValue`, or the query protocol's `Action`. */
  readonly operation: string;
  readonly body: string;
}

export interface InjectedFault {
  readonly service: string;
  readonly operation: string;
  readonly timing: 'before' | 'after';
  readonly atMs: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so that a seed gives the same sequence of decisions. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function operationOf(headers: IncomingHttpHeaders, body: string): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target;
  return /(?:^|&)Action=([^&]+)/.exec(body)?.[1] ?? 'unknown';
}

/**
 * The error a service answers when it fails inside: HTTP 500, which the AWS SDK treats as transient and
 * retries. JSON protocols name it in `x-amzn-ErrorType` and `__type`; the query protocol (SNS) in an XML body.
 */
function internalError(headers: IncomingHttpHeaders): { readonly headers: Record<string, string>; readonly body: string } {
  if (String(headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
    return {
      headers: { 'content-type': 'text/xml' },
      body: '<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected by the soak</Message></Error><RequestId>soak</RequestId></ErrorResponse>',
    };
  }
  return { headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'InternalServerError' }, body: JSON.stringify({ __type: 'InternalServerError', message: 'injected by the soak' }) };
}

/**
 * An HTTP proxy in front of one local AWS endpoint, between a function and the service: each call is passed,
 * failed before it reaches the service, or forwarded and its answer replaced by an error, as `decide` says.
 */
export async function startFaultProxy(options: {
  readonly service: string;
  readonly target: string;
  readonly decide: (call: ProxiedCall) => FaultDecision;
  readonly onFault: (fault: InjectedFault, call: ProxiedCall) => void;
}): Promise<FaultProxy> {
  const target = new URL(options.target);
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const call = { operation: operationOf(request.headers, body.toString('utf8')), body: body.toString('utf8') };
      const decision = options.decide(call);
      const fail = (timing: 'before' | 'after') => {
        options.onFault({ service: options.service, operation: call.operation, timing, atMs: Date.now() }, call);
        const error = internalError(request.headers);
        response.writeHead(500, error.headers).end(error.body);
      };
      if (decision === 'before') return fail('before');
      const forwarded = httpRequest(
        { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: { ...request.headers, host: target.host } },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          answer.on('end', () => {
            if (decision === 'after') return fail('after');
            response.writeHead(answer.statusCode ?? 500, answer.headers).end(Buffer.concat(answerChunks));
          });
        },
      );
      forwarded.on('error', () => response.writeHead(502).end());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
