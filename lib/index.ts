/** keyroll: zero-downtime API key rotation for Amazon API Gateway, as a CDK construct. */
export { RotatingApiKeys } from './rotating-api-keys';
export { RotatingApiKeysReplica, type RotatingApiKeysReplicaProps } from './replica';
export type { ApiClientProps, ReplicaRegion, RotatingApiKeysProps, UsagePlanLimits } from './props';
export { KeyRotationSchedule } from './key-rotation-schedule';
export { REPLICA_REGIONS_WARNING } from './key-table';
// Types in the construct's public members and props: a user can name what they are given.
export { KeyrollFunction } from './keyroll-function';
export type { QuotaPeriod } from '../lambda/contracts/usage-plans';
export { InvalidKeyrollPropsError } from '../lambda/domain/errors';
export { HTTP_API_ACCESS_LOG_FIELDS, REST_API_ACCESS_LOG_FIELDS, USAGE_LOG_FIELDS } from '../lambda/contracts/access-log';
