/**
 * The live ranking of every board (DESIGN.md "index"). Two implementations
 * share this interface and one conformance suite (test/conformance/index.ts):
 * the in-process engine (index/memory.ts) and, in cluster mode, Redis sorted
 * sets driven by Lua (index/redis.ts).
 *
 * It is a port, not a set of building blocks: `apply` takes a board's
 * submissions and, in one atomic step, deduplicates their event ids, applies
 * the operator, re-ranks and assigns versions; `read` answers any number of
 * queries from one state of the board. No caller reads a score and writes it
 * back, and no caller stitches a page together from several calls.
 */
import type { LadderError } from '../core/errors.js';
import type { BoardRules, Entry, RankedEntry, Submission } from '../core/types.js';
import type { DerivedApplied, DerivedSpec } from './derived.js';

export interface SubmitOutcome {
  /** The entry after the submission, with its rank. */
  readonly entry: RankedEntry;
  /** The entry before, with its rank then; null for a new participant. */
  readonly previous: RankedEntry | null;
  /** True when the ranking changed, and so the version went up by one. */
  readonly changed: boolean;
  /** The board's version after the submission. */
  readonly version: number;
  /**
   * True when this event id was applied before: the outcome is the one it
   * had then, and nothing changed now.
   */
  readonly duplicate: boolean;
}

/** What a read asks for. Ranks follow core/windows.ts. */
export type RankQuery =
  /** Ranks offset+1 .. offset+limit. */
  | { readonly kind: 'page'; readonly offset: number; readonly limit: number }
  /** `size` entries centred on the participant, shifted inward at the edges (aroundSpan). */
  | { readonly kind: 'around'; readonly participantId: string; readonly size: number }
  /** The participant and up to `radius` entries above and below, cut off at the edges (neighborSpan). */
  | { readonly kind: 'neighbors'; readonly participantId: string; readonly radius: number }
  /** These participants' entries, in rank order; those without one are left out. */
  | { readonly kind: 'participants'; readonly participantIds: readonly string[] };

export interface RankPage {
  readonly entries: readonly RankedEntry[];
  /** `around` and `neighbors`: the participant's own entry, or null when they have none (then `entries` is empty). */
  readonly focus: RankedEntry | null;
}

/** One consistent state of a board: every page was read at `version`. */
export interface RankRead {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  /** One per query, in the order asked. */
  readonly pages: readonly RankPage[];
}

/**
 * Where a board's versions stand. A version means something only together
 * with its epoch (DESIGN.md "epoch"): the epoch changes whenever versions
 * could be issued again.
 */
export interface BoardState {
  readonly epoch: string;
  readonly version: number;
}

export interface RankIndex {
  /**
   * Makes the board known with no entries at `state`, unless it is known
   * already (then nothing changes). An empty board costs next to nothing.
   */
  open(rules: BoardRules, state: BoardState): Promise<void>;

  /** Forgets the board, its entries and its event ids. Idempotent. */
  drop(boardId: string): Promise<void>;

  /**
   * Replaces the board's entries and state (a rebuild from the durable
   * store) and forgets its event ids. Complexity: O(n log n), O(n) when sorted.
   */
  load(boardId: string, entries: Iterable<Entry>, state: BoardState): Promise<void>;

  /**
   * Applies the submissions in order, atomically: no read sees some of them
   * without the others before them. Each gets its outcome, or its own
   * LadderError that changes nothing (score_overflow; event_id_conflict when
   * its event id was applied before with another fingerprint). An event id
   * the index remembers (see `dedupRetention`) gets its first outcome again,
   * marked duplicate. Complexity: O(k log n) for k submissions.
   */
  apply(boardId: string, submissions: readonly Submission[]): Promise<(SubmitOutcome | LadderError)[]>;

  /**
   * apply, for a board with derived rankings (an all-time one, scope
   * rankings: core/derived.ts), which the same atomic step writes as
   * index/derived.ts describes; each derived ranking is a board of this
   * index (open it first). Throws DerivedRankingsMissing, applying nothing,
   * when one that must change is not open. A scope ranking opened or loaded
   * here counts its entries as its participants' scope value.
   * Complexity: O(k log n · (1 + scopes)).
   */
  applyDerived(boardId: string, submissions: readonly Submission[], spec: DerivedSpec): Promise<DerivedApplied>;

  /** Answers every query from one state of the board. Complexity: O(log n + entries returned) per query. */
  read(boardId: string, queries: readonly RankQuery[]): Promise<RankRead>;

  /** How long event ids are remembered, in words, for the docs (e.g. "the last 100000 per board"). */
  readonly dedupRetention: string;
}
