/**
 * `npm run local:aws`: keyroll's local AWS endpoints and API alone, without demo traffic, until Ctrl-C. Prints
 * their URLs and the environment that points the AWS CLI or any AWS SDK at them.
 */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { localStatePath } from '../cli/install-context';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { localAwsEnvironment, startLocalKeyroll } from './keyroll-local';

const USAGE = `npm run local:aws [-- --help]

Starts keyroll's local AWS endpoints (DynamoDB, Secrets Manager, SNS/SQS, API Gateway's control plane) and its
local API with two clients (acme, globex), prints their URLs and the environment that points the AWS CLI or an
SDK at them, and runs until Ctrl-C. keyroll --local operates this install.`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const logDirectory = mkdtempSync(path.join(tmpdir(), 'keyroll-local-'));
  const keyroll = await startLocalKeyroll(
    {
      clients: [
        { clientId: 'acme', scopes: ['read'] },
        { clientId: 'globex', scopes: ['read', 'write'] },
      ],
      gracePeriod: Duration.minutes(5),
      authorizerResultsCacheTtl: Duration.seconds(30),
      authorizerCacheTtl: Duration.seconds(30),
      routeScopes: { 'POST /orders': 'write' },
    },
    { logDirectory, stateFile: localStatePath() },
  );
  const lines = [
    `API (REST, key header ${keyroll.install.authorizer.identitySources.flatMap((source) => (source.from === 'header' ? [source.name] : [])).join(', ')}):  ${keyroll.api.url}/hello`,
    `API Gateway control plane: ${keyroll.endpoints.apiGateway}   (aws apigateway flush-stage-authorizers-cache --rest-api-id local0api --stage-name prod)`,
    `DynamoDB:          ${keyroll.endpoints.dynamodb}   (key table ${keyroll.keyTableName})`,
    `Secrets Manager:   ${keyroll.endpoints.secretsManager}`,
    `SNS and SQS:       ${keyroll.endpoints.snsSqs}   (client topic ${keyroll.clientTopicArn})`,
    `function logs:     ${logDirectory}`,
    '',
    'Point the AWS CLI or an SDK at them:',
    ...Object.entries(localAwsEnvironment(keyroll.endpoints)).map(([name, value]) => `  export ${name}=${value}`),
    '',
    'Secrets:',
    ...[...keyroll.secretArns].map(([clientId, arn]) => `  ${clientId.padEnd(8)} ${arn}`),
    '',
    `e.g.  aws secretsmanager get-secret-value --secret-id ${[...keyroll.secretArns.values()][0] ?? ''} --query SecretString --output text`,
    `      aws secretsmanager rotate-secret --secret-id ${[...keyroll.secretArns.values()][0] ?? ''}`,
    'Ctrl-C stops.',
  ];
  console.log(lines.join('\n'));
  // Ctrl-C, or a process manager's stop: the same orderly end, the state file removed.
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await keyroll.stop();
  rmSync(logDirectory, { recursive: true, force: true });
  console.log(`\nstopped after ${Math.round(process.uptime())} s; removed ${logDirectory} and this run's state file`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
