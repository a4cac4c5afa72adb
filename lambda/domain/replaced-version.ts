import type { ClientSettings } from './client-settings';
import { closingNotAfterMs, windowEndMs, type KeyVersion } from './key-version';
import { buildNotification, publishOnce, type PublishResult } from './notifications';
import type { EventLog, KeyTable, Notifier } from './ports';

export interface ReplacedVersionDependencies {
  readonly keys: KeyTable;
  readonly events: EventLog;
  readonly notifier: Notifier;
  readonly nowMs: number;
}

/**
 * The one rule for a key that lost AWSCURRENT, run by finishSecret and by the monitor's reconciliation,
 * whichever gets there first: its grace period starts now (never past its hard expiry, and a window already
 * closed is never lengthened), and the client gets `key.rotated` once, under one eventId for both callers.
 * `replaced` is undefined when the version that was current held no key keyroll registered (a new client's
 * placeholder): the client still hears that its first key is current.
 */
export async function retireReplacedVersion(
  client: ClientSettings,
  currentVersionId: string,
  replaced: KeyVersion | undefined,
  deps: ReplacedVersionDependencies,
): Promise<{ readonly closed?: KeyVersion; readonly notification: PublishResult }> {
  const closed = replaced === undefined ? undefined : await deps.keys.closeWindow(replaced.keyHash, closingNotAfterMs(replaced, deps.nowMs, client.gracePeriodMs));
  const published = await announceCurrentVersion(client, currentVersionId, closed, deps);
  return closed === undefined ? { notification: published } : { closed, notification: published };
}

/**
 * `key.rotated` for a version that became current, naming the replaced version and when its window ends; sent
 * once under its eventId, so a retry after a cut-off step sends it if it was lost and never twice.
 */
export async function announceCurrentVersion(
  client: ClientSettings,
  currentVersionId: string,
  replaced: KeyVersion | undefined,
  deps: Omit<ReplacedVersionDependencies, 'keys'>,
): Promise<PublishResult> {
  const expiresAtMs = replaced === undefined ? undefined : windowEndMs(replaced);
  const notification = buildNotification('key.rotated', { clientId: client.clientId, versionId: currentVersionId }, deps.nowMs, {
    ...(replaced === undefined ? {} : { previousVersionId: replaced.versionId }),
    ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
  });
  return publishOnce(notification, deps);
}
