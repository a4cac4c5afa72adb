import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { keyFromSecretString, KeySourceError, type CurrentKey, type KeySource } from './key-source';

export interface SecretsManagerKeySourceOptions {
  /** The client's secret: its ARN (needed from another account) or its name. */
  readonly secretId: string;
  /**
   * The Secrets Manager client to read with. From another account, build it with credentials of a role that
   * keyroll's `grantReadKey` allowed, e.g. `fromTemporaryCredentials({ params: { RoleArn } })` of
   * `@aws-sdk/credential-providers`. Default: a client with the standard credential chain and region.
   */
  readonly client?: SecretsManagerClient;
}

/**
 * The key from the client's own secret in Secrets Manager: GetSecretValue of AWSCURRENT, the only stage
 * keyroll's cross-account grant allows. The AWS SDK is loaded when first used: a client that reads its key
 * from the delivery endpoint needs no AWS package.
 */
export class SecretsManagerKeySource implements KeySource {
  readonly description: string;
  private client: SecretsManagerClient | undefined;

  constructor(private readonly options: SecretsManagerKeySourceOptions) {
    this.description = `secret ${options.secretId}`;
    this.client = options.client;
  }

  async currentKey(): Promise<CurrentKey> {
    // Loaded on first use (a CommonJS require: Jest and older bundlers handle it where a dynamic import fails).
    const sdk = loadSecretsManagerSdk();
    this.client ??= new sdk.SecretsManagerClient({});
    const { SecretString, VersionId } = await this.client.send(new sdk.GetSecretValueCommand({ SecretId: this.options.secretId, VersionStage: 'AWSCURRENT' }));
    return keyFromSecretString(SecretString, VersionId, this.description);
  }
}

/** The optional AWS SDK client, or an error that says which package to install. */
function loadSecretsManagerSdk(): typeof import('@aws-sdk/client-secrets-manager') {
  try {
    return require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new KeySourceError('SecretsManagerKeySource reads the key with the AWS SDK, which is not installed: npm install @aws-sdk/client-secrets-manager (or use DeliveryKeySource, which needs no AWS package)');
  }
}
