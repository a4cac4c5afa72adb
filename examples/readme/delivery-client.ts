import { DeliveryKeySource, KeyProvider, type DeliveryKeySourceOptions } from 'keyroll-client';

/** The key pair's private half (from generateDeliveryKeyPair) and the first key, from the client's own secret store. */
export function deliveredKeys(privateKey: DeliveryKeySourceOptions['privateKey'], firstKey: string): KeyProvider {
  return new KeyProvider({
    clientId: 'hooli',
    source: new DeliveryKeySource({ url: process.env['KEYROLL_DELIVERY_URL'] ?? '', clientId: 'hooli', privateKey, initialKey: firstKey }),
    refreshIntervalMs: 60 * 60 * 1000, // well inside the grace period: it has no notifications
  });
}
