import fc from 'fast-check';
import { DynamoKeyTable } from '../../lambda/adapters/dynamodb-key-table';
import { buildNotification } from '../../lambda/domain/notifications';
import { localDynamoDbClient } from '../../local/dynalite-server';
import { InMemoryKeyTable } from '../../proof/in-memory-key-table';
import { useDynalite } from '../support/dynamodb';

/**
 * The exhaustive exploration runs on the in-memory key table; it proves something about keyroll only if that
 * table answers as the DynamoDB adapter does. Random operations on the same few versions, on both, compared.
 */
const dynamo = useDynalite();
const HASHES = ['a'.repeat(64), 'b'.repeat(64)];

type Operation =
  | { readonly kind: 'register'; readonly hash: number; readonly versionId: string; readonly clientId: string; readonly atMs: number }
  | { readonly kind: 'markCurrent' | 'closeWindow' | 'extendWindow' | 'markExpired'; readonly hash: number; readonly atMs: number }
  | { readonly kind: 'revoke'; readonly hash: number; readonly atMs: number; readonly reason: string }
  | { readonly kind: 'firstSeenPending'; readonly versionId: string; readonly atMs: number }
  | { readonly kind: 'record'; readonly versionId: string; readonly atMs: number };

const atMs = fc.integer({ min: 1_000, max: 10_000 });
const hash = fc.nat({ max: HASHES.length - 1 });
const versionId = fc.constantFrom('v1', 'v2');
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('register' as const), hash, versionId, clientId: fc.constantFrom('acme', 'globex'), atMs }),
  fc.record({ kind: fc.constantFrom('markCurrent' as const, 'closeWindow' as const, 'extendWindow' as const, 'markExpired' as const), hash, atMs }),
  fc.record({ kind: fc.constant('revoke' as const), hash, atMs, reason: fc.constantFrom('leaked', 'abandoned') }),
  fc.record({ kind: fc.constant('firstSeenPending' as const), versionId, atMs }),
  fc.record({ kind: fc.constant('record' as const), versionId, atMs }),
);

async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await call() };
  } catch (error) {
    return { error: error instanceof Error ? error.name : String(error) };
  }
}

async function run(table: InMemoryKeyTable | DynamoKeyTable, operations: readonly Operation[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const op of operations) {
    const keyHash = HASHES[op.kind === 'firstSeenPending' || op.kind === 'record' ? 0 : op.hash] ?? '';
    switch (op.kind) {
      case 'register':
        results.push(await outcome(() => table.register({ keyHash, clientId: op.clientId, versionId: op.versionId, keyDisplay: 'kr_x…', scopes: ['read'], notBeforeMs: op.atMs })));
        break;
      case 'revoke':
        results.push(await outcome(() => table.revoke(keyHash, op.atMs, op.reason)));
        break;
      case 'firstSeenPending':
        results.push(await outcome(() => table.firstSeenPending('acme', op.versionId, op.atMs)));
        break;
      case 'record': {
        const notification = buildNotification('key.rotated', { clientId: 'acme', versionId: op.versionId }, op.atMs);
        results.push(await outcome(async () => (await table.record(notification)).notification));
        break;
      }
      default:
        results.push(await outcome(() => table[op.kind](keyHash, op.atMs)));
    }
  }
  for (const clientId of ['acme', 'globex']) results.push(await table.listClientVersions(clientId));
  return results;
}

describe('In-memory key table', () => {
  it('answers every operation as the DynamoDB key table does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30, size: 'max' }), async (operations) => {
        const dynamodb = new DynamoKeyTable(localDynamoDbClient(dynamo.endpoint()), await dynamo.newTable());
        expect(await run(new InMemoryKeyTable(), operations)).toEqual(await run(dynamodb, operations));
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
