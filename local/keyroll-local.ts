import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { LocalState } from '../cli/install-context';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { readAuthorizerConfig } from '../lambda/config/authorizer-config';
import { LEAK_REPORT_VARIABLES } from '../lambda/config/leak-report-config';
import { readMonitorConfig } from '../lambda/config/monitor-config';
import { readRotationConfig } from '../lambda/config/rotation-config';
import { FUNCTION_ENTRIES, bundleDirectory, type FunctionEntry } from '../lib/function-bundles';
import type { RotatingApiKeysProps } from '../lib/props';
import { startLocalApiGateway, type LocalControlPlaneOptions, type LocalApiGateway } from './api-gateway';
import { createKeyTable, localDynamoDbClient, startDynalite } from './dynalite-server';
import { localFunctionArn, synthesizeLocalInstall, type LocalInstall } from './install';
import { CLIENT_RESOURCE_TYPES } from '../lambda/handlers/first-key-handler';
import { tapLogLines } from './log-subscriptions';
import { startLocalFunction, startLocalFunctionUrl, startSnsSqsEmulator, type LocalFunction, type LocalFunctionUrl } from './processes';
import type { RotationRun } from './rotation-driver';
import { SecretsManagerModel } from './secrets-manager-model';
import { startSecretsManagerServer } from './secrets-manager-server';
import { startLocalLambdaApi } from './lambda-server';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
/**
 * Local mode's keys say so (`krlocal_…`), so none can be mistaken for, or scanned as, a production key (`kr_…`);
 * a prefix given to local mode must end in `local` too.
 */
export const LOCAL_KEY_PREFIX = 'krlocal';
/** Local endpoints check no signature; the SDK still needs credentials to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The local stand-ins for the AWS services keyroll uses, each on 127.0.0.1. */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly secretsManager: string;
  /** SNS and SQS share one endpoint (fauxqs). */
  readonly snsSqs: string;
  /** API Gateway's control plane (REST and HTTP APIs) for the local REST API. */
  readonly apiGateway: string;
  /** Lambda's Invoke API, for a function that calls another (the leak report endpoint, the emergency function). */
  readonly lambda: string;
}

export interface LocalKeyroll {
  readonly endpoints: LocalEndpoints;
  readonly api: LocalApiGateway;
  /** The key delivery function's URL, when a client has key delivery. */
  readonly deliveryUrl?: string;
  /** The leaked-key report endpoint's URL, with `leakedKeyReports`. */
  readonly leakReportUrl?: string;
  /** The function URLs (key delivery, leak reports) with what they did with their requests: invoked or throttled. */
  readonly functionUrls: Readonly<Partial<Record<'delivery' | 'leak-report', LocalFunctionUrl>>>;
  readonly install: LocalInstall;
  /** The Secrets Manager model behind the local endpoint, for observers in the same process. */
  readonly model: SecretsManagerModel;
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  readonly operationsTopicArn: string;
  /** The secret ARN of each client. */
  readonly secretArns: ReadonlyMap<string, string>;
  readonly functions: Readonly<Partial<Record<FunctionEntry, LocalFunction>>>;
  /** RotateSecret on a client's secret, as its schedule would; the rotation runs in the background. */
  rotate(clientId: string): Promise<void>;
  /** One scheduled run of the monitor. */
  runMonitor(): Promise<unknown>;
  /** Rotations that ended, in order. */
  readonly rotations: readonly { readonly clientId: string; readonly run: RotationRun }[];
  stop(): Promise<void>;
}

/** Environment variables that point the AWS SDK of a process at the local endpoints. */
export function localAwsEnvironment(endpoints: LocalEndpoints): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    // https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    AWS_ENDPOINT_URL_SNS: endpoints.snsSqs,
    AWS_ENDPOINT_URL_SQS: endpoints.snsSqs,
    AWS_ENDPOINT_URL_API_GATEWAY: endpoints.apiGateway,
    AWS_ENDPOINT_URL_APIGATEWAYV2: endpoints.apiGateway,
    AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
    // Lambda runs Node.js 22 or later; on the Node.js 20 here the SDK would warn in every process.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * keyroll on one machine: dynalite, the Secrets Manager model over its JSON protocol, fauxqs for SNS and SQS,
 * every function in its own process from its bundle with the environment the construct's template gives it,
 * the secrets, schedules and first keys created as CloudFormation would, and a local REST API in front.
 */
