import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ACCESS_LOG_FIELDS } from '../lambda/contracts/access-log';
import { logDeliveryEvent } from './access-logs';

type AccessLogLine = Record<keyof typeof ACCESS_LOG_FIELDS, string>;

interface PolicyAnswer {
  readonly principalId: string;
  readonly policyDocument: { readonly Statement: readonly { readonly Effect: string; readonly Resource: string | readonly string[] }[] };
  readonly context?: Record<string, string>;
}

export interface LocalApiGatewayOptions {
  /** The authorizer function: returns a policy, or throws an error named or saying "Unauthorized". */
  readonly authorize: (event: unknown) => Promise<unknown>;
  /** The header that is the authorizer's identity source, and the key of its result cache. */
  readonly identityHeader: string;
  readonly resultsCacheTtlSeconds: number;
  /** Receives the access log lines as a CloudWatch Logs subscription delivery, every `logFlushMs`. */
  readonly deliverAccessLogs: (delivery: unknown) => Promise<unknown>;
  readonly logFlushMs?: number;
  readonly port?: number;
}

export interface LocalApiGateway {
  readonly url: string;
  /** What FlushStageAuthorizersCache does: forget every cached authorizer answer. */
  flushAuthorizerCache(): void;
  close(): Promise<void>;
}

const STAGE_ARN = 'arn:aws:execute-api:us-east-1:000000000000:local0api/prod';
/** `DELETE` here does locally what FlushStageAuthorizersCache does in AWS. */
export const FLUSH_PATH = '/_local/authorizer-cache';

/**
 * A REST API stage as API Gateway runs it in front of a Lambda REQUEST authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html):
 * 401 without calling the authorizer when the identity source is missing, the authorizer's policy cached per
 * identity source for the TTL and evaluated against each method ARN (an explicit Deny, or no Allow, is 403),
 * 401 when the authorizer refuses, and a JSON access log line per request. Behind it, a demo backend that
 * answers with the client the authorizer named.
 */
export async function startLocalApiGateway(options: LocalApiGatewayOptions): Promise<LocalApiGateway> {
  const cache = new Map<string, { readonly answer: PolicyAnswer; readonly untilMs: number }>();
  let pendingLines: { message: string; timestamp: number }[] = [];

  const server = createServer((request, response) => {
    void serve(request, response).catch(() => send(response, 500, { message: 'Internal server error' }));
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startedMs = Date.now();
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const requestId = randomUUID();
    const log = (status: number, context?: Record<string, string>) => {
      const line: AccessLogLine = {
        requestId,
        ip: request.socket.remoteAddress ?? '-',
        method,
        resourcePath: path,
        latencyMs: String(Date.now() - startedMs),
        requestTimeEpoch: String(startedMs),
        status: String(status),
        clientId: context?.['clientId'] ?? '-',
        keyVersion: context?.['keyVersion'] ?? '-',
      };
      pendingLines.push({ message: JSON.stringify(line), timestamp: startedMs });
    };
    request.resume();
    if (method === 'DELETE' && path === FLUSH_PATH) {
      cache.clear();
      return send(response, 202, { flushed: true });
    }

    const identity = request.headers[options.identityHeader];
    const identityValue = Array.isArray(identity) ? identity.join(',') : identity;
    if (identityValue === undefined || identityValue.trim() === '') {
      log(401);
      return send(response, 401, { message: 'Unauthorized' });
    }
    const methodArn = `${STAGE_ARN}/${method}${path}`;
    let answer = cache.get(identityValue);
    if (answer === undefined || answer.untilMs <= Date.now()) {
      cache.delete(identityValue);
      try {
        const policy = (await options.authorize(authorizerEvent(request, method, path, methodArn, requestId))) as PolicyAnswer;
        answer = { answer: policy, untilMs: Date.now() + 1000 * options.resultsCacheTtlSeconds };
        if (options.resultsCacheTtlSeconds > 0) cache.set(identityValue, answer);
      } catch (error) {
        const unauthorized = error instanceof Error && (error.message === 'Unauthorized' || error.name === 'Unauthorized');
        log(unauthorized ? 401 : 500);
        return send(response, unauthorized ? 401 : 500, { message: unauthorized ? 'Unauthorized' : 'Internal server error' });
      }
    }
    const context = answer.answer.context;
    if (!allows(answer.answer, methodArn)) {
      log(403, context);
      return send(response, 403, { message: 'User is not authorized to access this resource with an explicit deny' });
    }
    log(200, context);
    return send(response, 200, { hello: context?.['clientId'], keyVersion: context?.['keyVersion'] });
  }

  const flusher = setInterval(() => {
    if (pendingLines.length === 0) return;
    const lines = pendingLines;
    pendingLines = [];
    void options.deliverAccessLogs(logDeliveryEvent(lines)).catch(() => undefined);
  }, options.logFlushMs ?? 1_000);

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    flushAuthorizerCache: () => cache.clear(),
    close: () =>
      new Promise((resolve) => {
        clearInterval(flusher);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function authorizerEvent(request: IncomingMessage, method: string, path: string, methodArn: string, requestId: string) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] ?? '';
    const value = request.rawHeaders[i + 1] ?? '';
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return {
    type: 'REQUEST',
    methodArn,
    resource: path,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: {},
    stageVariables: {},
    requestContext: { path: `/prod${path}`, accountId: '000000000000', stage: 'prod', requestId, identity: { sourceIp: request.socket.remoteAddress ?? '127.0.0.1' }, resourcePath: path, httpMethod: method, apiId: 'local0api' },
  };
}

/** An explicit Deny on the method wins; otherwise an Allow must match it. `*` in a resource matches any characters. */
function allows(answer: PolicyAnswer, methodArn: string): boolean {
  const matching = (effect: string) =>
    answer.policyDocument.Statement.some((statement) => statement.Effect === effect && [statement.Resource].flat().some((resource) => wildcard(resource).test(methodArn)));
  return !matching('Deny') && matching('Allow');
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
