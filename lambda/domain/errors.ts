/**
 * Every error keyroll throws, in one module; all extend KeyrollError. Messages name what is wrong and the
 * identifiers involved (secret ARN, version id, client id, tag, variable, prop) and never a key, a key hash
 * or a RotationToken. A `cause` is kept only where it cannot quote a secret: a JSON parser's error quotes its
 * input, so errors about secret values and log lines drop it.
 */
export class KeyrollError extends Error {
  override readonly name: string = 'KeyrollError';

  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
  }
}

// Rotation

/** The rotation guard refused the step: the secret or the version is not in a state to rotate. */
export class RotationRefusedError extends KeyrollError {
  override readonly name: string = 'RotationRefusedError';
}

/**
 * The secret is not the one keyroll registered for the client its tag names (or that client has no
 * registration): only keyroll issues keys, so the rotation refuses it, and tells operations.
 */
export class UnregisteredSecretError extends RotationRefusedError {
  override readonly name: string = 'UnregisteredSecretError';
}

/** A pending key that keyroll's createSecret did not generate for this client and version: it is never registered. */
export class UnissuedKeyError extends RotationRefusedError {
  override readonly name: string = 'UnissuedKeyError';
}

/** A key version has not reached every replica region of the key table within the bound: the step fails, to be retried. */
export class ReplicaLagError extends KeyrollError {
  override readonly name: string = 'ReplicaLagError';
}

/** A replica of the client's secret has failed: its readers would keep an old key, so AWSCURRENT does not move. */
export class ReplicaFailedError extends KeyrollError {
  override readonly name: string = 'ReplicaFailedError';
}

/** A secret version's value is not keyroll JSON. The value itself is never quoted. */
export class MalformedSecretError extends KeyrollError {
  override readonly name: string = 'MalformedSecretError';
}

/** A client setting (in its registration) or its client-id tag has a value keyroll cannot use. */
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

/** The new client's first rotation did not complete in time. */
export class FirstKeyTimeoutError extends KeyrollError {
  override readonly name: string = 'FirstKeyTimeoutError';
}

/** The emergency function could not end the keys it was given. */
export class EmergencyFunctionError extends KeyrollError {
  override readonly name: string = 'EmergencyFunctionError';
}

/** Some clients could not be checked by a monitor run; the others were. */
export class MonitorRunError extends KeyrollError {
  override readonly name: string = 'MonitorRunError';
}

/** A client id is registered to another secret: one secret per client. */
export class ClientAlreadyRegisteredError extends KeyrollError {
  override readonly name: string = 'ClientAlreadyRegisteredError';
}

/** A deploy would give a registered client a new secret under another name: a new key its readers never see. */
export class SecretRenameRefusedError extends KeyrollError {
  override readonly name: string = 'SecretRenameRefusedError';
}

/** An operator's request names a client or a key version this install does not have. */
export class UnknownClientOrVersionError extends KeyrollError {
  override readonly name: string = 'UnknownClientOrVersionError';
}

/** An operator's request is not allowed as asked (a revoked version extended, a maximum passed without force…). */
export class OperationRefusedError extends KeyrollError {
  override readonly name: string = 'OperationRefusedError';
}

/** A new client's settings, as given, break a rule of the construct: nothing was created. */
export class NewClientSettingsRefusedError extends OperationRefusedError {
  override readonly name: string = 'NewClientSettingsRefusedError';
}

/** The version was revoked before: a revocation is final, and the first one's time and reason stand. */
export class AlreadyRevokedError extends OperationRefusedError {
  override readonly name: string = 'AlreadyRevokedError';
}

// Keys, scopes and configuration

/** A key prefix that would make keys unparseable or ambiguous. */
export class InvalidKeyPrefixError extends KeyrollError {
  override readonly name: string = 'InvalidKeyPrefixError';

  constructor(prefix: string) {
    super(`key prefix must be 2 to 16 lower-case letters or digits, starting with a letter; got "${prefix}"`);
  }
}

/** The route→scope map is not one keyroll can use. */
export class InvalidRouteScopesError extends KeyrollError {
  override readonly name: string = 'InvalidRouteScopesError';
}

/** A function's environment variable is missing or has a value its reader does not accept. */
export class ConfigurationError extends KeyrollError {
  override readonly name: string = 'ConfigurationError';
}

/** A construct prop keyroll cannot use. Raised at synth time; the message shows the bad value. */
export class InvalidKeyrollPropsError extends KeyrollError {
  override readonly name: string = 'InvalidKeyrollPropsError';
}

// What arrives from outside

/** The event is not the one Secrets Manager sends to a rotation function. */
export class InvalidRotationEventError extends KeyrollError {
  override readonly name: string = 'InvalidRotationEventError';
}

/** The event is not a CloudFormation custom resource request for a client's first key. */
export class InvalidFirstKeyEventError extends KeyrollError {
  override readonly name: string = 'InvalidFirstKeyEventError';
}

/** The event is not a request the emergency function serves. */
/** API Gateway's caches could not be flushed everywhere; the message names each stage and the error. */
export class CacheFlushFailedError extends KeyrollError {
  override readonly name: string = 'CacheFlushFailedError';
}

export class InvalidEmergencyEventError extends KeyrollError {
  override readonly name: string = 'InvalidEmergencyEventError';
}

/** The event is not a CloudWatch Logs subscription delivery that can be read. */
export class UnreadableLogDeliveryError extends KeyrollError {
  override readonly name: string = 'UnreadableLogDeliveryError';
}

/** The event is not one API Gateway sends to a Lambda authorizer. Never reaches the caller. */
export class InvalidAuthorizerEventError extends KeyrollError {
  override readonly name: string = 'InvalidAuthorizerEventError';
}

/** A key table item that does not have the shape keyroll writes. Names the attribute, never the key hash. */
export class KeyTableItemError extends KeyrollError {
  override readonly name: string = 'KeyTableItemError';
}
