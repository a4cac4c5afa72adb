/**
 * The key table's physical design, in one place for the adapter, the CDK stack and the tests.
 *
 * | item          | pk                               | sk                         | notes                                   |
 * | ------------- | -------------------------------- | -------------------------- | --------------------------------------- |
 * | key version   | `KEY#<sha256 hex of the key>`    | `KEY`                      | in `byClient` (clientId, notBeforeMs)   |
 * | event         | `CLIENT#<clientId>`              | `EVENT#<eventId>`          | notification record and audit trail     |
 * | usage counter | `USAGE#<clientId>#<versionId>`   | `HOUR#<yyyy-mm-ddThh>#<n>` | requests per hour, sharded (usage issue) |
 *
 * Only key-version items carry both `clientId` and `notBeforeMs`, so only they appear in `byClient`.
 */
export const KEY_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byClientIndex: { indexName: 'byClient', partitionKey: 'clientId', sortKey: 'notBeforeMs' },
  /** Epoch seconds; DynamoDB deletes an item some time after it passes. Cleanup only: reads check windows. */
  timeToLiveAttribute: 'purgeAt',
} as const;
