import type { ClientRegistry, KeyTable, RevocationFeed } from './ports';

/** Why a removed client's keys were revoked, as `keyroll status` shows it. */
export const REMOVED_FROM_DEPLOYMENT = 'client removed from the deployment';

/**
 * A client removed from the construct's `clients`: its registration goes first (so the rotation issues it no
 * more keys), then every key version it still has is revoked and announced to the authorizers, as `keyroll clients
 * remove` does. When the client is registered again meanwhile (declared elsewhere in the app, with another
 * secret), its keys are its new declaration's and are left alone. Returns the versions revoked.
 */
export async function endRemovedClient(
  clientId: string,
  secretArn: string,
  deps: {
    readonly registry: Pick<ClientRegistry, 'deregisterClient' | 'registrationOf'>;
    readonly keys: Pick<KeyTable, 'listClientVersions' | 'revoke'>;
    readonly revocations: Pick<RevocationFeed, 'announce'>;
    readonly clock: () => number;
  },
): Promise<readonly string[]> {
  await deps.registry.deregisterClient(clientId, secretArn);
  if ((await deps.registry.registrationOf(clientId)) !== undefined) return [];
  const open = (await deps.keys.listClientVersions(clientId)).filter((version) => version.revokedAtMs === undefined);
  const nowMs = deps.clock();
  for (const version of open) {
    await deps.keys.revoke(version.keyHash, nowMs, REMOVED_FROM_DEPLOYMENT);
    await deps.revocations.announce(version.keyHash, nowMs);
  }
  return open.map((version) => version.versionId);
}
