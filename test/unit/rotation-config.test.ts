import { ConfigurationError } from '../../lambda/domain/errors';
import { readRotationConfig } from '../../lambda/config/rotation-config';

const minimal = { KEY_TABLE_NAME: 'keyroll-keys', CLIENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:keyroll-clients' };

describe('rotation function configuration', () => {
  it('applies the documented defaults', () => {
    expect(readRotationConfig(minimal)).toEqual({
      keyTableName: 'keyroll-keys',
      clientTopicArn: minimal.CLIENT_TOPIC_ARN,
      operationsTopicArn: undefined,
      gracePeriodSeconds: 86_400,
      keyPrefix: 'kr',
      probeUrl: undefined,
      probeTimeoutMs: 5_000,
      apiKeyHeader: 'x-api-key',
      replicaRegions: [],
      replicaWaitSeconds: 30,
      metricsNamespace: 'keyroll',
      knownKeysWindowMs: 1_500,
    });
  });

  it('reads the replica regions, and refuses a name that is not a region', () => {
    expect(readRotationConfig({ ...minimal, KEY_TABLE_REPLICA_REGIONS: ' us-east-1,ap-southeast-2 ,us-east-1', REPLICA_WAIT_SECONDS: '10' })).toMatchObject({ replicaRegions: ['us-east-1', 'ap-southeast-2'], replicaWaitSeconds: 10 });
    expect(() => readRotationConfig({ ...minimal, KEY_TABLE_REPLICA_REGIONS: 'us-east-1,Mars' })).toThrow('environment variable KEY_TABLE_REPLICA_REGIONS must be comma-separated region names; got "Mars"');
    expect(() => readRotationConfig({ ...minimal, REPLICA_WAIT_SECONDS: '90' })).toThrow(/REPLICA_WAIT_SECONDS must be a whole number from 1 to 50/);
  });

  it('reads every setting', () => {
    const config = readRotationConfig({
      ...minimal,
      GRACE_PERIOD_SECONDS: '600',
      KEY_PREFIX: 'acme',
      PROBE_URL: 'https://api.example.com/health',
      PROBE_TIMEOUT_MS: '2000',
      API_KEY_HEADER: 'X-Client-Key',
    });
    expect(config).toMatchObject({ gracePeriodSeconds: 600, keyPrefix: 'acme', probeUrl: 'https://api.example.com/health', probeTimeoutMs: 2000, apiKeyHeader: 'x-client-key' });
  });

  it.each(['KEY_TABLE_NAME', 'CLIENT_TOPIC_ARN'])('fails with the name of the missing variable %s', (name) => {
    const env: Record<string, string> = { ...minimal, [name]: '' };
    expect(() => readRotationConfig(env)).toThrow(ConfigurationError);
    expect(() => readRotationConfig(env)).toThrow(`environment variable ${name} is required but not set`);
  });

  it.each([
    ['GRACE_PERIOD_SECONDS', '-5'],
    ['GRACE_PERIOD_SECONDS', '24h'],
    ['KEY_PREFIX', 'Kr'],
    ['KEY_PREFIX', 'k_r'],
    ['PROBE_URL', 'ftp://example.com'],
    ['PROBE_URL', 'not a url'],
    ['API_KEY_HEADER', 'x api key'],
    ['CLIENT_TOPIC_ARN', 'keyroll-clients'],
  ])('names %s and the bad value %p', (name, value) => {
    expect(() => readRotationConfig({ ...minimal, [name]: value })).toThrow(new RegExp(`${name} .*"${value}"`));
  });
});
