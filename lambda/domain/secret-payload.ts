import { MalformedSecretError } from './errors';

/**
 * The JSON a client's secret holds: `{"clientId": "...", "apiKey": "...", ...}`. Fields other than those
 * two are the operator's and are carried over to each new version unchanged.
 */
export interface SecretPayload {
  readonly clientId: string;
  /** Absent only in a placeholder secret that has not been issued its first key yet. */
  readonly apiKey?: string;
  readonly otherFields: Readonly<Record<string, unknown>>;
}

/**
 * Parses a secret version's SecretString. Errors name the version, never the content: a JSON syntax error
 * from the runtime quotes the text it choked on, so it is not kept as the cause.
 */
export function parseSecretPayload(secretString: string, versionId: string): SecretPayload {
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new MalformedSecretError(`secret version ${versionId} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedSecretError(`secret version ${versionId} is not a JSON object`);
  }
  const { clientId, apiKey, ...otherFields } = value as Record<string, unknown>;
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new MalformedSecretError(`secret version ${versionId} has no string "clientId"`);
  }
  if (apiKey !== undefined && typeof apiKey !== 'string') {
    throw new MalformedSecretError(`secret version ${versionId} has an "apiKey" that is not a string`);
  }
  return apiKey === undefined ? { clientId, otherFields } : { clientId, apiKey, otherFields };
}

export function serializeSecretPayload(payload: SecretPayload): string {
  return JSON.stringify({ clientId: payload.clientId, apiKey: payload.apiKey, ...payload.otherFields });
}
