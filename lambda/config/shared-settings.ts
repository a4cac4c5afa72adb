import { DEFAULT_KNOWN_KEYS_WINDOW_MS } from '../contracts/known-keys';
import { DEFAULT_KEY_PREFIX, isValidKeyPrefix } from '../domain/api-key';
import { requiredStringVariable, stringVariableWithDefault, topicArnVariable, wholeNumberVariable } from './variables';

export const DEFAULT_API_KEY_HEADER = 'x-api-key';
export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 3600;
/** The CloudWatch namespace of keyroll's EMF metrics. */
export const DEFAULT_METRICS_NAMESPACE = 'keyroll';

/** The variables more than one function reads, declared once. */
export const KEY_TABLE_NAME = requiredStringVariable('KEY_TABLE_NAME', 'keyroll-keys');

/** The prefix keys are issued with and checked against. */
export const KEY_PREFIX = stringVariableWithDefault('KEY_PREFIX', DEFAULT_KEY_PREFIX, isValidKeyPrefix, '2 to 16 lower-case letters or digits, starting with a letter');

/** In lower case: header names are compared case-insensitively. */
export const API_KEY_HEADER = stringVariableWithDefault(
  'API_KEY_HEADER',
  DEFAULT_API_KEY_HEADER,
  (v) => /^[a-z0-9-]{1,64}$/.test(v),
  'an HTTP header name',
  (v) => v.toLowerCase(),
);

/** The grace period of clients without their own tag. */
export const GRACE_PERIOD_SECONDS = wholeNumberVariable('GRACE_PERIOD_SECONDS', DEFAULT_GRACE_PERIOD_SECONDS, { min: 0, max: 366 * 24 * 3600 });

export const CLIENT_TOPIC_ARN = topicArnVariable('CLIENT_TOPIC_ARN');

export const METRICS_NAMESPACE = stringVariableWithDefault('POWERTOOLS_METRICS_NAMESPACE', DEFAULT_METRICS_NAMESPACE, (v) => /^[A-Za-z0-9._/#:-]{1,255}$/.test(v), 'a CloudWatch namespace');

/** How often each authorizer container reads the keys revoked since its last look, in milliseconds; 0 turns it off. */
export const REVOCATION_POLL_MS = wholeNumberVariable('REVOCATION_POLL_MS', 1_000, { min: 0, max: 60_000 });

/**
 * The known-key set's window (lambda/contracts/known-keys.ts): an authorizer container refuses a key it does not
 * know without a read when its set was synced this recently, and the rotation first presents a new key this
 * long (plus half a second) after adding it. 0 turns the set off: unknown keys are then bounded per source.
 */
export const KNOWN_KEYS_WINDOW_MS = wholeNumberVariable('KNOWN_KEYS_WINDOW_MS', DEFAULT_KNOWN_KEYS_WINDOW_MS, { min: 0, max: 10_000 });
