import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { REST_API_ACCESS_LOG_FIELDS } from '../../lambda/contracts/access-log';
import { ApiGatewayRegion, apiGatewayClients, ControlPlaneBudget } from '../../lambda/adapters/api-gateway-authorizer-caches';
import { flushAfterRevocation } from '../../lambda/domain/authorizer-cache-flush';
import { startLocalApiGateway, type LocalApiGateway, type LocalControlPlaneOptions } from '../../local/api-gateway';
import { synthesizeLocalInstall } from '../../local/install';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/keyroll-local';
import { buildAuthorizer, keyVersion } from '../support/authorizer-fixture';
import { TestClock } from '../support/rotation-fixture';

/** Local mode's API Gateway in front of the real authorizer handler (in-memory key table). */
describe('Local API Gateway', () => {
  const AUTHORIZER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:keyroll-local-authorizer';
  const clock = new TestClock(Date.now());
  const reader = keyVersion({ clientId: 'acme', scopes: ['read'] });
  const writer = keyVersion({ clientId: 'globex', versionId: 'g1', scopes: ['read', 'write'] });
  const authorizer = buildAuthorizer({ clock, versions: [reader.version, writer.version], routeScopes: '{"POST /orders": "write"}' });
  let calls = 0;
  const deliveries: CloudWatchLogsEvent[] = [];
  let gateway: LocalApiGateway;

  beforeAll(async () => {
    gateway = await startLocalApiGateway({
      authorize: (event) => {
        calls++;
        return authorizer.handler(event);
      },
      // As the construct's template gives them with route scopes: the key header, the method and the path.
      identitySources: [{ from: 'header', name: 'x-api-key' }, { from: 'context', variable: 'httpMethod' }, { from: 'context', variable: 'path' }],
      resultsCacheTtlSeconds: 300,
      deliverAccessLogs: async (delivery) => deliveries.push(delivery as CloudWatchLogsEvent),
      logFlushMs: 50,
      authorizerFunctionArn: AUTHORIZER_ARN,
    });
  });
  afterAll(() => gateway.close());

  const call = (path: string, key?: string, method = 'GET') => fetch(`${gateway.url}${path}`, { method, headers: key === undefined ? {} : { 'x-api-key': key } });

  it('answers 401 itself when the identity source is missing, without calling the authorizer', async () => {
    calls = 0;
    const response = await call('/hello');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(calls).toBe(0);
  });

  it('caches the policy per key, method and path and applies it to that method ARN: a Deny is 403, an unknown key 401', async () => {
    calls = 0;
    expect((await call('/hello', reader.key)).status).toBe(200);
    expect((await call('/orders', reader.key, 'POST')).status).toBe(403);
    expect((await call('/hello', reader.key)).status).toBe(200);
    expect((await call('/orders', reader.key, 'POST')).status).toBe(403);
    expect(calls).toBe(2);
    expect((await call('/orders', writer.key, 'POST')).status).toBe(200);
    expect((await call('/hello', 'kr_not-a-key')).status).toBe(401);
  });

  it('forgets every cached answer when its stage is flushed through the real SDK, found by the authorizer function it invokes', async () => {
    const { rest, http } = apiGatewayClients(LOCAL_REGION, { endpoint: gateway.controlPlaneUrl, credentials: LOCAL_CREDENTIALS });
    const flush = (functionArn: string) =>
      flushAfterRevocation([{ gateway: new ApiGatewayRegion(LOCAL_REGION, rest, http, functionArn), home: true }], { keyHashes: ['0'.repeat(64)], revokedAtMs: 0 }, { revocationPollMs: 0, clock: Date.now, sleep: async () => undefined });
    try {
      await call('/hello', reader.key);
      calls = 0;
      expect(await flush(`${AUTHORIZER_ARN}-other`)).toEqual({ flushed: [], failed: [], unfinished: [] });
      await call('/hello', reader.key);
      expect(calls).toBe(0);
      expect(await flush(AUTHORIZER_ARN)).toEqual({ flushed: ['rest:local0api/prod'], failed: [], unfinished: [] });
      await call('/hello', reader.key);
      expect(calls).toBe(1);
      expect(gateway.flushes()).toBe(1);
    } finally {
      rest.destroy();
      http.destroy();
    }
  });

  it('writes one access log line per request in the construct\'s format, delivered as CloudWatch Logs subscription data', async () => {
    deliveries.length = 0;
    await call('/hello', reader.key);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const lines = deliveries.flatMap((delivery) => (JSON.parse(gunzipSync(Buffer.from(delivery.awslogs.data, 'base64')).toString()) as { logEvents: { message: string }[] }).logEvents.map((e) => JSON.parse(e.message) as Record<string, string>));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(Object.keys(lines[0] ?? {}).sort()).toEqual(Object.keys(REST_API_ACCESS_LOG_FIELDS).sort());
    expect(lines.at(-1)).toMatchObject({ status: '200', clientId: 'acme', keyVersion: 'v1', method: 'GET', resourcePath: '/hello' });
  });
});

