import { ReplicaLagError } from './errors';
import type { KeyVersion } from './key-version';

/** The key table's replicas in other regions, read where each is (multi-region installs). */
export interface KeyTableReplicas {
  readonly regions: readonly string[];
  /** The key version with this hash as the replica in `region` has it now; throws when the region cannot be read. */
  findByHash(region: string, keyHash: string): Promise<KeyVersion | undefined>;
  /** True when the region's known-key additions hold the key (registered at `registeredAtMs`); absent: not checked. */
  knownKeyAdded?(region: string, keyHash: string, registeredAtMs: number): Promise<boolean>;
}

export interface ReplicaWaitSettings {
  /** How long to wait for every replica, at most; then the step fails and Secrets Manager retries the rotation. */
  readonly boundMs: number;
  readonly pollMs: number;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Waits until the key version is readable in every replica region, polling each region that has not caught up
 * (replication is per item and asynchronous: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-global-table-design.html).
 * A region that cannot be read counts as not caught up. Returns how long each region took; throws
 * `ReplicaLagError` naming the regions still behind once the bound has passed.
 */
export async function waitUntilReplicated(
  keyHash: string,
  versionId: string,
  replicas: KeyTableReplicas,
  settings: ReplicaWaitSettings,
): Promise<Readonly<Record<string, number>>> {
  const startMs = settings.clock();
  const caughtUpAfterMs: Record<string, number> = {};
  const lastProblem = new Map<string, string>();
  let behind = [...replicas.regions];
  for (;;) {
    const results = await Promise.all(
      behind.map(async (region) => {
        try {
          const version = await replicas.findByHash(region, keyHash);
          // The region's authorizers must also know the key, or they could refuse it without reading.
          const known = version === undefined || replicas.knownKeyAdded === undefined ? true : await replicas.knownKeyAdded(region, keyHash, version.notBeforeMs);
          if (version?.versionId === versionId && known) return { region, readable: true };
          lastProblem.set(region, version?.versionId === versionId ? 'the key is there, its known-key addition not yet' : 'not there yet');
        } catch (error) {
          lastProblem.set(region, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
        return { region, readable: false };
      }),
    );
    const elapsedMs = settings.clock() - startMs;
    for (const { region, readable } of results) if (readable) caughtUpAfterMs[region] = elapsedMs;
    behind = results.filter(({ readable }) => !readable).map(({ region }) => region);
    if (behind.length === 0) return caughtUpAfterMs;
    if (elapsedMs >= settings.boundMs) {
      throw new ReplicaLagError(
        `key version ${versionId} is not readable in ${behind.map((region) => `${region} (${lastProblem.get(region) ?? 'not there yet'})`).join(', ')} after ${Math.round(elapsedMs / 1000)} s; Secrets Manager retries the rotation`,
      );
    }
    await settings.sleep(Math.min(settings.pollMs, Math.max(0, settings.boundMs - elapsedMs)));
  }
}
