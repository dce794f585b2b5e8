/**
 * A size-bounded memo table for results that depend only on their key (internal to src/cms).
 *
 * Rules:
 * - the key must name everything the value depends on (for certificates and CRLs: the SHA-256 of their DER),
 *   so that a hit can never give another input's verdict;
 * - at most `max` entries; the oldest entry is dropped first (insertion order).
 */
export class BoundedCache<K, V> {
  readonly max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    if (!this.#map.has(key) && this.#map.size >= this.max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) {
        this.#map.delete(oldest.value);
      }
    }
    this.#map.set(key, value);
  }

  /**
   * The cached value, or `compute()`'s, stored under `key`.
   *
   * @example
   * ```ts
   * const ok = signatures.getOrCompute(`${certFp}|${issuerFp}`, () => verifyNow());
   * ```
   */
  getOrCompute(key: K, compute: () => V): V {
    const hit = this.#map.get(key);
    if (hit !== undefined || this.#map.has(key)) {
      return hit as V;
    }
    const value = compute();
    this.set(key, value);
    return value;
  }
}
