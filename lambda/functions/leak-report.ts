/** The leaked-key report endpoint's entry point: GitHub secret scanning reports keyroll keys found in public. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { ApiGatewayAuthorizerCaches } from '../adapters/api-gateway-authorizer-caches';
import { DynamoKeyTable } from '../adapters/dynamodb-key-table';
import { fetchGitHubKeys, GitHubReportVerifier } from '../adapters/github-secret-scanning';
import { SecretsManagerVersionStore } from '../adapters/secrets-manager-version-store';
import { keyOperationsOnAws } from '../adapters/key-operations-on-aws';
import { readLeakReportConfig } from '../config/leak-report-config';
import { createLeakReportHandler } from '../handlers/leak-report-handler';

const config = readLeakReportConfig(process.env);
const clientOptions = { requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } };
const dynamodb = new DynamoDBClient(clientOptions);
const table = new DynamoKeyTable(dynamodb, config.keyTableName);
const secretsManager = new SecretsManagerClient(clientOptions);

export const handler = createLeakReportHandler({
  verifier: new GitHubReportVerifier(fetchGitHubKeys(config.githubKeysUrl)),
  report: {
    keys: table,
    operations: keyOperationsOnAws({ dynamodb, keyTableName: config.keyTableName, secretsManager, sns: new SNSClient(clientOptions), install: config, clock: Date.now }),
    rotation: new SecretsManagerVersionStore(secretsManager),
    keyPrefix: config.keyPrefix,
    secretNamePrefix: config.secretNamePrefix,
    action: config.leakAction,
    caches: new ApiGatewayAuthorizerCaches(new APIGatewayClient(clientOptions), new ApiGatewayV2Client(clientOptions), config.authorizerFunctionArn),
    revocationPollMs: config.revocationPollMs,
    sleep,
  },
  logger: new Logger({ serviceName: 'keyroll-leak-report' }),
});
