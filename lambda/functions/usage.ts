/** The usage counter's entry point: counts the API's access log lines per key version and hour. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoUsageStore } from '../adapters/dynamodb-usage-store';
import { readUsageConfig } from '../config/usage-config';
import { createUsageHandler } from '../handlers/usage-handler';

const config = readUsageConfig(process.env);

export const handler = createUsageHandler({
  store: new DynamoUsageStore(new DynamoDBClient({ requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } }), config.keyTableName),
  logger: new Logger({ serviceName: 'keyroll-usage' }),
  metrics: new Metrics({ namespace: config.metricsNamespace, serviceName: 'keyroll-usage' }),
  clock: Date.now,
});
