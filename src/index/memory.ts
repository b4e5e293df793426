/**
 * The in-process rank engine (DESIGN.md "index", embedded mode). BoardRanking
 * keeps one board: each participant gets a slot (index/memory-ids.ts), and
 * SlotOrder (index/memory-order.ts) keeps the slots' columns and their rank
 * order. MemoryIndex is the RankIndex over many boards.
 *
 * Every answer is a fresh object; no internal array ever leaves, so a reader
 * keeps a consistent copy however many writes follow.
 */
import { boardNotFound, eventIdConflict, LadderError } from '../core/errors.js';
import { applySubmission } from '../core/operators.js';
import { submissionFingerprint } from '../core/submission.js';
import { sharedRanksOf } from '../core/ties.js';
import type { BoardRules, Entry, Metadata, RankedEntry, RankTies, Submission } from '../core/types.js';
import { aroundSpan, neighborSpan } from '../core/windows.js';
import type { RankedColumns } from '../store/store.js';
import { parentBoardId } from '../core/derived.js';
import { applyWithDerived, derivedChanges, DerivedRankingsMissing, derivedTargets, scopeMembersOf, type DerivedApplied, type DerivedSpec, type ScopeMembers } from './derived.js';
import type { BoardState, RankIndex, RankOptions, RankPage, RankQuery, RankRead, RemoveOutcome, SubmitOutcome } from './index.js';
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

/** Event ids a board remembers for deduplication, oldest forgotten first. */
export const DEDUP_CAPACITY = 100_000;

interface RememberedEvent {
  readonly fingerprint: string;
  readonly outcome: SubmitOutcome;
}

const NO_FOCUS: RankPage = { entries: [], focus: null };

