import { APIGatewayClient, FlushStageAuthorizersCacheCommand, GetAuthorizersCommand, GetStagesCommand, paginateGetRestApis } from '@aws-sdk/client-api-gateway';
import {
  ApiGatewayV2Client,
  GetApisCommand,
  GetAuthorizersCommand as GetApiAuthorizersCommand,
  GetStagesCommand as GetApiStagesCommand,
  ResetAuthorizersCacheCommand,
} from '@aws-sdk/client-apigatewayv2';
import type { AuthorizerCaches } from '../domain/ports';

/**
 * API Gateway's cached authorizer answers, for every API of the account and region whose authorizer invokes
 * keyroll's authorizer function, wherever that API was deployed (any stack, or none). An authorizer names its
 * function in `authorizerUri`, `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html). Flushing uses FlushStageAuthorizersCache
 * for REST APIs (https://docs.aws.amazon.com/apigateway/latest/api/API_FlushStageAuthorizersCache.html) and
 * ResetAuthorizersCache for HTTP APIs
 * (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename-cache-authorizers.html).
 */
export class ApiGatewayAuthorizerCaches implements AuthorizerCaches {
  constructor(
    private readonly rest: APIGatewayClient,
    private readonly http: ApiGatewayV2Client,
    private readonly authorizerFunctionArn: string,
  ) {}

  async flush(): Promise<string[]> {
    const flushed: string[] = [];
    for await (const page of paginateGetRestApis({ client: this.rest, pageSize: 500 }, {})) {
      for (const api of page.items ?? []) {
        if (api.id === undefined || !(await this.restApiUsesAuthorizer(api.id))) continue;
        for (const stage of (await this.rest.send(new GetStagesCommand({ restApiId: api.id }))).item ?? []) {
          await this.rest.send(new FlushStageAuthorizersCacheCommand({ restApiId: api.id, stageName: stage.stageName }));
          flushed.push(`rest:${api.id}/${stage.stageName ?? ''}`);
        }
      }
    }
    let nextToken: string | undefined;
    do {
      const page = await this.http.send(new GetApisCommand({ MaxResults: '500', NextToken: nextToken }));
      for (const api of page.Items ?? []) {
        if (api.ApiId === undefined || !(await this.httpApiUsesAuthorizer(api.ApiId))) continue;
        for (const stage of (await this.http.send(new GetApiStagesCommand({ ApiId: api.ApiId, MaxResults: '500' }))).Items ?? []) {
          await this.http.send(new ResetAuthorizersCacheCommand({ ApiId: api.ApiId, StageName: stage.StageName }));
          flushed.push(`http:${api.ApiId}/${stage.StageName ?? ''}`);
        }
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return flushed;
  }

  private async restApiUsesAuthorizer(restApiId: string): Promise<boolean> {
    let position: string | undefined;
    do {
      const page = await this.rest.send(new GetAuthorizersCommand({ restApiId, limit: 500, position }));
      if ((page.items ?? []).some((authorizer) => this.invokesAuthorizerFunction(authorizer.authorizerUri))) return true;
      position = page.position;
    } while (position !== undefined);
    return false;
  }

  private async httpApiUsesAuthorizer(apiId: string): Promise<boolean> {
    let nextToken: string | undefined;
    do {
      const page = await this.http.send(new GetApiAuthorizersCommand({ ApiId: apiId, MaxResults: '500', NextToken: nextToken }));
      if ((page.Items ?? []).some((authorizer) => this.invokesAuthorizerFunction(authorizer.AuthorizerUri))) return true;
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return false;
  }

  /** The function's ARN, bare or with a version or alias qualifier, between `functions/` and `/invocations`. */
  private invokesAuthorizerFunction(uri: string | undefined): boolean {
    if (uri === undefined) return false;
    const start = uri.indexOf('/functions/');
    const end = uri.lastIndexOf('/invocations');
    if (start < 0 || end < start) return false;
    const functionArn = uri.slice(start + '/functions/'.length, end);
    return functionArn === this.authorizerFunctionArn || functionArn.startsWith(`${this.authorizerFunctionArn}:`);
  }
}
