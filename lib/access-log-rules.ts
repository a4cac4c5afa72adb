import { Stack } from 'aws-cdk-lib';
import { CfnStage as CfnRestApiStage } from 'aws-cdk-lib/aws-apigateway';
import { CfnStage as CfnHttpApiStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { CfnSubscriptionFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { USAGE_LOG_FIELDS } from '../lambda/contracts/access-log';

export type ApiType = 'REST API' | 'HTTP API';

/** A variable name, or a family of them (`$context.authorizer.` is any key of the authorizer's context). */
type VariableList = { readonly names: ReadonlySet<string>; readonly families: readonly string[] };

/** https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html */
const REST_API_VARIABLES: VariableList = {
  names: new Set(
    [
      'accountId', 'apiId', 'authenticate.error', 'authenticate.latency', 'authenticate.status', 'authorize.error', 'authorize.latency', 'authorize.status',
      'awsEndpointRequestId', 'customDomain.basePathMatched', 'domainName', 'domainPrefix', 'error.message', 'error.messageString',
      'error.responseType', 'error.validationErrorString', 'extendedRequestId', 'httpMethod', 'identity.accountId', 'identity.apiKey', 'identity.apiKeyId',
      'identity.caller', 'identity.cognitoAuthenticationProvider', 'identity.cognitoAuthenticationType', 'identity.cognitoIdentityId', 'identity.cognitoIdentityPoolId',
      'identity.principalOrgId', 'identity.sourceIp', 'identity.user', 'identity.userAgent', 'identity.userArn', 'identity.vpcId', 'identity.vpceId',
      'integrationErrorMessage', 'integrationLatency', 'integrationStatus', 'isCanaryRequest', 'path', 'protocol', 'requestId', 'requestTime', 'requestTimeEpoch',
      'resourceId', 'resourcePath', 'responseLatency', 'responseLength', 'responseOverride.status', 'stage', 'status', 'waf.error', 'waf.latency', 'waf.status',
      'wafResponseCode', 'webaclArn', 'xrayTraceId',
    ].map((name) => `$context.${name}`),
  ),
  families: ['authorizer.', 'identity.clientCert.', 'integration.', 'requestOverride.', 'responseOverride.header.'].map((family) => `$context.${family}`),
};

/** https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html */
const HTTP_API_VARIABLES: VariableList = {
  names: new Set(
    [
      'accountId', 'apiId', 'awsEndpointRequestId', 'awsEndpointRequestId2', 'customDomain.basePathMatched', 'dataProcessed', 'domainName', 'domainPrefix',
      'error.message', 'error.messageString', 'error.responseType', 'extendedRequestId', 'httpMethod', 'identity.accountId', 'identity.caller',
      'identity.cognitoAuthenticationProvider', 'identity.cognitoAuthenticationType', 'identity.cognitoIdentityId', 'identity.cognitoIdentityPoolId',
      'identity.principalOrgId', 'identity.sourceIp', 'identity.user', 'identity.userAgent', 'identity.userArn', 'integrationErrorMessage', 'integrationLatency',
      'integrationStatus', 'path', 'protocol', 'requestId', 'requestTime', 'requestTimeEpoch', 'responseLatency', 'responseLength', 'routeKey', 'stage', 'status',
    ].map((name) => `$context.${name}`),
  ),
  families: ['authorizer.', 'identity.clientCert.', 'integration.'].map((family) => `$context.${family}`),
};

const VARIABLES: Record<ApiType, VariableList> = { 'REST API': REST_API_VARIABLES, 'HTTP API': HTTP_API_VARIABLES };

/** The `$context` variables of an access-log format that this API type does not have. */
export function unsupportedVariables(format: string, apiType: ApiType): string[] {
  const { names, families } = VARIABLES[apiType];
  const used = [...format.matchAll(/\$context\.[A-Za-z0-9_.]+/g)].map(([variable]) => variable.replace(/\.+$/, ''));
  return [...new Set(used)].filter((variable) => !names.has(variable) && !families.some((family) => variable.startsWith(family) && variable.length > family.length));
}

/** What the usage counter needs of a format: JSON, with every field of `USAGE_LOG_FIELDS` as declared. */
function missingUsageFields(format: string): string[] {
  let line: unknown;
  try {
    line = JSON.parse(format);
  } catch {
    return ['(the format is not JSON)'];
  }
  const fields = typeof line === 'object' && line !== null ? (line as Record<string, unknown>) : {};
  return Object.entries(USAGE_LOG_FIELDS)
    .filter(([name, variable]) => fields[name] !== variable)
    .map(([name, variable]) => `"${name}": "${variable}"`);
}

/** Each log group can have up to two subscription filters (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html). */
const SUBSCRIPTION_FILTERS_PER_LOG_GROUP = 2;

/**
 * Why the stages that log to this group would fail to deploy or to feed the usage counter, as far as the app
 * shows it: a variable the stage's API type does not have (API Gateway refuses the stage), a usage field missing,
 * or more subscription filters on the group than CloudWatch Logs allows. A filter made outside the app is not seen.
 */
export function usageLogGroupProblems(scope: IConstruct, logGroup: ILogGroup): string[] {
  const problems: string[] = [];
  const all = scope.node.root.node.findAll();
  for (const construct of all) {
    const stage = stageLogging(construct);
    if (stage === undefined) continue;
    if (!logsTo(Stack.of(construct), stage.destinationArn, logGroup) || typeof stage.format !== 'string') continue;
    const unsupported = unsupportedVariables(stage.format, stage.apiType);
    if (unsupported.length > 0) {
      const fields = stage.apiType === 'HTTP API' ? 'HTTP_API_ACCESS_LOG_FIELDS' : 'REST_API_ACCESS_LOG_FIELDS';
      problems.push(`${construct.node.path}: its access-log format names ${unsupported.join(', ')}, which ${stage.apiType}s do not have, and API Gateway refuses the stage (use ${fields})`);
    }
    const missing = missingUsageFields(stage.format);
    if (missing.length > 0) problems.push(`${construct.node.path}: its access-log format lacks what the usage counter reads: ${missing.join(', ')}`);
  }
  const filters = all.filter((construct): construct is CfnSubscriptionFilter => construct instanceof CfnSubscriptionFilter && JSON.stringify(Stack.of(construct).resolve(construct.logGroupName)) === JSON.stringify(Stack.of(construct).resolve(logGroup.logGroupName)));
  if (filters.length > SUBSCRIPTION_FILTERS_PER_LOG_GROUP) {
    problems.push(`${logGroup.node.path} has ${filters.length} subscription filters in this app (${filters.map((filter) => filter.node.path).join(', ')}); CloudWatch Logs allows ${SUBSCRIPTION_FILTERS_PER_LOG_GROUP} per log group`);
  }
  return problems;
}

/** Whether a stage's destination is this log group: its ARN, or an ARN built from its name (REST stages write `arn:…:log-group:<name>`). */
function logsTo(stack: Stack, destinationArn: unknown, logGroup: ILogGroup): boolean {
  const destination = JSON.stringify(stack.resolve(destinationArn));
  const name = stack.resolve(logGroup.logGroupName) as unknown;
  if (destination === JSON.stringify(stack.resolve(logGroup.logGroupArn))) return true;
  if (typeof name === 'string') return destination.endsWith(`:log-group:${name}"`) || destination.endsWith(`:log-group:${name}:*"`);
  return destination.includes(JSON.stringify(name));
}

function stageLogging(construct: IConstruct): { readonly apiType: ApiType; readonly destinationArn?: unknown; readonly format?: unknown } | undefined {
  if (construct instanceof CfnRestApiStage) {
    const setting = Stack.of(construct).resolve(construct.accessLogSetting) as { destinationArn?: unknown; format?: unknown } | undefined;
    return setting === undefined ? undefined : { apiType: 'REST API', destinationArn: setting.destinationArn, format: setting.format };
  }
  if (construct instanceof CfnHttpApiStage) {
    const settings = Stack.of(construct).resolve(construct.accessLogSettings) as { destinationArn?: unknown; format?: unknown } | undefined;
    return settings === undefined ? undefined : { apiType: 'HTTP API', destinationArn: settings.destinationArn, format: settings.format };
  }
  return undefined;
}
