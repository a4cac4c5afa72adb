/**
 * The 64-bit prefixes of key hashes (the first 16 hex digits of the SHA-256), in an open-addressing table of two
 * Uint32Arrays with linear probing, grown at half load: about 16 to 32 bytes a key, where a Set of strings
 * takes several times that (the README states the measured figures). Hand-written because it sits in every
 * authorizer container; a library would add to the bundle and the cold start. Two different keys share a prefix
 * with probability n / 2^64: a shared prefix only costs a table read, never an answer.
 */
export class KnownKeySet {
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  private used = new Uint8Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The bytes its arrays take. */
  get byteLength(): number {
    return this.high.byteLength + this.low.byteLength + this.used.byteLength;
  }

  /** Adds the prefix of a key hash (64 hex digits) or a prefix itself (16). */
  add(hash: string): void {
    if ((this.count + 1) * 2 > this.used.length) this.grow();
    if (this.insert(parseWord(hash, 0), parseWord(hash, 8))) this.count++;
  }

  has(hash: string): boolean {
    const high = parseWord(hash, 0);
    const low = parseWord(hash, 8);
    const mask = this.used.length - 1;
    for (let slot = low & mask; this.used[slot] === 1; slot = (slot + 1) & mask) {
      if (this.low[slot] === low && this.high[slot] === high) return true;
    }
    return false;
  }

  private insert(high: number, low: number): boolean {
    const mask = this.used.length - 1;
    let slot = low & mask;
    for (; this.used[slot] === 1; slot = (slot + 1) & mask) {
      if (this.low[slot] === low && this.high[slot] === high) return false;
    }
    this.used[slot] = 1;
    this.high[slot] = high;
    this.low[slot] = low;
    return true;
  }

  private grow(): void {
    const [high, low, used] = [this.high, this.low, this.used];
    this.high = new Uint32Array(used.length * 2);
    this.low = new Uint32Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    for (let slot = 0; slot < used.length; slot++) if (used[slot] === 1) this.insert(high[slot] ?? 0, low[slot] ?? 0);
  }
}

/** The length of the prefix the set keeps, in hex digits. */
export const KNOWN_KEY_PREFIX_LENGTH = 16;

export function knownKeyPrefix(keyHash: string): string {
  return keyHash.slice(0, KNOWN_KEY_PREFIX_LENGTH);
}

function parseWord(hash: string, at: number): number {
  const word = Number.parseInt(hash.slice(at, at + 8), 16);
  return Number.isNaN(word) ? 0 : word >>> 0;
}
