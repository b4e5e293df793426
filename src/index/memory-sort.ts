/**
 * Sorts the slots of a bulk load into rank order. A comparison sort of a
 * million slots spends most of its time on cache misses (each comparison reads
 * two random slots' columns), so this is an LSD radix sort instead. Each slot
 * becomes a record of five 32-bit words (achievedAt low/high, key low/high,
 * slot) and every stable pass of 11 bits streams the records from one array
 * into another. Only runs that tie on key and achievedAt are then compared by id.
 */

const DIGIT_BITS = 11;
const DIGIT_MASK = (1 << DIGIT_BITS) - 1;
const TWO_32 = 2 ** 32;
/** Offsets the high word of a safe integer, in [−2^21, 2^21), to an unsigned one. */
const HIGH_OFFSET = 2 ** 21;
/** Record layout: the sort words from least to most significant, then the slot. */
const WORDS = 4;
const RECORD = WORDS + 1;

/**
 * Slots 0..n−1 ordered by key ascending, then achievedAt ascending, then id
 * (the columns are indexed by slot; keys already ascend in rank order).
 * Complexity: O(n) when already sorted or without ties on (key, achievedAt).
 */
export function rankOrder(keys: Float64Array, achievedAt: Float64Array, ids: readonly string[]): Int32Array {
  const n = keys.length;
  const slots = new Int32Array(n);
  let sorted = true;
  let integers = true;
  for (let slot = 0; slot < n; slot++) {
    slots[slot] = slot;
    if (sorted && slot > 0 && compare(keys, achievedAt, ids, slot - 1, slot) > 0) sorted = false;
    if (!Number.isSafeInteger(keys[slot]) || !Number.isSafeInteger(achievedAt[slot])) integers = false;
  }
  if (sorted) return slots;
  // The radix passes split safe integers into exact 32-bit words; anything else is compared.
  if (!integers) return slots.sort((a, b) => compare(keys, achievedAt, ids, a, b));

  let records = new Uint32Array(n * RECORD);
  for (let slot = 0; slot < n; slot++) {
    const at = slot * RECORD;
    splitInto(records, at, achievedAt[slot]!);
    splitInto(records, at + 2, keys[slot]!);
    records[at + WORDS] = slot;
  }
  let spare = new Uint32Array(n * RECORD);
  const starts = new Int32Array(DIGIT_MASK + 1);
  for (let word = 0; word < WORDS; word++) {
    // Low words have 32 bits, high words 22.
    for (let shift = 0; shift < (word % 2 === 0 ? 32 : 22); shift += DIGIT_BITS) {
      starts.fill(0);
      for (let at = word; at < records.length; at += RECORD) starts[(records[at]! >>> shift) & DIGIT_MASK]!++;
      if (starts.includes(n)) continue; // every record has the same digit: the pass would change nothing
      let total = 0;
      for (let digit = 0; digit <= DIGIT_MASK; digit++) {
        const count = starts[digit]!;
        starts[digit] = total;
        total += count;
      }
      for (let from = 0; from < records.length; from += RECORD) {
        const to = starts[(records[from + word]! >>> shift) & DIGIT_MASK]!++ * RECORD;
        spare[to] = records[from]!;
        spare[to + 1] = records[from + 1]!;
        spare[to + 2] = records[from + 2]!;
        spare[to + 3] = records[from + 3]!;
        spare[to + 4] = records[from + 4]!;
      }
      [records, spare] = [spare, records];
    }
  }

  for (let i = 0; i < n; i++) slots[i] = records[i * RECORD + WORDS]!;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && sameWords(records, start, end)) end++;
    if (end - start > 1) slots.subarray(start, end).sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
    start = end;
  }
  return slots;
}

/** Writes a safe integer as two exact words: low 32 bits, then the high part offset to unsigned. */
function splitInto(records: Uint32Array, at: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  records[at] = value - high * TWO_32;
  records[at + 1] = high + HIGH_OFFSET;
}

function sameWords(records: Uint32Array, a: number, b: number): boolean {
  for (let word = 0; word < WORDS; word++) if (records[a * RECORD + word] !== records[b * RECORD + word]) return false;
  return true;
}

function compare(keys: Float64Array, achievedAt: Float64Array, ids: readonly string[], a: number, b: number): number {
  if (keys[a] !== keys[b]) return keys[a]! < keys[b]! ? -1 : 1;
  if (achievedAt[a] !== achievedAt[b]) return achievedAt[a]! < achievedAt[b]! ? -1 : 1;
  return ids[a] === ids[b] ? 0 : ids[a]! < ids[b]! ? -1 : 1;
}
