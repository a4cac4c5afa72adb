/**
 * keyroll's errors. Messages name what is wrong and the identifiers involved (secret ARN, version id,
 * client id, tag) and never a key, a key hash or a RotationToken.
 */
export class KeyrollError extends Error {
  override readonly name: string = 'KeyrollError';
}

/** The rotation guard refused the step: the secret or the version is not in a state to rotate. */
export class RotationRefusedError extends KeyrollError {
  override readonly name: string = 'RotationRefusedError';
}

/** A secret version's value is not keyroll JSON. The value itself is never quoted. */
export class MalformedSecretError extends KeyrollError {
  override readonly name: string = 'MalformedSecretError';
}

/** A `keyroll:*` tag on a secret has a value keyroll cannot use. */
export class InvalidClientSettingError extends KeyrollError {
  override readonly name: string = 'InvalidClientSettingError';
}

/** A key hash is already registered to a different version: registering it again would hijack that entry. */
export class KeyConflictError extends KeyrollError {
  override readonly name: string = 'KeyConflictError';
}

/** The key table has no entry for a version the rotation expected to find there. */
export class KeyVersionNotFoundError extends KeyrollError {
  override readonly name: string = 'KeyVersionNotFoundError';
}

/** A key that should be accepted is not (testSecret, or the safety check before finishSecret moves AWSCURRENT). */
export class KeyVerificationError extends KeyrollError {
  override readonly name: string = 'KeyVerificationError';
}
