import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DEFAULT_KEY_PREFIX } from '../lambda/domain/api-key';
import { DEFAULT_API_KEY_HEADER } from '../lambda/config/shared-settings';
import { DEFAULT_KNOWN_KEYS_WINDOW_MS } from '../lambda/contracts/known-keys';
import { KeyRotationSchedule } from './key-rotation-schedule';
import type { QuotaPeriod } from '../lambda/contracts/usage-plans';
import { ENDED_KEY_REPORT_INTERVAL_MS } from '../lambda/domain/ended-key-reports';
import { DEFAULT_MISSED_ROTATION_MIN_REFUSALS } from '../lambda/domain/monitor';

/** One API client: a secret holding its key, rotated on a schedule. */
export interface ApiClientProps {
  /** 1 to 64 letters, digits, `.`, `_` or `-`. Becomes the authorizer's principalId. */
  readonly clientId: string;
  /**
   * Scopes copied onto each of the client's key versions, checked against `routeScopes`.
   * @default - no scopes
   */
  readonly scopes?: readonly string[];
  /**
   * How long this client's replaced key stays accepted.
   * @default - the construct's `gracePeriod`
   */
  readonly gracePeriod?: Duration;
  /**
   * When this client's key rotates.
   * @default - the construct's `rotationSchedule`
   */
  readonly rotationSchedule?: KeyRotationSchedule;
  /**
   * A hard end for each key version, counted from its registration, in whole days. If rotations keep
   * failing past it, the current key stops working: a compliance bound traded for availability.
   * @default - none
   */
  readonly maxKeyAge?: Duration;
  /**
   * Usage-aware retirement: while this client still uses a replaced key (a request in the last hour) and
   * its window is about to end, the monitor extends the window by `step`, never beyond `maxGrace` after
   * the replacement, and tells the client. Whole hours.
   * @default - off: a replaced key ends with its grace period
   */
  readonly extendWhileInUse?: { readonly step: Duration; readonly maxGrace?: Duration };
  /**
   * Usage-aware retirement the other way: once this client has used its new key and not the replaced one for
   * this long (and at least this long after the replacement), the monitor ends the replaced key's window early
   * and tells the client (`key.expired`). Whole hours, 1 to 168; usage arrives through the access logs.
   * @default - off: a replaced key keeps its whole grace period
   */
  readonly closeWhenSwitched?: Duration;
  /**
   * A missed switch rescued, once: when the monitor finds this client still sending a replaced key after its
   * window ended (`rotation.missed`), that key is accepted again for this long, never past its `maxKeyAge`,
   * and never a revoked (leaked) key. Whole hours, 1 to 24.
   * @default - off: an ended key stays ended; operators and the client are told
   */
  readonly rescueMissedRotation?: Duration;
  /**
   * The name of one of the construct's `usagePlans`: this client's requests are throttled, and counted against
   * the plan's quota, per client, across rotations (see `applyUsagePlans`).
   * @default - no plan
   */
  readonly usagePlan?: string;
  /**
   * Key delivery, for a client outside AWS: its X25519 public key, base64url (the `publicKey` that
   * `generateDeliveryKeyPair()` of `keyroll/client` makes). The delivery URL then gives this client its current
   * key encrypted to that key, in exchange for a key of the client still in its window.
   * @default - no delivery: the client reads its secret
   */
  readonly deliveryPublicKey?: string;
}

