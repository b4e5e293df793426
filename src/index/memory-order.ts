/**
 * The order-statistic structure under the in-process engine: the entries of one
 * board in rank order (core/ordering.ts compareKeys), addressed by slot, a dense
 * integer the board hands out once per participant.
 *
 * Layout, chosen for memory and cache behaviour rather than one object per entry:
 * - Per slot, one record of three float64s: achievedAt, updatedAt and where
 *   the slot was last seen (a location, see below): its block for sure, and a
 *   hint of its index there that inserts and removals in the block make stale. A submission reads all three, and side by side
 *   they cost one cache miss instead of three. Participant ids live in the
 *   board's array, shared by reference.
 * - The ranking is a list of blocks of at most BLOCK_CAPACITY entries. A block
 *   holds its slots (Int32Array) and their scores (Float64Array) side by side,
 *   so the binary search inside a block reads one contiguous array and only
 *   touches per-slot columns on a score tie.
 * - Scores are stored as an ordering key that ascends in rank order (negated on
 *   `desc` boards), so every comparison is one `<` whatever the sort order.
 *   Negating a safe integer is exact.
 * - A Fenwick tree over the block sizes, in list order, turns a block position
 *   into the rank of its first entry and a rank into a block, in O(log blocks).
 *   Splits and merges rebuild it in O(blocks); a block must gain or lose a
 *   quarter of its capacity between two of them, so the cost spreads thin.
 *
 * A location ("at") is `block << BLOCK_SHIFT | index`. It is valid until the
 * next change; callers use it at once and never keep it.
 */
import type { SortOrder } from '../core/types.js';
import { rankOrder } from './memory-sort.js';

const BLOCK_SHIFT = 9;
/** Exported for tests that aim at block boundaries. */
export const BLOCK_CAPACITY = 1 << BLOCK_SHIFT;
const INDEX_MASK = BLOCK_CAPACITY - 1;
const HALF_BLOCK = BLOCK_CAPACITY >> 1;
/** A full block shares entries with a neighbour that has at least this much room, rather than split. */
const SHARE_FROM = BLOCK_CAPACITY >> 3;
/** A block this small merges with a neighbour when both fit in one block. */
const MERGE_BELOW = BLOCK_CAPACITY >> 2;
/** A bulk load leaves 1/8 of each block free, so the first inserts do not split at once. */
const LOAD_FILL = BLOCK_CAPACITY - (BLOCK_CAPACITY >> 3);
/** A board's first block starts this small and doubles up to BLOCK_CAPACITY. */
const FIRST_BLOCK_CAPACITY = 8;

/** Per-slot record: achievedAt, updatedAt, last location (block exact, index a hint). */
const RECORD = 3;
const UPDATED_AT = 1;
const SEEN_AT = 2;

const NO_SLOTS = new Int32Array(0);
const NO_KEYS = new Float64Array(0);

function grownF64(array: Float64Array, needed: number): Float64Array {
  const next = new Float64Array(Math.max(needed, array.length * 2));
  next.set(array);
  return next;
}

function grownI32(array: Int32Array, needed: number): Int32Array {
  const next = new Int32Array(Math.max(needed, array.length * 2));
  next.set(array);
  return next;
}

export class SlotOrder {
  readonly #desc: boolean;
  /** Participant id per slot; owned and appended to by the board. */
  readonly #ids: readonly string[];
  #records: Float64Array = NO_KEYS;
  #size = 0;

  /** Per block id. Ids of merged-away blocks are reused by later splits. */
  #blockSlots: Int32Array[] = [];
  #blockKeys: Float64Array[] = [];
  #blockLength: Int32Array = NO_SLOTS;
  #blockPosition: Int32Array = NO_SLOTS;
  #freeBlocks: number[] = [];

  /** Per list position: the block there, and the key of its first entry (a compact copy for the block search). */
  #order: Int32Array = NO_SLOTS;
  #firstKey: Float64Array = NO_KEYS;
  #blockCount = 0;
  /** 1-based Fenwick tree of block lengths by list position. */
  #fenwick: Int32Array = NO_SLOTS;

