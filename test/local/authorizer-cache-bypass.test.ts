import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { RotatingApiKeys } from '../../lib/rotating-api-keys';
import { startLocalApiGateway, type LocalApiGateway } from '../../local/api-gateway';
import { synthesizeLocalInstall } from '../../local/install';
import { buildAuthorizer, keyVersion } from '../support/authorizer-fixture';
import { appLikeTheCli } from '../support/cdk-app';
import { HttpApiGatewayModel } from '../support/http-api-gateway';
import { TestClock } from '../support/rotation-fixture';

/*
 * The attacks of the security review on API Gateway's authorizer cache, played through a model of that cache
 * keyed by the identity sources the synthesized template gives the authorizer (never by calling the handler
 * twice): a cached answer must never admit a request it was not decided for.
 */
const ROUTE_SCOPES = { 'POST /orders': 'write', 'GET /admin/*': 'admin' };
const NAMES = { keyTableName: 't', clientTopicArn: 'arn:aws:sns:us-east-1:000000000000:c', operationsTopicArn: 'arn:aws:sns:us-east-1:000000000000:o' };

/** The route spellings that must be refused to a key with only `read`: each names a guarded route another way. */
const GUARDED_SPELLINGS: readonly [string, string][] = [
  ['POST', '/orders'],
  ['POST', '/orders/'],
  ['POST', '//orders'],
  ['POST', '/Orders'],
  ['POST', '/%6Frders'],
  ['GET', '/admin/users'],
  ['GET', '/Admin/users'],
  ['GET', '/ADMIN/users/'],
  ['GET', '//admin//users'],
  ['GET', '/public/../admin/users'],
  ['GET', '/%61dmin/users'],
  ['HEAD', '/admin/users'],
  ['POST', '/orders%2f'],
  ['POST', '/%2F%2Forders'],
  ['POST', '/hello/..%2forders'],
  ['POST', '/orders;x'],
  ['POST', '/orders%00'],
  ['GET', '/admin%2fusers'],
];

describe('Attack: an HTTP API answer cached for one route admits the same key on another', () => {
  const clock = new TestClock(Date.now());
  const reader = keyVersion({ clientId: 'acme', scopes: ['read'] });
  const stack = new Stack(appLikeTheCli(), 'HttpScopes', { env: { account: '111122223333', region: 'eu-west-1' } });
  const keys = new RotatingApiKeys(stack, 'ApiKeys', { clients: [{ clientId: 'acme' }], routeScopes: ROUTE_SCOPES });
  const backend = new HttpUrlIntegration('Backend', 'https://example.com');
  const api = new HttpApi(stack, 'Api', { defaultIntegration: backend, defaultAuthorizer: keys.httpAuthorizer });
  api.addRoutes({ path: '/orders', methods: [HttpMethod.ANY], integration: backend, authorizer: keys.httpAuthorizer });
  api.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration: backend, authorizer: keys.httpAuthorizer });
  const template = Template.fromStack(stack);
  const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((route) => String((route as { Properties: { RouteKey: string } }).Properties.RouteKey));
  const [authorizer] = Object.values(template.findResources('AWS::ApiGatewayV2::Authorizer')) as { Properties: { IdentitySource: string[]; AuthorizerResultTtlInSeconds: number } }[];

  const gateway = () =>
    new HttpApiGatewayModel({
      routeKeys,
      identitySource: authorizer?.Properties.IdentitySource ?? [],
      resultsCacheTtlSeconds: authorizer?.Properties.AuthorizerResultTtlInSeconds ?? 0,
      authorize: buildAuthorizer({ clock, versions: [reader.version], routeScopes: JSON.stringify(ROUTE_SCOPES) }).handler,
      clock: clock.now,
    });

  it('has the ANY, greedy and $default routes the attack needs, each behind the keyroll authorizer', () => {
    expect(routeKeys.sort()).toEqual(['$default', 'ANY /orders', 'ANY /{proxy+}']);
    expect(authorizer?.Properties.AuthorizerResultTtlInSeconds).toBeGreaterThan(0);
  });

  it('refuses POST /orders to a key without write, after the same key was allowed GET /orders on the same ANY route', async () => {
    const model = gateway();
    expect(await model.request('GET', '/orders', [['x-api-key', reader.key]])).toBe(200);
    expect(await model.request('POST', '/orders', [['x-api-key', reader.key]])).toBe(403);
  });

  it.each(GUARDED_SPELLINGS)('refuses %s %s to a key without the scope, after a cached yes on an unguarded path of the same route', async (method, path) => {
    const model = gateway();
    expect(await model.request('GET', '/public/hello', [['x-api-key', reader.key]])).toBe(200);
    expect(await model.request('GET', '/orders', [['x-api-key', reader.key]])).toBe(200);
    expect(await model.request(method, path, [['x-api-key', reader.key]])).toBe(403);
  });

  it('refuses `x-api-key: ,` beside a valid Bearer token, so nobody can ride a yes cached under ","', async () => {
    const model = gateway();
    expect(await model.request('GET', '/public/hello', [['x-api-key', ','], ['authorization', `Bearer ${reader.key}`]])).toBe(403);
    expect(await model.request('GET', '/public/hello', [['x-api-key', ',']])).toBe(403);
  });
});

