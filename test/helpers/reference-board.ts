/**
 * A plain model of one board, for the differential test: a Map of entries and
 * a sorted array, with the operators, the rank order, event-id deduplication
 * and the windows written again from README.md ("Ranking rules", the
 * operator table) and DESIGN.md ("Words", "Exactness"). It imports nothing
 * from src/ but types, so that a mistake there cannot hide in both.
 *
 * Slow on purpose: every change splices the array, O(n).
 */
import type { Entry, Metadata, Operator, RankedEntry, SortOrder, Submission } from '../../src/core/types.js';

const LIMIT = 2n ** 53n - 1n;

export interface ModelOutcome {
  readonly entry: RankedEntry;
  readonly previous: RankedEntry | null;
  readonly changed: boolean;
  readonly version: number;
  readonly duplicate: boolean;
}

/** What the model answers for one submission: its outcome, or the code of the error it fails with. */
export type ModelResult = ModelOutcome | { readonly error: 'score_overflow' | 'event_id_conflict' };

interface Remembered {
  readonly participantId: string;
  readonly score: number;
  readonly timestamp: number;
  readonly metadata: string;
  readonly outcome: ModelOutcome;
}

export class ReferenceBoard {
  epoch: string;
  version: number;
  readonly #sortOrder: SortOrder;
  readonly #operator: Operator;
  readonly #entries = new Map<string, Entry>();
  /** Every entry, first rank first. */
  #ranking: Entry[] = [];
  #events = new Map<string, Remembered>();

  constructor(sortOrder: SortOrder, operator: Operator, state: { epoch: string; version: number }) {
    this.#sortOrder = sortOrder;
    this.#operator = operator;
    this.epoch = state.epoch;
    this.version = state.version;
  }

  get total(): number {
    return this.#ranking.length;
  }

  /** The entries, first rank first (a copy). */
  ranking(): RankedEntry[] {
    return this.#ranking.map((entry, i) => ({ ...entry, rank: i + 1 }));
  }

