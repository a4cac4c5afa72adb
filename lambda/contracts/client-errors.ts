/**
 * The errors API clients get from API Gateway in front of keyroll's authorizer, declared once: the construct
 * writes them as gateway responses, local mode serves what the template says, the README lists them. Each body
 * is JSON with a stable code, a sentence saying what to do, the documentation link when one is configured, and
 * the request id. Response types and their default status codes:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 */
export interface ClientError {
  /** API Gateway's gateway response type. */
  readonly responseType: 'UNAUTHORIZED' | 'ACCESS_DENIED' | 'INVALID_API_KEY' | 'THROTTLED' | 'QUOTA_EXCEEDED' | 'AUTHORIZER_FAILURE' | 'AUTHORIZER_CONFIGURATION_ERROR';
  readonly statusCode: number;
  /** Stable: clients may branch on it. */
  readonly code: string;
  /** What the client should do, for a key sent in `header`. */
  readonly message: (header: string) => string;
  /** The documentation's section for it, appended to the configured documentation URL. */
  readonly anchor: string;
}

export const CLIENT_ERRORS: readonly ClientError[] = [
  {
    responseType: 'UNAUTHORIZED',
    statusCode: 401,
    code: 'api_key_invalid',
    message: (header) =>
      `Send a valid API key in the ${header} header. Keys are rotated: when you get a key.rotated notification, or this error, read your current key again and retry once.`,
    anchor: 'key-rotated',
  },
  {
    responseType: 'ACCESS_DENIED',
    statusCode: 403,
    code: 'api_key_forbidden',
    message: () => 'Your API key is valid but not allowed on this route: ask the API provider for the scope it needs. Retrying will not help.',
    anchor: 'scopes',
  },
  {
    // With usage plans (keyroll's applyUsagePlans), a client whose usage plan key is in no plan of the stage.
    responseType: 'INVALID_API_KEY',
    statusCode: 403,
    code: 'usage_plan_missing',
    message: () => 'Your API key is valid but your client has no usage plan on this API: ask the API provider to add it to one. Retrying will not help.',
    anchor: 'quotas',
  },
  {
    responseType: 'THROTTLED',
    statusCode: 429,
    code: 'rate_limited',
    message: () => 'Too many requests: retry later, backing off exponentially with jitter.',
    anchor: 'rate-limits',
  },
  {
    responseType: 'QUOTA_EXCEEDED',
    statusCode: 429,
    code: 'quota_exceeded',
    message: () => "Your quota for this period is used up: retry after the period resets, or ask the API provider for a larger quota. A new key does not reset it.",
    anchor: 'quotas',
  },
  {
    responseType: 'AUTHORIZER_FAILURE',
    statusCode: 500,
    code: 'authorizer_unavailable',
    message: () => 'The API could not check your key this time; your key was not rejected. Retry with backoff.',
    anchor: 'errors',
  },
  {
    // API Gateway could not reach the authorizer (its invoke permission, a throttled or missing function).
    responseType: 'AUTHORIZER_CONFIGURATION_ERROR',
    statusCode: 500,
    code: 'authorizer_unavailable',
    message: () => 'The API could not check your key this time; your key was not rejected. Retry with backoff.',
    anchor: 'errors',
  },
];

/** API Gateway's variable for the request id in a gateway response template; local mode substitutes it too. */
export const REQUEST_ID_VARIABLE = '$context.requestId';

/** The response body, with the request id left as API Gateway's variable. */
export function clientErrorTemplate(error: ClientError, header: string, documentationUrl: string | undefined): string {
  return JSON.stringify({
    error: {
      code: error.code,
      message: error.message(header),
      ...(error.statusCode === 401 ? { header } : {}),
      ...(documentationUrl === undefined ? {} : { documentation: `${documentationUrl}#${error.anchor}` }),
      requestId: REQUEST_ID_VARIABLE,
    },
  });
}
