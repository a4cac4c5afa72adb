import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { REST_API_ACCESS_LOG_FIELDS } from '../lambda/contracts/access-log';
import { REQUEST_ID_VARIABLE } from '../lambda/contracts/client-errors';
import { logDeliveryEvent } from './access-logs';
import type { LocalGatewayResponse, LocalRoute } from './install';
import { LocalUsagePlans, type LocalUsagePlan, type UsagePlanVerdict } from './usage-plans';
import { TokenBucket } from '../lambda/domain/token-bucket';
import { AuthorizerResultCache, identityValues, type IdentitySource } from './authorizer-cache';

type AccessLogLine = Record<keyof typeof REST_API_ACCESS_LOG_FIELDS, string>;

interface PolicyAnswer {
  readonly principalId: string;
  readonly policyDocument: { readonly Statement: readonly { readonly Effect: string; readonly Resource: string | readonly string[] }[] };
  readonly context?: Record<string, string>;
  readonly usageIdentifierKey?: string;
}

export interface LocalApiGatewayOptions {
  /** The authorizer function: returns a policy, or throws an error named or saying "Unauthorized". */
  readonly authorize: (event: unknown) => Promise<unknown>;
  /** The authorizer's identity sources, as the template gives them: the key of its result cache. */
  readonly identitySources: readonly IdentitySource[];
  readonly resultsCacheTtlSeconds: number;
  /** Receives the access log lines as a CloudWatch Logs subscription delivery, every `logFlushMs`. */
  readonly deliverAccessLogs: (delivery: unknown) => Promise<unknown>;
  readonly logFlushMs?: number;
  readonly port?: number;
  /** The function the stage's authorizer invokes, as its `authorizerUri` names it to the control plane. */
  readonly authorizerFunctionArn: string;
  /** Gateway responses by type (`UNAUTHORIZED`, `ACCESS_DENIED`, `AUTHORIZER_FAILURE`); API Gateway's defaults otherwise. */
  readonly gatewayResponses?: Readonly<Record<string, LocalGatewayResponse>>;
  /** The stage's usage plans (key source `AUTHORIZER`), by API key value; none when the stage has no plans. */
  readonly usagePlans?: ReadonlyMap<string, LocalUsagePlan>;
  /** The API's methods; a request for any other is refused as API Gateway refuses it. Absent: every route is served. */
  readonly routes?: readonly LocalRoute[];
  readonly controlPlane?: LocalControlPlaneOptions;
}

/** The control plane beyond the one local API: an account with many APIs, its quota, and failures to inject. */
export interface LocalControlPlaneOptions {
  /** More REST APIs whose authorizer invokes the same function, each with `stagesPerApi` stages (flushes only counted). */
  readonly otherRestApis?: number;
  readonly stagesPerApi?: number;
  /** The account's control-plane quota; null for none. Default: 10 requests a second, bursts of 40 (limits.html, "Total operations"). */
  readonly rate?: { readonly perSecond: number; readonly burst: number } | null;
  /** An error to answer a call with instead of serving it (e.g. AccessDenied on DELETE). */
  readonly fault?: (method: string, path: string) => { readonly status: number; readonly type: string; readonly message: string } | undefined;
}

export interface LocalApiGateway {
  readonly url: string;
  /**
   * API Gateway's control plane for this one REST API, as the SDK's API Gateway clients call it
   * (`AWS_ENDPOINT_URL_API_GATEWAY`, `AWS_ENDPOINT_URL_APIGATEWAYV2`): GetRestApis, GetAuthorizers, GetStages,
   * FlushStageAuthorizersCache, and GetApis (no HTTP APIs).
   */
  readonly controlPlaneUrl: string;
  /** How many times FlushStageAuthorizersCache emptied the authorizer cache. */
  readonly flushes: () => number;
  /** Control-plane calls served, throttled (429), and the stages flushed, by `<api>/<stage>`. */
  readonly controlPlaneCalls: () => { readonly served: number; readonly throttled: number; readonly flushedStages: ReadonlySet<string> };
  close(): Promise<void>;
}

/** What API Gateway answers when a usage plan refuses: the gateway response type, its status, its default message. */
const USAGE_PLAN_REFUSALS: Record<Exclude<UsagePlanVerdict, 'allowed'>, readonly [string, number, string]> = {
  'no-plan': ['INVALID_API_KEY', 403, 'Forbidden'],
  throttled: ['THROTTLED', 429, 'Too Many Requests'],
  'quota-exceeded': ['QUOTA_EXCEEDED', 429, 'Limit Exceeded'],
};

const API_ID = 'local0api';
const STAGE_NAME = 'prod';
const STAGE_ARN = `arn:aws:execute-api:us-east-1:000000000000:${API_ID}/${STAGE_NAME}`;

