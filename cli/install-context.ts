import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { checkCallerPermissions } from './permission-checks';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { SecretsManagerVersionStore } from '../lambda/adapters/secrets-manager-version-store';
import { INSTALL_OUTPUT_DESCRIPTION, parseInstallDescription, type InstallDescription } from '../lambda/contracts/install-description';
import { KeyrollError } from '../lambda/domain/errors';
import { ClientProvisioning } from '../lambda/domain/client-provisioning';
import type { CheckResult } from '../lambda/domain/install-checks';
import { setTimeout as sleep } from 'node:timers/promises';
import { flushAfterRevocation, type CacheFlushReport } from '../lambda/domain/authorizer-cache-flush';
import { flushTargetsOnAws, regionOfArn } from '../lambda/adapters/flush-targets';
import { keyOperationsOnAws } from '../lambda/adapters/key-operations-on-aws';
import type { KeyOperations } from '../lambda/domain/key-operations';
import { SecretsManagerAdministration } from '../lambda/adapters/secrets-manager-administration';
import { ApiGatewayUsagePlans } from '../lambda/adapters/api-gateway-usage-plans';

/** The install could not be found or read. Says what to do. */
export class InstallNotFoundError extends KeyrollError {
  override readonly name: string = 'InstallNotFoundError';
}

/** Where each local run describes its install, one file per process, unless `KEYROLL_LOCAL_STATE` names one. */
const localStateDirectory = (env: NodeJS.ProcessEnv) => path.join(env['TMPDIR'] ?? tmpdir(), 'keyroll-local-runs');

/** Where this local run (`npm start`, `npm run local:aws`) describes its install for `keyroll --local`. */
export function localStatePath(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): string {
  const named = env['KEYROLL_LOCAL_STATE'];
  if (named !== undefined) return named;
  mkdirSync(localStateDirectory(env), { recursive: true });
  return path.join(localStateDirectory(env), `${pid}.json`);
}

/** The state file `keyroll --local` reads: the one named, or that of the one local run still alive. */
function runningLocalState(env: NodeJS.ProcessEnv): string {
  const named = env['KEYROLL_LOCAL_STATE'];
  if (named !== undefined) return named;
  const directory = localStateDirectory(env);
  let files: string[] = [];
  try {
    files = readdirSync(directory).filter((file) => /^\d+\.json$/.test(file));
  } catch {
    files = [];
  }
  const alive = files.filter((file) => {
    try {
      process.kill(Number(file.slice(0, -'.json'.length)), 0);
      return true;
    } catch (error) {
      // EPERM: the process exists but belongs to someone else. A run that was killed left its file: removed.
      if ((error as NodeJS.ErrnoException).code === 'EPERM') return true;
      rmSync(path.join(directory, file), { force: true });
      return false;
    }
  });
  if (alive.length === 0) throw new InstallNotFoundError(`no local install is running (none in ${directory}); start one with npm start or npm run local:aws`);
  if (alive.length > 1) {
    throw new InstallNotFoundError(`${alive.length} local installs are running (${alive.map((file) => path.join(directory, file)).join(', ')}): choose one with KEYROLL_LOCAL_STATE=<file>`);
  }
  return path.join(directory, alive[0] ?? '');
}

/** What `npm start` and `npm run local:aws` write for the CLI. */
export interface LocalState {
  readonly description: InstallDescription;
  /** The local API Gateway's stage. */
  readonly apiUrl: string;
  readonly endpoints: { readonly dynamodb: string; readonly secretsManager: string; readonly snsSqs: string; readonly apiGateway: string };
}

export interface InstallOptions {
  readonly stack?: string;
  readonly local?: boolean;
  readonly region?: string;
  readonly profile?: string;
}

