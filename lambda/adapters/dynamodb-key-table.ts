import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  paginateQuery,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { knownKeyPrefix } from '../domain/known-key-set';
import type { KnownKeySource } from '../domain/known-keys';
import { ClientAlreadyRegisteredError, KeyConflictError, KeyTableItemError, KeyVersionNotFoundError } from '../domain/errors';
import type { AuthorizerStage, StageDirectory } from '../domain/authorizer-cache-flush';
import type { KeyVersion } from '../domain/key-version';
import { parseNotification, type Notification } from '../domain/notifications';
import type {
  AuditTrail,
  ClientRegistration,
  ClientRegistry,
  DeliveryLedger,
  DeliveryRecord,
  EventLog,
  IssuedKeys,
  KeyTable,
  KnownKeyIndex,
  NewKeyVersion,
  OperatorAction,
  RecordedEvent,
  ReplicaWaitControl,
  ReplicaWaitSetting,
  RevocationFeed,
  TrailEntry,
} from '../domain/ports';
import { attributeKey, KEY_TABLE_KEYS, KEY_TABLE_SCHEMA } from './key-table-schema';

type Item = Record<string, AttributeValue>;

const DAY_SECONDS = 24 * 3600;
/** How long a closed or revoked version's record stays for status and audit before TTL removes it. */
const KEY_HISTORY_RETENTION_SECONDS = 90 * DAY_SECONDS;
const EVENT_RETENTION_SECONDS = 400 * DAY_SECONDS;

/**
 * The key table on DynamoDB. Writes that must not go backwards (registration, window closing, revocation,
 * notification records) are conditional, so retries and races cannot undo them.
 */
