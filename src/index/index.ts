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
import type { BoardRules, Entry, RankedEntry, RankTies, Submission } from '../core/types.js';
import type { DerivedApplied, DerivedSpec } from './derived.js';

export interface SubmitOutcome {
  /** The entry after the submission, with its rank (shared when the apply asked for shared ranks). */
  readonly entry: RankedEntry;
  /** The entry before, with its rank then (shared likewise); null for a new participant. */
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

/** `E`: the entries as the reader gets them (the service adds what profiles show, core/types.ts ShownEntry). */
export interface RankPage<E extends RankedEntry = RankedEntry> {
  readonly entries: readonly E[];
  /** `around` and `neighbors`: the participant's own entry, or null when they have none (then `entries` is empty). */
  readonly focus: E | null;
  /**
   * Only when the read asked for shared ranks: the shared rank of each entry
   * of `entries`, in order (core/ties.ts: 1 + the entries with a strictly
   * better score). The focus is one of `entries`.
   */
  readonly sharedRanks?: readonly number[];
}

/**
 * How a read or an apply numbers ranks. With `ties: 'shared'`, a read's pages
 * carry each entry's shared rank too (RankPage.sharedRanks), and an apply's
 * outcomes carry shared ranks (in the entry's and the previous entry's
 * `rank`). A page of consecutive entries costs one search by score for its
 * first entry; a `participants` page one per entry. Default: 'unique'.
 */
export interface RankOptions {
  readonly ties?: RankTies;
}

/** One consistent state of a board: every page was read at `version`. */
export interface RankRead<E extends RankedEntry = RankedEntry> {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  /** One per query, in the order asked. */
  readonly pages: readonly RankPage<E>[];
}

/** What removing a participant's entry did (RankIndex.remove). */
export interface RemoveOutcome {
  /** The entry removed, with the rank it had; null when the participant had none (then nothing changed). */
  readonly removed: RankedEntry | null;
  /** The board's version after: one more than before when an entry was removed. */
  readonly version: number;
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
   * marked duplicate (with the ranks it was answered with then).
   * Complexity: O(k log n) for k submissions.
   */
  apply(boardId: string, submissions: readonly Submission[], options?: RankOptions): Promise<(SubmitOutcome | LadderError)[]>;

  /**
   * apply, for a board with derived rankings (an all-time one, scope
   * rankings: core/derived.ts), which the same atomic step writes as
   * index/derived.ts describes; each derived ranking is a board of this
   * index (open it first). Throws DerivedRankingsMissing, applying nothing,
   * when one that must change is not open. A scope ranking opened or loaded
   * here counts its entries as its participants' scope value.
   * Complexity: O(k log n · (1 + scopes)).
   */
  applyDerived(boardId: string, submissions: readonly Submission[], spec: DerivedSpec, options?: RankOptions): Promise<DerivedApplied>;

  /** Answers every query from one state of the board. Complexity: O(log n + entries returned) per query. */
  read(boardId: string, queries: readonly RankQuery[], options?: RankOptions): Promise<RankRead>;

  /**
   * Removes the participant's entry (an erasure): the entries below move up
   * one rank, and the version goes up by one, atomically. A participant
   * without an entry changes nothing. A later submission of theirs makes a
   * new entry. Event ids of their earlier submissions may still be
   * remembered (see `dedupRetention`; the in-process index forgets them).
   * Complexity: O(log n).
   */
  remove(boardId: string, participantId: string): Promise<RemoveOutcome>;

  /** How long event ids are remembered, in words, for the docs (e.g. "the last 100000 per board"). */
  readonly dedupRetention: string;
}
