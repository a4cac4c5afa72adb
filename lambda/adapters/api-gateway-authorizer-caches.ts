import { setTimeout as sleep } from 'node:timers/promises';
import { APIGatewayClient, FlushStageAuthorizersCacheCommand, GetAuthorizersCommand, GetStagesCommand, paginateGetRestApis } from '@aws-sdk/client-api-gateway';
import {
  ApiGatewayV2Client,
  GetApisCommand,
  GetAuthorizersCommand as GetApiAuthorizersCommand,
  GetStagesCommand as GetApiStagesCommand,
  ResetAuthorizersCacheCommand,
} from '@aws-sdk/client-apigatewayv2';
import type { AuthorizerStage, RegionalApiGateway } from '../domain/authorizer-cache-flush';
import { TokenBucket } from '../domain/token-bucket';

/**
 * API Gateway's control plane allows an account 10 requests a second, with bursts of 40, across these calls
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html, "Total operations"): the calls one
 * region's flush makes wait their turn here, and the SDK retries the throttling another caller causes, with backoff.
 */
export const CONTROL_PLANE_RATE = { perSecond: 10, burst: 40 } as const;
/** What one flush spends: the steady rate, and half the burst, so that calls the network bunches up still fit the quota. */
export const CONTROL_PLANE_BUDGET = { perSecond: CONTROL_PLANE_RATE.perSecond, burst: CONTROL_PLANE_RATE.burst / 2 } as const;
/** Retries of a throttled control-plane call (the SDK's exponential backoff between them). */
export const CONTROL_PLANE_MAX_ATTEMPTS = 8;

/** The control plane's budget, shared by every call to one region: waits for a token rather than being throttled. */
export class ControlPlaneBudget {
  private readonly bucket: TokenBucket;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: { readonly perSecond: number; readonly burst: number } = CONTROL_PLANE_BUDGET,
    private readonly clock: () => number = Date.now,
  ) {
    this.bucket = new TokenBucket(rate.perSecond, clock(), rate.burst);
  }

  /** Resolves when the caller may make one call; callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      while (!this.bucket.tryTake(this.clock())) await sleep(Math.ceil(1000 / this.rate.perSecond));
    });
    this.queue = turn;
    return turn;
  }
}

/**
 * API Gateway in one region: the stages of every API whose authorizer invokes keyroll's authorizer function there,
 * wherever that API was deployed (any stack, or none). An authorizer names its function in `authorizerUri`,
 * `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html). Flushing uses FlushStageAuthorizersCache
 * for REST APIs (https://docs.aws.amazon.com/apigateway/latest/api/API_FlushStageAuthorizersCache.html) and
 * ResetAuthorizersCache for HTTP APIs
 * (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename-cache-authorizers.html).
 */
export class ApiGatewayRegion implements RegionalApiGateway {
  constructor(
    readonly region: string,
    private readonly rest: APIGatewayClient,
    private readonly http: ApiGatewayV2Client,
    private readonly authorizerFunctionArn: string,
    private readonly budget: ControlPlaneBudget = new ControlPlaneBudget(),
  ) {}

  async discoverStages(): Promise<AuthorizerStage[]> {
    const [restStages, httpStages] = await Promise.all([this.restStages(), this.httpStages()]);
    return [...restStages, ...httpStages];
  }

  async flushStage(stage: AuthorizerStage): Promise<boolean> {
    await this.budget.take();
    try {
      if (stage.kind === 'rest') await this.rest.send(new FlushStageAuthorizersCacheCommand({ restApiId: stage.apiId, stageName: stage.stageName }));
      else await this.http.send(new ResetAuthorizersCacheCommand({ ApiId: stage.apiId, StageName: stage.stageName }));
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'NotFoundException') return false;
      throw error;
    }
  }

  private async restStages(): Promise<AuthorizerStage[]> {
    const apiIds: string[] = [];
    const pages = paginateGetRestApis({ client: this.rest, pageSize: 500 }, {});
    for (;;) {
      await this.budget.take();
      const next = await pages.next();
      if (next.done === true) break;
      for (const api of next.value.items ?? []) if (api.id !== undefined) apiIds.push(api.id);
    }
    const perApi = await Promise.all(
      apiIds.map(async (restApiId) => {
        if (!(await this.restApiUsesAuthorizer(restApiId))) return [];
        await this.budget.take();
        const stages = (await this.rest.send(new GetStagesCommand({ restApiId }))).item ?? [];
        return stages.flatMap((stage) => (stage.stageName === undefined ? [] : [{ kind: 'rest' as const, apiId: restApiId, stageName: stage.stageName }]));
      }),
    );
    return perApi.flat();
  }

  private async httpStages(): Promise<AuthorizerStage[]> {
    const apiIds: string[] = [];
    let nextToken: string | undefined;
    do {
      await this.budget.take();
      const page = await this.http.send(new GetApisCommand({ MaxResults: '500', NextToken: nextToken }));
      for (const api of page.Items ?? []) if (api.ApiId !== undefined) apiIds.push(api.ApiId);
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    const perApi = await Promise.all(
      apiIds.map(async (apiId) => {
        if (!(await this.httpApiUsesAuthorizer(apiId))) return [];
        await this.budget.take();
        const stages = (await this.http.send(new GetApiStagesCommand({ ApiId: apiId, MaxResults: '500' }))).Items ?? [];
        return stages.flatMap((stage) => (stage.StageName === undefined ? [] : [{ kind: 'http' as const, apiId, stageName: stage.StageName }]));
      }),
    );
    return perApi.flat();
  }

  private async restApiUsesAuthorizer(restApiId: string): Promise<boolean> {
    let position: string | undefined;
    do {
      await this.budget.take();
      const page = await this.rest.send(new GetAuthorizersCommand({ restApiId, limit: 500, position }));
      if ((page.items ?? []).some((authorizer) => this.invokesAuthorizerFunction(authorizer.authorizerUri))) return true;
      position = page.position;
    } while (position !== undefined);
    return false;
  }

  private async httpApiUsesAuthorizer(apiId: string): Promise<boolean> {
    let nextToken: string | undefined;
    do {
      await this.budget.take();
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

/** API Gateway clients for one region's control plane, with the retries its quota calls for. */
export function apiGatewayClients(region: string | undefined, options: Record<string, unknown> = {}): { readonly rest: APIGatewayClient; readonly http: ApiGatewayV2Client } {
  const config = { ...options, ...(region === undefined ? {} : { region }), maxAttempts: CONTROL_PLANE_MAX_ATTEMPTS };
  return { rest: new APIGatewayClient(config), http: new ApiGatewayV2Client(config) };
}