export class DynamoKeyTable implements KeyTable, EventLog, DeliveryLedger, AuditTrail, RevocationFeed, ClientRegistry, IssuedKeys, KnownKeyIndex, KnownKeySource, StageDirectory, ReplicaWaitControl {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async register(version: NewKeyVersion): Promise<'registered' | 'already-registered'> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: keyVersionItem(version), ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return 'registered';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const existing = await this.findByHash(version.keyHash);
    if (existing !== undefined && existing.versionId === version.versionId && existing.clientId === version.clientId) {
      return 'already-registered';
    }
    throw new KeyConflictError(`the key of version ${version.versionId} is already registered to another version`);
  }

  async findByHash(keyHash: string): Promise<KeyVersion | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keyVersionKey(keyHash), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseKeyVersionItem(Item);
  }

  async listClientVersions(clientId: string): Promise<KeyVersion[]> {
    const { indexName, partitionKey } = KEY_TABLE_SCHEMA.byClientIndex;
    const versions: KeyVersion[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: '#client = :client',
        ExpressionAttributeNames: { '#client': partitionKey },
        ExpressionAttributeValues: { ':client': { S: clientId } },
      },
    );
    for await (const page of pages) versions.push(...(page.Items ?? []).map(parseKeyVersionItem));
    return versions;
  }

  async markCurrent(keyHash: string, atMs: number): Promise<KeyVersion> {
    try {
      return await this.update(keyHash, {
        UpdateExpression: 'SET currentSinceMs = if_not_exists(currentSinceMs, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': number(atMs) },
      });
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new KeyVersionNotFoundError('the new current key is not in the key table');
      throw error;
    }
  }

  async closeWindow(keyHash: string, notAfterMs: number): Promise<KeyVersion> {
    try {
      return await this.update(keyHash, {
        UpdateExpression: 'SET notAfterMs = :notAfter, purgeAt = :purgeAt',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(revokedAtMs) AND (attribute_not_exists(notAfterMs) OR notAfterMs > :notAfter)',
        ExpressionAttributeValues: {
          ':notAfter': number(notAfterMs),
          ':purgeAt': number(Math.ceil(notAfterMs / 1000) + KEY_HISTORY_RETENTION_SECONDS),
        },
      });
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    // The window was already as short or shorter, or the version is revoked: report it as it stands.
    const unchanged = await this.findByHash(keyHash);
    if (unchanged === undefined) throw new KeyVersionNotFoundError('the key version whose window was to close is not in the key table');
    return unchanged;
  }

  /**
   * Sets only the revocation attributes, returning nothing from the update itself, so that a role allowed to
   * revoke and nothing else (`dynamodb:Attributes`, `dynamodb:ReturnValues`) can call it; the version is read after.
   */
  async revoke(keyHash: string, atMs: number, reason: string): Promise<KeyVersion> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyVersionKey(keyHash),
          UpdateExpression:
            'SET revokedAtMs = if_not_exists(revokedAtMs, :at), revokedReason = if_not_exists(revokedReason, :reason), purgeAt = if_not_exists(purgeAt, :purgeAt)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':at': number(atMs),
            ':reason': { S: reason },
            ':purgeAt': number(Math.ceil(atMs / 1000) + KEY_HISTORY_RETENTION_SECONDS),
          },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new KeyVersionNotFoundError('the key version to revoke is not in the key table');
      throw error;
    }
    const revoked = await this.findByHash(keyHash);
    if (revoked === undefined) throw new KeyVersionNotFoundError('the revoked key version is no longer in the key table');
    return revoked;
  }

  async extendWindow(keyHash: string, notAfterMs: number): Promise<KeyVersion> {
    try {
      return await this.update(keyHash, {
        UpdateExpression: 'SET notAfterMs = :notAfter, purgeAt = :purgeAt',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAtMs) AND notAfterMs < :notAfter',
        ExpressionAttributeValues: {
          ':notAfter': number(notAfterMs),
          ':purgeAt': number(Math.ceil(notAfterMs / 1000) + KEY_HISTORY_RETENTION_SECONDS),
        },
      });
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    // Already as long or longer, open-ended, or revoked: report it as it stands.
    const unchanged = await this.findByHash(keyHash);
    if (unchanged === undefined) throw new KeyVersionNotFoundError('the key version whose window was to extend is not in the key table');
    return unchanged;
  }

  async markExpired(keyHash: string, endMs: number): Promise<KeyVersion> {
    try {
      return await this.update(keyHash, {
        UpdateExpression: 'SET expiredAtMs = if_not_exists(expiredAtMs, :end)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':end': number(endMs) },
      });
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new KeyVersionNotFoundError('the key version to mark expired is not in the key table');
      throw error;
    }
  }

  async record(notification: Notification): Promise<RecordedEvent> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...eventKey(notification),
            itemType: { S: 'event' },
            eventType: { S: notification.type },
            versionId: { S: notification.versionId },
            body: { S: JSON.stringify(notification) },
            purgeAt: number(Math.ceil(Date.parse(notification.at) / 1000) + EVENT_RETENTION_SECONDS),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { notification, published: false };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: eventKey(notification), ConsistentRead: true }));
    if (Item === undefined) throw new KeyTableItemError(`event ${notification.eventId} was recorded but cannot be read back`);
    return { notification: parseNotification(JSON.parse(readString(Item, 'body'))), published: Item['publishedAtMs'] !== undefined };
  }

  async firstSeenPending(clientId: string, versionId: string, nowMs: number): Promise<number> {
    const key = attributeKey(KEY_TABLE_KEYS.pendingSeen(clientId, versionId));
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET seenAtMs = if_not_exists(seenAtMs, :now), itemType = :type, purgeAt = if_not_exists(purgeAt, :purgeAt)',
        ExpressionAttributeValues: { ':now': number(nowMs), ':type': { S: 'pendingSeen' }, ':purgeAt': number(Math.ceil(nowMs / 1000) + KEY_HISTORY_RETENTION_SECONDS) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (Attributes === undefined) throw new KeyTableItemError('UpdateItem with ReturnValues ALL_NEW returned no attributes');
    return readNumber(Attributes, 'seenAtMs');
  }

  async takeDeliveryToken(clientId: string, nowMs: number, perMinute: number): Promise<boolean> {
    const minute = new Date(nowMs).toISOString().slice(0, 16);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: attributeKey(KEY_TABLE_KEYS.deliveryCounter(clientId, minute)),
          UpdateExpression: 'ADD requests :one SET itemType = :type, purgeAt = :purgeAt',
          ConditionExpression: 'attribute_not_exists(requests) OR requests < :limit',
          ExpressionAttributeValues: { ':one': number(1), ':limit': number(perMinute), ':type': { S: 'deliveryCounter' }, ':purgeAt': number(Math.ceil(nowMs / 1000) + DAY_SECONDS) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async recordDelivery(record: DeliveryRecord): Promise<void> {
    // In the deliveries' own family, the one the delivery function may write.
    await this.putAuditItem(KEY_TABLE_KEYS.deliveryAudit(record.clientId, new Date(record.atMs).toISOString(), randomUUID()), record.atMs, {
      action: { S: 'key.delivered' },
      versionId: { S: record.deliveredVersionId },
      presentedVersionId: { S: record.presentedVersionId },
    });
  }

  async recordAction(action: OperatorAction): Promise<void> {
    await this.putAuditItem(KEY_TABLE_KEYS.audit(action.clientId, new Date(action.atMs).toISOString(), randomUUID()), action.atMs, {
      action: { S: action.action },
      actor: { S: action.actor },
      reason: { S: action.reason },
      ...(action.versionId === undefined ? {} : { versionId: { S: action.versionId } }),
      ...(action.detail === undefined ? {} : { detail: { S: action.detail } }),
    });
  }

  /** One entry of a client's audit trail: its own item, never overwritten, kept as long as notification records. */
  private async putAuditItem(key: { readonly pk: string; readonly sk: string }, atMs: number, attributes: Item): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        ConditionExpression: 'attribute_not_exists(pk)',
        Item: {
          ...attributeKey(key),
          itemType: { S: 'audit' },
          atMs: number(atMs),
          purgeAt: number(Math.ceil(atMs / 1000) + EVENT_RETENTION_SECONDS),
          ...attributes,
        },
      }),
    );
  }

  async trail(clientId: string, sinceMs: number): Promise<TrailEntry[]> {
    const entries: TrailEntry[] = [];
    // The client's own records, and its deliveries (kept apart, in the family the delivery function may write).
    for (const pk of [KEY_TABLE_KEYS.event(clientId, '').pk, KEY_TABLE_KEYS.deliveryAudit(clientId, '', '').pk]) {
      const pages = paginateQuery({ client: this.client }, { TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } }, ConsistentRead: true });
      for await (const page of pages) entries.push(...(page.Items ?? []).flatMap(trailEntryOf));
    }
    return entries.filter((entry) => entry.atMs >= sinceMs).sort((a, b) => a.atMs - b.atMs);
  }

  async registrationOf(clientId: string): Promise<ClientRegistration | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: attributeKey(KEY_TABLE_KEYS.registration(clientId)), ConsistentRead: true }));
    return Item === undefined ? undefined : parseRegistrationItem(Item);
  }

  async listRegistrations(): Promise<ClientRegistration[]> {
    const registrations: ClientRegistration[] = [];
    const pages = paginateQuery(
      { client: this.client },
      { TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: KEY_TABLE_KEYS.registration('').pk } }, ConsistentRead: true },
    );
    for await (const page of pages) registrations.push(...(page.Items ?? []).map(parseRegistrationItem));
    return registrations;
  }

  async registerClient(registration: ClientRegistration): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...attributeKey(KEY_TABLE_KEYS.registration(registration.clientId)),
            itemType: { S: 'registration' },
            clientId: { S: registration.clientId },
            secretArn: { S: registration.secretArn },
            settings: { M: Object.fromEntries(Object.entries(registration.settings).flatMap(([name, value]) => (value === undefined ? [] : [[name, { S: value }]]))) },
            registeredAtMs: number(registration.registeredAtMs),
            registeredBy: { S: registration.registeredBy },
          },
          // One secret per client: a new registration, or the one that names this secret.
          ConditionExpression: 'attribute_not_exists(pk) OR secretArn = :arn',
          ExpressionAttributeValues: { ':arn': { S: registration.secretArn } },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ClientAlreadyRegisteredError(`client "${registration.clientId}" is registered to another secret than ${registration.secretArn}`);
      throw error;
    }
  }

  async deregisterClient(clientId: string, secretArn: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: attributeKey(KEY_TABLE_KEYS.registration(clientId)),
          ConditionExpression: 'secretArn = :arn',
          ExpressionAttributeValues: { ':arn': { S: secretArn } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async recordIssued(issued: { readonly keyHash: string; readonly clientId: string; readonly versionId: string; readonly atMs: number }): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...attributeKey(KEY_TABLE_KEYS.issuedKey(issued.keyHash)),
          itemType: { S: 'issuedKey' },
          clientId: { S: issued.clientId },
          versionId: { S: issued.versionId },
          issuedAtMs: number(issued.atMs),
          purgeAt: number(Math.ceil(issued.atMs / 1000) + KEY_HISTORY_RETENTION_SECONDS),
        },
        // A hash is issued once; a second generation of the same key cannot happen (256 random bits).
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async wasIssued(keyHash: string, clientId: string, versionId: string): Promise<boolean> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: attributeKey(KEY_TABLE_KEYS.issuedKey(keyHash)), ConsistentRead: true }));
    return Item?.['clientId']?.S === clientId && Item['versionId']?.S === versionId;
  }

  async addKnownKey(keyHash: string, atMs: number): Promise<void> {
    const prefix = knownKeyPrefix(keyHash);
    const minute = new Date(atMs).toISOString().slice(0, 16);
    const add = (key: { readonly pk: string; readonly sk: string }, purgeAt?: number) =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: attributeKey(key),
          UpdateExpression: `ADD prefixes :prefix SET itemType = :type${purgeAt === undefined ? '' : ', purgeAt = :purgeAt'}`,
          ExpressionAttributeValues: { ':prefix': { SS: [prefix] }, ':type': { S: 'knownKeys' }, ...(purgeAt === undefined ? {} : { ':purgeAt': number(purgeAt) }) },
        }),
      );
    await Promise.all([add(KEY_TABLE_KEYS.knownKeyBucket(prefix)), add(KEY_TABLE_KEYS.knownKeyAdded(minute, prefix), Math.ceil(atMs / 1000) + DAY_SECONDS)]);
  }

  addToKnownKeySnapshot(keyHashes: readonly string[]): Promise<void> {
    return this.updateKnownKeyBuckets('ADD', keyHashes);
  }

  pruneKnownKeys(keyHashes: readonly string[]): Promise<void> {
    return this.updateKnownKeyBuckets('DELETE', keyHashes);
  }

  /** One UpdateItem per bucket the keys fall in (at most 256), each adding or deleting its prefixes as a set. */
  private async updateKnownKeyBuckets(operation: 'ADD' | 'DELETE', keyHashes: readonly string[]): Promise<void> {
    const byBucket = new Map<string, Set<string>>();
    for (const prefix of keyHashes.map(knownKeyPrefix)) {
      const bucket = prefix.slice(0, 2);
      byBucket.set(bucket, (byBucket.get(bucket) ?? new Set()).add(prefix));
    }
    await Promise.all(
      [...byBucket].map(([bucket, prefixes]) =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: attributeKey(KEY_TABLE_KEYS.knownKeyBucket(bucket)),
            UpdateExpression: `${operation} prefixes :prefixes`,
            ExpressionAttributeValues: { ':prefixes': { SS: [...prefixes] } },
          }),
        ),
      ),
    );
  }

  async knownKeysCompleteSince(): Promise<number | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: attributeKey(KEY_TABLE_KEYS.knownKeysMeta()), ConsistentRead: true }));
    return Item === undefined ? undefined : readOptionalNumber(Item, 'completeSinceMs');
  }

  async markKnownKeysComplete(atMs: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { ...attributeKey(KEY_TABLE_KEYS.knownKeysMeta()), itemType: { S: 'knownKeys' }, completeSinceMs: number(atMs) } }),
    );
  }

  async knownKeyAdded(keyHash: string, registeredAtMs: number): Promise<boolean> {
    const prefix = knownKeyPrefix(keyHash);
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: attributeKey(KEY_TABLE_KEYS.knownKeyAdded(new Date(registeredAtMs).toISOString().slice(0, 16), prefix)), ConsistentRead: true }),
    );
    return Item?.['prefixes']?.SS?.includes(prefix) === true;
  }

  async loadKnownKeys(): Promise<{ readonly prefixes: readonly string[]; readonly completeSinceMs?: number }> {
    const [prefixes, completeSinceMs] = await Promise.all([this.knownKeyPrefixes('BUCKET#', 'BUCKET#~'), this.knownKeysCompleteSince()]);
    return completeSinceMs === undefined ? { prefixes } : { prefixes, completeSinceMs };
  }

  knownKeysAddedSince(sinceMs: number): Promise<readonly string[]> {
    return this.knownKeyPrefixes(`ADDED#${new Date(sinceMs).toISOString().slice(0, 16)}`, 'ADDED#~');
  }

  /** The prefixes of the KEYSET items whose sort keys lie between these, read consistently. */
  private async knownKeyPrefixes(from: string, to: string): Promise<string[]> {
    const prefixes: string[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': { S: KEY_TABLE_KEYS.knownKeysMeta().pk }, ':from': { S: from }, ':to': { S: to } },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) prefixes.push(...(item['prefixes']?.SS ?? []));
    return prefixes;
  }

  async announce(keyHash: string, atMs: number): Promise<void> {
    const minute = new Date(atMs).toISOString().slice(0, 16);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: attributeKey(KEY_TABLE_KEYS.revocations(minute)),
        UpdateExpression: 'SET revoked = list_append(if_not_exists(revoked, :empty), :entry), itemType = :type, purgeAt = :purgeAt',
        ExpressionAttributeValues: {
          ':empty': { L: [] },
          ':entry': { L: [{ M: { keyHash: { S: keyHash }, atMs: number(atMs) } }] },
          ':type': { S: 'revocations' },
          ':purgeAt': number(Math.ceil(atMs / 1000) + DAY_SECONDS),
        },
      }),
    );
  }

  async rememberedStages(region: string): Promise<{ readonly stages: readonly AuthorizerStage[]; readonly discoveredAtMs: number } | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: attributeKey(KEY_TABLE_KEYS.authorizerStages(region)) }));
    if (Item === undefined) return undefined;
    const discoveredAtMs = Number(Item['discoveredAtMs']?.N);
    let stages: unknown;
    try {
      stages = JSON.parse(Item['stages']?.S ?? '');
    } catch {
      stages = undefined;
    }
    const valid = (stage: unknown): stage is AuthorizerStage => {
      const fields = (typeof stage === 'object' && stage !== null ? stage : {}) as Record<string, unknown>;
      return (fields['kind'] === 'rest' || fields['kind'] === 'http') && typeof fields['apiId'] === 'string' && typeof fields['stageName'] === 'string';
    };
    // A damaged item is as good as none: the region is listed again.
    if (!Number.isFinite(discoveredAtMs) || !Array.isArray(stages) || !stages.every(valid)) return undefined;
    return { stages, discoveredAtMs };
  }

  async rememberStages(region: string, stages: readonly AuthorizerStage[], discoveredAtMs: number): Promise<void> {
    const stored = stages.map(({ kind, apiId, stageName }) => ({ kind, apiId, stageName }));
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...attributeKey(KEY_TABLE_KEYS.authorizerStages(region)), itemType: { S: 'authorizerStages' }, stages: { S: JSON.stringify(stored) }, discoveredAtMs: number(discoveredAtMs) },
      }),
    );
  }

  async revokedSince(sinceMs: number): Promise<string[]> {
    // One small Query: the minute buckets from the one holding `sinceMs` on, eventually consistent (a replica
    // behind by a moment only delays the drop to the next poll).
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': { S: KEY_TABLE_KEYS.revocations('').pk }, ':from': { S: KEY_TABLE_KEYS.revocations(new Date(sinceMs).toISOString().slice(0, 16)).sk } },
      }),
    );
    return Items.flatMap((item) => item['revoked']?.L ?? [])
      .map((entry) => entry.M ?? {})
      .filter((entry) => Number(entry['atMs']?.N ?? 0) >= sinceMs)
      .map((entry) => entry['keyHash']?.S ?? '')
      .filter((hash) => hash !== '');
  }

  async markPublished(notification: Notification, atMs: number): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: eventKey(notification),
        UpdateExpression: 'SET publishedAtMs = if_not_exists(publishedAtMs, :at)',
        ExpressionAttributeValues: { ':at': number(atMs) },
      }),
    );
  }

  async excludedRegions(regions: readonly string[]): Promise<ReadonlySet<string>> {
    const settings = await Promise.all(
      regions.map(async (region) => {
        const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: attributeKey(KEY_TABLE_KEYS.replicaWaitRegion(region)), ConsistentRead: true }));
        return Item?.['excluded']?.BOOL === true ? [region] : [];
      }),
    );
    return new Set(settings.flat());
  }

  /** The region's setting, and an audit entry of it that is never overwritten. */
  async setReplicaWait(setting: ReplicaWaitSetting): Promise<void> {
    const attributes: Item = { excluded: { BOOL: setting.excluded }, region: { S: setting.region }, actor: { S: setting.actor }, reason: { S: setting.reason } };
    await this.putAuditItem(KEY_TABLE_KEYS.replicaWaitAudit(new Date(setting.atMs).toISOString(), randomUUID()), setting.atMs, { ...attributes, action: { S: setting.excluded ? 'region.exclude' : 'region.include' } });
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { ...attributeKey(KEY_TABLE_KEYS.replicaWaitRegion(setting.region)), itemType: { S: 'replicaWait' }, atMs: number(setting.atMs), ...attributes } }));
  }

  async replicaWaitSettings(): Promise<ReplicaWaitSetting[]> {
    const settings: ReplicaWaitSetting[] = [];
    const { pk, sk } = KEY_TABLE_KEYS.replicaWaitRegion('');
    const pages = paginateQuery(
      { client: this.client },
      { TableName: this.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)', ExpressionAttributeValues: { ':pk': { S: pk }, ':sk': { S: sk } }, ConsistentRead: true },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        settings.push({ region: item['region']?.S ?? '', excluded: item['excluded']?.BOOL === true, atMs: Number(item['atMs']?.N ?? 0), actor: item['actor']?.S ?? '', reason: item['reason']?.S ?? '' });
      }
    }
    return settings;
  }

  private async update(
    keyHash: string,
    expression: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeValues: Item },
  ): Promise<KeyVersion> {
    const { Attributes } = await this.client.send(
      new UpdateItemCommand({ TableName: this.tableName, Key: keyVersionKey(keyHash), ReturnValues: 'ALL_NEW', ...expression }),
    );
    if (Attributes === undefined) throw new KeyTableItemError('UpdateItem with ReturnValues ALL_NEW returned no attributes');
    return parseKeyVersionItem(Attributes);
  }
}

