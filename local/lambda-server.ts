import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalFunction } from './processes';

/**
 * Lambda's Invoke API for local mode's functions (`AWS_ENDPOINT_URL_LAMBDA`), as one function calls another:
 * `POST /2015-03-31/functions/<name or ARN>/invocations`, the payload back with 200, and a function's error as
 * `X-Amz-Function-Error: Unhandled` with `{errorType, errorMessage}`; `X-Amz-Invocation-Type: Event` answers 202
 * at once and runs the function afterwards, retried twice on error as Lambda does for asynchronous invocations
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).
 */
/** An asynchronous invocation and Lambda's two retries. */
const ASYNC_ATTEMPTS = 3;

export async function startLocalLambdaApi(functionNamed: (name: string) => LocalFunction | undefined): Promise<{ readonly endpoint: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => send(response, 500, { message: error instanceof Error ? error.message : String(error) }, { 'x-amzn-errortype': 'ServiceException' }));
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec((request.url ?? '').split('?')[0] ?? '');
    const name = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]).split(':').at(-1);
    const fn = request.method === 'POST' && name !== undefined ? functionNamed(name) : undefined;
    if (fn === undefined) return send(response, 404, { message: `Function not found: ${name ?? request.url ?? ''}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
    const text = Buffer.concat(chunks).toString('utf8');
    if (request.headers['x-amz-invocation-type'] === 'Event') {
      send(response, 202, null);
      const payload: unknown = text === '' ? {} : JSON.parse(text);
      void (async () => {
        for (let attempt = 0; attempt < ASYNC_ATTEMPTS; attempt++) {
          try {
            await fn.invoke(payload);
            return;
          } catch {
            // Lambda waits a minute, then two, between attempts; local mode retries at once.
          }
        }
      })();
      return;
    }
    try {
      const result = await fn.invoke(text === '' ? {} : JSON.parse(text));
      send(response, 200, result ?? null);
    } catch (error) {
      send(response, 200, { errorType: error instanceof Error ? error.name : 'Error', errorMessage: error instanceof Error ? error.message : String(error) }, { 'x-amz-function-error': 'Unhandled' });
    }
  }

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

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}
