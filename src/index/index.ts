/**
 * The live ranking of every board (DESIGN.md "index"). Two implementations
 * share this interface and one conformance suite (test/conformance/index.ts):
 * the in-process engine (index/memory.ts) and, in cluster mode, Redis sorted
 * sets driven by Lua.
 *
 * `submit` applies the board's operator and re-ranks in one atomic step, so no
 * caller ever reads a score and writes it back separately.
 */
import type { BoardRules, Entry, RankedEntry, Submission } from '../core/types.js';

export interface SubmitOutcome {
  /** The entry after the submission, with its rank. */
  readonly entry: RankedEntry;
  /** The entry before, with its rank then; null for a new participant. */
  readonly previous: RankedEntry | null;
  /** True when the ranking changed, and so the version went up by one. */
  readonly changed: boolean;
  /** The board's version after the submission. */
  readonly version: number;
}

export interface RankIndex {
  /** Makes the board known (idempotent). A board with no entries costs next to nothing. */
  open(rules: BoardRules): Promise<void>;

  /** Forgets the board and all its entries. */
  drop(boardId: string): Promise<void>;

  /**
   * Replaces the board's entries and version with the given ones (a rebuild
   * from the durable store). Complexity: O(n log n), O(n) when already sorted.
   */
  load(boardId: string, entries: Iterable<Entry>, version: number): Promise<void>;

  /**
   * Applies one submission with the board's operator. Complexity: O(log n).
   * Throws LadderError('score_overflow') when an increment leaves the range,
   * and changes nothing then.
   */
  submit(boardId: string, submission: Submission): Promise<SubmitOutcome>;

  /** The participant's entry and rank, or null. Complexity: O(log n). */
  get(boardId: string, participantId: string): Promise<RankedEntry | null>;

  /** Entries at ranks offset+1 .. offset+limit. Complexity: O(log n + limit). */
  range(boardId: string, offset: number, limit: number): Promise<RankedEntry[]>;

  /** Number of entries. Complexity: O(1). */
  total(boardId: string): Promise<number>;

  /** The board's version: +1 on every change to its ranking. Complexity: O(1). */
  version(boardId: string): Promise<number>;
}
