import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { generateApiKey } from '../../lambda/domain/api-key';
import type { PolicyResponse } from '../../lambda/handlers/authorizer-handler';
import { keyVersion, outcomeOf, restEvent, tokenEvent } from '../support/authorizer-fixture';
import { useDynalite } from '../support/dynamodb';
import { loadEntry, restoreEnvironmentAfterEach } from '../support/lambda-entry';

const secretsManager = mockClient(SecretsManagerClient);
const dynamo = useDynalite();

type AuthorizerFunction = (event: unknown) => Promise<PolicyResponse>;

restoreEnvironmentAfterEach();

describe('The authorizer Lambda entry point', () => {
  it.each([
    [{ KEY_TABLE_NAME: '' }, 'environment variable KEY_TABLE_NAME is required but not set'],
    [{ KEY_TABLE_NAME: 't', ROUTE_SCOPES: '{"POST orders": "write"}' }, 'environment variable ROUTE_SCOPES: route "POST orders" must be'],
    [{ KEY_TABLE_NAME: 't', CACHE_TTL_SECONDS: 'thirty' }, 'environment variable CACHE_TTL_SECONDS must be a whole number from 0 to 3600; got "thirty"'],
    [{ KEY_TABLE_NAME: 't', HTTP_API_SIMPLE_RESPONSES: 'yes' }, 'environment variable HTTP_API_SIMPLE_RESPONSES must be "true" or "false"; got "yes"'],
  ])('fails the cold start with the name of a bad variable (%p)', (env, message) => {
    expect(() => loadEntry<AuthorizerFunction>('authorizer', env, { isolated: true })).toThrow(message);
  });

  it('reads only the key table, with consistent GetItems, once per key per TTL, and writes nothing per request', async () => {
    const tableName = await dynamo.newTable();
    const table = new DynamoKeyTable(dynamo.client(), tableName);
    const reader = keyVersion({ scopes: ['read'] });
    await table.register(reader.version);
    const env = { KEY_TABLE_NAME: tableName, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint(), ROUTE_SCOPES: '{"POST /orders": "write"}' };
    const handler = loadEntry<AuthorizerFunction>('authorizer', env, { isolated: false });
    const sent = jest.spyOn(DynamoDBClient.prototype, 'send');
    const written: string[] = [];
    let commands: unknown[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      for (let i = 0; i < 50; i++) {
        await expect(handler(restEvent({ 'x-api-key': reader.key }))).resolves.toMatchObject({ principalId: 'acme' });
        await expect(handler(tokenEvent(reader.key))).resolves.toMatchObject({ principalId: 'acme' });
      }
      const denied = await handler(restEvent({ 'x-api-key': reader.key }, { method: 'POST', path: '/orders' }));
      expect(denied.policyDocument.Statement.at(-1)).toMatchObject({ Effect: 'Deny', Resource: [expect.stringMatching(/\/prod\/POST\/orders$/)] });
      expect(written).toEqual([]);
      expect(await outcomeOf(handler(restEvent({ 'x-api-key': generateApiKey() })))).toEqual({ error: new Error('Unauthorized') });
      commands = sent.mock.calls.map(([command]) => command);
    } finally {
      stdout.mockRestore();
      sent.mockRestore();
    }
    // One read for the known key (then its cache entry), one for the unknown key (the set is not complete: no
    // monitor has backfilled it); besides them only the revocation feed and the known-key set, in the background.
    const isKeySet = (command: unknown) => JSON.stringify((command as { input: unknown }).input).includes('"KEYSET"');
    const reads = commands.filter((command) => command instanceof GetItemCommand && !isKeySet(command));
    const polls = commands.filter((command) => command instanceof QueryCommand || isKeySet(command));
    expect(reads).toHaveLength(2);
    for (const command of reads) expect(command).toMatchObject({ input: { TableName: tableName, ConsistentRead: true, Key: { pk: { S: expect.stringMatching(/^KEY#/) } } } });
    for (const command of polls) expect(JSON.stringify((command as { input: unknown }).input)).toMatch(new RegExp(`"TableName":"${tableName}".*"S":"(REVOCATIONS|KEYSET)"`));
    expect(commands).toHaveLength(reads.length + polls.length);
    expect(secretsManager.calls()).toHaveLength(0);
  });
});
