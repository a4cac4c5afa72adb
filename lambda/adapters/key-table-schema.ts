/**
 * The key table's physical design, in one place for the adapter, the CDK stack and the tests.
 *
 * | item          | pk                               | sk                         | notes                                   |
 * | ------------- | -------------------------------- | -------------------------- | --------------------------------------- |
 * | key version   | `KEY#<sha256 hex of the key>`    | `KEY`                      | in `byClient` (clientId, notBeforeMs)   |
 * | event         | `CLIENT#<clientId>`              | `EVENT#<eventId>`          | notification record and audit trail     |
 * | usage counter | `USAGE#<clientId>#<versionId>#<shard>` | `HOUR#<yyyy-mm-ddThh>` | requests and last use per hour          |
 * | refusals      | `REFUSED#<clientId>#<versionId>` | `HOUR#<yyyy-mm-ddThh>`     | ended-key refusals reported per hour    |
 * | usage batch   | `USAGEBATCH#<sha256 of event ids>` | `BATCH`               | marks a delivery as counted             |
 * | pending seen  | `CLIENT#<clientId>`              | `PENDING#<versionId>`      | when the monitor first saw an AWSPENDING |
 * | deliveries    | `DELIVERY#<clientId>`            | `MINUTE#<yyyy-mm-ddThh:mm>` | key deliveries counted per minute    |
 * | delivery audit| `DELIVERY#<clientId>`            | `AUDIT#<ISO time>#<id>`    | key deliveries, in the client's trail   |
 * | audit         | `CLIENT#<clientId>`              | `AUDIT#<ISO time>#<id>`    | operator actions                        |
 * | revocations   | `REVOCATIONS`                    | `MINUTE#<yyyy-mm-ddThh:mm>` | key hashes revoked in that minute, polled by authorizers |
 * | registration  | `REGISTRATION`                   | `CLIENT#<clientId>`        | the client's one secret and its settings |
 * | issued key    | `ISSUED#<sha256 hex of the key>` | `ISSUED`                   | createSecret generated it, for this client and version |
 * | known keys    | `KEYSET`                         | `BUCKET#<2 hex>`           | the 64-bit hash prefixes of every key, by first byte |
 * | known-key adds| `KEYSET`                         | `ADDED#<yyyy-mm-ddThh:mm>#<hex>` | prefixes added that minute, read by authorizers |
 * | known-key set | `KEYSET`                         | `META`                     | when the set was last made complete     |
 *
 * Only key-version items carry both `clientId` and `notBeforeMs`, so only they appear in `byClient`. The
 * partition key prefixes are item families (`KEY_TABLE_FAMILIES`): IAM gives each function write access to its
 * families only (`dynamodb:LeadingKeys`), so none can write an item of another kind.
 */
export const KEY_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byClientIndex: { indexName: 'byClient', partitionKey: 'clientId', sortKey: 'notBeforeMs' },
  /** Epoch seconds; DynamoDB deletes an item some time after it passes. Cleanup only: reads check windows. */
  timeToLiveAttribute: 'purgeAt',
  /**
   * Usage counters of one key version are spread over this many partitions (the shard is in the partition
   * key), so that one busy client cannot make a hot partition. Readers sum the shards.
   */
  usageShards: 4,
} as const;

