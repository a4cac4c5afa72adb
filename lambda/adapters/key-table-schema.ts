/**
 * The key table's physical design, in one place for the adapter, the CDK stack and the tests.
 *
 * | item          | pk                               | sk                         | notes                                   |
 * | ------------- | -------------------------------- | -------------------------- | --------------------------------------- |
 * | key version   | `KEY#<sha256 hex of the key>`    | `KEY`                      | in `byClient` (clientId, notBeforeMs)   |
 * | event         | `CLIENT#<clientId>`              | `EVENT#<eventId>`          | notification record and audit trail     |
 * | usage counter | `USAGE#<clientId>#<versionId>#<shard>` | `HOUR#<yyyy-mm-ddThh>` | requests and last use per hour          |
 * | usage batch   | `USAGEBATCH#<sha256 of event ids>` | `BATCH`               | marks a delivery as counted             |
 *
 * Only key-version items carry both `clientId` and `notBeforeMs`, so only they appear in `byClient`.
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
