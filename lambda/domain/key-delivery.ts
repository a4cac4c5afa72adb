import { acceptKey, directLookup, type KeyRefusal } from './accept-key';
import { CLIENT_SETTING, isDeliveryPublicKey } from './client-settings';
import { AWSCURRENT, type ClientRegistry, type DeliveryLedger, type KeySealer, type KeyTable, type SecretVersionStore } from './ports';
import { versionWithStage } from './secret-labels';
import { parseSecretPayload } from './secret-payload';

export type DeliveryRefusal = KeyRefusal | 'missing' | 'other_client' | 'delivery_not_enabled' | 'rate_limited' | 'no_current_key';

export type DeliveryOutcome =
  | { readonly kind: 'delivered'; readonly envelope: string; readonly versionId: string }
  | { readonly kind: 'refused'; readonly status: 401 | 403 | 429; readonly reason: DeliveryRefusal };

export interface KeyDeliveryDependencies {
  readonly keys: KeyTable;
  /** The client's registration holds its delivery public key and names its secret. */
  readonly registry: Pick<ClientRegistry, 'registrationOf'>;
  readonly secrets: Pick<SecretVersionStore, 'describe' | 'readValue'>;
  readonly ledger: DeliveryLedger;
  readonly sealer: KeySealer;
  readonly keyPrefix: string;
  readonly deliveriesPerMinute: number;
  readonly clock: () => number;
}

/**
 * Key delivery for clients outside AWS. A request for client C must present a key of C that is accepted now (the
 * authorizer's own rule: a revoked or ended key gets nothing). C must have registered a delivery public key, and
 * the answer is C's current key encrypted to that public key: a leaked API key alone never yields the next key,
 * since only the holder of C's private key can open the envelope. Rate-limited per client; every delivery is in
 * the audit trail.
 */
export class KeyDelivery {
  constructor(private readonly deps: KeyDeliveryDependencies) {}

  async deliver(request: { readonly clientId: string; readonly presentedKey: string | undefined }): Promise<DeliveryOutcome> {
    if (request.presentedKey === undefined || request.presentedKey === '') return refused(401, 'missing');
    const nowMs = this.deps.clock();
    const acceptance = await acceptKey(request.presentedKey, { prefix: this.deps.keyPrefix, lookup: directLookup((hash) => this.deps.keys.findByHash(hash)), nowMs });
    if (!acceptance.accepted) return refused(401, acceptance.reason);
    if (acceptance.version.clientId !== request.clientId) return refused(403, 'other_client');

    // The public key comes from the registration, which only keyroll writes; a tag anyone could change is not read.
    const registration = await this.deps.registry.registrationOf(request.clientId);
    const publicKey = registration?.settings[CLIENT_SETTING.deliveryPublicKey];
    if (registration === undefined || publicKey === undefined || !isDeliveryPublicKey(publicKey)) return refused(403, 'delivery_not_enabled');
    if (!(await this.deps.ledger.takeDeliveryToken(request.clientId, nowMs, this.deps.deliveriesPerMinute))) return refused(429, 'rate_limited');

    const secret = await this.deps.secrets.describe(registration.secretArn);

    const currentId = versionWithStage(secret, AWSCURRENT);
    const value = currentId === undefined ? undefined : await this.deps.secrets.readValue(secret.arn, currentId);
    const apiKey = value === undefined || currentId === undefined ? undefined : parseSecretPayload(value, currentId).apiKey;
    if (apiKey === undefined || currentId === undefined) return refused(403, 'no_current_key');
    const envelope = await this.deps.sealer.seal(publicKey, { clientId: request.clientId, versionId: currentId, apiKey, issuedAt: new Date(nowMs).toISOString() });
    await this.deps.ledger.recordDelivery({ clientId: request.clientId, deliveredVersionId: currentId, presentedVersionId: acceptance.version.versionId, atMs: nowMs });
    return { kind: 'delivered', envelope, versionId: currentId };
  }
}

function refused(status: 401 | 403 | 429, reason: DeliveryRefusal): DeliveryOutcome {
  return { kind: 'refused', status, reason };
}
