import type { KeyTableFamily } from '../adapters/key-table-schema';

/** What one function may do in the key table: read anything it needs, write only its own item families. */
export interface KeyTableAccess {
  /** Unconditioned reads on the table (GetItem, Query). */
  readonly read: readonly string[];
  /** Reads on the byClient index. */
  readonly indexRead?: readonly string[];
  /** The item families it may write, and how; IAM refuses any other partition key (dynamodb:LeadingKeys). */
  readonly write?: readonly KeyTableWrite[];
}

export interface KeyTableWrite {
  readonly families: readonly KeyTableFamily[];
  readonly actions: readonly string[];
  /**
   * Only these attributes, for an UpdateItem that may change nothing else (`dynamodb:Attributes`, which must name
   * the key attributes too, with `dynamodb:ReturnValues` limited to what they cover:
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
   */
  readonly attributes?: readonly string[];
}

const PUT_UPDATE = ['dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/**
 * Each function's key table access, declared once: the construct grants exactly this, and a template test
 * lists it per role and fails on any widening. Nothing reachable from the internet (delivery, leak reports) or
 * fed by log lines (usage) may write a key version, an issued key or a registration: so none of them can make
 * a key valid, extend it or un-revoke it.
 */
export const KEY_TABLE_ACCESS = {
  authorizer: { read: ['dynamodb:GetItem', 'dynamodb:Query'] },
  rotation: { read: ['dynamodb:GetItem'], indexRead: ['dynamodb:Query'], write: [{ families: ['keyVersions', 'issuedKeys', 'clientRecords', 'knownKeys'], actions: PUT_UPDATE }] },
  usage: { read: ['dynamodb:GetItem'], write: [{ families: ['usageCounters', 'refusalCounters', 'usageBatches'], actions: PUT_UPDATE }] },
  monitor: { read: ['dynamodb:GetItem', 'dynamodb:Query'], indexRead: ['dynamodb:Query'], write: [{ families: ['keyVersions', 'clientRecords', 'knownKeys'], actions: PUT_UPDATE }] },
  delivery: { read: ['dynamodb:GetItem'], write: [{ families: ['deliveries'], actions: PUT_UPDATE }] },
  emergency: { read: ['dynamodb:GetItem'], indexRead: ['dynamodb:Query'], write: [{ families: ['keyVersions', 'clientRecords', 'revocations', 'authorizerStages'], actions: PUT_UPDATE }] },
  // A client removed from the deployment: its registration goes, and its keys are revoked, which is all it may
  // do to a key version (no window, no un-revoking: UpdateItem of the revocation attributes only).
  firstKey: {
    read: ['dynamodb:GetItem'],
    indexRead: ['dynamodb:Query'],
    write: [
      { families: ['registrations'], actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'] },
      { families: ['keyVersions'], actions: ['dynamodb:UpdateItem'], attributes: ['pk', 'sk', 'revokedAtMs', 'revokedReason', 'purgeAt'] },
      { families: ['revocations'], actions: ['dynamodb:UpdateItem'], attributes: ['pk', 'sk', 'revoked', 'itemType', 'purgeAt'] },
    ],
  },
} as const satisfies Readonly<Record<string, KeyTableAccess>>;
