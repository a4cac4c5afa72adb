import { CreateApiKeyCommand, CreateUsagePlanKeyCommand, DeleteApiKeyCommand, paginateGetApiKeys, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { UsagePlanEnrolment } from '../domain/ports';

/**
 * A run-time client's usage plan identity in API Gateway: one API key with the value keyroll derives, in the
 * plan (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html, API_CreateUsagePlanKey.html).
 * Every call can be repeated: an existing key with the value is reused, and a key already in the plan is left.
 */
export class ApiGatewayUsagePlans implements UsagePlanEnrolment {
  constructor(private readonly client: APIGatewayClient) {}

  async enrol(request: { readonly name: string; readonly value: string; readonly usagePlanId: string; readonly description: string }): Promise<void> {
    const keyId = (await this.find(request.name, request.value)) ?? (await this.client.send(new CreateApiKeyCommand({ name: request.name, value: request.value, enabled: true, description: request.description }))).id;
    if (keyId === undefined) throw new Error(`API Gateway created the API key ${request.name} without an id`);
    try {
      await this.client.send(new CreateUsagePlanKeyCommand({ usagePlanId: request.usagePlanId, keyId, keyType: 'API_KEY' }));
    } catch (error) {
      // Already in the plan: a repeated enrolment.
      if (!(error instanceof Error && error.name === 'ConflictException')) throw error;
    }
  }

  async withdraw(request: { readonly name: string; readonly value: string }): Promise<boolean> {
    const keyId = await this.find(request.name, request.value);
    if (keyId === undefined) return false;
    await this.client.send(new DeleteApiKeyCommand({ apiKey: keyId }));
    return true;
  }

  private async find(name: string, value: string): Promise<string | undefined> {
    for await (const page of paginateGetApiKeys({ client: this.client }, { nameQuery: name, includeValues: true })) {
      const key = (page.items ?? []).find((item) => item.value === value);
      if (key?.id !== undefined) return key.id;
    }
    return undefined;
  }
}
