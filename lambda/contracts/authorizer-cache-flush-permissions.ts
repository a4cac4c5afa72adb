/**
 * What finding and flushing API Gateway's authorizer caches takes, declared once for the leak-report function's
 * role and the CLI's permission check: list the APIs, their authorizers and stages (GET), and flush a stage's
 * authorizer cache (DELETE). Resource ARNs from https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html.
 */
export function authorizerCacheFlushPermissions(partition: string, region: string): { readonly actions: readonly string[]; readonly resources: readonly string[] }[] {
  const arn = (path: string) => `arn:${partition}:apigateway:${region}::${path}`;
  return [
    {
      actions: ['apigateway:GET'],
      resources: [arn('/restapis'), arn('/restapis/*/authorizers'), arn('/restapis/*/stages'), arn('/apis'), arn('/apis/*/authorizers'), arn('/apis/*/stages')],
    },
    { actions: ['apigateway:DELETE'], resources: [arn('/restapis/*/stages/*/cache/authorizers'), arn('/apis/*/stages/*/cache/authorizers')] },
  ];
}