/** One install, opened: its description, the operations on it, the caller, and the clients to close. */
export interface InstallContext {
  readonly description: InstallDescription;
  readonly operations: KeyOperations;
  readonly provisioning: ClientProvisioning;
  readonly secrets: SecretsManagerVersionStore;
  /** Who acts: the caller's ARN, or `local:<user>`. */
  readonly actor: string;
  /**
   * Flushes API Gateway's cached authorizer answers on every stage, in every region of the install, whose
   * authorizer is the install's, once the authorizers there have read these revocations; never throws for AWS.
   */
  flushAfterRevocation(revocation: { readonly keyHashes: readonly string[]; readonly revokedAtMs: number }): Promise<CacheFlushReport>;
  /** The install's clients and their versions, for `doctor`. */
  readonly keys: DynamoKeyTable;
  /** Checks of the account around the install (AWS only): API Gateway's logging role, the topic policies. */
  accountChecks(): Promise<CheckResult[]>;
  /** The Secrets Manager endpoint's clock (its HTTP Date header, to the second), to measure this machine's skew. */
  serviceTimeMs(): Promise<number | undefined>;
  close(): void;
}

export async function openInstall(options: InstallOptions, env: NodeJS.ProcessEnv = process.env): Promise<InstallContext> {
  if (options.local === true) return openLocal(env);
  if (options.stack === undefined) throw new InstallNotFoundError('name the install: --stack <stack name> (the stack that has the RotatingApiKeys construct), or --local for npm start');
  if (options.profile !== undefined) env['AWS_PROFILE'] = options.profile;
  const region = options.region === undefined ? {} : { region: options.region };
  const cloudformation = new CloudFormationClient(region);
  let outputs;
  try {
    outputs = (await cloudformation.send(new DescribeStacksCommand({ StackName: options.stack }))).Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new InstallNotFoundError(`stack "${options.stack}" cannot be read (${error instanceof Error ? error.message : String(error)}); check --stack, --region and --profile`);
  } finally {
    cloudformation.destroy();
  }
  const installs = outputs.filter((output) => output.Description?.startsWith(INSTALL_OUTPUT_DESCRIPTION) === true && output.OutputValue !== undefined);
  if (installs.length === 0) throw new InstallNotFoundError(`stack "${options.stack}" has no keyroll install (no output "${INSTALL_OUTPUT_DESCRIPTION}"); deploy a stack with RotatingApiKeys`);
  if (installs.length > 1) throw new InstallNotFoundError(`stack "${options.stack}" has ${installs.length} keyroll installs; this CLI version handles one per stack`);
  const description = parseInstallDescription(installs[0]?.OutputValue ?? '', `the output of stack "${options.stack}"`);
  const sts = new STSClient(region);
  const actor = (await sts.send(new GetCallerIdentityCommand({})).finally(() => sts.destroy())).Arn ?? 'unknown';
  return connect(description, actor, { ...region }, undefined, () => checkAccount(description, region, actor));
}

/**
 * What a fresh account lacks most often: API Gateway's CloudWatch Logs role (stages that log fail to deploy
 * without it: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), and a topic policy
 * that lets CloudWatch alarms publish to the operations topic.
 */