describe('Local API Gateway with the construct\'s error responses', () => {
  const clock = new TestClock(Date.now());
  const reader = keyVersion({ clientId: 'acme', scopes: ['read'] });
  const authorizer = buildAuthorizer({ clock, versions: [reader.version], routeScopes: '{"POST /orders": "write"}' });
  const { gatewayResponses, routes } = synthesizeLocalInstall({ clients: [{ clientId: 'acme' }], routeScopes: { 'POST /orders': 'write' } }, { keyTableName: 't', clientTopicArn: 'arn:aws:sns:us-east-1:000000000000:c', operationsTopicArn: 'arn:aws:sns:us-east-1:000000000000:o' });
  let gateway: LocalApiGateway;
  let failing = false;

  beforeAll(async () => {
    gateway = await startLocalApiGateway({
      authorize: async (event) => {
        if (failing) throw new Error('Task timed out');
        return authorizer.handler(event);
      },
      identitySources: [{ from: 'header', name: 'x-api-key' }],
      resultsCacheTtlSeconds: 0,
      deliverAccessLogs: async () => undefined,
      authorizerFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:keyroll-local-authorizer',
      gatewayResponses,
      routes,
    });
  });
  afterAll(() => gateway.close());

  it('serves only the methods the template declares: any other route is 403 Missing Authentication Token, before the authorizer, with one content type', async () => {
    expect(routes).toEqual(expect.arrayContaining([{ method: 'ANY', resourcePath: '/' }, { method: 'GET', resourcePath: '/hello' }, { method: 'POST', resourcePath: '/orders' }]));
    failing = true;
    try {
      for (const [method, path] of [['GET', '/nope'], ['DELETE', '/hello'], ['GET', '/orders'], ['GET', '/hello/extra']] as const) {
        const response = await fetch(`${gateway.url}${path}`, { method, headers: { 'x-api-key': reader.key } });
        expect({ method, path, status: response.status, body: await response.json() }).toEqual({ method, path, status: 403, body: { message: 'Missing Authentication Token' } });
      }
    } finally {
      failing = false;
    }
    const refused = await fetch(`${gateway.url}/hello`, { headers: { 'x-api-key': 'kr_not-a-key' } });
    expect(refused.status).toBe(401);
    // fetch joins repeated headers with ", ": one value means one header.
    expect(refused.headers.get('content-type')).toBe('application/json');
    expect((await fetch(`${gateway.url}/`, { headers: { 'x-api-key': reader.key } })).status).toBe(200);
  });

  const errorOf = async (path: string, key?: string, method = 'GET') => {
    const response = await fetch(`${gateway.url}${path}`, { method, headers: key === undefined ? {} : { 'x-api-key': key } });
    const { error } = (await response.json()) as { error: Record<string, string> };
    return { status: response.status, error, requestId: response.headers.get('x-amzn-requestid'), wwwAuthenticate: response.headers.get('www-authenticate') };
  };

  it('answers a missing or refused key with the 401 the template declares: code, header, what to do, the request id', async () => {
    for (const key of [undefined, 'kr_not-a-key']) {
      const { status, error, requestId, wwwAuthenticate } = await errorOf('/hello', key);
      expect(status).toBe(401);
      expect(error).toEqual({ code: 'api_key_invalid', header: 'x-api-key', message: expect.stringContaining('key.rotated'), requestId });
      expect(wwwAuthenticate).toBe('ApiKey header="x-api-key"');
    }
  });

  it('answers a key without the route\'s scope with 403, and an authorizer that fails with 500 that says the key was not rejected', async () => {
    expect(await errorOf('/orders', reader.key, 'POST')).toMatchObject({ status: 403, error: { code: 'api_key_forbidden' } });
    failing = true;
    try {
      expect(await errorOf('/hello', reader.key)).toMatchObject({ status: 500, error: { code: 'authorizer_unavailable', message: expect.stringContaining('not rejected') } });
    } finally {
      failing = false;
    }
  });
});

/**
 * An account with many APIs behind keyroll's authorizer, and the control plane's quota (per account and region:
 * 10 requests a second, bursts of 40; https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html),
 * scaled up here so that the test stays short; `npm run bench` measures the real rate.
 */
