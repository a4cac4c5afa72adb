interface Entry<V> {
  readonly value: V;
  /** The insertion count when the entry was last moved to the young end. */
  touchedAt: number;
}

/**
 * A bounded, approximately least-recently-used map. A Map keeps insertion order, so its first key is the
 * eviction candidate; a read moves its entry to the young end only once the entry has aged by half the
 * capacity, so hot reads cost one Map lookup rather than a delete and a re-insert. Capacity bounds memory
 * whatever the traffic.
 */
export class ApproximateLruCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private insertions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`cache capacity must be a positive integer; got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.insertions - entry.touchedAt > this.capacity / 2) {
      this.entries.delete(key);
      entry.touchedAt = ++this.insertions;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, touchedAt: ++this.insertions });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