/** Equal metadata: the same object (the operators hand objects on), or the same JSON. */
function sameMetadata(a: Metadata | null, b: Metadata | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The live ranking of one board. Synchronous; n is the number of entries, B ≤ 512 the block size. */
export class BoardRanking {
  readonly rules: BoardRules;
  /** See BoardState: versions mean something only within their epoch. */
  epoch: string;
  #version = 0;
  /** Event ids of applied submissions, in the order applied (a Map iterates in insertion order); made on first use, as most boards have none. */
  #events: Map<string, RememberedEvent> | null = null;
  #slots = new ParticipantSlots();
  /** Sparse, and only made for the first entry that has any: most have none. */
  #metadata: Map<number, Metadata> | null = null;
  #order: SlotOrder;

  constructor(rules: BoardRules, state: BoardState = { epoch: '', version: 0 }) {
    this.rules = rules;
    this.epoch = state.epoch;
    this.#version = state.version;
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
   * increment leaves ±(2^53−1). With `ties` 'shared' the outcome's ranks are
   * shared ones (RankOptions). Complexity: O(log n + B).
   */
  submit(submission: Submission, ties: RankTies = 'unique'): SubmitOutcome {
    const slot = this.#slots.slotOf(submission.participantId);
    if (slot === -1) return this.#admit(submission, ties);
    const at = this.#order.locate(slot);
    const current = this.#entry(slot, at);
    const { entry, changed } = applySubmission(this.rules, current, submission);
    const oldRank = ties === 'shared' ? this.sharedRankOf(current.score) : this.#order.rankAt(at);
    this.#order.setUpdatedAt(slot, entry.updatedAt);
    if (entry.metadata !== current.metadata) this.#setMetadata(slot, entry.metadata);
    let rank = oldRank;
    if (changed) {
      rank = this.#order.move(at, entry.score, entry.achievedAt);
      if (ties === 'shared') rank = this.sharedRankOf(entry.score);
      this.#version++;
    }
    return { entry: ranked(entry, rank), previous: ranked(current, oldRank), changed, version: this.#version, duplicate: false };
  }

  /** The shared rank of a score: 1 + the entries with a strictly better one (core/ties.ts). Complexity: O(log n). */
  sharedRankOf(score: number): number {
    return this.#order.countBetter(score) + 1;
  }

  /**
   * Applies the submissions in order (RankIndex.apply): a remembered event id
   * gets its first outcome again, marked duplicate, or event_id_conflict when
   * its fingerprint differs; an overflowing increment fails alone.
   * Complexity: O(k (log n + B)).
   */
  applyMany(submissions: readonly Submission[], ties: RankTies = 'unique'): (SubmitOutcome | LadderError)[] {
    const outcomes: (SubmitOutcome | LadderError)[] = new Array(submissions.length);
    for (let i = 0; i < submissions.length; i++) {
      const submission = submissions[i]!;
      if (submission.eventId === null) {
        outcomes[i] = this.#tryApply(submission, ties);
        continue;
      }
      const fingerprint = submissionFingerprint(submission);
      const remembered = this.#events?.get(submission.eventId);
      if (remembered !== undefined) {
        outcomes[i] = remembered.fingerprint === fingerprint ? { ...remembered.outcome, duplicate: true } : eventIdConflict(submission.eventId);
        continue;
      }
      const outcome = this.#tryApply(submission, ties);
      if (!(outcome instanceof LadderError)) this.remember(submission.eventId, fingerprint, outcome);
      outcomes[i] = outcome;
    }
    return outcomes;
  }

  /**
   * Removes the participant's entry (RankIndex.remove): the entries below
   * move up one rank and the version goes up by one. Event ids of their
   * submissions are forgotten too, so that no outcome of theirs stays in
   * memory. Complexity: O(log n + B), plus O(remembered event ids).
   */
  remove(participantId: string): RemoveOutcome {
    const slot = this.#slots.slotOf(participantId);
    if (slot === -1) return { removed: null, version: this.#version };
    const at = this.#order.locate(slot);
    const removed = this.#rankedEntry(slot, at, this.#order.rankAt(at));
    this.#order.remove(at);
    this.#slots.remove(participantId);
    this.#metadata?.delete(slot);
    if (this.#events !== null) {
      for (const [eventId, remembered] of this.#events) if (remembered.outcome.entry.participantId === participantId) this.#events.delete(eventId);
    }
    this.#version++;
    return { removed, version: this.#version };
  }

  /** True when the board remembers this event id (see applyMany). Complexity: O(1). */
  recalls(eventId: string): boolean {
    return this.#events?.has(eventId) ?? false;
  }

  /**
   * Remembers an event id with its outcome, e.g. one that the durable store
   * knew, so that its retries are answered from memory. Complexity: O(1).
   */
  remember(eventId: string, fingerprint: string, outcome: SubmitOutcome): void {
    const events = (this.#events ??= new Map());
    events.set(eventId, { fingerprint, outcome: outcome.duplicate ? { ...outcome, duplicate: false } : outcome });
    if (events.size > DEDUP_CAPACITY) events.delete(events.keys().next().value as string);
  }

  /** Answers the queries from the current state (RankIndex.read). Complexity: O(log n + entries) per query. */
  read(queries: readonly RankQuery[], ties: RankTies = 'unique'): RankRead {
    const pages = queries.map((query) => (ties === 'shared' ? this.#sharedPage(query, this.#page(query)) : this.#page(query)));
    return { epoch: this.epoch, version: this.#version, total: this.total, pages };
  }

  /** The page with its shared ranks: one search by score for consecutive entries, one per entry of a participants page. */
  #sharedPage(query: RankQuery, page: RankPage): RankPage {
    const { entries } = page;
    if (query.kind === 'participants') return { ...page, sharedRanks: entries.map((entry) => this.sharedRankOf(entry.score)) };
    return { ...page, sharedRanks: entries.length === 0 ? [] : sharedRanksOf(entries, this.sharedRankOf(entries[0]!.score)) };
  }

  #page(query: RankQuery): RankPage {
    switch (query.kind) {
      case 'page':
        return { entries: this.range(query.offset, query.limit), focus: null };
      case 'participants': {
        const entries: RankedEntry[] = [];
        for (const id of new Set(query.participantIds)) {
          const entry = this.get(id);
          if (entry !== null) entries.push(entry);
        }
        return { entries: entries.sort((a, b) => a.rank - b.rank), focus: null };
      }
      case 'around':
      case 'neighbors': {
        const focus = this.get(query.participantId);
        if (focus === null) return NO_FOCUS;
        const span = query.kind === 'around' ? aroundSpan(focus.rank, this.total, query.size) : neighborSpan(focus.rank, query.radius);
        return { entries: this.range(span.offset, span.limit), focus };
      }
    }
  }

  #tryApply(submission: Submission, ties: RankTies): SubmitOutcome | LadderError {
    try {
      return this.submit(submission, ties);
    } catch (err) {
      if (err instanceof LadderError) return err;
      throw err;
    }
  }

  /**
   * Makes the participant's entry exactly `entry`, times and metadata
   * included: inserts it, or moves the one there (a scope ranking copies its
   * board's entries, index/derived.ts). The version goes up when the ranking
   * key changed (score or achievedAt), as with submit. Returns null when the
   * entry was this already. With `ties` 'shared' the outcome's ranks are
   * shared ones, as with submit. Complexity: O(log n + B).
   */
  place(entry: Entry, ties: RankTies = 'unique'): SubmitOutcome | null {
    const slot = this.#slots.slotOf(entry.participantId);
    if (slot === -1) {
      const claimed = this.#slots.add(entry.participantId);
      if (entry.metadata !== null) this.#setMetadata(claimed, entry.metadata);
      const inserted = this.#order.insert(claimed, entry.score, entry.achievedAt, entry.updatedAt);
      const rank = ties === 'shared' ? this.sharedRankOf(entry.score) : inserted;
      this.#version++;
      return { entry: ranked(entry, rank), previous: null, changed: true, version: this.#version, duplicate: false };
    }
    const at = this.#order.locate(slot);
    const current = this.#entry(slot, at);
    const keyChanged = current.score !== entry.score || current.achievedAt !== entry.achievedAt;
    if (!keyChanged && current.updatedAt === entry.updatedAt && sameMetadata(current.metadata, entry.metadata)) return null;
    const oldRank = ties === 'shared' ? this.sharedRankOf(current.score) : this.#order.rankAt(at);
    this.#order.setUpdatedAt(slot, entry.updatedAt);
    if (entry.metadata !== current.metadata) this.#setMetadata(slot, entry.metadata);
    let rank = oldRank;
    if (keyChanged) {
      rank = this.#order.move(at, entry.score, entry.achievedAt);
      if (ties === 'shared') rank = this.sharedRankOf(entry.score);
      this.#version++;
    }
    return { entry: ranked(entry, rank), previous: ranked(current, oldRank), changed: keyChanged, version: this.#version, duplicate: false };
  }

  /** Every participant with an entry, in rank order. Complexity: O(n). */
  *participantIds(): IterableIterator<string> {
    for (let at = this.total === 0 ? -1 : this.#order.locateRank(1); at !== -1; at = this.#order.next(at)) yield this.#slots.ids[this.#order.slotAt(at)]!;
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
  load(entries: Iterable<Entry>, state: BoardState): void {
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
    this.#version = state.version;
    this.epoch = state.epoch;
    this.#events = null;
  }

  /**
   * Replaces every entry and the version with `ranked`, columns already in
   * rank order (a checkpoint), then with the `changed` entries on top (the
   * log after it), each replacing its participant's entry or adding one. The
   * columns are taken over. Complexity: O(n) for the columns, without an
   * object per entry or a sort (SlotOrder.load finds them in order), plus
   * O(k (log n + B)) for k changed entries; when k is large against n they
   * are merged into the columns instead, and sorted with them (O(n + k)).
   * The participants in `removed` (entries of `ranked` that the log removed
   * after it) are taken out, O(log n + B) each.
   */
  loadSorted(ranked: RankedColumns, state: BoardState, changed: readonly Entry[] = [], removed: readonly string[] = []): void {
    const slots = new ParticipantSlots(ranked.ids);
    let { scores, achievedAt, updatedAt } = ranked;
    const metadata = ranked.metadata;
    const merge = changed.length > ranked.ids.length / 8;
    if (merge) {
      const capacity = ranked.ids.length + changed.length;
      [scores, achievedAt, updatedAt] = [scores, achievedAt, updatedAt].map((column) => {
        const grown = new Float64Array(capacity);
        grown.set(column);
        return grown;
      }) as [Float64Array, Float64Array, Float64Array];
      for (const entry of changed) {
        let slot = slots.slotOf(entry.participantId);
        if (slot === -1) slot = slots.add(entry.participantId);
        scores[slot] = entry.score;
        achievedAt[slot] = entry.achievedAt;
        updatedAt[slot] = entry.updatedAt;
        if (entry.metadata === null) metadata.delete(slot);
        else metadata.set(slot, entry.metadata);
      }
      const n = slots.size;
      [scores, achievedAt, updatedAt] = [scores.subarray(0, n), achievedAt.subarray(0, n), updatedAt.subarray(0, n)];
    }
    this.#order = SlotOrder.load(this.rules.sortOrder, slots.ids, scores, achievedAt, updatedAt);
    this.#slots = slots;
    this.#metadata = metadata.size === 0 ? null : metadata;
    this.#version = state.version;
    this.epoch = state.epoch;
    this.#events = null;
    for (const participantId of removed) {
      const slot = this.#slots.slotOf(participantId);
      if (slot !== -1) this.#drop(slot, this.#order.locate(slot));
    }
    if (merge) return;
    for (const entry of changed) {
      let slot = this.#slots.slotOf(entry.participantId);
      if (slot === -1) {
        slot = this.#slots.add(entry.participantId);
        this.#order.insert(slot, entry.score, entry.achievedAt, entry.updatedAt);
      } else {
        this.#order.move(this.#order.locate(slot), entry.score, entry.achievedAt);
        this.#order.setUpdatedAt(slot, entry.updatedAt);
      }
      this.#setMetadata(slot, entry.metadata);
    }
  }

  /**
   * Every entry as columns in rank order, for a checkpoint: fresh arrays,
   * nothing internal. Complexity: O(n), one walk of the order.
   */
  rankedColumns(): RankedColumns {
    const n = this.total;
    const ids = new Array<string>(n);
    const scores = new Float64Array(n);
    const achievedAt = new Float64Array(n);
    const updatedAt = new Float64Array(n);
    const metadata = new Map<number, Metadata>();
    let at = n === 0 ? -1 : this.#order.locateRank(1);
    for (let i = 0; i < n; i++) {
      const slot = this.#order.slotAt(at);
      ids[i] = this.#slots.ids[slot]!;
      scores[i] = this.#order.scoreAt(at);
      achievedAt[i] = this.#order.achievedAtOf(slot);
      updatedAt[i] = this.#order.updatedAtOf(slot);
      const entryMetadata = this.#metadata?.get(slot);
      if (entryMetadata !== undefined) metadata.set(i, entryMetadata);
      at = this.#order.next(at);
    }
    return { ids, scores, achievedAt, updatedAt, metadata };
  }

  #admit(submission: Submission, ties: RankTies): SubmitOutcome {
    const { entry } = applySubmission(this.rules, null, submission);
    const slot = this.#slots.add(entry.participantId);
    if (entry.metadata !== null) this.#setMetadata(slot, entry.metadata);
    const inserted = this.#order.insert(slot, entry.score, entry.achievedAt, entry.updatedAt);
    const rank = ties === 'shared' ? this.sharedRankOf(entry.score) : inserted;
    this.#version++;
    return { entry: ranked(entry, rank), previous: null, changed: true, version: this.#version, duplicate: false };
  }

  /** Takes the slot's entry at `at` out of the order and forgets the participant (as remove). */
  #drop(slot: number, at: number): void {
    this.#order.remove(at);
    this.#slots.remove(this.#slots.ids[slot]!);
    this.#metadata?.delete(slot);
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
  /** Per board with scope rankings: its participants' scope values, made from those rankings on first use. */
  readonly #members = new Map<string, ScopeMembers>();
  readonly dedupRetention = `the last ${DEDUP_CAPACITY} event ids of each board since it was loaded`;

  async open(rules: BoardRules, state: BoardState): Promise<void> {
    if (!this.#boards.has(rules.id)) this.#boards.set(rules.id, new BoardRanking(rules, state));
  }

  /** Idempotent: dropping an unknown board does nothing. */
  async drop(boardId: string): Promise<void> {
    this.#boards.delete(boardId);
    this.#forgetMembers(boardId);
  }

  async load(boardId: string, entries: Iterable<Entry>, state: BoardState): Promise<void> {
    this.#board(boardId).load(entries, state);
    this.#forgetMembers(boardId);
  }

  async apply(boardId: string, submissions: readonly Submission[], options: RankOptions = {}): Promise<(SubmitOutcome | LadderError)[]> {
    return this.#board(boardId).applyMany(submissions, options.ties);
  }

  async applyDerived(boardId: string, submissions: readonly Submission[], spec: DerivedSpec, options: RankOptions = {}): Promise<DerivedApplied> {
    const board = this.#board(boardId);
    let members = this.#members.get(boardId);
    if (members === undefined) {
      const prefix = `${boardId}#`;
      members = scopeMembersOf([...this.#boards].filter(([id]) => id.startsWith(prefix)));
      this.#members.set(boardId, members);
    }
    const missing = [...derivedTargets(boardId, submissions, spec, members)].filter((id) => !this.#boards.has(id));
    if (missing.length > 0) throw new DerivedRankingsMissing(missing);
    const { outcomes, steps } = applyWithDerived(board, (id) => this.#board(id), members, submissions, spec, options.ties);
    return { outcomes, derived: derivedChanges(steps, (id) => this.#board(id).epoch) };
  }

  async read(boardId: string, queries: readonly RankQuery[], options: RankOptions = {}): Promise<RankRead> {
    return this.#board(boardId).read(queries, options.ties);
  }

  async remove(boardId: string, participantId: string): Promise<RemoveOutcome> {
    return this.#board(boardId).remove(participantId);
  }

  /** The board's ranking, for synchronous use (tests, benchmarks), or undefined when it is not open. */
  ranking(boardId: string): BoardRanking | undefined {
    return this.#boards.get(boardId);
  }

  #board(boardId: string): BoardRanking {
    const board = this.#boards.get(boardId);
    if (board === undefined) throw boardNotFound(boardId);
    return board;
  }

  /** A board, or one of its scope rankings, was replaced: its scope members are made again on next use. */
  #forgetMembers(boardId: string): void {
    this.#members.delete(parentBoardId(boardId) ?? boardId);
  }
}
