import { Duration, Token } from 'aws-cdk-lib';
import { isValidKeyPrefix } from '../lambda/domain/api-key';
import { QUOTA_PERIODS, USAGE_PLAN_NAME_PATTERN } from '../lambda/contracts/usage-plans';
import { PUBLIC_ENDPOINT_LIMITS } from '../lambda/contracts/public-endpoints';
import { CLIENT_ID_PATTERN, graceTooShort, isDeliveryPublicKey, MAX_RESCUE_MISSED_HOURS, SCOPE_PATTERN } from '../lambda/domain/client-settings';
import { RouteScopes } from '../lambda/domain/route-scopes';
import { SECRET_NAME_PREFIX_PATTERN } from '../lambda/config/monitor-config';
import { InvalidKeyrollPropsError } from '../lambda/domain/errors';
import type { KeyRotationSchedule } from './key-rotation-schedule';
import { DEFAULTS, type ReplicaRegion, type RotatingApiKeysProps, type UsagePlanLimits } from './props';
import { REGION_PATTERN } from '../lambda/config/rotation-config';

/** The props with every default applied, checked. */
export interface ValidSettings {
  readonly gracePeriod: Duration;
  readonly rotationSchedule: KeyRotationSchedule;
  readonly apiKeyHeader: string;
  readonly resultsCacheTtl: Duration;
  readonly cacheTtl: Duration;
  readonly negativeCacheTtl: Duration;
  readonly staleWindow: Duration;
  readonly unknownKeysPerSourcePerSecond: number;
  readonly routeScopes: RouteScopes;
  readonly keyPrefix: string;
  readonly refusalAlarmThreshold: number;
  readonly refusalAnomalyAlarm: boolean;
  readonly secretNamePrefix: string;
  readonly monitorInterval: Duration;
  readonly reminderLeadTimes: readonly Duration[];
  readonly rotationStuckAfter: Duration;
  readonly deliveriesPerMinute: number;
  /** Reserved concurrency of the public functions; undefined reserves none. */
  readonly publicEndpointConcurrency: { readonly delivery: number | undefined; readonly leakReports: number | undefined };
  readonly revocationPollInterval: Duration;
  readonly knownKeysWindow: Duration;
  readonly clientDocumentationUrl: string | undefined;
  readonly endedKeyReportInterval: Duration;
  readonly missedRotationMinRefusals: number;
  readonly usagePlans: Readonly<Record<string, UsagePlanLimits>>;
  readonly replicaRegions: readonly ReplicaRegion[];
  readonly keyTableName: string | undefined;
}

/** What the construct's place in the app says: the install's own secret name prefix and the stack's region. */
export interface InstallContext {
  readonly defaultSecretNamePrefix: string;
  /** A token in a region-agnostic stack. */
  readonly stackRegion: string;
}

/**
 * Checks the props at synth time and reports every bad one at once, each message showing the bad value.
 */
