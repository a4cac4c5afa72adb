import { attributeKey, KEY_TABLE_KEYS } from '../../lambda/adapters/key-table-schema';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { KeyConflictError, KeyVersionNotFoundError } from '../../lambda/domain/errors';
import type { KeyVersion } from '../../lambda/domain/key-version';
import type { Notification } from '../../lambda/domain/notifications';
import type { NewKeyVersion } from '../../lambda/domain/ports';
import { useDynalite } from '../support/dynamodb';

const dynamo = useDynalite();
let table: DynamoKeyTable;
let tableName: string;

beforeEach(async () => {
  tableName = await dynamo.newTable();
  table = new DynamoKeyTable(dynamo.client(), tableName);
});

function version(n: number, overrides: Partial<NewKeyVersion> = {}): NewKeyVersion {
  return { keyHash: `${n}`.padStart(64, 'a'), clientId: 'acme', versionId: `v${n}`, keyDisplay: 'kr_AbCd…', scopes: ['read'], notBeforeMs: 1_000 * n, ...overrides };
}

describe('Key table on DynamoDB (dynalite)', () => {
  it('registers a version once and finds it by hash with every field intact', async () => {
    const v1 = version(1, { expiresAtMs: 99_000, currentSinceMs: 1_000 });
    await expect(table.register(v1)).resolves.toBe('registered');
    await expect(table.findByHash(v1.keyHash)).resolves.toEqual<KeyVersion>({ ...v1, notAfterMs: undefined, revokedAtMs: undefined, revokedReason: undefined });
    await expect(table.findByHash('f'.repeat(64))).resolves.toBeUndefined();
  });

  it('treats registering the same version again as done, and another version with the same hash as a conflict', async () => {
    await table.register(version(1));
    await expect(table.register(version(1))).resolves.toBe('already-registered');
    await expect(table.register(version(1, { versionId: 'v-other' }))).rejects.toThrow(KeyConflictError);
    await expect(table.register(version(1, { clientId: 'mallory' }))).rejects.toThrow(KeyConflictError);
    expect((await table.findByHash(version(1).keyHash))?.versionId).toBe('v1');
  });

  it('does not let a repeated registration revive a revoked version', async () => {
    await table.register(version(1));
    await table.revoke(version(1).keyHash, 5_000, 'rotation-abandoned');
    await expect(table.register(version(1))).resolves.toBe('already-registered');
    expect((await table.findByHash(version(1).keyHash))?.revokedAtMs).toBe(5_000);
  });

  it('closes a window, only ever shortening it', async () => {
    const { keyHash } = version(1);
    await table.register(version(1));
    await expect(table.closeWindow(keyHash, 50_000)).resolves.toMatchObject({ notAfterMs: 50_000 });
    await expect(table.closeWindow(keyHash, 80_000)).resolves.toMatchObject({ notAfterMs: 50_000 });
    await expect(table.closeWindow(keyHash, 30_000)).resolves.toMatchObject({ notAfterMs: 30_000 });
    const { Item } = await dynamo.client().send(new GetItemCommand({ TableName: tableName, Key: attributeKey(KEY_TABLE_KEYS.keyVersion(keyHash)) }));
    expect(Number(Item?.['purgeAt']?.N)).toBe(30 + 90 * 24 * 3600);
  });

  it('extends a closed window, only ever lengthening it, and never an open or revoked one', async () => {
    const { keyHash } = version(1);
    await table.register(version(1));
    await expect(table.extendWindow(keyHash, 90_000)).resolves.toMatchObject({ notAfterMs: undefined });
    await table.closeWindow(keyHash, 50_000);
    await expect(table.extendWindow(keyHash, 90_000)).resolves.toMatchObject({ notAfterMs: 90_000 });
    await expect(table.extendWindow(keyHash, 70_000)).resolves.toMatchObject({ notAfterMs: 90_000 });
    await table.revoke(keyHash, 60_000, 'compromised');
    await expect(table.extendWindow(keyHash, 200_000)).resolves.toMatchObject({ notAfterMs: 90_000, revokedAtMs: 60_000 });
    await expect(table.extendWindow('f'.repeat(64), 1)).rejects.toThrow(KeyVersionNotFoundError);
  });

  it('marks a version expired once, keeping the first end', async () => {
    const { keyHash } = version(1);
    await table.register(version(1));
    await expect(table.markExpired(keyHash, 50_000)).resolves.toMatchObject({ expiredAtMs: 50_000 });
    await expect(table.markExpired(keyHash, 70_000)).resolves.toMatchObject({ expiredAtMs: 50_000 });
    await expect(table.markExpired('f'.repeat(64), 1)).rejects.toThrow(KeyVersionNotFoundError);
  });

  it('never touches the window of a revoked version', async () => {
    await table.register(version(1));
    await table.revoke(version(1).keyHash, 5_000, 'compromised');
    await expect(table.closeWindow(version(1).keyHash, 60_000)).resolves.toMatchObject({ revokedAtMs: 5_000, notAfterMs: undefined });
  });

  it('says so when the version to close, mark or revoke is not there', async () => {
    await expect(table.closeWindow('e'.repeat(64), 1)).rejects.toThrow(KeyVersionNotFoundError);
    await expect(table.markCurrent('e'.repeat(64), 1)).rejects.toThrow(KeyVersionNotFoundError);
    await expect(table.revoke('e'.repeat(64), 1, 'x')).rejects.toThrow(KeyVersionNotFoundError);
  });

  it('keeps the first revocation and the first moment a version became current', async () => {
    await table.register(version(1));
    await table.revoke(version(1).keyHash, 5_000, 'first');
    await expect(table.revoke(version(1).keyHash, 9_000, 'second')).resolves.toMatchObject({ revokedAtMs: 5_000, revokedReason: 'first' });
    await table.register(version(2));
    await table.markCurrent(version(2).keyHash, 7_000);
    await expect(table.markCurrent(version(2).keyHash, 8_000)).resolves.toMatchObject({ currentSinceMs: 7_000 });
  });

  it('lists a client\'s versions oldest first, and no one else\'s', async () => {
    await table.register(version(3));
    await table.register(version(1));
    await table.register(version(2, { clientId: 'other' }));
    await table.register(version(4));
    expect((await table.listClientVersions('acme')).map((v) => v.versionId)).toEqual(['v1', 'v3', 'v4']);
    expect(await table.listClientVersions('nobody')).toEqual([]);
  });

  it('keeps event records out of the client index', async () => {
    await table.register(version(1));
    await table.record(notification('e1'));
    expect(await table.listClientVersions('acme')).toHaveLength(1);
  });

  it('records a notification once: the first body wins and publication is remembered', async () => {
    const first = notification('e1');
    await expect(table.record(first)).resolves.toEqual({ notification: first, published: false });
    await expect(table.record({ ...first, at: '2030-01-01T00:00:00.000Z' })).resolves.toEqual({ notification: first, published: false });
    await table.markPublished(first, 1234);
    await expect(table.record(first)).resolves.toEqual({ notification: first, published: true });
  });

  it('refuses an item that lacks what a key version must have, without naming its hash', async () => {
    const keyHash = 'c'.repeat(64);
    await dynamo.client().send(
      new PutItemCommand({ TableName: tableName, Item: { ...attributeKey(KEY_TABLE_KEYS.keyVersion(keyHash)), clientId: { S: 'acme' }, scopes: { L: [] } } }),
    );
    const failure = table.findByHash(keyHash);
    await expect(failure).rejects.toThrow(/has no string attribute "versionId"/);
    await expect(failure).rejects.not.toThrow(keyHash);
  });
});

function notification(eventId: string): Notification {
  return { version: 1, type: 'key.rotated', clientId: 'acme', versionId: 'v2', previousVersionId: 'v1', eventId, at: '2026-11-22T12:00:00.000Z' };
}

describe('Revocation feed (dynalite)', () => {
  it('returns the hashes revoked at or after an instant, across minute buckets', async () => {
    const tableName = await dynamo.newTable();
    const table = new DynamoKeyTable(dynamo.client(), tableName);
    const t0 = Date.UTC(2026, 11, 2, 10, 0, 59);
    await table.announce('a'.repeat(64), t0 - 30_000);
    await table.announce('b'.repeat(64), t0);
    await table.announce('c'.repeat(64), t0 + 2_000); // the next minute
    await expect(table.revokedSince(t0 - 1)).resolves.toEqual(['b'.repeat(64), 'c'.repeat(64)]);
    await expect(table.revokedSince(t0 + 1_000)).resolves.toEqual(['c'.repeat(64)]);
  });
});
