import { generateApiKey } from '../../lambda/domain/api-key';
import { MalformedSecretError } from '../../lambda/domain/errors';
import { parseSecretPayload, serializeSecretPayload } from '../../lambda/domain/secret-payload';

describe('secret payload', () => {
  it('round-trips clientId, apiKey and the operator\'s other fields', () => {
    const apiKey = generateApiKey();
    const text = serializeSecretPayload({ clientId: 'acme', apiKey, otherFields: { baseUrl: 'https://api.example.com' } });
    expect(JSON.parse(text)).toEqual({ clientId: 'acme', apiKey, baseUrl: 'https://api.example.com' });
    expect(parseSecretPayload(text, 'v1')).toEqual({ clientId: 'acme', apiKey, otherFields: { baseUrl: 'https://api.example.com' } });
  });

  it('reads a placeholder without a key', () => {
    expect(parseSecretPayload('{"clientId":"acme"}', 'v0')).toEqual({ clientId: 'acme', otherFields: {} });
  });

  it.each([
    ['not JSON', (key: string) => `${key} is not json`],
    ['an array', (key: string) => JSON.stringify([key])],
    ['missing clientId', (key: string) => JSON.stringify({ apiKey: key })],
    ['a non-string apiKey', (key: string) => JSON.stringify({ clientId: 'acme', apiKey: [key] })],
  ])('refuses a value that is %s, naming the version but never quoting the value', (_label, build) => {
    const key = generateApiKey();
    let caught: unknown;
    try {
      parseSecretPayload(build(key), 'v9');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MalformedSecretError);
    const error = caught as MalformedSecretError;
    expect(error.message).toContain('v9');
    expect(`${error.message} ${error.stack ?? ''} ${String(error.cause ?? '')}`).not.toContain(key.slice(3, 20));
  });
});
