import { APIGatewayClient, ConflictException, CreateApiKeyCommand, CreateUsagePlanKeyCommand, DeleteApiKeyCommand, GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { ApiGatewayUsagePlans } from '../../lambda/adapters/api-gateway-usage-plans';

const apiGateway = mockClient(APIGatewayClient);
const key = { name: 'keyroll-acme', value: 'kru0123456789abcdef0123456789abcdef01234567' };

describe('ApiGatewayUsagePlans (a run-time client\'s usage plan identity)', () => {
  beforeEach(() => apiGateway.reset());

  it('creates the API key with keyroll\'s value and puts it in the plan', async () => {
    apiGateway.on(GetApiKeysCommand).resolves({ items: [] });
    apiGateway.on(CreateApiKeyCommand).resolves({ id: 'k1' });
    apiGateway.on(CreateUsagePlanKeyCommand).resolves({});
    await new ApiGatewayUsagePlans(new APIGatewayClient({ region: 'eu-west-1' })).enrol({ ...key, usagePlanId: 'plan1', description: 'd' });
    expect(apiGateway.commandCalls(CreateApiKeyCommand)[0]?.args[0].input).toEqual({ name: key.name, value: key.value, enabled: true, description: 'd' });
    expect(apiGateway.commandCalls(CreateUsagePlanKeyCommand)[0]?.args[0].input).toEqual({ usagePlanId: 'plan1', keyId: 'k1', keyType: 'API_KEY' });
  });

  it('can be repeated: an existing key with the value is reused (over pages), and one already in the plan is left', async () => {
    apiGateway.on(GetApiKeysCommand).resolvesOnce({ items: [{ id: 'other', name: key.name, value: 'another value of the same name' }], position: 'p2' }).resolvesOnce({ items: [{ id: 'k1', name: key.name, value: key.value }] });
    apiGateway.on(CreateUsagePlanKeyCommand).rejects(new ConflictException({ message: 'already in the plan', $metadata: {} }));
    await new ApiGatewayUsagePlans(new APIGatewayClient({ region: 'eu-west-1' })).enrol({ ...key, usagePlanId: 'plan1', description: 'd' });
    expect(apiGateway.commandCalls(CreateApiKeyCommand)).toHaveLength(0);
    expect(apiGateway.commandCalls(CreateUsagePlanKeyCommand)[0]?.args[0].input.keyId).toBe('k1');
  });

  it('deletes the client\'s key on withdrawal, and says when there was none', async () => {
    apiGateway.on(GetApiKeysCommand).resolvesOnce({ items: [{ id: 'k1', name: key.name, value: key.value }] }).resolves({ items: [] });
    apiGateway.on(DeleteApiKeyCommand).resolves({});
    const plans = new ApiGatewayUsagePlans(new APIGatewayClient({ region: 'eu-west-1' }));
    expect(await plans.withdraw(key)).toBe(true);
    expect(apiGateway.commandCalls(DeleteApiKeyCommand)[0]?.args[0].input).toEqual({ apiKey: 'k1' });
    expect(await plans.withdraw(key)).toBe(false);
  });
});