/** One audit trail entry from an item of a client's records, or none for items of other kinds. */
function trailEntryOf(item: Item): TrailEntry[] {
  const type = item['itemType']?.S;
  if (type === 'event') {
    const notification = parseNotification(JSON.parse(readString(item, 'body')));
    // Recorded before it is published: one whose publication failed is in the trail as not sent.
    const sent = item['publishedAtMs']?.N !== undefined;
    return [{ atMs: Date.parse(notification.at), kind: 'notification', what: notification.type, versionId: notification.versionId, ...(sent ? {} : { detail: 'not sent yet' }) }];
  }
  if (type !== 'audit') return [];
  const action = readString(item, 'action');
  return [{ atMs: readNumber(item, 'atMs'), kind: action === 'key.delivered' ? 'delivery' : 'operator', what: action, ...optionalStrings(item, ['versionId', 'actor', 'reason', 'detail']) }];
}

/** A registration item; settings that are not strings are an error, never a default. */
function parseRegistrationItem(item: Item): ClientRegistration {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(item['settings']?.M ?? {})) {
    if (value.S === undefined) throw new KeyTableItemError(`a registration item's setting "${name}" is not a string`);
    settings[name] = value.S;
  }
  return {
    clientId: readString(item, 'clientId'),
    secretArn: readString(item, 'secretArn'),
    settings,
    registeredAtMs: readNumber(item, 'registeredAtMs'),
    registeredBy: readString(item, 'registeredBy'),
  };
}