async function checkAccount(description: InstallDescription, region: { region?: string }, callerArn: string): Promise<CheckResult[]> {
  const rest = new APIGatewayClient(region);
  const sns = new SNSClient(region);
  const iam = new IAMClient(region);
  const secretsManager = new SecretsManagerClient(region);
  try {
    const firstSecret = (await new SecretsManagerVersionStore(secretsManager).listManagedSecrets(description.secretNamePrefix).catch(() => []))[0];
    const permissions = await checkCallerPermissions({ callerArn, description, region: await secretsManager.config.region(), secretArn: firstSecret?.arn, iam });
    const { cloudwatchRoleArn } = await rest.send(new GetAccountCommand({}));
    const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: description.operationsTopicArn }));
    const alarmsMayPublish = (Attributes?.['Policy'] ?? '').includes('cloudwatch.amazonaws.com');
    return [
      {
        check: 'API Gateway logging role',
        ok: cloudwatchRoleArn !== undefined,
        detail: cloudwatchRoleArn === undefined ? 'the account has no API Gateway CloudWatch Logs role' : `role ${cloudwatchRoleArn}`,
        fix: cloudwatchRoleArn === undefined ? 'set cloudWatchRole: true on one RestApi of the account, or set the role with aws apigateway update-account' : '',
      },
      {
        check: 'alarms reach the operations topic',
        ok: alarmsMayPublish,
        detail: alarmsMayPublish ? 'the topic policy lets CloudWatch alarms publish' : 'the operations topic policy does not let cloudwatch.amazonaws.com publish',
        fix: alarmsMayPublish ? '' : 'redeploy the stack with this version of keyroll, which writes that policy',
      },
      ...permissions,
    ];
  } finally {
    rest.destroy();
    sns.destroy();
    iam.destroy();
    secretsManager.destroy();
  }
}

function openLocal(env: NodeJS.ProcessEnv): InstallContext {
  const file = runningLocalState(env);
  let state: LocalState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as LocalState;
  } catch {
    throw new InstallNotFoundError(`no local install is running (${file} cannot be read); start one with npm start or npm run local:aws`);
  }
  const description = parseInstallDescription(JSON.stringify(state.description), file);
  const common = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  return connect(description, `local:${userInfo().username}`, common, state.endpoints);
}

function connect(
  description: InstallDescription,
  actor: string,
  common: Record<string, unknown>,
  endpoints?: LocalState['endpoints'],
  accountChecks: () => Promise<CheckResult[]> = async () => [],
): InstallContext {
  const dynamodb = new DynamoDBClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.dynamodb }) });
  const secretsManager = new SecretsManagerClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.secretsManager }) });
  const sns = new SNSClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.snsSqs }) });
  const rest = new APIGatewayClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.apiGateway }) });
  const table = new DynamoKeyTable(dynamodb, description.keyTableName);
  const secrets = new SecretsManagerVersionStore(secretsManager);
  const flush = flushTargetsOnAws({
    home: { region: regionOfArn(description.authorizerFunctionArn), authorizerFunctionArn: description.authorizerFunctionArn },
    replicas: (description.replicaRegions ?? []).flatMap(({ region, authorizerFunctionArn }) => (authorizerFunctionArn === undefined ? [] : [{ region, authorizerFunctionArn }])),
    keyTableName: description.keyTableName,
    clientOptions: common,
    ...(endpoints === undefined ? {} : { apiGatewayEndpoint: endpoints.apiGateway }),
  });
  const operations = keyOperationsOnAws({
    dynamodb,
    keyTableName: description.keyTableName,
    secretsManager,
    sns,
    install: { ...description, defaultGracePeriodSeconds: description.gracePeriodSeconds },
    clock: Date.now,
  });
  return {
    description,
    secrets,
    actor,
    flushAfterRevocation: (revocation) => flushAfterRevocation(flush.targets, revocation, { revocationPollMs: description.revocationPollMs, directory: table, clock: Date.now, sleep }),
    keys: table,
    accountChecks,
    serviceTimeMs: async () => {
      const url = endpoints?.secretsManager ?? `https://secretsmanager.${await secretsManager.config.region()}.amazonaws.com/`;
      const response = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
      const date = response.headers.get('date');
      return date === null ? undefined : Date.parse(date);
    },
    operations,
    provisioning: new ClientProvisioning({
      administration: new SecretsManagerAdministration(secretsManager),
      secrets,
      keys: table,
      registry: table,
      audit: table,
      operations,
      usagePlans: new ApiGatewayUsagePlans(rest),
      install: description,
      clock: Date.now,
    }),
    close: () => {
      dynamodb.destroy();
      secretsManager.destroy();
      sns.destroy();
      rest.destroy();
      flush.destroy();
    },
  };
}
