/**
 * Score events on their way to the writer thread, packed into columns. A
 * batch's events travel as one Float64Array of numbers, whose buffer is
 * transferred (moved, not copied), and one string holding every text field
 * joined, which postMessage copies once. Posting row objects instead costs a
 * structured clone of each object, field by field.
 *
 * Layout of `numbers`: a header of [events, boards, then the length of each
 * board id], then EVENT_FIELDS numbers per event (the Field offsets below).
 * A nullable number is NaN for null; the length of a nullable string is −1
 * for null. `text` holds the board ids, then per event its event id,
 * participant id, metadata JSON and fingerprint, in that order.
 */
import { metadataApplied } from './score-events.js';
import type { ScoreEvent } from './store.js';

const enum Field {
  Seq,
  Board,
  Submitted,
  Timestamp,
  ReceivedAt,
  OldScore,
  NewScore,
  OldRank,
  NewRank,
  Version,
  Changed,
  MetadataApplied,
  EntryAchievedAt,
  EntryUpdatedAt,
  EventIdLength,
  ParticipantIdLength,
  MetadataLength,
  FingerprintLength,
}
const EVENT_FIELDS = 18;

export interface PackedEvents {
  readonly numbers: Float64Array;
  readonly text: string;
}

/** Packs the events of every group, in order, as one batch. Complexity: O(events). */
export function packEvents(groups: readonly (readonly ScoreEvent[])[]): PackedEvents {
  let count = 0;
  const boards = new Map<string, number>();
  for (const events of groups) {
    count += events.length;
    for (const event of events) if (!boards.has(event.boardId)) boards.set(event.boardId, boards.size);
  }
  const header = 2 + boards.size;
  const numbers = new Float64Array(header + count * EVENT_FIELDS);
  numbers[0] = count;
  numbers[1] = boards.size;
  const text: string[] = [];
  let h = 2;
  for (const boardId of boards.keys()) {
    numbers[h++] = boardId.length;
    text.push(boardId);
  }
  let at = header;
  for (const events of groups) {
    for (const event of events) {
      const metadata = event.metadata === null ? null : JSON.stringify(event.metadata);
      numbers[at + Field.Seq] = event.seq;
      numbers[at + Field.Board] = boards.get(event.boardId)!;
      numbers[at + Field.Submitted] = event.submitted;
      numbers[at + Field.Timestamp] = event.timestamp;
      numbers[at + Field.ReceivedAt] = event.receivedAt;
      numbers[at + Field.OldScore] = event.oldScore ?? NaN;
      numbers[at + Field.NewScore] = event.newScore;
      numbers[at + Field.OldRank] = event.oldRank ?? NaN;
      numbers[at + Field.NewRank] = event.newRank;
      numbers[at + Field.Version] = event.version;
      numbers[at + Field.Changed] = event.changed ? 1 : 0;
      numbers[at + Field.MetadataApplied] = metadataApplied(event, metadata) ? 1 : 0;
      numbers[at + Field.EntryAchievedAt] = event.entry.achievedAt;
      numbers[at + Field.EntryUpdatedAt] = event.entry.updatedAt;
      numbers[at + Field.EventIdLength] = pushText(text, event.eventId);
      numbers[at + Field.ParticipantIdLength] = pushText(text, event.participantId);
      numbers[at + Field.MetadataLength] = pushText(text, metadata);
      numbers[at + Field.FingerprintLength] = pushText(text, event.fingerprint);
      at += EVENT_FIELDS;
    }
  }
  return { numbers, text: text.join('') };
}

function pushText(text: string[], value: string | null): number {
  if (value === null) return -1;
  text.push(value);
  return value.length;
}

/**
 * The writer's view of a PackedEvents: it slices the text into its strings
 * once, then binds each event straight into a statement's parameters,
 * without an object per event.
 */
export class PackedEventReader {
  readonly count: number;
  readonly #numbers: Float64Array;
  readonly #boards: string[] = [];
  /** Per event: event id, participant id, metadata, fingerprint. */
  readonly #strings: (string | null)[];
  readonly #header: number;

  constructor(packed: PackedEvents) {
    const numbers = packed.numbers;
    this.#numbers = numbers;
    this.count = numbers[0]!;
    const boards = numbers[1]!;
    this.#header = 2 + boards;
    let offset = 0;
    for (let b = 0; b < boards; b++) {
      const length = numbers[2 + b]!;
      this.#boards.push(packed.text.slice(offset, offset + length));
      offset += length;
    }
    this.#strings = new Array<string | null>(this.count * 4);
    for (let i = 0; i < this.count; i++) {
      const at = this.#header + i * EVENT_FIELDS + Field.EventIdLength;
      for (let s = 0; s < 4; s++) {
        const length = numbers[at + s]!;
        if (length < 0) {
          this.#strings[i * 4 + s] = null;
        } else {
          this.#strings[i * 4 + s] = packed.text.slice(offset, offset + length);
          offset += length;
        }
      }
    }
    if (offset !== packed.text.length) throw new Error(`packed events: ${packed.text.length - offset} characters of text left over`);
  }

  boardId(i: number): string {
    return this.#boards[this.#number(i, Field.Board)]!;
  }

  seq(i: number): number {
    return this.#number(i, Field.Seq);
  }

  version(i: number): number {
    return this.#number(i, Field.Version);
  }

  /** True when the event brought a new participant (it had no old rank). */
  isNewEntry(i: number): boolean {
    return Number.isNaN(this.#number(i, Field.OldRank));
  }

  /** True when the event removed its participant's entry (new rank 0, store.ts ScoreEvent.newRank). */
  isRemoval(i: number): boolean {
    return this.#number(i, Field.NewRank) === 0;
  }

  eventId(i: number): string | null {
    return this.#strings[i * 4]!;
  }

  /** Writes the event's score_log row into `params` from `at`, in LOG_COLUMNS order (sqlite-sql.ts). */
  bind(i: number, params: unknown[], at: number): void {
    const n = this.#header + i * EVENT_FIELDS;
    const numbers = this.#numbers;
    params[at] = this.boardId(i);
    params[at + 1] = numbers[n + Field.Seq];
    params[at + 2] = this.#strings[i * 4];
    params[at + 3] = this.#strings[i * 4 + 1];
    params[at + 4] = numbers[n + Field.Submitted];
    params[at + 5] = numbers[n + Field.Timestamp];
    params[at + 6] = numbers[n + Field.ReceivedAt];
    params[at + 7] = nullable(numbers[n + Field.OldScore]!);
    params[at + 8] = numbers[n + Field.NewScore];
    params[at + 9] = nullable(numbers[n + Field.OldRank]!);
    params[at + 10] = numbers[n + Field.NewRank];
    params[at + 11] = numbers[n + Field.Version];
    params[at + 12] = numbers[n + Field.Changed];
    params[at + 13] = this.#strings[i * 4 + 2];
    params[at + 14] = numbers[n + Field.MetadataApplied];
    params[at + 15] = numbers[n + Field.EntryAchievedAt];
    params[at + 16] = numbers[n + Field.EntryUpdatedAt];
    params[at + 17] = this.#strings[i * 4 + 3];
  }

  #number(i: number, field: Field): number {
    return this.#numbers[this.#header + i * EVENT_FIELDS + field]!;
  }
}

function nullable(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