export interface RotatingApiKeysProps {
  /** The clients to issue keys to. Each gets its secret and its first key when the stack creates them. */
  readonly clients: readonly ApiClientProps[];
  /**
   * How long a replaced key stays accepted. Must outlast the authorizer's caches.
   * @default Duration.hours(24)
   */
  readonly gracePeriod?: Duration;
  /**
   * When keys rotate.
   * @default KeyRotationSchedule.rate(Duration.days(30), { window: Duration.hours(4) })
   */
  readonly rotationSchedule?: KeyRotationSchedule;
  /**
   * The request header that carries the key; it is the authorizers' identity source, so API Gateway answers
   * 401 itself to a request without it. `'authorization'` takes the key as `Authorization: Bearer <key>`.
   * @default 'x-api-key'
   */
  readonly apiKeyHeader?: string;
  /**
   * How long API Gateway caches the authorizer's answer for a key (0 to 1 hour).
   * @default Duration.minutes(1)
   */
  readonly authorizerResultsCacheTtl?: Duration;
  /**
   * How long the authorizer keeps a key version it read from the table.
   * @default Duration.seconds(30)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * How long the authorizer remembers that a key is unknown.
   * @default Duration.seconds(5)
   */
  readonly authorizerNegativeCacheTtl?: Duration;
  /**
   * When the key table cannot be read, how long a key read before keeps working.
   * @default Duration.minutes(5)
   */
  readonly authorizerStaleWindow?: Duration;
  /**
   * Table reads per second, per caller IP and authorizer container, for keys the table does not know.
   * Only "not found" spends it: valid keys are never refused because of other traffic.
   * @default 10
   */
  readonly unknownKeysPerSourcePerSecond?: number;
  /**
   * Scopes each route needs, e.g. `{ 'POST /orders': 'write' }`. A route matching no rule needs none.
   * @default - no route needs a scope
   */
  readonly routeScopes?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Prefix of the keys issued and accepted: 2 to 16 lower-case letters or digits, starting with a letter.
   * @default 'kr'
   */
  readonly keyPrefix?: string;
  /**
   * Encrypts the secrets, the key table and the topics. An imported key's policy must let
   * `cloudwatch.amazonaws.com` use it (kms:Decrypt, kms:GenerateDataKey*), or alarms cannot reach the
   * operations topic.
   * @default - a new KMS key with yearly rotation, retained on stack deletion
   */
  readonly encryptionKey?: IKey;
  /**
   * Multi-region: the regions whose API Gateway stages also accept these keys, each with a KMS key of that
   * region (a multi-region replica key, or any key) for the key table's replica and the secrets' replicas.
   * The key table becomes a global table with a replica there, each client secret is replicated there, and a
   * `RotatingApiKeysReplica` in a stack of that region runs the authorizer on the local replica. Rotation
   * stays in this region; testSecret and finishSecret wait until every replica has the new key.
   * @default - this region only
   */
  readonly replicaRegions?: readonly ReplicaRegion[];
  /**
   * The key table's name. A `RotatingApiKeysReplica` in the same app needs it as a plain name. Set it only
   * when the table is first created: a new name replaces the table.
   * @default - a name CloudFormation generates
   */
  readonly keyTableName?: string;
  /**
   * A URL of the protected API that testSecret calls with the pending key, requiring a 2xx.
   * @default - no call; testSecret checks the key table only
   */
  readonly probeUrl?: string;
  /**
   * Retention of the functions' logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Refusals of known-but-invalid and unknown keys, in 5 minutes, that raise the refusal alarm.
   * @default 20
   */
  readonly refusalAlarmThreshold?: number;
  /**
   * A CloudWatch anomaly-detection alarm on refusals of ended keys (the authorizer's `RefusedExpired`): it
   * learns the usual level and flags the irregular burst of clients that missed their switch after a rollover,
   * to the operations topic. An anomaly-detection alarm costs what three metrics' alarms cost, so it is opt-in.
   * @default false
   */
  readonly refusalAnomalyAlarm?: boolean;
  /**
   * Prefix of the client secrets' names; it also says which secrets are this install's (the monitor lists
   * those only, and the functions may touch no other). Letters, digits and `/_+=.@-`, ending in `/`.
   * @default `keyroll/<stack name>/<construct id>/`: two installs in one account and region never collide
   */
  readonly secretNamePrefix?: string;
  /**
   * How often the monitor checks every client's keys (reminders, expiry, reconciliation, stuck rotations).
   * @default Duration.minutes(15)
   */
  readonly monitorInterval?: Duration;
  /**
   * When to remind a client still using a key before that key stops working; each once. Whole hours.
   * @default [Duration.hours(24), Duration.hours(1)]
   */
  readonly reminderLeadTimes?: readonly Duration[];
  /**
   * How long AWSPENDING may sit on a version that is not current before operators get `rotation.stuck`,
   * and after which the key of an abandoned rotation is revoked. Whole minutes, at least 15.
   * @default Duration.hours(1)
   */
  readonly rotationStuckAfter?: Duration;
  /**
   * How often each authorizer container reads the keys revoked since its last look and drops them from its
   * cache: one small DynamoDB read per container per interval. `Duration.seconds(0)` turns it off (a revoked
   * key then works until the cache TTLs pass).
   * @default Duration.seconds(1)
   */
  readonly revocationPollInterval?: Duration;
  /**
   * The known-key set's window: each authorizer container keeps the hashes of every key version, and refuses a
   * key it does not hold without reading the table when its set was synced this recently (after one sync
   * otherwise). The rotation presents a new key only this long, plus half a second, after adding it, so each
   * rotation takes that much longer. `Duration.seconds(0)` turns the set off (unknown keys are then bounded per
   * caller IP, and a flood from a client's address can delay its valid key). At most 10 seconds.
   * @default Duration.millis(1500)
   */
  readonly knownKeysWindow?: Duration;
  /**
   * Leaked keys handled by themselves: an endpoint for GitHub's secret scanning partner program (its URL is
   * `leakReportUrl`). Each reported keyroll key is revoked (`action: 'revoke'`), or revoked and its client
   * rotated at once (`'rotate'`).
   * @default - off
   */
  readonly leakedKeyReports?: { readonly action?: 'revoke' | 'rotate' };
  /**
   * Key deliveries per client per minute (clients with a `deliveryPublicKey`); more get 429.
   * @default 6
   */
  readonly deliveriesPerMinute?: number;
  /**
   * Concurrency reserved for the two functions on the internet (key delivery, leaked-key reports): a flood on
   * either takes no more than its share of the account's concurrency, never the authorizer's, and its URL serves
   * at most 10 requests a second per unit (beyond: 429, not billed). `false` reserves none, for an account whose
   * concurrency quota cannot spare it (Lambda keeps 100 unreserved).
   * @default { delivery: 10, leakReports: 5 }
   */
  readonly publicEndpointConcurrency?: { readonly delivery?: number | false; readonly leakReports?: number | false };
  /**
   * Where your API's documentation for clients lives (https): the error bodies of `addErrorResponses` link to
   * its sections (`#key-rotated`, `#scopes`, `#rate-limits`, `#quotas`, `#errors`).
   * @default - the bodies carry no link
   */
  readonly clientDocumentationUrl?: string;
  /**
   * Failed rollovers caught: each authorizer container reports refusals of an ended key at most once per
   * `reportInterval` (10 seconds to 1 hour), and the monitor sends `rotation.missed` and `key.refused` once a
   * version's reported refusals reach `minRefusals`.
   * @default { reportInterval: Duration.minutes(1), minRefusals: 3 }
   */
  readonly missedRotation?: { readonly reportInterval?: Duration; readonly minRefusals?: number };
  /**
   * Per-client throttles and quotas that survive rotation: API Gateway usage plans, by name (letters, digits,
   * `_`, `-`). Each client with a `usagePlan` gets one API key in that plan, whose value the authorizer returns
   * as `usageIdentifierKey` for every key version of the client, so a rotation never resets its quota.
   * Attach them to REST API stages with `applyUsagePlans(restApi)`.
   * @default - none
   */
  readonly usagePlans?: Readonly<Record<string, UsagePlanLimits>>;
}