  constructor(sortOrder: SortOrder, ids: readonly string[]) {
    this.#desc = sortOrder === 'desc';
    this.#ids = ids;
  }

  /**
   * Builds the order of slots 0..n−1 from their columns, and overwrites
   * `scores` with ordering keys. Complexity: O(n) when the slots are already
   * in rank order or ties on score and achievedAt are rare (a radix sort, see
   * memory-sort.ts).
   */
  static load(sortOrder: SortOrder, ids: readonly string[], scores: Float64Array, achievedAt: Float64Array, updatedAt: Float64Array): SlotOrder {
    const order = new SlotOrder(sortOrder, ids);
    const n = scores.length;
    if (n === 0) return order;
    const keys = scores;
    if (order.#desc) for (let slot = 0; slot < n; slot++) keys[slot] = 0 - keys[slot]!;
    const ranked = rankOrder(keys, achievedAt, ids);
    const records = new Float64Array(n * RECORD);
    for (let slot = 0; slot < n; slot++) {
      records[slot * RECORD] = achievedAt[slot]!;
      records[slot * RECORD + UPDATED_AT] = updatedAt[slot]!;
    }
    order.#records = records;

    const blocks = Math.ceil(n / LOAD_FILL);
    order.#reserveBlocks(blocks);
    let next = 0;
    for (let b = 0; b < blocks; b++) {
      // Spread the entries evenly, so no block starts nearly full or nearly empty.
      const length = Math.floor((n * (b + 1)) / blocks) - next;
      // A lone block gets a power of two, as if it had grown from FIRST_BLOCK_CAPACITY.
      const capacity = blocks === 1 ? Math.max(FIRST_BLOCK_CAPACITY, 1 << (32 - Math.clz32(length - 1))) : BLOCK_CAPACITY;
      const blockSlots = new Int32Array(capacity);
      const blockKeys = new Float64Array(capacity);
      for (let i = 0; i < length; i++) {
        const slot = ranked[next + i]!;
        blockSlots[i] = slot;
        blockKeys[i] = keys[slot]!;
        records[slot * RECORD + SEEN_AT] = (b << BLOCK_SHIFT) | i;
      }
      order.#blockSlots.push(blockSlots);
      order.#blockKeys.push(blockKeys);
      order.#blockLength[b] = length;
      order.#order[b] = b;
      order.#blockPosition[b] = b;
      order.#firstKey[b] = blockKeys[0]!;
      next += length;
    }
    order.#blockCount = blocks;
    order.#size = n;
    order.#rebuildFenwick();
    return order;
  }

  /** Number of entries. Complexity: O(1). */
  get size(): number {
    return this.#size;
  }

  /** Bytes of every typed array of the structure (capacity, not just what is in use). */
  get byteSize(): number {
    let bytes = this.#records.byteLength;
    bytes += this.#blockLength.byteLength + this.#blockPosition.byteLength;
    bytes += this.#order.byteLength + this.#firstKey.byteLength + this.#fenwick.byteLength;
    for (let b = 0; b < this.#blockSlots.length; b++) bytes += this.#blockSlots[b]!.byteLength + this.#blockKeys[b]!.byteLength;
    return bytes;
  }

  /**
   * Adds a slot that is not in the order yet (its id must already be in the
   * board's id array) and returns its rank. Complexity: O(log n + B).
   */
  insert(slot: number, score: number, achievedAt: number, updatedAt: number): number {
    if ((slot + 1) * RECORD > this.#records.length) this.#records = grownF64(this.#records, (slot + 1) * RECORD);
    this.#records[slot * RECORD] = achievedAt;
    this.#records[slot * RECORD + UPDATED_AT] = updatedAt;
    if (this.#blockCount === 0) this.#openFirstBlock();
    return this.#place(slot, this.#desc ? 0 - score : score, achievedAt);
  }

  /**
   * Where the slot is now. Complexity: O(1) when the hint holds (no change in
   * its block since it was last seen), else O(B), a scan of the block (native
   * indexOf beats a JS loop here), which renews the hint.
   */
  locate(slot: number): number {
    const seen = this.#records[slot * RECORD + SEEN_AT]!;
    const block = seen >>> BLOCK_SHIFT;
    const slots = this.#blockSlots[block]!;
    const hint = seen & INDEX_MASK;
    // Stale copies may sit past the block's length, but never before the live one.
    if (slots[hint] === slot && hint < this.#blockLength[block]!) return seen;
    const index = slots.indexOf(slot);
    if (index < 0) throw new Error(`slot ${slot} is missing from block ${block}`);
    const at = (block << BLOCK_SHIFT) | index;
    this.#records[slot * RECORD + SEEN_AT] = at;
    return at;
  }

  /** Complexity: O(log blocks). */
  rankAt(at: number): number {
    return this.#prefix(this.#blockPosition[at >>> BLOCK_SHIFT]!) + (at & INDEX_MASK) + 1;
  }

  slotAt(at: number): number {
    return this.#blockSlots[at >>> BLOCK_SHIFT]![at & INDEX_MASK]!;
  }

  scoreAt(at: number): number {
    const key = this.#blockKeys[at >>> BLOCK_SHIFT]![at & INDEX_MASK]!;
    return this.#desc ? 0 - key : key;
  }

  achievedAtOf(slot: number): number {
    return this.#records[slot * RECORD]!;
  }

  updatedAtOf(slot: number): number {
    return this.#records[slot * RECORD + UPDATED_AT]!;
  }

  setUpdatedAt(slot: number, updatedAt: number): void {
    this.#records[slot * RECORD + UPDATED_AT] = updatedAt;
  }

  /** The location of rank `rank` (1 ≤ rank ≤ size). Complexity: O(log blocks). */
  locateRank(rank: number): number {
    const fenwick = this.#fenwick;
    const count = this.#blockCount;
    let position = 0;
    let remaining = rank - 1;
    for (let step = 1 << (31 - Math.clz32(count)); step > 0; step >>= 1) {
      const next = position + step;
      if (next <= count && fenwick[next]! <= remaining) {
        position = next;
        remaining -= fenwick[next]!;
      }
    }
    return (this.#order[position]! << BLOCK_SHIFT) | remaining;
  }

  /** The location of the next entry in rank order, or −1 after the last. Complexity: O(1). */
  next(at: number): number {
    const block = at >>> BLOCK_SHIFT;
    const index = (at & INDEX_MASK) + 1;
    if (index < this.#blockLength[block]!) return at + 1;
    const position = this.#blockPosition[block]! + 1;
    return position < this.#blockCount ? this.#order[position]! << BLOCK_SHIFT : -1;
  }

  /**
   * Gives the entry at `at` a new score and achievedAt and returns its new
   * rank. Complexity: O(log n + B); O(log blocks) when the entry keeps its place.
   */
  move(at: number, score: number, achievedAt: number): number {
    const slot = this.slotAt(at);
    const key = this.#desc ? 0 - score : score;
    const id = this.#ids[slot]!;
    if (this.#keepsPlace(at, key, achievedAt, id)) {
      const block = at >>> BLOCK_SHIFT;
      const index = at & INDEX_MASK;
      this.#blockKeys[block]![index] = key;
      this.#records[slot * RECORD] = achievedAt;
      if (index === 0) this.#firstKey[this.#blockPosition[block]!] = key;
      return this.rankAt(at);
    }
    this.#removeAt(at);
    this.#records[slot * RECORD] = achievedAt;
    return this.#place(slot, key, achievedAt);
  }

  /** Takes the entry at `at` out of the order; its slot may be inserted again later. Complexity: O(log blocks + B). */
  remove(at: number): void {
    this.#removeAt(at);
  }

  /** True when the key still falls between the entries before and after `at`. */
  #keepsPlace(at: number, key: number, achievedAt: number, id: string): boolean {
    const block = at >>> BLOCK_SHIFT;
    const index = at & INDEX_MASK;
    let before = -1;
    if (index > 0) before = at - 1;
    else {
      const position = this.#blockPosition[block]!;
      if (position > 0) {
        const previous = this.#order[position - 1]!;
        before = (previous << BLOCK_SHIFT) | (this.#blockLength[previous]! - 1);
      }
    }
    if (before !== -1 && this.#precedes(key, achievedAt, id, before)) return false;
    const after = this.next(at);
    return after === -1 || this.#precedes(key, achievedAt, id, after);
  }

  /** True when the key (key, achievedAt, id) ranks before the entry at `at`. Never equal: ids are unique. */
  #precedes(key: number, achievedAt: number, id: string, at: number): boolean {
    const other = this.#blockKeys[at >>> BLOCK_SHIFT]![at & INDEX_MASK]!;
    if (key !== other) return key < other;
    const slot = this.slotAt(at);
    const otherAchievedAt = this.#records[slot * RECORD]!;
    if (achievedAt !== otherAchievedAt) return achievedAt < otherAchievedAt;
    return id < this.#ids[slot]!;
  }

  #place(slot: number, key: number, achievedAt: number): number {
    const id = this.#ids[slot]!;
    const position = this.#findBlock(key, achievedAt, id);
    let block = this.#order[position]!;
    let index = this.#findIndex(block, key, achievedAt, id);
    const length = this.#blockLength[block]!;
    if (length === BLOCK_CAPACITY) {
      const at = this.#makeRoom(position, index);
      block = at >>> BLOCK_SHIFT;
      index = at & INDEX_MASK;
    } else if (length === this.#blockSlots[block]!.length) {
      // Only a board's lone first block is ever smaller than BLOCK_CAPACITY.
      this.#blockSlots[block] = grownI32(this.#blockSlots[block]!, 0);
      this.#blockKeys[block] = grownF64(this.#blockKeys[block]!, 0);
    }
    const slots = this.#blockSlots[block]!;
    const keys = this.#blockKeys[block]!;
    const end = this.#blockLength[block]!;
    slots.copyWithin(index + 1, index, end);
    keys.copyWithin(index + 1, index, end);
    slots[index] = slot;
    keys[index] = key;
    this.#blockLength[block] = end + 1;
    this.#records[slot * RECORD + SEEN_AT] = (block << BLOCK_SHIFT) | index;
    this.#size++;
    const placed = this.#blockPosition[block]!;
    if (index === 0) this.#firstKey[placed] = key;
    this.#add(placed, 1);
    return this.#prefix(placed) + index + 1;
  }

  /**
   * Makes room in the full block at `position` for an entry that belongs at
   * `index`, and returns where it goes now. A neighbour with room takes half of
   * it first: that keeps blocks fuller (less memory) and splits rarer (each
   * costs O(blocks)). Only when both neighbours are nearly full does it split.
   */
  #makeRoom(position: number, index: number): number {
    const block = this.#order[position]!;
    if (position + 1 < this.#blockCount) {
      const right = this.#order[position + 1]!;
      const free = BLOCK_CAPACITY - this.#blockLength[right]!;
      if (free >= SHARE_FROM) {
        const moved = free >> 1;
        const kept = BLOCK_CAPACITY - moved;
        const rightLength = this.#blockLength[right]!;
        this.#blockSlots[right]!.copyWithin(moved, 0, rightLength);
        this.#blockKeys[right]!.copyWithin(moved, 0, rightLength);
        this.#transfer(block, kept, right, 0, moved);
        this.#resize(position, kept, rightLength + moved);
        return index <= kept ? (block << BLOCK_SHIFT) | index : (right << BLOCK_SHIFT) | (index - kept);
      }
    }
    if (position > 0) {
      const left = this.#order[position - 1]!;
      const leftLength = this.#blockLength[left]!;
      const free = BLOCK_CAPACITY - leftLength;
      if (free >= SHARE_FROM) {
        const moved = free >> 1;
        this.#transfer(block, 0, left, leftLength, moved);
        this.#blockSlots[block]!.copyWithin(0, moved, BLOCK_CAPACITY);
        this.#blockKeys[block]!.copyWithin(0, moved, BLOCK_CAPACITY);
        this.#resize(position - 1, leftLength + moved, BLOCK_CAPACITY - moved);
        return index >= moved ? (block << BLOCK_SHIFT) | (index - moved) : (left << BLOCK_SHIFT) | (leftLength + index);
      }
    }
    const right = this.#split(position);
    return index > HALF_BLOCK ? (right << BLOCK_SHIFT) | (index - HALF_BLOCK) : (block << BLOCK_SHIFT) | index;
  }

  /** Copies `count` entries from one block into another, which has room at `toIndex`, and relabels their slots. */
  #transfer(from: number, fromIndex: number, to: number, toIndex: number, count: number): void {
    const slots = this.#blockSlots[to]!;
    slots.set(this.#blockSlots[from]!.subarray(fromIndex, fromIndex + count), toIndex);
    this.#blockKeys[to]!.set(this.#blockKeys[from]!.subarray(fromIndex, fromIndex + count), toIndex);
    for (let i = toIndex; i < toIndex + count; i++) this.#records[slots[i]! * RECORD + SEEN_AT] = (to << BLOCK_SHIFT) | i;
  }

  /** After entries moved across the boundary between the blocks at `position` and `position + 1`; the left one keeps its first entry. */
  #resize(position: number, leftLength: number, rightLength: number): void {
    const left = this.#order[position]!;
    const right = this.#order[position + 1]!;
    this.#add(position, leftLength - this.#blockLength[left]!);
    this.#add(position + 1, rightLength - this.#blockLength[right]!);
    this.#blockLength[left] = leftLength;
    this.#blockLength[right] = rightLength;
    this.#firstKey[position + 1] = this.#blockKeys[right]![0]!;
  }

  #removeAt(at: number): void {
    const block = at >>> BLOCK_SHIFT;
    const index = at & INDEX_MASK;
    const length = this.#blockLength[block]! - 1;
    const keys = this.#blockKeys[block]!;
    this.#blockSlots[block]!.copyWithin(index, index + 1, length + 1);
    keys.copyWithin(index, index + 1, length + 1);
    this.#blockLength[block] = length;
    this.#size--;
    const position = this.#blockPosition[block]!;
    if (index === 0 && length > 0) this.#firstKey[position] = keys[0]!;
    this.#add(position, -1);
    if (length < MERGE_BELOW && this.#blockCount > 1) {
      const left = position + 1 < this.#blockCount ? position : position - 1;
      const combined = this.#blockLength[this.#order[left]!]! + this.#blockLength[this.#order[left + 1]!]!;
      // An empty block always merges, so the block search never meets one.
      if (combined <= BLOCK_CAPACITY) this.#merge(left);
    }
  }

  /** The list position of the last block whose first entry ranks before the key, or 0. */
  #findBlock(key: number, achievedAt: number, id: string): number {
    const firstKey = this.#firstKey;
    let low = 1;
    let high = this.#blockCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const first = firstKey[middle]!;
      const before = key !== first ? key < first : this.#precedes(key, achievedAt, id, this.#order[middle]! << BLOCK_SHIFT);
      if (before) high = middle;
      else low = middle + 1;
    }
    return low - 1;
  }

  /** The index in the block of the first entry that the key ranks before, or the block's length. */
  #findIndex(block: number, key: number, achievedAt: number, id: string): number {
    const keys = this.#blockKeys[block]!;
    const base = block << BLOCK_SHIFT;
    let low = 0;
    let high = this.#blockLength[block]!;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = keys[middle]!;
      const before = key !== other ? key < other : this.#precedes(key, achievedAt, id, base | middle);
      if (before) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Moves the upper half of the full block at `position` into a new block after it; returns the new block. */
  #split(position: number): number {
    const block = this.#order[position]!;
    const right = this.#allocateBlock(BLOCK_CAPACITY);
    this.#transfer(block, HALF_BLOCK, right, 0, BLOCK_CAPACITY - HALF_BLOCK);
    this.#blockLength[block] = HALF_BLOCK;
    this.#blockLength[right] = BLOCK_CAPACITY - HALF_BLOCK;
    const count = this.#blockCount;
    this.#order.copyWithin(position + 2, position + 1, count);
    this.#firstKey.copyWithin(position + 2, position + 1, count);
    this.#order[position + 1] = right;
    this.#firstKey[position + 1] = this.#blockKeys[right]![0]!;
    this.#blockCount = count + 1;
    this.#renumberFrom(position + 1);
    return right;
  }