export async function startLocalKeyroll(
  props: RotatingApiKeysProps,
  options: {
    readonly logDirectory: string;
    /** Where to describe the running install for `keyroll --local`. */
    readonly stateFile?: string;
    /** Where the leak-report function reads the public keys that sign reports: GitHub's, unless a test serves its own. */
    readonly githubKeysUrl?: string;
    /** The endpoints each function's AWS SDK calls: the local ones, unless the soak puts its fault proxies in between. */
    readonly functionEndpoints?: (entry: FunctionEntry, endpoints: LocalEndpoints) => Promise<LocalEndpoints>;
    /** API Gateway's control plane: its quota (AWS's by default) and failures a test injects. */
    readonly controlPlane?: LocalControlPlaneOptions;
    /** An error Secrets Manager's invocation of the rotation function fails with, as a test decides (a broken deploy). */
    readonly rotationFault?: () => Error | undefined;
  },
): Promise<LocalKeyroll> {
  const keyPrefix = props.keyPrefix ?? LOCAL_KEY_PREFIX;
  if (!keyPrefix.endsWith('local')) throw new Error(`local mode's key prefix must end in "local", so its keys cannot pass for production keys; got "${keyPrefix}"`);
  mkdirSync(options.logDirectory, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const [dynalite, snsSqs] = await Promise.all([startDynalite(), startSnsSqsEmulator()]);
    stops.push(() => dynalite.close(), () => snsSqs.stop());

    const keyTableName = 'keyroll-local-keys';
    const dynamodb = localDynamoDbClient(dynalite.endpoint);
    await createKeyTable(dynamodb, keyTableName);
    dynamodb.destroy();
    const sns = new SNSClient({ endpoint: snsSqs.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const [{ TopicArn: clientTopicArn }, { TopicArn: operationsTopicArn }] = await Promise.all([
      sns.send(new CreateTopicCommand({ Name: 'keyroll-local-clients' })),
      sns.send(new CreateTopicCommand({ Name: 'keyroll-local-operations' })),
    ]);
    sns.destroy();
    if (clientTopicArn === undefined || operationsTopicArn === undefined) throw new Error('the SNS emulator created no topic');

    const install = synthesizeLocalInstall({ ...props, keyPrefix }, { keyTableName, clientTopicArn, operationsTopicArn });
    const model = new SecretsManagerModel({ region: LOCAL_REGION, accountId: LOCAL_ACCOUNT });
    const rotations: { clientId: string; run: RotationRun }[] = [];
    let rotationFunction: LocalFunction | undefined;
    const secretsManager = await startSecretsManagerServer(
      model,
      async (event) => {
        if (rotationFunction === undefined) throw new Error('the rotation function is not started');
        const fault = options.rotationFault?.();
        if (fault !== undefined) throw fault;
        return rotationFunction.invoke(event);
      },
      { onRotation: (run, secretArn) => rotations.push({ clientId: clientIdOf(secretArn, install), run }) },
    );
    stops.push(() => secretsManager.close());

    // The gateway calls the functions once they are started; the functions find its control plane at start.
    const api = await startLocalApiGateway({
      authorize: (event) => required('authorizer').invoke(event),
      identitySources: install.authorizer.identitySources,
      resultsCacheTtlSeconds: install.authorizer.resultsCacheTtlSeconds,
      deliverAccessLogs: (delivery) => required('usage').invoke(delivery),
      authorizerFunctionArn: localFunctionArn('authorizer'),
      gatewayResponses: install.gatewayResponses,
      usagePlans: install.usagePlans,
      routes: install.routes,
      ...(options.controlPlane === undefined ? {} : { controlPlane: options.controlPlane }),
    });
    stops.push(() => api.close());

    const functions: Partial<Record<FunctionEntry, LocalFunction>> = {};
    const lambdaApi = await startLocalLambdaApi((name) => Object.entries(functions).find(([entry]) => `keyroll-local-${entry}` === name)?.[1]);
    stops.push(() => lambdaApi.close());
    const endpoints: LocalEndpoints = { dynamodb: dynalite.endpoint, secretsManager: secretsManager.endpoint, snsSqs: snsSqs.endpoint, apiGateway: api.controlPlaneUrl, lambda: lambdaApi.endpoint };
    const entries = FUNCTION_ENTRIES.filter((entry) => install.environments[entry] !== undefined);
    const started = await Promise.all(
      entries.map(async (entry) =>
        startLocalFunction(
          `keyroll-local-${entry}`,
          path.join(bundleDirectory(entry), 'index.js'),
          {
            ...localAwsEnvironment((await options.functionEndpoints?.(entry, endpoints)) ?? endpoints),
            POWERTOOLS_SERVICE_NAME: `keyroll-${entry}`,
            ...install.environments[entry],
            ...(entry === 'leak-report' && options.githubKeysUrl !== undefined ? { [LEAK_REPORT_VARIABLES.githubKeysUrl.name]: options.githubKeysUrl } : {}),
          },
          path.join(options.logDirectory, `${entry}.log`),
        ),
      ),
    );
    for (const fn of started) stops.push(() => fn.stop());
    // The template's log subscriptions between functions (the authorizer's ended-key reports to the usage
    // counter), with the batching delay of the access logs.
    for (const subscription of install.logSubscriptions) {
      const source = started[entries.indexOf(subscription.from)];
      if (source === undefined || !entries.includes(subscription.to)) continue;
      const stopTap = tapLogLines(source.output, subscription.filterPattern, (delivery) => required(subscription.to).invoke(delivery), LOG_DELIVERY_MS);
      stops.push(async () => stopTap());
    }
    for (const [i, entry] of entries.entries()) {
      const fn = started[i];
      if (fn !== undefined) functions[entry] = fn;
    }
    const required = (entry: FunctionEntry): LocalFunction => {
      const fn = functions[entry];
      if (fn === undefined) throw new Error(`the template has no ${entry} function`);
      return fn;
    };
    rotationFunction = required('rotation');

    // What CloudFormation does with the template: the secrets, their rotation schedules (a test run each, as
    // Secrets Manager makes when rotation is turned on), then the first key of each client.
    const client = new SecretsManagerClient({ endpoint: secretsManager.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stops.push(async () => client.destroy());
    const secretArns = new Map<string, string>();
    const arnByLogicalId = new Map<string, string>();
    await Promise.all(
      install.secrets.map(async (secret) => {
        const { ARN } = await client.send(new CreateSecretCommand({ Name: secret.name, SecretString: secret.secretString, Tags: [...secret.tags] }));
        if (ARN === undefined) throw new Error(`CreateSecret returned no ARN for ${secret.name}`);
        arnByLogicalId.set(secret.logicalId, ARN);
        secretArns.set(secret.name.slice(secret.name.lastIndexOf('/') + 1), ARN);
      }),
    );
    // Each client's registration, before its rotation schedule, in the order the template's dependencies give.
    await Promise.all(
      install.registrations.map((registration) =>
        required('first-key').invoke({
          RequestType: 'Create',
          ResourceType: CLIENT_RESOURCE_TYPES.registration,
          ResourceProperties: { ...registration.properties, SecretArn: arnByLogicalId.get(registration.secretLogicalId) },
        }),
      ),
    );
    const rotationFunctionArn = localFunctionArn('rotation');
    await Promise.all(
      install.rotationSchedules.map((schedule) =>
        client.send(
          new RotateSecretCommand({
            SecretId: arnByLogicalId.get(schedule.secretLogicalId),
            RotationLambdaARN: rotationFunctionArn,
            RotationRules: { ScheduleExpression: schedule.scheduleExpression, Duration: schedule.duration },
            RotateImmediately: false,
          }),
        ),
      ),
    );
    await secretsManager.settled();
    await Promise.all([...secretArns.values()].map((SecretId) => required('first-key').invoke({ RequestType: 'Create', ResourceType: CLIENT_RESOURCE_TYPES.firstKey, ResourceProperties: { SecretId } })));

    if (options.stateFile !== undefined) {
      const stateFile = options.stateFile;
      // Read with the functions' own readers, so the description says what the functions were given.
      const rotation = readRotationConfig(install.environments.rotation ?? {});
      const monitor = readMonitorConfig(install.environments.monitor ?? {});
      const authorizer = readAuthorizerConfig(install.environments.authorizer ?? {});
      const state: LocalState = {
        endpoints,
        apiUrl: api.url,
        description: {
          version: 1,
          keyTableName,
          clientTopicArn,
          operationsTopicArn,
          secretNamePrefix: monitor.secretNamePrefix,
          rotationFunctionArn,
          authorizerFunctionArn: localFunctionArn('authorizer'),
          keyPrefix: rotation.keyPrefix,
          apiKeyHeader: rotation.apiKeyHeader,
          gracePeriodSeconds: rotation.gracePeriodSeconds,
          revocationPollMs: authorizer.revocationPollMs,
          authorizerResultsCacheTtlSeconds: install.authorizer.resultsCacheTtlSeconds,
          authorizerCacheTtlSeconds: Math.round(authorizer.cache.positiveTtlMs / 1000),
          keyDelivery: install.environments.delivery !== undefined,
          rotationRoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/keyroll-local-rotation`,
          kmsKeyArn: `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/local`,
          rotationScheduleExpression: install.rotationSchedules[0]?.scheduleExpression ?? 'rate(30 days)',
          rotationWindow: install.rotationSchedules[0]?.duration ?? '',
        },
      };
      writeFileSync(stateFile, JSON.stringify(state, null, 2));
      stops.push(async () => rmSync(stateFile, { force: true }));
    }
    const deliveryFunction = functions.delivery;
    const reservation = (entry: FunctionEntry) => {
      const reservedConcurrency = install.reservedConcurrency[entry];
      return reservedConcurrency === undefined ? {} : { reservedConcurrency };
    };
    const deliveryFunctionUrl = deliveryFunction === undefined ? undefined : await startLocalFunctionUrl(deliveryFunction, stops, reservation('delivery'));
    const leakReportFunction = functions['leak-report'];
    const leakReportFunctionUrl = leakReportFunction === undefined ? undefined : await startLocalFunctionUrl(leakReportFunction, stops, reservation('leak-report'));
    const deliveryUrl = deliveryFunctionUrl?.url;
    const leakReportUrl = leakReportFunctionUrl?.url;

    return {
      endpoints,
      api,
      ...(deliveryUrl === undefined ? {} : { deliveryUrl }),
      ...(leakReportUrl === undefined ? {} : { leakReportUrl }),
      functionUrls: { ...(deliveryFunctionUrl === undefined ? {} : { delivery: deliveryFunctionUrl }), ...(leakReportFunctionUrl === undefined ? {} : { 'leak-report': leakReportFunctionUrl }) },
      install,
      model,
      keyTableName,
      clientTopicArn,
      operationsTopicArn,
      secretArns,
      functions,
      rotations,
      rotate: async (clientId) => {
        await client.send(new RotateSecretCommand({ SecretId: secretArns.get(clientId) }));
      },
      runMonitor: () => required('monitor').invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
      stop: async () => {
        await secretsManager.settled().catch(() => undefined);
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** How often local mode delivers a function's subscribed log lines: CloudWatch Logs batches for about as long. */
const LOG_DELIVERY_MS = 1_000;

function clientIdOf(secretArn: string, install: LocalInstall): string {
  const name = install.secrets.find((secret) => secretArn.includes(`:secret:${secret.name}-`))?.name ?? secretArn;
  return name.slice(name.lastIndexOf('/') + 1);
}
