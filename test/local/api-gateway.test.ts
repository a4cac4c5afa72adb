import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { ACCESS_LOG_FIELDS } from '../../lambda/contracts/access-log';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { ApiGatewayAuthorizerCaches } from '../../lambda/adapters/api-gateway-authorizer-caches';
import { startLocalApiGateway, type LocalApiGateway } from '../../local/api-gateway';
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
      identityHeader: 'x-api-key',
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

  it('caches the policy per key and applies it to each route: a Deny is 403, an unknown key 401', async () => {
    calls = 0;
    expect((await call('/hello', reader.key)).status).toBe(200);
    expect((await call('/orders', reader.key, 'POST')).status).toBe(403);
    expect((await call('/hello', reader.key)).status).toBe(200);
    expect(calls).toBe(1);
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