  /** Appends the block at `position + 1` to the one at `position` and frees it. */
  #merge(position: number): void {
    const left = this.#order[position]!;
    const right = this.#order[position + 1]!;
    const leftLength = this.#blockLength[left]!;
    const rightLength = this.#blockLength[right]!;
    this.#transfer(right, 0, left, leftLength, rightLength);
    this.#blockLength[left] = leftLength + rightLength;
    this.#firstKey[position] = this.#blockKeys[left]![0]!;
    this.#blockSlots[right] = NO_SLOTS;
    this.#blockKeys[right] = NO_KEYS;
    this.#blockLength[right] = 0;
    this.#freeBlocks.push(right);
    const count = this.#blockCount;
    this.#order.copyWithin(position + 1, position + 2, count);
    this.#firstKey.copyWithin(position + 1, position + 2, count);
    this.#blockCount = count - 1;
    this.#renumberFrom(position + 1);
  }

  #openFirstBlock(): void {
    const block = this.#allocateBlock(FIRST_BLOCK_CAPACITY);
    this.#order[0] = block;
    this.#blockPosition[block] = 0;
    this.#blockCount = 1;
    this.#rebuildFenwick();
  }

  /** A fresh, empty block id with storage for `capacity` entries; not yet in the list. */
  #allocateBlock(capacity: number): number {
    let block = this.#freeBlocks.pop();
    if (block === undefined) {
      block = this.#blockSlots.length;
      this.#reserveBlocks(block + 1);
      this.#blockSlots.push(NO_SLOTS);
      this.#blockKeys.push(NO_KEYS);
    }
    this.#blockSlots[block] = new Int32Array(capacity);
    this.#blockKeys[block] = new Float64Array(capacity);
    this.#blockLength[block] = 0;
    return block;
  }

  /** Makes the per-block and per-position arrays hold at least `blocks` blocks. */
  #reserveBlocks(blocks: number): void {
    if (blocks <= this.#blockLength.length) return;
    this.#blockLength = grownI32(this.#blockLength, blocks);
    this.#blockPosition = grownI32(this.#blockPosition, blocks);
    this.#order = grownI32(this.#order, blocks);
    this.#firstKey = grownF64(this.#firstKey, blocks);
    this.#fenwick = new Int32Array(this.#blockLength.length + 1);
  }

  /** After blocks were inserted or removed at `from`: positions from there on changed. */
  #renumberFrom(from: number): void {
    for (let position = from; position < this.#blockCount; position++) this.#blockPosition[this.#order[position]!] = position;
    this.#rebuildFenwick();
  }

  #rebuildFenwick(): void {
    const fenwick = this.#fenwick;
    const count = this.#blockCount;
    for (let i = 1; i <= count; i++) fenwick[i] = this.#blockLength[this.#order[i - 1]!]!;
    for (let i = 1; i <= count; i++) {
      const parent = i + (i & -i);
      if (parent <= count) fenwick[parent]! += fenwick[i]!;
    }
  }

  /** Number of entries in the blocks before list position `position`. */
  #prefix(position: number): number {
    const fenwick = this.#fenwick;
    let sum = 0;
    for (let i = position; i > 0; i -= i & -i) sum += fenwick[i]!;
    return sum;
  }

  #add(position: number, delta: number): void {
    const fenwick = this.#fenwick;
    const count = this.#blockCount;
    for (let i = position + 1; i <= count; i += i & -i) fenwick[i]! += delta;
  }
}
