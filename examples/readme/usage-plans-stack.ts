import { Stack } from 'aws-cdk-lib';
import { ApiKeySourceType, HttpIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { RotatingApiKeys } from 'keyroll';

export class MeteredOrdersApi extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const integration = new HttpIntegration('https://orders.internal.example.com/');
    const keys = new RotatingApiKeys(this, 'ApiKeys', {
      clients: [{ clientId: 'acme', usagePlan: 'gold' }, { clientId: 'globex', usagePlan: 'free' }],
      usagePlans: {
        gold: { rateLimit: 100, burstLimit: 200, quota: { limit: 1_000_000, period: 'MONTH' } },
        free: { rateLimit: 5, burstLimit: 10, quota: { limit: 1_000, period: 'DAY' } },
      },
    });
    const api = new RestApi(this, 'Api', { apiKeySourceType: ApiKeySourceType.AUTHORIZER });
    api.root.addMethod('GET', integration, { authorizer: keys.authorizer, apiKeyRequired: true });
    keys.applyUsagePlans(api); // each plan on the API's deployment stage
    keys.addErrorResponses(api); // 429 rate_limited / quota_exceeded, 403 usage_plan_missing
  }
}
