import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpEndpointProbe } from '../../lambda/adapters/http-endpoint-probe';
import { generateApiKey } from '../../lambda/domain/api-key';
import { readRotationConfig } from '../../lambda/config/rotation-config';
import { ConfigurationError } from '../../lambda/domain/errors';

describe('Class: HttpEndpointProbe', () => {
  let server: Server;
  let url: string;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      if (request.url === '/moved') response.writeHead(302, { location: 'http://127.0.0.2:1/elsewhere' }).end();
      else response.writeHead(request.headers['authorization']?.startsWith('Bearer ') || request.headers['x-api-key'] !== undefined ? 200 : 401).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (seen.length = 0));

  it('sends the key as a Bearer token when the key header is Authorization, as the authorizer reads it', async () => {
    const key = generateApiKey();
    await expect(new HttpEndpointProbe(`${url}/health`, 'authorization', 1000).check(key)).resolves.toEqual({ ok: true });
    expect(seen[0]?.['authorization']).toBe(`Bearer ${key}`);
  });

  it('sends the key as it is in any other key header', async () => {
    const key = generateApiKey();
    await expect(new HttpEndpointProbe(`${url}/health`, 'x-api-key', 1000).check(key)).resolves.toEqual({ ok: true });
    expect(seen[0]?.['x-api-key']).toBe(key);
  });

  it('does not follow a redirect, so the key goes nowhere but the configured URL', async () => {
    const result = await new HttpEndpointProbe(`${url}/moved`, 'x-api-key', 1000).check(generateApiKey());
    expect(result).toEqual({ ok: false, detail: `${url}/moved answered HTTP 302` });
    expect(seen).toHaveLength(1);
  });

  it('refuses a probe URL that is not https (outside this machine) when the function starts', () => {
    expect(() => readRotationConfig({ KEY_TABLE_NAME: 't', CLIENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:1:t', PROBE_URL: 'http://api.example.com/health' })).toThrow(ConfigurationError);
    expect(readRotationConfig({ KEY_TABLE_NAME: 't', CLIENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:1:t', PROBE_URL: 'https://api.example.com/health' }).probeUrl).toBe('https://api.example.com/health');
  });
});
