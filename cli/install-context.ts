import { readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoKeyTable } from '../lambda/adapters/dynamodb-key-table';
import { SecretsManagerVersionStore } from '../lambda/adapters/secrets-manager-version-store';
import { SnsNotifier } from '../lambda/adapters/sns-notifier';
import { INSTALL_OUTPUT_DESCRIPTION, parseInstallDescription, type InstallDescription } from '../lambda/contracts/install-description';
import { KeyrollError } from '../lambda/domain/errors';
import { KeyOperations } from '../lambda/domain/key-operations';

/** The install could not be found or read. Says what to do. */
export class InstallNotFoundError extends KeyrollError {
  override readonly name: string = 'InstallNotFoundError';
}

/** Where local mode describes its running install for `keyroll --local`. */
export function localStatePath(env: NodeJS.ProcessEnv = process.env): string {
  return env['KEYROLL_LOCAL_STATE'] ?? path.join(tmpdir(), 'keyroll-local.json');
}

/** What `npm start` and `npm run local:aws` write for the CLI. */
export interface LocalState {
  readonly description: InstallDescription;
  readonly endpoints: { readonly dynamodb: string; readonly secretsManager: string; readonly snsSqs: string };
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
  readonly secrets: SecretsManagerVersionStore;
  /** Who acts: the caller's ARN, or `local:<user>`. */
  readonly actor: string;
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
  return connect(description, actor, { ...region });
}

function openLocal(env: NodeJS.ProcessEnv): InstallContext {
  const file = localStatePath(env);
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

function connect(description: InstallDescription, actor: string, common: Record<string, unknown>, endpoints?: LocalState['endpoints']): InstallContext {
  const dynamodb = new DynamoDBClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.dynamodb }) });
  const secretsManager = new SecretsManagerClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.secretsManager }) });
  const sns = new SNSClient({ ...common, ...(endpoints === undefined ? {} : { endpoint: endpoints.snsSqs }) });
  const table = new DynamoKeyTable(dynamodb, description.keyTableName);
  const secrets = new SecretsManagerVersionStore(secretsManager);
  return {
    description,
    secrets,
    actor,
    operations: new KeyOperations({
      keys: table,
      events: table,
      audit: table,
      secrets,
      clientNotifier: new SnsNotifier(sns, description.clientTopicArn),
      operationsNotifier: new SnsNotifier(sns, description.operationsTopicArn),
      secretNamePrefix: description.secretNamePrefix,
      defaultGracePeriodSeconds: description.gracePeriodSeconds,
      clock: Date.now,
    }),
    close: () => {
      dynamodb.destroy();
      secretsManager.destroy();
      sns.destroy();
    },
  };
}