export function validateProps(props: RotatingApiKeysProps, install: InstallContext, where: string): ValidSettings {
  const problems: string[] = [];
  const fail = (message: string) => problems.push(message);
  if (Token.isUnresolved(install.stackRegion)) {
    // CDK cannot render a TableV2's replica encryption (the key table uses a customer-managed KMS key) without one.
    fail(
      'the stack needs an explicit region, e.g. new Stack(app, id, { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }): the encrypted key table cannot be rendered in a region-agnostic stack',
    );
  }
  const settings = {
    gracePeriod: props.gracePeriod ?? DEFAULTS.gracePeriod,
    rotationSchedule: props.rotationSchedule ?? DEFAULTS.rotationSchedule(),
    apiKeyHeader: (props.apiKeyHeader ?? DEFAULTS.apiKeyHeader).toLowerCase(),
    resultsCacheTtl: props.authorizerResultsCacheTtl ?? DEFAULTS.resultsCacheTtl,
    cacheTtl: props.authorizerCacheTtl ?? DEFAULTS.cacheTtl,
    negativeCacheTtl: props.authorizerNegativeCacheTtl ?? DEFAULTS.negativeCacheTtl,
    staleWindow: props.authorizerStaleWindow ?? DEFAULTS.staleWindow,
    unknownKeysPerSourcePerSecond: props.unknownKeysPerSourcePerSecond ?? DEFAULTS.unknownKeysPerSourcePerSecond,
    routeScopes: RouteScopes.parse(undefined),
    keyPrefix: props.keyPrefix ?? DEFAULTS.keyPrefix,
    refusalAlarmThreshold: props.refusalAlarmThreshold ?? DEFAULTS.refusalAlarmThreshold,
    refusalAnomalyAlarm: props.refusalAnomalyAlarm ?? false,
    secretNamePrefix: props.secretNamePrefix ?? install.defaultSecretNamePrefix,
    monitorInterval: props.monitorInterval ?? DEFAULTS.monitorInterval,
    reminderLeadTimes: props.reminderLeadTimes ?? DEFAULTS.reminderLeadTimes,
    rotationStuckAfter: props.rotationStuckAfter ?? DEFAULTS.rotationStuckAfter,
    deliveriesPerMinute: props.deliveriesPerMinute ?? DEFAULTS.deliveriesPerMinute,
    publicEndpointConcurrency: {
      delivery: reservation(props.publicEndpointConcurrency?.delivery, PUBLIC_ENDPOINT_LIMITS.delivery.reservedConcurrency),
      leakReports: reservation(props.publicEndpointConcurrency?.leakReports, PUBLIC_ENDPOINT_LIMITS.leakReports.reservedConcurrency),
    },
    revocationPollInterval: props.revocationPollInterval ?? DEFAULTS.revocationPollInterval,
    knownKeysWindow: props.knownKeysWindow ?? DEFAULTS.knownKeysWindow,
    clientDocumentationUrl: props.clientDocumentationUrl,
    endedKeyReportInterval: props.missedRotation?.reportInterval ?? DEFAULTS.endedKeyReportInterval,
    missedRotationMinRefusals: props.missedRotation?.minRefusals ?? DEFAULTS.missedRotationMinRefusals,
    usagePlans: props.usagePlans ?? {},
    replicaRegions: props.replicaRegions ?? [],
    keyTableName: props.keyTableName,
  };
  const replicaRegionsSeen = new Set<string>();
  for (const replica of settings.replicaRegions) {
    if (!REGION_PATTERN.test(replica.region)) fail(`replicaRegions: "${replica.region}" is not a region name`);
    else if (replica.region === install.stackRegion) fail(`replicaRegions: ${replica.region} is the stack's own region`);
    else if (replicaRegionsSeen.has(replica.region)) fail(`replicaRegions: ${replica.region} is listed twice`);
    replicaRegionsSeen.add(replica.region);
    if (!Token.isUnresolved(replica.encryptionKeyArn) && !new RegExp(`^arn:aws[a-z-]*:kms:${replica.region}:\\d{12}:key/`).test(replica.encryptionKeyArn)) {
      fail(`replicaRegions: the encryptionKeyArn of ${replica.region} must be a KMS key ARN in ${replica.region}; got "${replica.encryptionKeyArn}"`);
    }
  }
  for (const [name, plan] of Object.entries(settings.usagePlans)) {
    if (!USAGE_PLAN_NAME_PATTERN.test(name)) fail(`usagePlans: "${name}" must be 1 to 64 letters, digits, "_" or "-"`);
    if (!(plan.rateLimit > 0) || !Number.isInteger(plan.burstLimit) || plan.burstLimit < 0) fail(`usagePlans.${name}: rateLimit must be above 0 and burstLimit a whole number; got ${plan.rateLimit} and ${plan.burstLimit}`);
    if (plan.quota !== undefined && (!Number.isInteger(plan.quota.limit) || plan.quota.limit < 1 || !QUOTA_PERIODS.includes(plan.quota.period))) {
      fail(`usagePlans.${name}.quota must be a whole number of at least 1 per ${QUOTA_PERIODS.join(', ')}; got ${plan.quota.limit} per ${plan.quota.period}`);
    }
  }
  if (settings.clientDocumentationUrl !== undefined && !/^https:\/\/[^\s"#]+$/.test(settings.clientDocumentationUrl)) {
    fail(`clientDocumentationUrl must be an https URL without a fragment; got "${settings.clientDocumentationUrl}"`);
  }
  const reportSeconds = settings.endedKeyReportInterval.toSeconds({ integral: false });
  if (!Number.isInteger(reportSeconds) || reportSeconds < 10 || reportSeconds > 3600) {
    fail(`missedRotation.reportInterval must be whole seconds, from 10 seconds to 1 hour; got ${settings.endedKeyReportInterval.toHumanString()}`);
  }
  if (!Number.isInteger(settings.missedRotationMinRefusals) || settings.missedRotationMinRefusals < 1 || settings.missedRotationMinRefusals > 100_000) {
    fail(`missedRotation.minRefusals must be a whole number from 1 to 100000; got ${settings.missedRotationMinRefusals}`);
  }
  if (settings.knownKeysWindow.toMilliseconds() > 10_000) fail(`knownKeysWindow must be at most 10 seconds; got ${settings.knownKeysWindow.toHumanString()}`);
  if (settings.revocationPollInterval.toMilliseconds() > 60_000) fail(`revocationPollInterval must be at most 1 minute; got ${settings.revocationPollInterval.toHumanString()}`);
  for (const [name, reserved] of Object.entries(settings.publicEndpointConcurrency)) {
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1 || reserved > 1000)) fail(`publicEndpointConcurrency.${name} must be a whole number from 1 to 1000, or false; got ${reserved}`);
  }
  if (!Number.isInteger(settings.deliveriesPerMinute) || settings.deliveriesPerMinute < 1 || settings.deliveriesPerMinute > 600) {
    fail(`deliveriesPerMinute must be a whole number from 1 to 600; got ${settings.deliveriesPerMinute}`);
  }
  if (!/^[a-z0-9-]{1,64}$/.test(settings.apiKeyHeader)) fail(`apiKeyHeader must be an HTTP header name; got "${props.apiKeyHeader}"`);
  if (!isValidKeyPrefix(settings.keyPrefix)) fail(`keyPrefix must be 2 to 16 lower-case letters or digits, starting with a letter; got "${settings.keyPrefix}"`);
  if (settings.resultsCacheTtl.toSeconds() > 3600) fail(`authorizerResultsCacheTtl must be at most 1 hour; got ${settings.resultsCacheTtl.toHumanString()}`);
  if (settings.cacheTtl.toSeconds() > 3600) fail(`authorizerCacheTtl must be at most 1 hour; got ${settings.cacheTtl.toHumanString()}`);
  if (settings.negativeCacheTtl.toSeconds() > 300) fail(`authorizerNegativeCacheTtl must be at most 5 minutes; got ${settings.negativeCacheTtl.toHumanString()}`);
  if (!Number.isInteger(settings.unknownKeysPerSourcePerSecond) || settings.unknownKeysPerSourcePerSecond < 1 || settings.unknownKeysPerSourcePerSecond > 10_000) {
    fail(`unknownKeysPerSourcePerSecond must be a whole number from 1 to 10000; got ${settings.unknownKeysPerSourcePerSecond}`);
  }
  if (!Number.isInteger(settings.refusalAlarmThreshold) || settings.refusalAlarmThreshold < 1) {
    fail(`refusalAlarmThreshold must be a whole number of at least 1; got ${settings.refusalAlarmThreshold}`);
  }
  if (!SECRET_NAME_PREFIX_PATTERN.test(settings.secretNamePrefix)) {
    fail(`secretNamePrefix must be letters, digits and /_+=.@- ending in "/"; got "${settings.secretNamePrefix}"`);
  }
  const wholeHours = (d: Duration) => Number.isInteger(d.toHours({ integral: false })) && d.toHours({ integral: false }) >= 1;
  const monitorMinutes = settings.monitorInterval.toMinutes({ integral: false });
  if (!Number.isInteger(monitorMinutes) || monitorMinutes < 1 || monitorMinutes > 24 * 60) {
    fail(`monitorInterval must be whole minutes, from 1 minute to 1 day; got ${settings.monitorInterval.toHumanString()}`);
  }
  if (settings.reminderLeadTimes.length === 0 || !settings.reminderLeadTimes.every(wholeHours)) {
    fail(`reminderLeadTimes must be one or more whole hours; got ${settings.reminderLeadTimes.map((d) => d.toHumanString()).join(', ') || 'none'}`);
  }
  const stuckMinutes = settings.rotationStuckAfter.toMinutes({ integral: false });
  if (!Number.isInteger(stuckMinutes) || stuckMinutes < 15 || stuckMinutes > 7 * 24 * 60) {
    fail(`rotationStuckAfter must be whole minutes, from 15 minutes to 7 days; got ${settings.rotationStuckAfter.toHumanString()}`);
  }
  if (props.routeScopes !== undefined) {
    try {
      settings.routeScopes = RouteScopes.parse(JSON.stringify(props.routeScopes));
    } catch (error) {
      fail(`routeScopes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const checkGrace = (gracePeriod: Duration, whose: string) => {
    const shortfall = graceTooShort(gracePeriod.toSeconds(), { resultsCacheTtlSeconds: settings.resultsCacheTtl.toSeconds(), authorizerCacheTtlSeconds: settings.cacheTtl.toSeconds() });
    if (shortfall !== undefined) fail(`${whose} of ${gracePeriod.toHumanString()} ${shortfall}`);
  };
  checkGrace(settings.gracePeriod, 'gracePeriod');
  const seen = new Set<string>();
  for (const client of props.clients) {
    if (!CLIENT_ID_PATTERN.test(client.clientId)) fail(`clientId must be 1 to 64 letters, digits, ".", "_" or "-"; got "${client.clientId}"`);
    if (seen.has(client.clientId)) fail(`clientId "${client.clientId}" is used twice`);
    seen.add(client.clientId);
    if (client.gracePeriod !== undefined) checkGrace(client.gracePeriod, `gracePeriod of client "${client.clientId}"`);
    if (client.maxKeyAge !== undefined && (!Number.isInteger(client.maxKeyAge.toDays({ integral: false })) || client.maxKeyAge.toDays({ integral: false }) < 1)) {
      fail(`maxKeyAge of client "${client.clientId}" must be whole days, at least 1; got ${client.maxKeyAge.toHumanString()}`);
    }
    const quiet = client.closeWhenSwitched;
    if (quiet !== undefined && (!wholeHours(quiet) || quiet.toHours({ integral: false }) > 168)) {
      fail(`closeWhenSwitched of client "${client.clientId}" must be whole hours, from 1 hour to 7 days; got ${quiet.toHumanString()}`);
    }
    if (client.usagePlan !== undefined && settings.usagePlans[client.usagePlan] === undefined) {
      fail(`usagePlan of client "${client.clientId}" is "${client.usagePlan}", which is not one of usagePlans (${Object.keys(settings.usagePlans).join(', ') || 'none'})`);
    }
    const rescue = client.rescueMissedRotation;
    if (rescue !== undefined && (!wholeHours(rescue) || rescue.toHours({ integral: false }) > MAX_RESCUE_MISSED_HOURS)) {
      fail(`rescueMissedRotation of client "${client.clientId}" must be whole hours, from 1 to ${MAX_RESCUE_MISSED_HOURS} hours; got ${rescue.toHumanString()}`);
    }
    const extension = client.extendWhileInUse;
    if (extension !== undefined && (!wholeHours(extension.step) || extension.step.toHours({ integral: false }) > 24 * 30)) {
      fail(`extendWhileInUse.step of client "${client.clientId}" must be whole hours, from 1 hour to 30 days; got ${extension.step.toHumanString()}`);
    }
    if (extension?.maxGrace !== undefined && (!wholeHours(extension.maxGrace) || extension.maxGrace.toHours({ integral: false }) > 24 * 366)) {
      fail(`extendWhileInUse.maxGrace of client "${client.clientId}" must be whole hours, from 1 hour to 366 days; got ${extension.maxGrace.toHumanString()}`);
    }
    if (client.deliveryPublicKey !== undefined && !isDeliveryPublicKey(client.deliveryPublicKey)) {
      fail(`deliveryPublicKey of client "${client.clientId}" must be a usable X25519 public key: 43 base64url characters, not a low-order point (generateDeliveryKeyPair() of keyroll/client makes one)`);
    }
    for (const scope of client.scopes ?? []) {
      if (!SCOPE_PATTERN.test(scope)) fail(`scope "${scope}" of client "${client.clientId}" must be 1 to 64 letters, digits, ":", ".", "_", "/" or "-"`);
    }
  }
  if (problems.length === 1) throw new InvalidKeyrollPropsError(`${where}: ${problems[0]}`);
  if (problems.length > 1) throw new InvalidKeyrollPropsError(`${where}: ${problems.length} props are not valid:\n- ${problems.join('\n- ')}`);
  return settings;
}

/** A reservation as declared (`false`: none) or its default. */
function reservation(declared: number | false | undefined, byDefault: number): number | undefined {
  if (declared === false) return undefined;
  return declared ?? byDefault;
}
