import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { ACCESS_LOG_FIELDS } from '../../lambda/contracts/access-log';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { ApiGatewayAuthorizerCaches } from '../../lambda/adapters/api-gateway-authorizer-caches';
import { startLocalApiGateway, type LocalApiGateway } from '../../local/api-gateway';
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
    const options = { endpoint: gateway.controlPlaneUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const rest = new APIGatewayClient(options);
    const http = new ApiGatewayV2Client(options);
    try {
      await call('/hello', reader.key);
      calls = 0;
      expect(await new ApiGatewayAuthorizerCaches(rest, http, `${AUTHORIZER_ARN}-other`).flush()).toEqual([]);
      await call('/hello', reader.key);
      expect(calls).toBe(0);
      expect(await new ApiGatewayAuthorizerCaches(rest, http, AUTHORIZER_ARN).flush()).toEqual(['rest:local0api/prod']);
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
    expect(Object.keys(lines[0] ?? {}).sort()).toEqual(Object.keys(ACCESS_LOG_FIELDS).sort());
    expect(lines.at(-1)).toMatchObject({ status: '200', clientId: 'acme', keyVersion: 'v1', method: 'GET', resourcePath: '/hello' });
  });
});

describe('Local API Gateway with the construct\'s error responses', () => {
  const clock = new TestClock(Date.now());
  const reader = keyVersion({ clientId: 'acme', scopes: ['read'] });
  const authorizer = buildAuthorizer({ clock, versions: [reader.version], routeScopes: '{"POST /orders": "write"}' });
  const { gatewayResponses } = synthesizeLocalInstall({ clients: [{ clientId: 'acme' }], routeScopes: { 'POST /orders': 'write' } }, { keyTableName: 't', clientTopicArn: 'arn:aws:sns:us-east-1:000000000000:c', operationsTopicArn: 'arn:aws:sns:us-east-1:000000000000:o' });
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
    });
  });
  afterAll(() => gateway.close());

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
