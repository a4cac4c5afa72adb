/**
 * The API access log line, declared once: the construct writes this JSON format on the stage, the usage
 * counter and local mode read it. Values are API Gateway context variables
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference).
 */
export const USAGE_LOG_FIELDS = {
  requestTimeEpoch: '$context.requestTimeEpoch',
  /** The response status: a 403 (refused for scope) carries the authorizer context but is not usage. */
  status: '$context.status',
  clientId: '$context.authorizer.clientId',
  keyVersion: '$context.authorizer.keyVersion',
} as const;

/**
 * The access log line of a REST API protected by keyroll; `$context.authorizer.*` is "-" on refusals.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html
 */
export const REST_API_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  latencyMs: '$context.responseLatency',
  ...USAGE_LOG_FIELDS,
} as const;

/**
 * The access log line of an HTTP API protected by keyroll: HTTP APIs have no `$context.resourcePath` (API
 * Gateway refuses a stage whose format names it), they have the request path and the route key.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
export const HTTP_API_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  latencyMs: '$context.responseLatency',
  ...USAGE_LOG_FIELDS,
} as const;

/** What API Gateway writes for a context variable that has no value. */
export const ABSENT_CONTEXT_VALUES: ReadonlySet<string> = new Set(['', '-']);

/** The status of requests refused for a missing scope: the authorizer context is set, but nothing was served. */
export const FORBIDDEN_STATUS = '403';
