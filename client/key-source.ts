/** A client's key as its source has it now. */
export interface CurrentKey {
  readonly key: string;
  /** The key's version id (the Secrets Manager VersionId); changes when the key rotates. */
  readonly versionId: string;
  /** When this key stops working, if the source knows (a maximum key age); a current key otherwise has no end. */
  readonly expiresAtMs?: number;
}

/** Where a KeyProvider reads the client's current key. */
export interface KeySource {
  /** What the source calls itself in events and errors (never a key). */
  readonly description: string;
  currentKey(): Promise<CurrentKey>;
}

/** The source answered something that is not a keyroll key. Never quotes the value. */
export class KeySourceError extends Error {
  override readonly name = 'KeySourceError';
}

/** Reads keyroll's secret value: `{"clientId": …, "apiKey": …}`. */
export function keyFromSecretString(secretString: string | undefined, versionId: string | undefined, where: string): CurrentKey {
  if (secretString === undefined || versionId === undefined) throw new KeySourceError(`${where}: no current value`);
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new KeySourceError(`${where}: the current value is not JSON`);
  }
  const apiKey = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['apiKey'] : undefined;
  if (typeof apiKey !== 'string' || apiKey.length === 0) throw new KeySourceError(`${where}: the current value holds no key yet (the first rotation has not run)`);
  return { key: apiKey, versionId };
}