function keyVersionKey(keyHash: string): Item {
  return attributeKey(KEY_TABLE_KEYS.keyVersion(keyHash));
}

function eventKey(notification: Notification): Item {
  return attributeKey(KEY_TABLE_KEYS.event(notification.clientId, notification.eventId));
}

function number(value: number): AttributeValue {
  return { N: String(value) };
}

/** Serializes a key version to its item; the inverse of {@link parseKeyVersionItem}. */
export function keyVersionItem(version: KeyVersion): Item {
  const item: Item = {
    ...keyVersionKey(version.keyHash),
    itemType: { S: 'keyVersion' },
    clientId: { S: version.clientId },
    versionId: { S: version.versionId },
    keyDisplay: { S: version.keyDisplay },
    scopes: { L: version.scopes.map((scope) => ({ S: scope })) },
    notBeforeMs: number(version.notBeforeMs),
  };
  const optionalNumbers = {
    notAfterMs: version.notAfterMs,
    expiresAtMs: version.expiresAtMs,
    revokedAtMs: version.revokedAtMs,
    currentSinceMs: version.currentSinceMs,
    expiredAtMs: version.expiredAtMs,
  };
  for (const [name, value] of Object.entries(optionalNumbers)) if (value !== undefined) item[name] = number(value);
  if (version.revokedReason !== undefined) item['revokedReason'] = { S: version.revokedReason };
  if (version.usagePlan !== undefined) item['usagePlan'] = { S: version.usagePlan };
  return item;
}