/**
 * A REST API stage as API Gateway runs it in front of a Lambda REQUEST authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html):
 * 401 without calling the authorizer when an identity source is missing, the authorizer's policy cached under
 * the identity sources' values for the TTL (local/authorizer-cache.ts) and evaluated against each method ARN (an explicit Deny, or no Allow, is 403),
 * 401 when the authorizer refuses, and a JSON access log line per request. Behind it, a demo backend that
 * answers with the client the authorizer named.
 */
export async function startLocalApiGateway(options: LocalApiGatewayOptions): Promise<LocalApiGateway> {
  const cache = new AuthorizerResultCache<PolicyAnswer>(options.resultsCacheTtlSeconds);
  const usagePlans = options.usagePlans === undefined || options.usagePlans.size === 0 ? undefined : new LocalUsagePlans(options.usagePlans);
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

    // API Gateway answers a method or resource the API does not have with 403 Missing Authentication Token, before any authorizer
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html: MISSING_AUTHENTICATION_TOKEN).
    const route = options.routes === undefined ? { method: 'ANY', resourcePath: path } : matchRoute(options.routes, method, path);
    if (route === undefined) {
      log(403);
      return refuse(response, 'MISSING_AUTHENTICATION_TOKEN', 403, { message: 'Missing Authentication Token' }, requestId);
    }
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) headers.push([request.rawHeaders[i] ?? '', request.rawHeaders[i + 1] ?? '']);
    const identity = identityValues(options.identitySources, { headers, context: { httpMethod: method, path: `/${STAGE_NAME}${path}`, resourcePath: route.resourcePath, stage: STAGE_NAME } });
    if (identity === undefined) {
      log(401);
      return refuse(response, 'UNAUTHORIZED', 401, { message: 'Unauthorized' }, requestId);
    }
    const methodArn = `${STAGE_ARN}/${method}${path}`;
    let answer = cache.get(identity);
    if (answer === undefined) {
      try {
        answer = (await options.authorize(authorizerEvent(request, method, path, route.resourcePath, methodArn, requestId))) as PolicyAnswer;
        cache.set(identity, answer);
      } catch (error) {
        const unauthorized = error instanceof Error && (error.message === 'Unauthorized' || error.name === 'Unauthorized');
        log(unauthorized ? 401 : 500);
        return unauthorized
          ? refuse(response, 'UNAUTHORIZED', 401, { message: 'Unauthorized' }, requestId)
          : refuse(response, 'AUTHORIZER_FAILURE', 500, { message: null }, requestId);
      }
    }
    const context = answer.context;
    if (!allows(answer, methodArn)) {
      log(403, context);
      return refuse(response, 'ACCESS_DENIED', 403, { message: 'User is not authorized to access this resource with an explicit deny' }, requestId);
    }
    const verdict = usagePlans?.admit(answer.usageIdentifierKey, Date.now()) ?? 'allowed';
    if (verdict !== 'allowed') {
      const [type, status, message] = USAGE_PLAN_REFUSALS[verdict];
      log(status, context);
      return refuse(response, type, status, { message }, requestId);
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

  /** The gateway response of that type as the template declares it, or API Gateway's default body. */
  function refuse(response: ServerResponse, type: string, defaultStatus: number, defaultBody: unknown, requestId: string): void {
    const declared = options.gatewayResponses?.[type];
    if (declared === undefined) return send(response, defaultStatus, defaultBody);
    // Header names are case-insensitive: a declared Content-Type replaces the default rather than adding a second one.
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(declared.headers)) headers[name.toLowerCase()] = value;
    response.writeHead(declared.statusCode, { ...headers, 'x-amzn-requestid': requestId });
    response.end(declared.template.split(REQUEST_ID_VARIABLE).join(requestId));
  }

  // The control plane's answers, in the REST API reference's shapes
  // (https://docs.aws.amazon.com/apigateway/latest/api/API_GetAuthorizers.html and its neighbours).
  let flushes = 0;
  const calls = { served: 0, throttled: 0, flushedStages: new Set<string>() };
  const authorizerUri = `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${options.authorizerFunctionArn}/invocations`;
  const otherApis = Array.from({ length: options.controlPlane?.otherRestApis ?? 0 }, (_, i) => `api${String(i).padStart(5, '0')}`);
  const stagesOf = (apiId: string) => (apiId === API_ID ? [STAGE_NAME] : Array.from({ length: options.controlPlane?.stagesPerApi ?? 1 }, (_, i) => `stage${i}`));
  const allApis = [API_ID, ...otherApis];
  const rate = options.controlPlane?.rate === undefined ? { perSecond: 10, burst: 40 } : options.controlPlane.rate;
  const quota = rate === null ? undefined : new TokenBucket(rate.perSecond, Date.now(), rate.burst);
  const controlPlane = createServer((request, response) => {
    request.resume();
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://control-plane');
    const path = url.pathname;
    const fail = (status: number, type: string, message: string) => {
      response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
      response.end(JSON.stringify({ message }));
    };
    if (quota !== undefined && !quota.tryTake(Date.now())) {
      calls.throttled++;
      return fail(429, 'TooManyRequestsException', 'Too Many Requests');
    }
    calls.served++;
    const fault = options.controlPlane?.fault?.(method, path);
    if (fault !== undefined) return fail(fault.status, fault.type, fault.message);
    if (method === 'GET' && path === '/restapis') {
      const limit = Number(url.searchParams.get('limit') ?? 25);
      const from = Number(url.searchParams.get('position') ?? 0);
      const page = allApis.slice(from, from + limit).map((id) => ({ id, name: id === API_ID ? 'keyroll-local' : id }));
      return send(response, 200, { item: page, ...(from + limit < allApis.length ? { position: String(from + limit) } : {}) });
    }
    const apiPath = /^\/restapis\/([^/]+)\/(authorizers|stages)$/.exec(path);
    if (method === 'GET' && apiPath !== null && allApis.includes(apiPath[1] ?? '')) {
      const apiId = apiPath[1] ?? '';
      if (apiPath[2] === 'authorizers') return send(response, 200, { item: [{ id: `${apiId}auth`, name: 'KeyrollAuthorizer', type: 'REQUEST', authorizerUri }] });
      return send(response, 200, { item: stagesOf(apiId).map((stageName) => ({ stageName })) });
    }
    const flushPath = /^\/restapis\/([^/]+)\/stages\/([^/]+)\/cache\/authorizers$/.exec(path);
    if (method === 'DELETE' && flushPath !== null && allApis.includes(flushPath[1] ?? '') && stagesOf(flushPath[1] ?? '').includes(flushPath[2] ?? '')) {
      if (flushPath[1] === API_ID) {
        cache.clear();
        flushes++;
      }
      calls.flushedStages.add(`${flushPath[1]}/${flushPath[2]}`);
      response.writeHead(202).end();
      return;
    }
    if (method === 'GET' && path === '/v2/apis') return send(response, 200, { items: [] });
    fail(404, 'NotFoundException', `${method} ${path} is not part of the local control plane`);
  });

  const listen = (target: typeof server, port: number) => new Promise<string>((resolve) => target.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(target.address() as AddressInfo).port}`)));
  const [url, controlPlaneUrl] = await Promise.all([listen(server, options.port ?? 0), listen(controlPlane, 0)]);
  const closeServer = (target: typeof server) =>
    new Promise<void>((resolve) => {
      target.closeAllConnections();
      target.close(() => resolve());
    });
  return {
    url,
    controlPlaneUrl,
    flushes: () => flushes,
    controlPlaneCalls: () => ({ served: calls.served, throttled: calls.throttled, flushedStages: new Set(calls.flushedStages) }),
    close: async () => {
      clearInterval(flusher);
      await Promise.all([closeServer(server), closeServer(controlPlane)]);
    },
  };
}

function authorizerEvent(request: IncomingMessage, method: string, path: string, resourcePath: string, methodArn: string, requestId: string) {
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
    resource: resourcePath,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: {},
    stageVariables: {},
    requestContext: { path: `/prod${path}`, accountId: '000000000000', stage: 'prod', requestId, identity: { sourceIp: request.socket.remoteAddress ?? '127.0.0.1' }, resourcePath, httpMethod: method, apiId: 'local0api' },
  };
}

/** The API's method for a request: its HTTP method or ANY, on a resource whose `{name}` matches one segment and `{name+}` the rest. */
function matchRoute(routes: readonly LocalRoute[], method: string, path: string): LocalRoute | undefined {
  const segments = path.split('/').filter((segment) => segment !== '');
  const matches = (resourcePath: string) => {
    const parts = resourcePath.split('/').filter((part) => part !== '');
    for (const [i, part] of parts.entries()) {
      if (/^\{.+\+\}$/.test(part)) return segments.length > i;
      if (segments[i] === undefined || (!/^\{.+\}$/.test(part) && part !== segments[i])) return false;
    }
    return parts.length === segments.length;
  };
  // The most specific resource first: literal segments before {name}, a greedy {name+} last.
  const literals = (resourcePath: string) => resourcePath.split('/').filter((part) => part !== '' && !part.startsWith('{')).length;
  const greedy = (resourcePath: string) => (resourcePath.includes('+}') ? 1 : 0);
  const candidates = routes.filter((route) => matches(route.resourcePath)).sort((a, b) => greedy(a.resourcePath) - greedy(b.resourcePath) || literals(b.resourcePath) - literals(a.resourcePath));
  return candidates.find((route) => route.method === method) ?? candidates.find((route) => route.method === 'ANY');
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
