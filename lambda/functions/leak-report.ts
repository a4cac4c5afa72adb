/**
 * The leaked-key report endpoint's entry point: GitHub secret scanning reports keyroll keys found in public.
 * It verifies each report and hands the hashes to the emergency function; it has no access to the key table.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { fetchGitHubKeys, GitHubReportVerifier } from '../adapters/github-secret-scanning';
import { LambdaLeakedKeyRevoker } from '../adapters/lambda-leaked-key-revoker';
import { readLeakReportConfig } from '../config/leak-report-config';
import { PUBLIC_ENDPOINT_LIMITS } from '../contracts/public-endpoints';
import { SourceBudgets } from '../domain/source-budget';
import { createLeakReportHandler } from '../handlers/leak-report-handler';

const config = readLeakReportConfig(process.env);
// The emergency function ends the keys and flushes for up to EMERGENCY_SYNC_FLUSH_MS before it answers.
const lambda = new LambdaClient({ requestHandler: { connectionTimeout: 2_000, requestTimeout: 25_000 } });

export const handler = createLeakReportHandler({
  verifier: new GitHubReportVerifier(fetchGitHubKeys(config.githubKeysUrl)),
  revoker: new LambdaLeakedKeyRevoker(lambda, config.emergencyFunctionArn),
  keyPrefix: config.keyPrefix,
  sources: new SourceBudgets(PUBLIC_ENDPOINT_LIMITS.leakReports.perSource),
  clock: Date.now,
  logger: new Logger({ serviceName: 'keyroll-leak-report' }),
});
