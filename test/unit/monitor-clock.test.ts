import { KeyMonitor } from '../../lambda/domain/monitor';
import type { Notifier, SecretDescription, SecretDirectory } from '../../lambda/domain/ports';
import { InMemoryKeyTable } from '../../proof/in-memory-key-table';

/**
 * Found by the soak: a monitor run that began before a label moved, and read the labels after, closed the
 * replaced key's window at the run's start plus the grace period: earlier than the move plus the grace period.
 */
describe('Monitor clock', () => {
  it('closes a replaced window at the instant read after the labels, not at the start of the run', async () => {
    const startMs = Date.UTC(2026, 11, 2, 10, 0, 0);
    let nowMs = startMs;
    const table = new InMemoryKeyTable();
    await table.register({ keyHash: 'a'.repeat(64), clientId: 'acme', versionId: 'old', keyDisplay: 'kr_a…', scopes: [], notBeforeMs: startMs - 60_000 });
    await table.markCurrent('a'.repeat(64), startMs - 60_000);
    await table.register({ keyHash: 'b'.repeat(64), clientId: 'acme', versionId: 'new', keyDisplay: 'kr_b…', scopes: [], notBeforeMs: startMs - 1_000 });
    const secret: SecretDescription = {
      arn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:keyroll/clients/acme-abc123',
      rotationEnabled: true,
      versionStages: new Map([['new', ['AWSCURRENT']], ['old', ['AWSPREVIOUS']]]),
      tags: new Map([['keyroll:clientId', 'acme']]),
    };
    const directory: SecretDirectory = {
      listManagedSecrets: async () => [secret],
      // The labels are read 5 s into the run: AWSCURRENT moved in between.
      describe: async () => {
        nowMs += 5_000;
        return secret;
      },
      versionCreatedAt: async () => undefined,
    };
    await table.registerClient({ clientId: 'acme', secretArn: secret.arn, settings: {}, registeredAtMs: startMs, registeredBy: 'test' });
    const silent: Notifier = { publish: async () => undefined };
    const monitor = new KeyMonitor({
      secrets: directory,
      registry: table,
      keys: table,
      events: table,
      usage: table,
      clientNotifier: silent,
      operationsNotifier: silent,
      settings: { reminderLeadsMs: [3_600_000], stuckAfterMs: 3_600_000, defaultGracePeriodSeconds: 3600, secretNamePrefix: 'keyroll/clients/' },
    });
    await monitor.run(() => nowMs);
    expect((await table.findByHash('a'.repeat(64)))?.notAfterMs).toBe(startMs + 5_000 + 3_600_000);
  });
});
