/** keyroll: zero-downtime API key rotation for Amazon API Gateway, as a CDK construct. */
export { RotatingApiKeys } from './rotating-api-keys';
export { RotatingApiKeysReplica, type RotatingApiKeysReplicaProps } from './replica';
export type { ApiClientProps, ReplicaRegion, RotatingApiKeysProps, UsagePlanLimits } from './props';
export { KeyRotationSchedule } from './key-rotation-schedule';
export { InvalidKeyrollPropsError } from '../lambda/domain/errors';
export { ACCESS_LOG_FIELDS, USAGE_LOG_FIELDS } from '../lambda/contracts/access-log';