/** Parses a key-version item into the domain type; a malformed item is an error, never a valid key. */
export function parseKeyVersionItem(item: Item): KeyVersion {
  const pk = readString(item, 'pk');
  if (!pk.startsWith(KEY_TABLE_KEYS.keyVersionPrefix)) throw new KeyTableItemError('an item read as a key version is not one');
  const scopes = item['scopes']?.L;
  if (scopes === undefined) throw new KeyTableItemError('a key version item has no list attribute "scopes"');
  return {
    keyHash: pk.slice(KEY_TABLE_KEYS.keyVersionPrefix.length),
    clientId: readString(item, 'clientId'),
    versionId: readString(item, 'versionId'),
    keyDisplay: readString(item, 'keyDisplay'),
    scopes: scopes.map((scope) => {
      if (scope.S === undefined) throw new KeyTableItemError('a key version item has a scope that is not a string');
      return scope.S;
    }),
    notBeforeMs: readNumber(item, 'notBeforeMs'),
    notAfterMs: readOptionalNumber(item, 'notAfterMs'),
    expiresAtMs: readOptionalNumber(item, 'expiresAtMs'),
    revokedAtMs: readOptionalNumber(item, 'revokedAtMs'),
    revokedReason: item['revokedReason']?.S,
    currentSinceMs: readOptionalNumber(item, 'currentSinceMs'),
    expiredAtMs: readOptionalNumber(item, 'expiredAtMs'),
    usagePlan: item['usagePlan']?.S,
  };
}

function readString(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new KeyTableItemError(`a key table item has no string attribute "${name}"`);
  return value;
}

function readNumber(item: Item, name: string): number {
  const value = readOptionalNumber(item, name);
  if (value === undefined) throw new KeyTableItemError(`a key table item has no number attribute "${name}"`);
  return value;
}

function readOptionalNumber(item: Item, name: string): number | undefined {
  const attribute = item[name];
  if (attribute === undefined) return undefined;
  const value = attribute.N === undefined ? Number.NaN : Number(attribute.N);
  if (!Number.isFinite(value)) throw new KeyTableItemError(`a key table item's attribute "${name}" is not a number`);
  return value;
}

function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function optionalStrings(item: Item, names: readonly ('versionId' | 'actor' | 'reason' | 'detail')[]): Partial<Record<'versionId' | 'actor' | 'reason' | 'detail', string>> {
  return Object.fromEntries(names.flatMap((name) => (item[name]?.S === undefined ? [] : [[name, item[name].S]])));
}
