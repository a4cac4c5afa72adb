import { APIGatewayClient, FlushStageAuthorizersCacheCommand, GetAuthorizersCommand, GetRestApisCommand, GetStagesCommand } from '@aws-sdk/client-api-gateway';
import {
  ApiGatewayV2Client,
  GetApisCommand,
  GetAuthorizersCommand as GetApiAuthorizersCommand,
  GetStagesCommand as GetApiStagesCommand,
  ResetAuthorizersCacheCommand,
} from '@aws-sdk/client-apigatewayv2';
import { mockClient } from 'aws-sdk-client-mock';
import { ApiGatewayRegion, ControlPlaneBudget } from '../../lambda/adapters/api-gateway-authorizer-caches';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-keyroll-authorizer';
const uri = (functionArn: string) => `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${functionArn}/invocations`;

/** Which stages get flushed: those of every API, REST or HTTP, whose authorizer invokes keyroll's function. */
describe('API Gateway in one region (the authorizer caches)', () => {
  const rest = mockClient(APIGatewayClient);
  const http = mockClient(ApiGatewayV2Client);

  beforeEach(() => {
    rest.reset();
    http.reset();
    // Two pages of REST APIs: one uses the function through an alias, one another function whose name starts the same.
    rest.on(GetRestApisCommand, { position: undefined }).resolves({ items: [{ id: 'orders' }, { id: 'lookalike' }], position: 'p2' });
    rest.on(GetRestApisCommand, { position: 'p2' }).resolves({ items: [{ id: 'billing' }, { id: 'cognito-only' }] });
    rest.on(GetAuthorizersCommand, { restApiId: 'orders' }).resolves({ items: [{ authorizerUri: uri(`${FUNCTION}:live`) }] });
    rest.on(GetAuthorizersCommand, { restApiId: 'lookalike' }).resolves({ items: [{ authorizerUri: uri(`${FUNCTION}-v2`) }] });
    // billing's keyroll authorizer is on its authorizers' second page.
    rest.on(GetAuthorizersCommand, { restApiId: 'billing', position: undefined }).resolves({ items: [{ authorizerUri: uri('arn:aws:lambda:eu-west-1:123456789012:function:other') }], position: 'a2' });
    rest.on(GetAuthorizersCommand, { restApiId: 'billing', position: 'a2' }).resolves({ items: [{ authorizerUri: uri(FUNCTION) }] });
    rest.on(GetAuthorizersCommand, { restApiId: 'cognito-only' }).resolves({ items: [{ type: 'COGNITO_USER_POOLS' }] });
    rest.on(GetStagesCommand, { restApiId: 'orders' }).resolves({ item: [{ stageName: 'prod' }, { stageName: 'staging' }] });
    rest.on(GetStagesCommand, { restApiId: 'billing' }).resolves({ item: [{ stageName: 'v1' }] });
    rest.on(FlushStageAuthorizersCacheCommand).resolves({});
    http.on(GetApisCommand).resolves({ Items: [{ ApiId: 'h1', Name: 'a', ProtocolType: 'HTTP', RouteSelectionExpression: '${request.method} ${request.path}' }, { ApiId: 'h2', Name: 'b', ProtocolType: 'HTTP', RouteSelectionExpression: '${request.method} ${request.path}' }] });
    http.on(GetApiAuthorizersCommand, { ApiId: 'h1' }).resolves({ Items: [{ Name: 'keyroll', AuthorizerUri: uri(FUNCTION) }] });
    http.on(GetApiAuthorizersCommand, { ApiId: 'h2' }).resolves({ Items: [] });
    http.on(GetApiStagesCommand, { ApiId: 'h1' }).resolves({ Items: [{ StageName: '$default' }] });
    http.on(ResetAuthorizersCacheCommand).resolves({});
  });

  const region = (functionArn = FUNCTION) => new ApiGatewayRegion('eu-west-1', new APIGatewayClient({}), new ApiGatewayV2Client({}), functionArn, new ControlPlaneBudget({ perSecond: 1_000, burst: 1_000 }));

  it('finds every stage of the APIs whose authorizer invokes the function, bare or qualified, across pages', async () => {
    expect(await region().discoverStages()).toEqual([
      { kind: 'rest', apiId: 'orders', stageName: 'prod' },
      { kind: 'rest', apiId: 'orders', stageName: 'staging' },
      { kind: 'rest', apiId: 'billing', stageName: 'v1' },
      { kind: 'http', apiId: 'h1', stageName: '$default' },
    ]);
    expect(rest.commandCalls(GetStagesCommand).map((c) => c.args[0].input.restApiId)).toEqual(['orders', 'billing']);
    expect(rest.commandCalls(FlushStageAuthorizersCacheCommand)).toHaveLength(0);
  });

  it('flushes a REST stage with FlushStageAuthorizersCache and an HTTP stage with ResetAuthorizersCache', async () => {
    expect(await region().flushStage({ kind: 'rest', apiId: 'orders', stageName: 'prod' })).toBe(true);
    expect(await region().flushStage({ kind: 'http', apiId: 'h1', stageName: '$default' })).toBe(true);
    expect(rest.commandCalls(FlushStageAuthorizersCacheCommand).map((c) => c.args[0].input)).toEqual([{ restApiId: 'orders', stageName: 'prod' }]);
    expect(http.commandCalls(ResetAuthorizersCacheCommand).map((c) => c.args[0].input)).toEqual([{ ApiId: 'h1', StageName: '$default' }]);
  });

  it('finds nothing where no authorizer invokes the function', async () => {
    expect(await region('arn:aws:lambda:eu-west-1:123456789012:function:elsewhere').discoverStages()).toEqual([]);
  });

  it('says a stage that no longer exists is gone, and lets any other refusal through, naming the call', async () => {
    rest.on(FlushStageAuthorizersCacheCommand, { restApiId: 'deleted' }).rejects(Object.assign(new Error('Invalid stage identifier specified'), { name: 'NotFoundException' }));
    expect(await region().flushStage({ kind: 'rest', apiId: 'deleted', stageName: 'prod' })).toBe(false);
    rest.on(FlushStageAuthorizersCacheCommand, { restApiId: 'orders' }).rejects(Object.assign(new Error('User is not authorized to perform: apigateway:DELETE'), { name: 'AccessDeniedException' }));
    await expect(region().flushStage({ kind: 'rest', apiId: 'orders', stageName: 'prod' })).rejects.toThrow('apigateway:DELETE');
  });
});

describe('The control plane\'s budget (10 requests a second, bursts of 40, per account and region)', () => {
  it('lets a burst through at once, then paces the callers in order at the steady rate', async () => {
    const budget = new ControlPlaneBudget({ perSecond: 20, burst: 5 });
    const started = Date.now();
    const served: number[] = [];
    await Promise.all(Array.from({ length: 15 }, (_, i) => budget.take().then(() => served.push(i))));
    // 5 at once, then 10 more at 20 a second: at least half a second, and in the order asked.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(served).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });
});
