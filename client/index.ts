/**
 * keyroll's client SDK (`keyroll/client`): a KeyProvider that always has a working key of a keyroll-protected
 * API, from the client's secret in Secrets Manager or from keyroll's key delivery route, and the helpers that
 * read keyroll's notifications.
 */
export { KeyProvider, type KeyProviderEvent, type KeyProviderOptions, type RefreshReason } from './key-provider';
export { KeySourceError, type CurrentKey, type KeySource } from './key-source';
export { DeliveryKeySource, generateDeliveryKeyPair, type DeliveryKeySourceOptions, type DeliveryPrivateKey } from './delivery-key-source';
export { SecretsManagerKeySource, type SecretsManagerKeySourceOptions } from './secrets-manager-key-source';
export { notificationOfSnsMessage, notificationOfSqsBody, SnsMessageRejectedError, verifySnsMessage, type SnsHttpMessage, type SnsVerificationOptions } from './notifications';
export type { Notification, NotificationType } from '../lambda/domain/notifications';
