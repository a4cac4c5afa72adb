/** Key delivery's entry point: a client outside AWS fetches its current key, encrypted to its own public key. */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { JweKeySealer } from '../adapters/jwe-key-sealer';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { readDeliveryConfig } from '../config/delivery-config';
import { PUBLIC_ENDPOINT_LIMITS } from '../contracts/public-endpoints';
import { SourceBudgets } from '../domain/source-budget';
import { KeyDelivery } from '../domain/key-delivery';
import { createDeliveryHandler } from '../handlers/delivery-handler';

const config = readDeliveryConfig(process.env);
const clientOptions = { requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } };
const keyTable = new DynamoKeyTable(new DynamoDBClient(clientOptions), config.keyTableName);

export const handler = createDeliveryHandler({
  delivery: new KeyDelivery({
    keys: keyTable,
    registry: keyTable,
    secrets: new SecretsManagerVersionStore(new SecretsManagerClient(clientOptions)),
    ledger: keyTable,
    sealer: new JweKeySealer(),
    keyPrefix: config.keyPrefix,
    deliveriesPerMinute: config.deliveriesPerMinute,
    clock: Date.now,
  }),
  keyHeader: config.apiKeyHeader,
  sources: new SourceBudgets(PUBLIC_ENDPOINT_LIMITS.delivery.perSource),
  clock: Date.now,
  logger: new Logger({ serviceName: 'keyroll-delivery' }),
});