describe('Flushing a region with many APIs, within the control plane\'s quota (real SDK, local control plane)', () => {
  const AUTHORIZER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:keyroll-local-authorizer';
  const QUOTA = { perSecond: 100, burst: 40 };

  async function regionWith(controlPlane: LocalControlPlaneOptions, budget: { perSecond: number; burst: number }) {
    const authorizer = buildAuthorizer({ clock: new TestClock(Date.now()), versions: [] });
    const gateway = await startLocalApiGateway({
      authorize: (event) => authorizer.handler(event),
      identitySources: [{ from: 'header', name: 'x-api-key' }],
      resultsCacheTtlSeconds: 300,
      deliverAccessLogs: async () => undefined,
      authorizerFunctionArn: AUTHORIZER_ARN,
      controlPlane,
    });
    const { rest, http } = apiGatewayClients(LOCAL_REGION, { endpoint: gateway.controlPlaneUrl, credentials: LOCAL_CREDENTIALS });
    const region = new ApiGatewayRegion(LOCAL_REGION, rest, http, AUTHORIZER_ARN, new ControlPlaneBudget(budget));
    const directory = new Map<string, { stages: readonly { kind: 'rest' | 'http'; apiId: string; stageName: string }[]; discoveredAtMs: number }>();
    const flush = () =>
      flushAfterRevocation([{ gateway: region, home: true }], { keyHashes: ['0'.repeat(64)], revokedAtMs: 0 }, {
        revocationPollMs: 0,
        clock: Date.now,
        sleep: async () => undefined,
        directory: { rememberedStages: async (r) => directory.get(r), rememberStages: async (r, stages, discoveredAtMs) => void directory.set(r, { stages, discoveredAtMs }) },
      });
    const close = async () => {
      rest.destroy();
      http.destroy();
      await gateway.close();
    };
    return { gateway, flush, close };
  }

  it('flushes every stage of every API without being throttled, then flushes the remembered stages without listing them again', async () => {
    // The budget keeps half the burst in hand, as CONTROL_PLANE_BUDGET does, for calls the network bunches up.
    const { gateway, flush, close } = await regionWith({ otherRestApis: 30, stagesPerApi: 3, rate: QUOTA }, { perSecond: QUOTA.perSecond, burst: QUOTA.burst / 2 });
    try {
      const first = await flush();
      expect({ flushed: first.flushed.length, failed: first.failed }).toEqual({ flushed: 91, failed: [] });
      const afterFirst = gateway.controlPlaneCalls();
      expect(afterFirst).toMatchObject({ throttled: 0 });
      expect(afterFirst.flushedStages.size).toBe(91);
      // Listing costs GetRestApis, GetAuthorizers and GetStages per API, and GetApis: 1 + 31 + 31 + 1 calls.
      expect(afterFirst.served).toBe(64 + 91);
      const second = await flush();
      expect(second.flushed.length).toBe(91);
      expect(gateway.controlPlaneCalls().served - afterFirst.served).toBe(91);
    } finally {
      await close();
    }
  });

  it('still flushes every stage when another caller spends the quota: the SDK retries the throttled calls', async () => {
    const { gateway, flush, close } = await regionWith({ otherRestApis: 10, stagesPerApi: 2, rate: { perSecond: 20, burst: 5 } }, { perSecond: 200, burst: 200 });
    try {
      const report = await flush();
      expect({ flushed: report.flushed.length, failed: report.failed }).toEqual({ flushed: 21, failed: [] });
      expect(gateway.controlPlaneCalls().throttled).toBeGreaterThan(0);
    } finally {
      await close();
    }
    // The SDK's retries back off: seconds on a busy machine.
  }, 20_000);

  it('reports each stage it may not flush with the command that does it by hand, and flushes the others', async () => {
    const { flush, close } = await regionWith(
      { otherRestApis: 2, stagesPerApi: 1, rate: QUOTA, fault: (method, path) => (method === 'DELETE' && path.startsWith('/restapis/api00001/') ? { status: 403, type: 'AccessDeniedException', message: 'User is not authorized to perform: apigateway:DELETE' } : undefined) },
      QUOTA,
    );
    try {
      const report = await flush();
      expect(report.flushed).toEqual(expect.arrayContaining(['rest:local0api/prod', 'rest:api00000/stage0']));
      expect(report.failed).toEqual([
        {
          target: 'rest:api00001/stage0',
          error: 'AccessDeniedException: User is not authorized to perform: apigateway:DELETE',
          byHand: `aws apigateway flush-stage-authorizers-cache --region ${LOCAL_REGION} --rest-api-id api00001 --stage-name stage0`,
        },
      ]);
    } finally {
      await close();
    }
  });
});