describe('Attack: a REST answer cached for one method and path admits the same key on another', () => {
  const clock = new TestClock(Date.now());
  const reader = keyVersion({ clientId: 'acme', scopes: ['read'] });
  const install = synthesizeLocalInstall({ clients: [{ clientId: 'acme' }], routeScopes: ROUTE_SCOPES }, NAMES);
  let gateway: LocalApiGateway;
  let invocations = 0;

  beforeAll(async () => {
    const { handler } = buildAuthorizer({ clock, versions: [reader.version], routeScopes: JSON.stringify(ROUTE_SCOPES) });
    gateway = await startLocalApiGateway({
      authorize: (event) => {
        invocations++;
        return handler(event);
      },
      identitySources: install.authorizer.identitySources,
      resultsCacheTtlSeconds: install.authorizer.resultsCacheTtlSeconds,
      deliverAccessLogs: async () => undefined,
      authorizerFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:keyroll-local-authorizer',
    });
  });
  afterAll(() => gateway.close());

  /** Raw paths, as a client can send them: fetch would normalise `//` and `..`. */
  const call = (method: string, path: string, headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(gateway.url);
      const request = require('node:http').request({ host: url.hostname, port: url.port, method, path, headers }, (response: import('node:http').IncomingMessage) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });

  it('caches under the key header, the method and the path when routes need scopes', () => {
    expect(install.authorizer.identitySources).toEqual([
      { from: 'header', name: 'x-api-key' },
      { from: 'context', variable: 'httpMethod' },
      { from: 'context', variable: 'path' },
    ]);
    expect(install.authorizer.resultsCacheTtlSeconds).toBeGreaterThan(0);
  });

  it.each(GUARDED_SPELLINGS)('refuses %s %s to a key without the scope, after cached yeses on other routes', async (method, path) => {
    expect(await call('GET', '/public/hello', { 'x-api-key': reader.key })).toBe(200);
    expect(await call('GET', '/orders', { 'x-api-key': reader.key })).toBe(200);
    expect(await call(method, path, { 'x-api-key': reader.key })).toBe(403);
  });

  it('refuses `x-api-key: ,` beside a valid Bearer token, so nobody can ride a yes cached under ","', async () => {
    expect(await call('GET', '/public/hello', { 'x-api-key': ',', authorization: `Bearer ${reader.key}` })).toBe(401);
    expect(await call('GET', '/public/hello', { 'x-api-key': ',' })).toBe(401);
    expect(await call('GET', '/public/hello', { 'x-api-key': `, ${reader.key}` })).toBe(401);
  });

  it('still answers a repeated route from the cache: one authorizer call per key, method and path', async () => {
    invocations = 0;
    for (let i = 0; i < 3; i++) expect(await call('GET', '/cached/once', { 'x-api-key': reader.key })).toBe(200);
    expect(invocations).toBe(1);
  });
});