  entries(): Entry[] {
    return [...this.#entries.values()];
  }

  get(participantId: string): RankedEntry | null {
    const entry = this.#entries.get(participantId);
    return entry === undefined ? null : { ...entry, rank: this.#position(entry) + 1 };
  }

  /** Ranks `first`..`last` (1-based, inclusive), cut to the board. */
  ranks(first: number, last: number): RankedEntry[] {
    const from = Math.max(1, first);
    const to = Math.min(this.total, last);
    const out: RankedEntry[] = [];
    for (let rank = from; rank <= to; rank++) out.push({ ...this.#ranking[rank - 1]!, rank });
    return out;
  }

  /**
   * `size` entries around the participant: as many above as below (one more
   * below when `size` is even), moved down from the top or up from the bottom
   * until it fits, so that it always shows min(size, total) entries.
   */
  around(participantId: string, size: number): { entries: RankedEntry[]; focus: RankedEntry | null } {
    const focus = this.get(participantId);
    if (focus === null || size <= 0) return { entries: [], focus };
    let first = focus.rank - Math.floor((size - 1) / 2);
    let last = first + size - 1;
    if (last > this.total) {
      first -= last - this.total;
      last = this.total;
    }
    if (first < 1) {
      last += 1 - first;
      first = 1;
    }
    return { entries: this.ranks(first, last), focus };
  }

  /** The participant and up to `radius` entries on each side, cut off at the ends. */
  neighbors(participantId: string, radius: number): { entries: RankedEntry[]; focus: RankedEntry | null } {
    const focus = this.get(participantId);
    if (focus === null) return { entries: [], focus };
    return { entries: this.ranks(focus.rank - radius, focus.rank + radius), focus };
  }

  participants(participantIds: readonly string[]): RankedEntry[] {
    const found = new Map<string, RankedEntry>();
    for (const id of participantIds) {
      const entry = this.get(id);
      if (entry !== null) found.set(id, entry);
    }
    return [...found.values()].sort((a, b) => a.rank - b.rank);
  }

  /** A rebuild: these entries and this state, and no event ids. */
  load(entries: readonly Entry[], state: { epoch: string; version: number }): void {
    this.#entries.clear();
    for (const entry of entries) this.#entries.set(entry.participantId, entry);
    this.#ranking = [...entries].sort((a, b) => (this.#before(a, b) ? -1 : 1));
    this.#events = new Map();
    this.epoch = state.epoch;
    this.version = state.version;
  }

  apply(submission: Submission): ModelResult {
    const eventId = submission.eventId;
    const metadata = JSON.stringify(submission.metadata);
    if (eventId !== null) {
      const seen = this.#events.get(eventId);
      if (seen !== undefined) {
        const same =
          seen.participantId === submission.participantId && seen.score === submission.score && seen.timestamp === submission.timestamp && seen.metadata === metadata;
        return same ? { ...seen.outcome, duplicate: true } : { error: 'event_id_conflict' };
      }
    }
    const current = this.#entries.get(submission.participantId) ?? null;
    const next = current === null ? created(submission) : this.#next(current, submission);
    if (next === 'score_overflow') return { error: next };
    const previous = current === null ? null : { ...current, rank: this.#position(current) + 1 };
    const changed = current === null || next.score !== current.score || next.achievedAt !== current.achievedAt;
    if (current !== null) this.#ranking.splice(this.#position(current), 1);
    const at = this.#insertionPoint(next);
    this.#ranking.splice(at, 0, next);
    this.#entries.set(next.participantId, next);
    if (changed) this.version++;
    const outcome: ModelOutcome = { entry: { ...next, rank: at + 1 }, previous, changed, version: this.version, duplicate: false };
    if (eventId !== null) {
      this.#events.set(eventId, { participantId: submission.participantId, score: submission.score, timestamp: submission.timestamp, metadata, outcome });
    }
    return outcome;
  }

  /**
   * README's operator table. Metadata, which it does not cover, follows the
   * score: a submission that sets the score brings its metadata, or keeps the
   * old when it has none. updatedAt is the latest timestamp applied.
   */
  #next(current: Entry, sub: Submission): Entry | 'score_overflow' {
    const updatedAt = Math.max(current.updatedAt, sub.timestamp);
    const better = this.#sortOrder === 'desc' ? sub.score > current.score : sub.score < current.score;
    const metadata: Metadata | null = sub.metadata ?? current.metadata;
    switch (this.#operator) {
      case 'best':
        // "replaces the score if better"; achieved_at: "the earliest submission of the kept score".
        if (better) return { ...current, score: sub.score, achievedAt: sub.timestamp, updatedAt, metadata };
        if (sub.score === current.score) return { ...current, achievedAt: Math.min(current.achievedAt, sub.timestamp), updatedAt };
        return { ...current, updatedAt };
      case 'latest':
        // "if its timestamp is the latest seen (a tie on timestamp goes to the better score)".
        if (sub.timestamp > current.updatedAt || (sub.timestamp === current.updatedAt && better)) {
          return { ...current, score: sub.score, achievedAt: sub.timestamp, updatedAt, metadata };
        }
        return current;
      case 'increment': {
        // "adds score"; achieved_at: "the latest timestamp that contributed". A zero
        // delta contributes too, or the result would depend on the arrival order.
        const sum = BigInt(current.score) + BigInt(sub.score);
        if (sum > LIMIT || sum < -LIMIT) return 'score_overflow';
        const achievedAt = Math.max(current.achievedAt, sub.timestamp);
        if (sub.score === 0) return { ...current, achievedAt, updatedAt };
        return { ...current, score: Number(sum), achievedAt, updatedAt, metadata };
      }
    }
  }

  /** DESIGN.md "rank": better score first; then the earlier achieved_at; then the participant id, code unit by code unit. */
  #before(a: Entry, b: Entry): boolean {
    if (a.score !== b.score) return this.#sortOrder === 'desc' ? a.score > b.score : a.score < b.score;
    if (a.achievedAt !== b.achievedAt) return a.achievedAt < b.achievedAt;
    for (let i = 0; i < Math.min(a.participantId.length, b.participantId.length); i++) {
      const diff = a.participantId.charCodeAt(i) - b.participantId.charCodeAt(i);
      if (diff !== 0) return diff < 0;
    }
    return a.participantId.length < b.participantId.length;
  }

  /** How many entries rank before `entry` (binary search). */
  #insertionPoint(entry: Entry): number {
    let low = 0;
    let high = this.#ranking.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#before(this.#ranking[mid]!, entry)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #position(entry: Entry): number {
    const at = this.#insertionPoint(entry);
    if (this.#ranking[at] !== entry) throw new Error(`model lost ${entry.participantId}`);
    return at;
  }
}

function created(sub: Submission): Entry {
  return { participantId: sub.participantId, score: sub.score, achievedAt: sub.timestamp, updatedAt: sub.timestamp, metadata: sub.metadata };
}
