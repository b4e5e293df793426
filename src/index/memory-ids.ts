/**
 * Participant id → slot, for one board of the in-process engine.
 *
 * An open-addressing table in one Int32Array instead of a Map: at a million
 * entries a Map costs several times the memory, and every lookup of a random
 * participant is a chain of cache misses. Here a lookup reads one table cell
 * (slot and hash side by side, so a probe that hits another id is settled
 * without touching its string) and then the id itself to confirm.
 */

/** The table grows when it would be fuller than this. */
const MAX_LOAD = 0.7;
const NO_CELLS = new Int32Array(0);

/** FNV-1a over the UTF-16 code units, finished with murmur3's avalanche so the low bits spread well. */
function hashOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

export class ParticipantSlots {
  /** The participant id of each slot; slots are handed out in order and never reused. */
  readonly ids: string[] = [];
  /** Two cells per bucket: slot + 1 (0 = empty) and the id's hash. */
  #cells: Int32Array = NO_CELLS;
  #mask = -1;

  /** Sizes the table for `expected` ids at once, so a bulk load never rehashes. */
  constructor(expected = 0) {
    if (expected > 0) this.#allocate(expected);
  }

  get size(): number {
    return this.ids.length;
  }

  get byteSize(): number {
    return this.#cells.byteLength;
  }

  /** The participant's slot, or −1. Complexity: O(1) expected. */
  slotOf(id: string): number {
    if (this.#mask < 0) return -1;
    const cells = this.#cells;
    const hash = hashOf(id);
    for (let bucket = hash & this.#mask; ; bucket = (bucket + 1) & this.#mask) {
      const stored = cells[2 * bucket]!;
      if (stored === 0) return -1;
      if (cells[2 * bucket + 1] === hash && this.ids[stored - 1] === id) return stored - 1;
    }
  }

  /** Gives the id the next slot and returns it, or returns −1 when the id has one already. Complexity: O(1) amortised. */
  add(id: string): number {
    if ((this.ids.length + 1) > MAX_LOAD * (this.#mask + 1)) this.#allocate(2 * (this.ids.length + 1));
    const cells = this.#cells;
    const hash = hashOf(id);
    let bucket = hash & this.#mask;
    for (let stored = cells[2 * bucket]!; stored !== 0; stored = cells[2 * bucket]!) {
      if (cells[2 * bucket + 1] === hash && this.ids[stored - 1] === id) return -1;
      bucket = (bucket + 1) & this.#mask;
    }
    const slot = this.ids.length;
    this.ids.push(id);
    cells[2 * bucket] = slot + 1;
    cells[2 * bucket + 1] = hash;
    return slot;
  }

  /** A table for at least `count` ids, refilled from `ids`. */
  #allocate(count: number): void {
    let buckets = 8;
    while (count > MAX_LOAD * buckets) buckets *= 2;
    const cells = new Int32Array(2 * buckets);
    const mask = buckets - 1;
    for (let slot = 0; slot < this.ids.length; slot++) {
      const hash = hashOf(this.ids[slot]!);
      let bucket = hash & mask;
      while (cells[2 * bucket] !== 0) bucket = (bucket + 1) & mask;
      cells[2 * bucket] = slot + 1;
      cells[2 * bucket + 1] = hash;
    }
    this.#cells = cells;
    this.#mask = mask;
  }
}
