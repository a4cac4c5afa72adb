import { ReplicaLagError } from '../../lambda/domain/errors';
import type { KeyVersion } from '../../lambda/domain/key-version';
import { waitUntilReplicated } from '../../lambda/domain/replica-wait';

const version = { versionId: 'v2' } as KeyVersion;

/** A fake clock the waits advance, and replicas that catch up at given instants. */
function regions(readyAtMs: Record<string, number>) {
  let nowMs = 0;
  const reads: string[] = [];
  return {
    reads,
    replicas: { regions: Object.keys(readyAtMs), findByHash: async (region: string) => (reads.push(region), nowMs >= (readyAtMs[region] ?? Infinity) ? version : undefined) },
    settings: { boundMs: 1_000, pollMs: 100, clock: () => nowMs, sleep: async (ms: number) => void (nowMs += ms) },
  };
}

describe('waitUntilReplicated', () => {
  it('returns when every region has the version, having read again only the regions still behind', async () => {
    const { replicas, settings, reads } = regions({ 'us-east-1': 0, 'ap-southeast-2': 300 });
    expect(await waitUntilReplicated('hash', 'v2', replicas, settings)).toEqual({ 'us-east-1': 0, 'ap-southeast-2': 300 });
    expect(reads.filter((region) => region === 'us-east-1')).toHaveLength(1);
    expect(reads.filter((region) => region === 'ap-southeast-2')).toHaveLength(4);
  });

  it('fails after the bound naming the regions behind, and never waits past it', async () => {
    const { replicas, settings } = regions({ 'us-east-1': 0, 'ap-southeast-2': 5_000 });
    await expect(waitUntilReplicated('hash', 'v2', replicas, settings)).rejects.toThrow(new ReplicaLagError('key version v2 is not readable in ap-southeast-2 (not there yet) after 1 s; Secrets Manager retries the rotation'));
    expect(settings.clock()).toBe(1_000);
  });

  it('does not take another version of the same hash for the one awaited', async () => {
    const replicas = { regions: ['us-east-1'], findByHash: async () => ({ versionId: 'v1' }) as KeyVersion };
    let nowMs = 0;
    const settings = { boundMs: 200, pollMs: 100, clock: () => nowMs, sleep: async (ms: number) => void (nowMs += ms) };
    await expect(waitUntilReplicated('hash', 'v2', replicas, settings)).rejects.toThrow(ReplicaLagError);
  });
});
