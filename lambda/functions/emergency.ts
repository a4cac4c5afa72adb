/**
 * The emergency function's entry point: it ends leaked keys (revokes them, rotates their clients, flushes API
 * Gateway's cached answers) for the report endpoint, which may not write the key table itself. Nothing
 * reachable from the internet invokes it but that endpoint, with hashes only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { ApiGatewayAuthorizerCaches } from '../adapters/api-gateway-authorizer-caches';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { keyOperationsOnAws } from '../adapters/key-operations-on-aws';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { readEmergencyConfig } from '../config/leak-report-config';
import { createEmergencyHandler } from '../handlers/emergency-handler';

const config = readEmergencyConfig(process.env);
const clientOptions = { requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } };
const dynamodb = new DynamoDBClient(clientOptions);
const secretsManager = new SecretsManagerClient(clientOptions);

export const handler = createEmergencyHandler({
  leakedKeys: {
    keys: new DynamoKeyTable(dynamodb, config.keyTableName),
    operations: keyOperationsOnAws({ dynamodb, keyTableName: config.keyTableName, secretsManager, sns: new SNSClient(clientOptions), install: config, clock: Date.now }),
    rotation: new SecretsManagerVersionStore(secretsManager),
    secretNamePrefix: config.secretNamePrefix,
    action: config.leakAction,
    caches: new ApiGatewayAuthorizerCaches(new APIGatewayClient(clientOptions), new ApiGatewayV2Client(clientOptions), config.authorizerFunctionArn),
    revocationPollMs: config.revocationPollMs,
    sleep,
  },
  logger: new Logger({ serviceName: 'keyroll-emergency' }),
});
