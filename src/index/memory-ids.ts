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
/** A rebuild fills the table in 2^REGION_BITS regions, one after the other. */
const REGION_BITS = 10;
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
  readonly ids: string[];
  /** Two cells per bucket: slot + 1 (0 = empty) and the id's hash. */
  #cells: Int32Array = NO_CELLS;
  #mask = -1;

  /**
   * Slot i for ids[i]; the array is taken over, not copied. Throws when an id
   * appears twice. Complexity: O(n).
   */
  constructor(ids: string[] = []) {
    this.ids = ids;
    if (ids.length > 0) this.#rebuild(ids.length);
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

  /**
   * Forgets the participant (an erasure) and returns the slot they had, or
   * −1. The slot is never handed out again: its id becomes '' (no
   * participant id is empty), so the string is released. Backward-shift
   * deletion keeps every probe chain whole without tombstones.
   * Complexity: O(1) expected.
   */
  remove(id: string): number {
    const slot = this.slotOf(id);
    if (slot === -1) return -1;
    const cells = this.#cells;
    const mask = this.#mask;
    let hole = hashOf(id) & mask;
    while (cells[2 * hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; cells[2 * next] !== 0; next = (next + 1) & mask) {
      const home = cells[2 * next + 1]! & mask;
      // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      cells[2 * hole] = cells[2 * next]!;
      cells[2 * hole + 1] = cells[2 * next + 1]!;
      hole = next;
    }
    cells[2 * hole] = 0;
    cells[2 * hole + 1] = 0;
    this.ids[slot] = '';
    return slot;
  }

  /** Gives a new participant the next slot and returns it. The id must not have one yet. Complexity: O(1) amortised. */
  add(id: string): number {
    const slot = this.ids.length;
    this.ids.push(id);
    if (slot + 1 > MAX_LOAD * (this.#mask + 1)) this.#rebuild(2 * (slot + 1));
    else this.#insert(slot, hashOf(id));
    return slot;
  }

  #insert(slot: number, hash: number): void {
    const cells = this.#cells;
    let bucket = hash & this.#mask;
    for (let stored = cells[2 * bucket]!; stored !== 0; stored = cells[2 * bucket]!) {
      if (cells[2 * bucket + 1] === hash && this.ids[stored - 1] === this.ids[slot]) throw new Error(`participant '${this.ids[slot]}' appears twice`);
      bucket = (bucket + 1) & this.#mask;
    }
    cells[2 * bucket] = slot + 1;
    cells[2 * bucket + 1] = hash;
  }

  /**
   * Refills a table sized for `count` ids with every id. The ids go in by
   * region of the table (a counting sort on their buckets' top bits), so the
   * writes stay local instead of missing the cache once per id.
   */
  #rebuild(count: number): void {
    let buckets = 8;
    while (count > MAX_LOAD * buckets) buckets *= 2;
    this.#cells = new Int32Array(2 * buckets);
    this.#mask = buckets - 1;
    const n = this.ids.length;
    const hashes = new Int32Array(n);
    const shift = Math.max(0, 31 - Math.clz32(buckets) - REGION_BITS);
    const starts = new Int32Array((buckets >>> shift) + 1);
    let live = 0;
    for (let slot = 0; slot < n; slot++) {
      // A removed participant's slot ('') stays out of the table.
      if (this.ids[slot] === '') continue;
      const hash = hashOf(this.ids[slot]!);
      hashes[slot] = hash;
      starts[((hash & this.#mask) >>> shift) + 1]!++;
      live++;
    }
    for (let region = 1; region < starts.length; region++) starts[region]! += starts[region - 1]!;
    const byRegion = new Int32Array(live);
    for (let slot = 0; slot < n; slot++) if (this.ids[slot] !== '') byRegion[starts[(hashes[slot]! & this.#mask) >>> shift]!++] = slot;
    for (let i = 0; i < live; i++) {
      const slot = byRegion[i]!;
      this.#insert(slot, hashes[slot]!);
    }
  }
}
