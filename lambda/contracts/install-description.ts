/**
 * What the keyroll CLI needs to know about an install, declared once: the construct writes it as a stack output
 * (`--stack`), local mode as a file (`--local`), and the CLI reads it from either.
 */
export interface InstallDescription {
  readonly version: 1;
  readonly keyTableName: string;
  readonly clientTopicArn: string;
  readonly operationsTopicArn: string;
  /** The install's secrets are `<secretNamePrefix><clientId>`. */
  readonly secretNamePrefix: string;
  readonly rotationFunctionArn: string;
  /** API Gateway's cached answers are flushed on every stage whose authorizer invokes this function. */
  readonly authorizerFunctionArn: string;
  readonly keyPrefix: string;
  readonly apiKeyHeader: string;
  readonly gracePeriodSeconds: number;
  /** How often authorizer containers read recent revocations; an emergency waits this long before flushing API Gateway's cache. */
  readonly revocationPollMs: number;
  /** How long API Gateway caches an authorizer answer: how long a stage whose flush failed may still answer from it. */
  readonly authorizerResultsCacheTtlSeconds?: number;
  /** How long an authorizer container keeps a key version it read: with the above, the least grace a client may have. */
  readonly authorizerCacheTtlSeconds?: number;
  /** The install has a key delivery URL: `keyroll clients add --public-key` needs one. */
  readonly keyDelivery?: boolean;
  /** What `keyroll clients add` gives a client created at run time, as the construct gives the declared ones. */
  readonly rotationRoleArn: string;
  readonly kmsKeyArn: string;
  readonly rotationScheduleExpression: string;
  /** The RotationRules Duration (`4h`), or empty. */
  readonly rotationWindow: string;
  /** The install's usage plans by name, for `keyroll clients add --usage-plan`; absent when it has none. */
  readonly usagePlanIds?: Readonly<Record<string, string>>;
  /**
   * Multi-region installs: `keyroll clients add` replicates a new client's secret to each, with its key; an
   * emergency flushes the API Gateway stages there whose authorizer is the region's replica authorizer.
   */
  readonly replicaRegions?: readonly { readonly region: string; readonly kmsKeyArn: string; readonly authorizerFunctionArn?: string }[];
  /**
   * Who may change a client secret's metadata, resource policy and `keyroll:*` tags besides the rotation (the
   * stack's CloudFormation role), for the write guard of secrets `keyroll clients add` creates; absent: no one.
   */
  readonly administratorArns?: readonly string[];
}

/** The stack output holding an install's description starts with this; the output's value is the JSON. */
export const INSTALL_OUTPUT_DESCRIPTION = 'keyroll install description, read by the keyroll CLI';

const STRING_FIELDS = ['keyTableName', 'clientTopicArn', 'operationsTopicArn', 'secretNamePrefix', 'rotationFunctionArn', 'authorizerFunctionArn', 'keyPrefix', 'apiKeyHeader', 'rotationRoleArn', 'kmsKeyArn', 'rotationScheduleExpression'] as const;

/** Parses an install description; the error says which field is wrong and never quotes more than the field's name. */
export function parseInstallDescription(text: string, where: string): InstallDescription {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError(`${where} is not a keyroll install description (not JSON)`);
  }
  if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== 1) {
    throw new TypeError(`${where} is not a keyroll install description (version 1)`);
  }
  const fields = value as Record<string, unknown>;
  for (const name of STRING_FIELDS) {
    if (typeof fields[name] !== 'string' || fields[name] === '') throw new TypeError(`${where}: the install description has no "${name}"`);
  }
  if (typeof fields['rotationWindow'] !== 'string') throw new TypeError(`${where}: the install description has no "rotationWindow"`);
  for (const name of ['gracePeriodSeconds', 'revocationPollMs']) {
    if (typeof fields[name] !== 'number') throw new TypeError(`${where}: the install description has no "${name}"`);
  }
  for (const name of ['authorizerResultsCacheTtlSeconds', 'authorizerCacheTtlSeconds']) {
    const ttl = fields[name];
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 3600)) throw new TypeError(`${where}: the install description's "${name}" is not a number of seconds (0 to 3600)`);
  }
  if (fields['keyDelivery'] !== undefined && typeof fields['keyDelivery'] !== 'boolean') throw new TypeError(`${where}: the install description's "keyDelivery" is not true or false`);
  const replicas = fields['replicaRegions'];
  const replicaValid = (replica: unknown) => {
    const entry = (typeof replica === 'object' && replica !== null ? replica : {}) as Record<string, unknown>;
    return typeof entry['region'] === 'string' && typeof entry['kmsKeyArn'] === 'string' && (entry['authorizerFunctionArn'] === undefined || (typeof entry['authorizerFunctionArn'] === 'string' && entry['authorizerFunctionArn'].startsWith('arn:')));
  };
  if (replicas !== undefined && (!Array.isArray(replicas) || !replicas.every(replicaValid))) throw new TypeError(`${where}: the install description's "replicaRegions" is not a list of { region, kmsKeyArn, authorizerFunctionArn }`);
  const administrators = fields['administratorArns'];
  if (administrators !== undefined && (!Array.isArray(administrators) || !administrators.every((arn) => typeof arn === 'string' && arn.startsWith('arn:')))) {
    throw new TypeError(`${where}: the install description's "administratorArns" is not a list of ARNs`);
  }
  return value as InstallDescription;
}
