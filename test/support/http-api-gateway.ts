import { AuthorizerResultCache, identityValues, parseIdentitySources } from '../../local/authorizer-cache';

/**
 * An HTTP API stage in front of a Lambda authorizer with simple responses (payload 2.0), as the API Gateway
 * developer guide describes it, for tests that check what a cached answer admits:
 * - route selection (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
 *   a full match of method and path first, then a greedy path variable, then `$default`; `ANY` takes every
 *   method no route of the same path names;
 * - the authorizer's answer cached under its identity sources' values
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html), 401 without
 *   invoking it when one is missing; repeated headers joined by commas, header names in lower case.
 */
export class HttpApiGatewayModel {
  private readonly cache: AuthorizerResultCache<boolean>;
  private readonly sources;
  invocations = 0;

  constructor(
    private readonly options: {
      /** The template's `AWS::ApiGatewayV2::Route` route keys, `$default` included. */
      readonly routeKeys: readonly string[];
      /** The template's `AWS::ApiGatewayV2::Authorizer` IdentitySource. */
      readonly identitySource: readonly string[];
      readonly resultsCacheTtlSeconds: number;
      readonly authorize: (event: unknown) => Promise<unknown>;
      readonly clock: () => number;
    },
  ) {
    this.cache = new AuthorizerResultCache(options.resultsCacheTtlSeconds, options.clock);
    this.sources = parseIdentitySources(options.identitySource);
  }

  /** The status the client gets: 404 no route, 401 no identity, 403 refused, 200 admitted. */
  async request(method: string, path: string, headers: readonly (readonly [string, string])[]): Promise<number> {
    const routeKey = selectRoute(this.options.routeKeys, method, path);
    if (routeKey === undefined) return 404;
    const identity = identityValues(this.sources, { headers, context: { httpMethod: method, path, routeKey, stage: '$default' } });
    if (identity === undefined) return 401;
    let admitted = this.cache.get(identity);
    if (admitted === undefined) {
      this.invocations++;
      try {
        const answer = (await this.options.authorize(this.event(method, path, routeKey, headers, identity))) as { isAuthorized?: unknown };
        admitted = answer.isAuthorized === true;
      } catch {
        return 500;
      }
      this.cache.set(identity, admitted);
    }
    return admitted ? 200 : 403;
  }

  private event(method: string, path: string, routeKey: string, headers: readonly (readonly [string, string])[], identity: readonly string[]) {
    const joined: Record<string, string> = {};
    for (const [name, value] of headers) {
      const lower = name.toLowerCase();
      joined[lower] = joined[lower] === undefined ? value : `${joined[lower]},${value}`;
    }
    return {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:eu-west-1:111122223333:abc123def4/$default/${method}${path}`,
      identitySource: identity,
      routeKey,
      rawPath: path,
      rawQueryString: '',
      headers: joined,
      requestContext: {
        accountId: '111122223333',
        apiId: 'abc123def4',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
        requestId: 'id',
        routeKey,
        stage: '$default',
        timeEpoch: this.options.clock(),
      },
    };
  }
}

/** The route API Gateway picks for a request, or undefined (404). */
export function selectRoute(routeKeys: readonly string[], method: string, path: string): string | undefined {
  const routes = routeKeys.filter((key) => key !== '$default').map((key) => {
    const [routeMethod = '', routePath = ''] = key.split(' ');
    return { key, method: routeMethod, segments: routePath.split('/').slice(1) };
  });
  const requestSegments = path.split('/').slice(1);
  const matches = (segments: readonly string[], greedy: boolean) => {
    const last = segments.at(-1) ?? '';
    const isGreedy = /^\{.+\+\}$/.test(last);
    if (isGreedy !== greedy) return false;
    const fixed = isGreedy ? segments.slice(0, -1) : segments;
    if (isGreedy ? requestSegments.length <= fixed.length : requestSegments.length !== fixed.length) return false;
    return fixed.every((segment, i) => (/^\{.+\}$/.test(segment) ? (requestSegments[i] ?? '') !== '' : segment === requestSegments[i]));
  };
  for (const greedy of [false, true]) {
    const candidates = routes.filter((route) => matches(route.segments, greedy));
    const exact = candidates.find((route) => route.method === method);
    if (exact !== undefined) return exact.key;
    const any = candidates.find((route) => route.method === 'ANY');
    if (any !== undefined) return any.key;
  }
  return routeKeys.includes('$default') ? '$default' : undefined;
}
