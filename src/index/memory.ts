/**
 * The in-process rank engine (DESIGN.md "index", embedded mode). BoardRanking
 * keeps one board: each participant gets a slot (index/memory-ids.ts), and
 * SlotOrder (index/memory-order.ts) keeps the slots' columns and their rank
 * order. MemoryIndex is the RankIndex over many boards.
 *
 * Every answer is a fresh object; no internal array ever leaves, so a reader
 * keeps a consistent copy however many writes follow.
 */
import { boardNotFound } from '../core/errors.js';
import { applySubmission } from '../core/operators.js';
import type { BoardRules, Entry, Metadata, RankedEntry, Submission } from '../core/types.js';
import type { RankIndex, SubmitOutcome } from './index.js';
import { ParticipantSlots } from './memory-ids.js';
import { SlotOrder } from './memory-order.js';

function ranked(entry: Entry, rank: number): RankedEntry {
  return {
    participantId: entry.participantId,
    score: entry.score,
    achievedAt: entry.achievedAt,
    updatedAt: entry.updatedAt,
    metadata: entry.metadata,
    rank,
  };
}

/** The live ranking of one board. Synchronous; n is the number of entries, B ≤ 512 the block size. */
export class BoardRanking {
  readonly rules: BoardRules;
  #version = 0;
  #slots = new ParticipantSlots();
  /** Sparse, and only made for the first entry that has any: most have none. */
  #metadata: Map<number, Metadata> | null = null;
  #order: SlotOrder;

  constructor(rules: BoardRules) {
    this.rules = rules;
    this.#order = new SlotOrder(rules.sortOrder, this.#slots.ids);
  }

  /** Number of entries. Complexity: O(1). */
  get total(): number {
    return this.#order.size;
  }

  /** +1 on every change to the ranking. Complexity: O(1). */
  get version(): number {
    return this.#version;
  }

  /** Bytes of the ranking's typed arrays (capacity), without the id strings, the id table and metadata. */
  get rankingBytes(): number {
    return this.#order.byteSize;
  }

  /** Bytes of the participant id table, without the id strings themselves. */
  get idTableBytes(): number {
    return this.#slots.byteSize;
  }