/** The primary key of each item kind, built in one place for the adapters, the tests and the benchmark. */
export const KEY_TABLE_KEYS = {
  keyVersion: (keyHash: string) => ({ pk: `KEY#${keyHash}`, sk: 'KEY' }),
  event: (clientId: string, eventId: string) => ({ pk: `CLIENT#${clientId}`, sk: `EVENT#${eventId}` }),
  pendingSeen: (clientId: string, versionId: string) => ({ pk: `CLIENT#${clientId}`, sk: `PENDING#${versionId}` }),
  usageCounter: (clientId: string, versionId: string, shard: number, hour: string) => ({ pk: `USAGE#${clientId}#${versionId}#${shard}`, sk: `HOUR#${hour}` }),
  refusalCounter: (clientId: string, versionId: string, hour: string) => ({ pk: `REFUSED#${clientId}#${versionId}`, sk: `HOUR#${hour}` }),
  usageBatch: (batchId: string) => ({ pk: `USAGEBATCH#${batchId}`, sk: 'BATCH' }),
  deliveryCounter: (clientId: string, minute: string) => ({ pk: `DELIVERY#${clientId}`, sk: `MINUTE#${minute}` }),
  deliveryAudit: (clientId: string, atIso: string, id: string) => ({ pk: `DELIVERY#${clientId}`, sk: `AUDIT#${atIso}#${id}` }),
  audit: (clientId: string, atIso: string, id: string) => ({ pk: `CLIENT#${clientId}`, sk: `AUDIT#${atIso}#${id}` }),
  revocations: (minute: string) => ({ pk: 'REVOCATIONS', sk: `MINUTE#${minute}` }),
  registration: (clientId: string) => ({ pk: 'REGISTRATION', sk: `CLIENT#${clientId}` }),
  issuedKey: (keyHash: string) => ({ pk: `ISSUED#${keyHash}`, sk: 'ISSUED' }),
  knownKeyBucket: (prefix: string) => ({ pk: 'KEYSET', sk: `BUCKET#${prefix.slice(0, 2)}` }),
  knownKeyAdded: (minute: string, prefix: string) => ({ pk: 'KEYSET', sk: `ADDED#${minute}#${prefix.slice(0, 1)}` }),
  knownKeysMeta: () => ({ pk: 'KEYSET', sk: 'META' }),
  authorizerStages: (region: string) => ({ pk: 'STAGES', sk: `REGION#${region}` }),
  replicaWaitRegion: (region: string) => ({ pk: 'REPLICAWAIT', sk: `REGION#${region}` }),
  replicaWaitAudit: (atIso: string, id: string) => ({ pk: 'REPLICAWAIT', sk: `AUDIT#${atIso}#${id}` }),
  /** The key-version partition key prefix, to tell a key-version item from others. */
  keyVersionPrefix: 'KEY#',
} as const;

/**
 * The item families, by the partition keys IAM's `dynamodb:LeadingKeys` condition matches (`*`: any characters).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
export const KEY_TABLE_FAMILIES = {
  /** Key versions: what the authorizer accepts. */
  keyVersions: 'KEY#*',
  /** The keys createSecret generated, which setSecret alone may register. */
  issuedKeys: 'ISSUED#*',
  /** A client's notifications, operator actions and pending-rotation sightings. */
  clientRecords: 'CLIENT#*',
  /** Key deliveries: the per-minute counters and their audit entries. */
  deliveries: 'DELIVERY#*',
  usageCounters: 'USAGE#*',
  refusalCounters: 'REFUSED#*',
  usageBatches: 'USAGEBATCH#*',
  /** The revocation feed the authorizers poll. */
  revocations: 'REVOCATIONS',
  /** Client registrations: each client's one secret and its settings. */
  registrations: 'REGISTRATION',
  /** The known-key set the authorizers keep: its buckets, its additions, and its completeness. */
  knownKeys: 'KEYSET',
  /** The API stages whose authorizer is keyroll's, per region, remembered for the next emergency's flush. */
  authorizerStages: 'STAGES',
  /** Replica regions an operator took out of the rotation's replica wait, and the audit of it (written by operators only). */
  replicaWait: 'REPLICAWAIT',
} as const;

export type KeyTableFamily = keyof typeof KEY_TABLE_FAMILIES;

/** A key as DynamoDB's low-level API takes it. */
export function attributeKey(key: { readonly pk: string; readonly sk: string }): { pk: { S: string }; sk: { S: string } } {
  return { pk: { S: key.pk }, sk: { S: key.sk } };
}
