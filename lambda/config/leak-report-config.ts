import { isSecureUrlText, SECURE_URL_EXPECTATION } from '../contracts/secure-urls';
import { ConfigurationError } from '../domain/errors';
import type { LeakAction } from '../domain/leak-reports';
import type { Environment } from './env';
import { MONITOR_VARIABLES } from './monitor-config';
import { parsedVariable, readVariables, requiredStringVariable, stringVariableWithDefault, type SettingsOf } from './variables';
import { GITHUB_SECRET_SCANNING_KEYS_URL } from '../adapters/github-secret-scanning';
import { KEY_PREFIX, REVOCATION_POLL_MS } from './shared-settings';
import { REGION_PATTERN } from './rotation-config';

/**
 * The leaked-key report function's environment, declared once for the function and the construct. It verifies
 * reports and hands the hashes of keyroll-shaped tokens to the emergency function; it reads and writes nothing.
 */
export const LEAK_REPORT_VARIABLES = {
  keyPrefix: KEY_PREFIX,
  /** The function that ends leaked keys (revoke, rotate, flush): the only one this function may invoke. */
  emergencyFunctionArn: requiredStringVariable('EMERGENCY_FUNCTION_ARN', 'arn:aws:lambda:eu-west-1:123456789012:function:keyroll-emergency'),
  githubKeysUrl: stringVariableWithDefault('GITHUB_KEYS_URL', GITHUB_SECRET_SCANNING_KEYS_URL, isSecureUrlText, SECURE_URL_EXPECTATION),
} as const;

/** The emergency function's environment: what ending a leaked key takes, in the table, Secrets Manager and API Gateway. */
export const EMERGENCY_VARIABLES = {
  keyTableName: MONITOR_VARIABLES.keyTableName,
  clientTopicArn: MONITOR_VARIABLES.clientTopicArn,
  operationsTopicArn: MONITOR_VARIABLES.operationsTopicArn,
  defaultGracePeriodSeconds: MONITOR_VARIABLES.defaultGracePeriodSeconds,
  secretNamePrefix: MONITOR_VARIABLES.secretNamePrefix,
  /** `revoke`: the reported key is revoked; `rotate`: the client is also rotated at once. */
  leakAction: parsedVariable<LeakAction>(
    'LEAK_ACTION',
    (text = 'rotate') => {
      if (text !== 'revoke' && text !== 'rotate') throw new ConfigurationError(`environment variable LEAK_ACTION must be "revoke" or "rotate"; got "${text}"`);
      return text;
    },
    (action) => action,
    'rotate',
  ),
  /** The authorizer function whose cached answers API Gateway flushes after a revocation. */
  authorizerFunctionArn: requiredStringVariable('AUTHORIZER_FUNCTION_ARN', 'arn:aws:lambda:eu-west-1:123456789012:function:keyroll-authorizer'),
  revocationPollMs: REVOCATION_POLL_MS,
  /** Multi-region installs: each replica region's authorizer, whose API stages are flushed there too. */
  replicaAuthorizers: parsedVariable<readonly { readonly region: string; readonly authorizerFunctionArn: string }[]>(
    'REPLICA_AUTHORIZERS',
    (text = '') =>
      text
        .split(',')
        .filter((entry) => entry.trim() !== '')
        .map((entry) => {
          const [region = '', authorizerFunctionArn = ''] = entry.trim().split('=');
          if (!REGION_PATTERN.test(region) || !authorizerFunctionArn.startsWith('arn:')) {
            throw new ConfigurationError(`environment variable REPLICA_AUTHORIZERS must be comma-separated <region>=<authorizer function ARN>; got "${entry}"`);
          }
          return { region, authorizerFunctionArn };
        }),
    (replicas) => replicas.map(({ region, authorizerFunctionArn }) => `${region}=${authorizerFunctionArn}`).join(','),
    'eu-west-1=arn:aws:lambda:eu-west-1:123456789012:function:keyroll-authorizer-0123456789abcdef',
  ),
} as const;

export type EmergencyConfig = SettingsOf<typeof EMERGENCY_VARIABLES>;

export function readEmergencyConfig(env: Environment): EmergencyConfig {
  return readVariables(EMERGENCY_VARIABLES, env);
}

export type LeakReportConfig = SettingsOf<typeof LEAK_REPORT_VARIABLES>;

export function readLeakReportConfig(env: Environment): LeakReportConfig {
  return readVariables(LEAK_REPORT_VARIABLES, env);
}