  /**
   * Applies the submission with the board's operator and re-ranks the entry.
   * Throws LadderError('score_overflow') before changing anything when an
   * increment leaves ±(2^53−1). Complexity: O(log n + B).
   */
  submit(submission: Submission): SubmitOutcome {
    const slot = this.#slots.slotOf(submission.participantId);
    if (slot === -1) return this.#admit(submission);
    const at = this.#order.locate(slot);
    const current = this.#entry(slot, at);
    const { entry, changed } = applySubmission(this.rules, current, submission);
    const oldRank = this.#order.rankAt(at);
    this.#order.setUpdatedAt(slot, entry.updatedAt);
    if (entry.metadata !== current.metadata) this.#setMetadata(slot, entry.metadata);
    let rank = oldRank;
    if (changed) {
      rank = this.#order.move(at, entry.score, entry.achievedAt);
      this.#version++;
    }
    return { entry: ranked(entry, rank), previous: ranked(current, oldRank), changed, version: this.#version };
  }

  /** The participant's entry and rank, or null. Complexity: O(log n + B). */
  get(participantId: string): RankedEntry | null {
    const slot = this.#slots.slotOf(participantId);
    if (slot === -1) return null;
    const at = this.#order.locate(slot);
    return this.#rankedEntry(slot, at, this.#order.rankAt(at));
  }

  /** The participant's rank, or null. Complexity: O(log n + B). */
  rankOf(participantId: string): number | null {
    const slot = this.#slots.slotOf(participantId);
    return slot === -1 ? null : this.#order.rankAt(this.#order.locate(slot));
  }

  /** The entry at a 1-based rank, or null outside 1..total. Complexity: O(log n). */
  entryAt(rank: number): RankedEntry | null {
    if (!Number.isInteger(rank) || rank < 1 || rank > this.total) return null;
    const at = this.#order.locateRank(rank);
    return this.#rankedEntry(this.#order.slotAt(at), at, rank);
  }

  /** Entries at ranks offset+1 .. offset+limit (fewer at the end). Complexity: O(log n + limit). */
  range(offset: number, limit: number): RankedEntry[] {
    const first = Math.max(0, offset) + 1;
    const last = Math.min(this.total, Math.max(0, offset) + Math.max(0, limit));
    const entries: RankedEntry[] = [];
    if (first > last) return entries;
    let at = this.#order.locateRank(first);
    for (let rank = first; rank <= last; rank++) {
      entries.push(this.#rankedEntry(this.#order.slotAt(at), at, rank));
      at = this.#order.next(at);
    }
    return entries;
  }

  /**
   * Replaces every entry and the version, e.g. with a rebuild from the store.
   * Entries may come in any order; a duplicate participant throws and leaves
   * the board as it was. Complexity: O(n), a radix sort (see memory-sort.ts).
   */
  load(entries: Iterable<Entry>, version: number): void {
    const list = Array.isArray(entries) ? (entries as readonly Entry[]) : [...entries];
    const n = list.length;
    const ids: string[] = [];
    const scores = new Float64Array(n);
    const achievedAt = new Float64Array(n);
    const updatedAt = new Float64Array(n);
    let metadata: Map<number, Metadata> | null = null;
    for (let slot = 0; slot < n; slot++) {
      const entry = list[slot]!;
      ids.push(entry.participantId);
      scores[slot] = entry.score;
      achievedAt[slot] = entry.achievedAt;
      updatedAt[slot] = entry.updatedAt;
      if (entry.metadata !== null) (metadata ??= new Map()).set(slot, entry.metadata);
    }
    const slots = new ParticipantSlots(ids);
    this.#order = SlotOrder.load(this.rules.sortOrder, slots.ids, scores, achievedAt, updatedAt);
    this.#slots = slots;
    this.#metadata = metadata;
    this.#version = version;
  }

  #admit(submission: Submission): SubmitOutcome {
    const { entry } = applySubmission(this.rules, null, submission);
    const slot = this.#slots.add(entry.participantId);
    if (entry.metadata !== null) this.#setMetadata(slot, entry.metadata);
    const rank = this.#order.insert(slot, entry.score, entry.achievedAt, entry.updatedAt);
    this.#version++;
    return { entry: ranked(entry, rank), previous: null, changed: true, version: this.#version };
  }

  #entry(slot: number, at: number): Entry {
    return {
      participantId: this.#slots.ids[slot]!,
      score: this.#order.scoreAt(at),
      achievedAt: this.#order.achievedAtOf(slot),
      updatedAt: this.#order.updatedAtOf(slot),
      metadata: this.#metadata?.get(slot) ?? null,
    };
  }

  /** The same as ranked(#entry(slot, at), rank), with one object instead of two: reads build many. */
  #rankedEntry(slot: number, at: number, rank: number): RankedEntry {
    return {
      participantId: this.#slots.ids[slot]!,
      score: this.#order.scoreAt(at),
      achievedAt: this.#order.achievedAtOf(slot),
      updatedAt: this.#order.updatedAtOf(slot),
      metadata: this.#metadata?.get(slot) ?? null,
      rank,
    };
  }

  #setMetadata(slot: number, metadata: Metadata | null): void {
    if (metadata === null) this.#metadata?.delete(slot);
    else (this.#metadata ??= new Map()).set(slot, metadata);
  }
}

/** RankIndex over in-process BoardRankings, one per open board. */
export class MemoryIndex implements RankIndex {
  readonly #boards = new Map<string, BoardRanking>();

  /** An open board keeps its entries and its rules. */
  async open(rules: BoardRules): Promise<void> {
    if (!this.#boards.has(rules.id)) this.#boards.set(rules.id, new BoardRanking(rules));
  }

  /** Idempotent: dropping an unknown board does nothing. */
  async drop(boardId: string): Promise<void> {
    this.#boards.delete(boardId);
  }

  async load(boardId: string, entries: Iterable<Entry>, version: number): Promise<void> {
    this.#board(boardId).load(entries, version);
  }

  async submit(boardId: string, submission: Submission): Promise<SubmitOutcome> {
    return this.#board(boardId).submit(submission);
  }

  async get(boardId: string, participantId: string): Promise<RankedEntry | null> {
    return this.#board(boardId).get(participantId);
  }

  async range(boardId: string, offset: number, limit: number): Promise<RankedEntry[]> {
    return this.#board(boardId).range(offset, limit);
  }

  async total(boardId: string): Promise<number> {
    return this.#board(boardId).total;
  }

  async version(boardId: string): Promise<number> {
    return this.#board(boardId).version;
  }

  #board(boardId: string): BoardRanking {
    const board = this.#boards.get(boardId);
    if (board === undefined) throw boardNotFound(boardId);
    return board;
  }
}
