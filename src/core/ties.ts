/**
 * Shared ranks (a board's `rank_ties: shared`): the order is the one of
 * core/ordering.ts either way, but entries with equal scores show the same
 * rank, competition style (1, 2, 2, 4). An entry's shared rank is 1 + the
 * number of entries with a strictly better score. Equal scores are adjacent
 * in the order, so along consecutive entries only the first needs that count:
 * each later one shares the rank of the one before it when their scores are
 * equal, and otherwise its shared rank is its unique rank (every entry before
 * it has a strictly better score).
 */
import type { RankedEntry } from './types.js';

/** An entry in rank order: its score and its unique rank (its place in the order). */
interface Placed {
  readonly score: number;
  readonly rank: number;
}

/**
 * The shared ranks of entries consecutive in rank order, given the shared
 * rank of the first (1 + the entries with a strictly better score than it).
 * Complexity: O(entries).
 */
export function sharedRanksOf(entries: readonly Placed[], firstShared: number): number[] {
  const ranks: number[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    ranks[i] = i === 0 ? firstShared : entry.score === entries[i - 1]!.score ? ranks[i - 1]! : entry.rank;
  }
  return ranks;
}

/**
 * Shared ranks of a stream of entries in rank order, e.g. an export that
 * walks a board page by page: `rankOf` is called once per entry, in order.
 * Starting at rank 1 (the default) the first entry's shared rank is 1;
 * starting elsewhere, pass the shared rank of the first entry.
 */
export class SharedRanks {
  #score = Number.NaN;
  #rank = 0;
  #first: number | null;

  constructor(firstShared: number | null = null) {
    this.#first = firstShared;
  }

  /** The shared rank of the next entry. Complexity: O(1). */
  rankOf(entry: Placed): number {
    if (this.#first !== null) {
      this.#rank = this.#first;
      this.#first = null;
    } else if (entry.score !== this.#score) {
      this.#rank = entry.rank;
    }
    this.#score = entry.score;
    return this.#rank;
  }
}


/**
 * The entries with the ranks an answer shows: `sharedRanks` (one per entry,
 * as a read with shared ranks returns them) in place of their unique ranks,
 * or the entries as they are without. Complexity: O(entries).
 */
export function withSharedRanks(entries: readonly RankedEntry[], sharedRanks: readonly number[] | undefined): readonly RankedEntry[] {
  if (sharedRanks === undefined) return entries;
  return entries.map((entry, i) => (entry.rank === sharedRanks[i] ? entry : { ...entry, rank: sharedRanks[i]! }));
}