/** A replica region of a multi-region install. */
export interface ReplicaRegion {
  readonly region: string;
  /** A KMS key in that region, for the key table's replica and the secrets' replicas. */
  readonly encryptionKeyArn: string;
}

/** One usage plan's limits, applied to each client in it separately. */
export interface UsagePlanLimits {
  /** Steady requests per second. */
  readonly rateLimit: number;
  /** Requests allowed at once above the rate. */
  readonly burstLimit: number;
  /** Requests per period. @default - no quota */
  readonly quota?: { readonly limit: number; readonly period: QuotaPeriod };
}

/** Every default of the construct, in one place. */
export const DEFAULTS = {
  gracePeriod: Duration.hours(24),
  rotationSchedule: () => KeyRotationSchedule.rate(Duration.days(30), { window: Duration.hours(4) }),
  apiKeyHeader: DEFAULT_API_KEY_HEADER,
  resultsCacheTtl: Duration.minutes(1),
  cacheTtl: Duration.seconds(30),
  negativeCacheTtl: Duration.seconds(5),
  staleWindow: Duration.minutes(5),
  unknownKeysPerSourcePerSecond: 10,
  keyPrefix: DEFAULT_KEY_PREFIX,
  refusalAlarmThreshold: 20,
  monitorInterval: Duration.minutes(15),
  reminderLeadTimes: [Duration.hours(24), Duration.hours(1)],
  rotationStuckAfter: Duration.hours(1),
  deliveriesPerMinute: 6,
  revocationPollInterval: Duration.seconds(1),
  knownKeysWindow: Duration.millis(DEFAULT_KNOWN_KEYS_WINDOW_MS),
  endedKeyReportInterval: Duration.millis(ENDED_KEY_REPORT_INTERVAL_MS),
  missedRotationMinRefusals: DEFAULT_MISSED_ROTATION_MIN_REFUSALS,
} as const;
