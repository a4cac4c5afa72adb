import { createHash } from 'node:crypto';
import { Duration, Stack } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer, ResponseType, type GatewayResponse, type RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AUTHORIZER_VARIABLES } from '../lambda/config/authorizer-config';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config/shared-settings';
import { CLIENT_ERRORS, clientErrorTemplate } from '../lambda/contracts/client-errors';
import { KEY_TABLE_ACCESS } from '../lambda/contracts/key-table-access';
import { KeyrollFunction } from './keyroll-function';
import type { ValidSettings } from './validation';

/**
 * The authorizer and its API Gateway wiring, in one place for the install's region (`RotatingApiKeys`) and
 * each replica region (`RotatingApiKeysReplica`): the same function, settings, caches and error bodies.
 */
export function newAuthorizerFunction(
  scope: Construct,
  table: ITableV2,
  settings: ValidSettings,
  options: { readonly logRetention: RetentionDays | undefined; readonly functionName?: string; readonly usagePlans: boolean },
): KeyrollFunction {
  const { logRetention, functionName } = options;
  return (
    new KeyrollFunction(scope, 'AuthorizerFunction', {
      entry: 'authorizer',
      description: 'API Gateway authorizer: accepts every key version inside its window',
      timeout: Duration.seconds(5),
      memorySize: 512,
      logRetention,
      ...(functionName === undefined ? {} : { functionName }),
    })
      // Query reads the revocation feed: one small read per container per poll interval.
      .useKeyTable(table, KEY_TABLE_ACCESS.authorizer)
      .configure(AUTHORIZER_VARIABLES, {
        revocationPollMs: settings.revocationPollInterval.toMilliseconds(),
        knownKeysWindowMs: settings.knownKeysWindow.toMilliseconds(),
        keyPrefix: settings.keyPrefix,
        apiKeyHeader: settings.apiKeyHeader,
        cacheTtlSeconds: settings.cacheTtl.toSeconds(),
        negativeCacheTtlSeconds: settings.negativeCacheTtl.toSeconds(),
        staleWindowSeconds: settings.staleWindow.toSeconds(),
        unknownKeysPerSourcePerSecond: settings.unknownKeysPerSourcePerSecond,
        metricsNamespace: DEFAULT_METRICS_NAMESPACE,
        // The HTTP API authorizer below asks for simple responses; REST events never read this.
        httpApiSimpleResponses: true,
        ...(settings.routeScopes.decidesPerRoute ? { routeScopes: settings.routeScopes } : {}),
        endedKeyReportSeconds: settings.endedKeyReportInterval.toSeconds(),
        ...(!options.usagePlans || Object.keys(settings.usagePlans).length === 0 ? {} : { usagePlanKeyNamespace: settings.secretNamePrefix }),
      })
  );
}

/**
 * The name of a replica region's authorizer function, fixed by its install (stack name and construct path) so that
 * the install's region can name it in an ARN before the replica's stack exists: the emergency function flushes the
 * caches of the APIs there that invoke it. 64 characters at most (CreateFunction's FunctionName).
 */
export function replicaAuthorizerFunctionName(primaryStackName: string, primaryPath: string): string {
  return `keyroll-authorizer-${createHash('sha256').update(`${primaryStackName}/${primaryPath}`).digest('hex').slice(0, 16)}`;
}

/**
 * The API Gateway REST authorizer. The key header is its identity source: API Gateway answers 401 itself to a
 * request without it. When routes need scopes the decision depends on the method and path too, and API Gateway
 * caches an answer under the identity sources alone, so they are identity sources as well: a cached answer is
 * then only ever reused for the method and path it was decided for.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-authorizer.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html ($context variables)
 */
export function newRestAuthorizer(scope: Construct, fn: KeyrollFunction, settings: ValidSettings): RequestAuthorizer {
  const perRoute = settings.routeScopes.decidesPerRoute ? [IdentitySource.context('httpMethod'), IdentitySource.context('path')] : [];
  return new RequestAuthorizer(scope, 'Authorizer', {
    handler: fn,
    identitySources: [IdentitySource.header(settings.apiKeyHeader), ...perRoute],
    resultsCacheTtl: settings.resultsCacheTtl,
  });
}

/**
 * The HTTP API authorizer (payload 2.0, simple responses). A simple response is one yes or no, cached under
 * the identity sources' values, so when routes need scopes the method and path are identity sources too (the
 * route key alone is not enough: `ANY /orders`, `{proxy+}` and `$default` routes take many methods and paths).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html (identity sources, caching)
 */
export function newHttpAuthorizer(scope: Construct, fn: KeyrollFunction, settings: ValidSettings): HttpLambdaAuthorizer {
  const perRoute = settings.routeScopes.decidesPerRoute ? ['$context.httpMethod', '$context.path'] : [];
  return new HttpLambdaAuthorizer('KeyrollHttpAuthorizer', fn, {
    authorizerName: `${Stack.of(scope).stackName}-${scope.node.id}-keyroll`.slice(0, 128),
    identitySource: [`$request.header.${settings.apiKeyHeader}`, ...perRoute],
    responseTypes: [HttpLambdaResponseType.SIMPLE],
    resultsCacheTtl: settings.resultsCacheTtl,
  });
}

/**
 * The gateway responses of the error catalog (lambda/contracts/client-errors.ts).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
 */
export function addClientErrorResponses(api: RestApiBase, settings: ValidSettings): GatewayResponse[] {
  const header = settings.apiKeyHeader;
  return CLIENT_ERRORS.map((error) =>
    api.addGatewayResponse(`Keyroll${error.responseType}`, {
      type: ResponseType.of(error.responseType),
      statusCode: String(error.statusCode),
      responseHeaders: {
        'Content-Type': "'application/json'",
        ...(error.statusCode === 401 ? { 'WWW-Authenticate': `'ApiKey header="${header}"'` } : {}),
      },
      templates: { 'application/json': clientErrorTemplate(error, header, settings.clientDocumentationUrl) },
    }),
  );
}
