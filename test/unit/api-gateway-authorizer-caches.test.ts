import { APIGatewayClient, FlushStageAuthorizersCacheCommand, GetAuthorizersCommand, GetRestApisCommand, GetStagesCommand } from '@aws-sdk/client-api-gateway';
import {
  ApiGatewayV2Client,
  GetApisCommand,
  GetAuthorizersCommand as GetApiAuthorizersCommand,
  GetStagesCommand as GetApiStagesCommand,
  ResetAuthorizersCacheCommand,
} from '@aws-sdk/client-apigatewayv2';
import { mockClient } from 'aws-sdk-client-mock';
import { ApiGatewayAuthorizerCaches } from '../../lambda/adapters/api-gateway-authorizer-caches';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:shop-keyroll-authorizer';
const uri = (functionArn: string) => `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${functionArn}/invocations`;

/** Which stages get flushed: those of every API, REST or HTTP, whose authorizer invokes keyroll's function. */
describe('API Gateway authorizer caches', () => {
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

  it('flushes every stage of the APIs whose authorizer invokes the function, bare or qualified, across pages', async () => {
    const flushed = await new ApiGatewayAuthorizerCaches(new APIGatewayClient({}), new ApiGatewayV2Client({}), FUNCTION).flush();
    expect(flushed).toEqual(['rest:orders/prod', 'rest:orders/staging', 'rest:billing/v1', 'http:h1/$default']);
    expect(rest.commandCalls(FlushStageAuthorizersCacheCommand).map((c) => c.args[0].input)).toEqual([
      { restApiId: 'orders', stageName: 'prod' },
      { restApiId: 'orders', stageName: 'staging' },
      { restApiId: 'billing', stageName: 'v1' },
    ]);
    expect(http.commandCalls(ResetAuthorizersCacheCommand).map((c) => c.args[0].input)).toEqual([{ ApiId: 'h1', StageName: '$default' }]);
    expect(rest.commandCalls(GetStagesCommand).map((c) => c.args[0].input.restApiId)).toEqual(['orders', 'billing']);
  });

  it('flushes nothing where no authorizer invokes the function', async () => {
    const flushed = await new ApiGatewayAuthorizerCaches(new APIGatewayClient({}), new ApiGatewayV2Client({}), 'arn:aws:lambda:eu-west-1:123456789012:function:elsewhere').flush();
    expect(flushed).toEqual([]);
    expect(rest.commandCalls(FlushStageAuthorizersCacheCommand)).toHaveLength(0);
    expect(http.commandCalls(ResetAuthorizersCacheCommand)).toHaveLength(0);
  });

  it('fails, naming the call, when API Gateway refuses one', async () => {
    rest.on(FlushStageAuthorizersCacheCommand).rejects(Object.assign(new Error('User is not authorized to perform: apigateway:DELETE'), { name: 'AccessDeniedException' }));
    await expect(new ApiGatewayAuthorizerCaches(new APIGatewayClient({}), new ApiGatewayV2Client({}), FUNCTION).flush()).rejects.toThrow('apigateway:DELETE');
  });
});
