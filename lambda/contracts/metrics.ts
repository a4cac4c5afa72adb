import type { RefusalReason } from '../domain/key-authorizer';

/**
 * keyroll's CloudWatch metrics (EMF, dimension `service`), declared once: the functions emit these names and
 * the construct's alarms and dashboard read them.
 */
export const AUTHORIZER_SERVICE = 'keyroll-authorizer';
export const USAGE_SERVICE = 'keyroll-usage';
export const ROTATION_SERVICE = 'keyroll-rotation';

export const ROTATION_METRICS = {
  /** A rotation refused a key: its secret is not the one registered for its client, or its value not keyroll's. */
  refused: 'RotationRefused',
} as const;

/** Every reason the authorizer refuses a request, in the order the dashboard shows them. */
export const REFUSAL_REASONS = [
  'missing',
  'ambiguous',
  'wrong_prefix',
  'bad_length',
  'bad_characters',
  'bad_checksum',
  'not_found',
  'not_yet_valid',
  'expired',
  'revoked',
  'lookup_failed',
  'lookup_throttled',
  'malformed_event',
  'internal_error',
] as const satisfies readonly RefusalReason[];

// Every RefusalReason is listed above: adding a reason without its metric fails to compile.
const everyReasonListed: Exclude<RefusalReason, (typeof REFUSAL_REASONS)[number]> extends never ? true : false = true;
void everyReasonListed;

export const AUTHORIZER_METRICS = {
  allowed: 'Allowed',
  forbidden: 'Forbidden',
  refused: 'Refused',
  /** Answered from the container's memory. */
  cacheHit: 'CacheHit',
  /** Read from the table. */
  cacheMiss: 'CacheMiss',
  /** The table failed and a recently read version was used. */
  staleAllowed: 'StaleAllowed',
  lookupFailed: 'LookupFailed',
} as const;

/**
 * Refusals of ended keys per usage plan (client tier): `RefusedExpired` again, with the dimension `UsagePlan`
 * besides `service`, for the per-plan anomaly alarms. Only versions of clients with a plan are counted here.
 */
export const REFUSED_EXPIRED_BY_PLAN = { dimension: 'UsagePlan' } as const;

/** `Refused<Reason>`: `RefusedNotFound`, `RefusedExpired`… */
export function refusalMetricName(reason: RefusalReason): string {
  return `${AUTHORIZER_METRICS.refused}${reason.replace(/(^|_)([a-z])/g, (_match, _separator: string, letter: string) => letter.toUpperCase())}`;
}

export const USAGE_METRICS = {
  linesCounted: 'UsageLinesCounted',
  linesMalformed: 'UsageLinesMalformed',
  linesUnattributed: 'UsageLinesUnattributed',
  duplicateDeliveries: 'UsageDuplicateDeliveries',
  deliveriesUnreadable: 'UsageDeliveriesUnreadable',
} as const;

/** Every metric name keyroll's functions emit, by service. */
export const EMITTED_METRICS: Readonly<Record<string, readonly string[]>> = {
  [AUTHORIZER_SERVICE]: [...Object.values(AUTHORIZER_METRICS), ...REFUSAL_REASONS.map(refusalMetricName)],
  [USAGE_SERVICE]: Object.values(USAGE_METRICS),
  [ROTATION_SERVICE]: Object.values(ROTATION_METRICS),
};
