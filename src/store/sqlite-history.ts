/**
 * A participant's history in the SQLite store (store.ts participantHistory),
 * read on the main thread's connection in one read transaction.
 *
 * score_log has no index on participant_id (migration 003: it would be a
 * random B-tree write per event). The accepted events are found through
 * participant_log instead, which the writer fills a closed segment of 4096
 * seqs at a time (migration 006): newest first, a participant's events are
 * a scan of the open segment's log rows, then one seek into each indexed
 * segment, from the newest down, skipping to the next segment that exists.
 * A participant with few events on a long log costs a seek per segment, so
 * one page looks at MAX_SEGMENTS_PER_PAGE segments at most (about 4M
 * events, a few milliseconds) and then ends short, with a cursor that goes
 * on below them.
 */
import type Database from 'better-sqlite3';
import { boundsOf, mergeHistory, partOf, type HistoryPart } from './participant-history.js';
import { eventFromRow, rejectionFromRow, type EventRow, type StoredRejectionRow } from './sqlite-rows.js';
import * as SQL from './sqlite-sql.js';
import type { HistoryCursor, HistoryPage, ScoreEvent, StoredRejection } from './store.js';

/** Indexed segments one page seeks into at most. */
export const MAX_SEGMENTS_PER_PAGE = 1024;

interface Bounded {
  board_id: string;
  participant_id: string;
  before: number;
  limit: number;
}

export class SqliteHistory {
  private readonly selectState: Database.Statement<[string], number>;
  private readonly selectOpen: Database.Statement<[Bounded & { from: number }], EventRow>;
  private readonly selectSegment: Database.Statement<[Bounded & { segment: number }], EventRow>;
  private readonly selectSegmentAtMost: Database.Statement<[{ board_id: string; segment: number }], number | null>;
  private readonly selectRejections: Database.Statement<[Bounded], StoredRejectionRow>;
  private readonly readPage: Database.Transaction<(boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number) => HistoryPage | null>;

  constructor(db: Database.Database) {
    this.selectState = db.prepare<[string], number>(SQL.SELECT_HISTORY_STATE).pluck();
    this.selectOpen = db.prepare(SQL.SELECT_OPEN_PARTICIPANT_EVENTS);
    this.selectSegment = db.prepare(SQL.SELECT_SEGMENT_PARTICIPANT_EVENTS);
    this.selectSegmentAtMost = db.prepare<[{ board_id: string; segment: number }], number | null>(SQL.SELECT_SEGMENT_AT_MOST).pluck();
    this.selectRejections = db.prepare(SQL.SELECT_PARTICIPANT_REJECTIONS);
    this.readPage = db.transaction((boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number) => {
      const indexed = this.selectState.get(boardId);
      if (indexed === undefined) return null;
      const bounds = boundsOf(cursor);
      const accepted = bounds.acceptedBefore === null ? DONE : this.accepted(boardId, participantId, indexed, bounds.acceptedBefore, limit);
      const rejected = bounds.rejectedBefore === null ? DONE : this.rejected(boardId, participantId, bounds.rejectedBefore, limit);
      return mergeHistory(bounds, accepted, rejected, limit);
    });
  }

  /** See store.ts participantHistory. Blocks the event loop for as long as it reads (see the file's comment). */
  page(boardId: string, participantId: string, cursor: HistoryCursor | null, limit: number): HistoryPage | null {
    return this.readPage(boardId, participantId, cursor, limit);
  }

  /** The participant's accepted events below seq `before`, newest first: the open segment, then the indexed ones. */
  private accepted(boardId: string, participantId: string, indexed: number, before: number, limit: number): HistoryPart<ScoreEvent> {
    const key = { board_id: boardId, participant_id: participantId };
    const openFrom = indexed * SQL.LOG_SEGMENT_SIZE;
    const rows: EventRow[] = before > openFrom ? this.selectOpen.all({ ...key, from: openFrom, before, limit: limit + 1 }) : [];
    let segment = this.selectSegmentAtMost.get({ board_id: boardId, segment: Math.min(indexed, Math.ceil(before / SQL.LOG_SEGMENT_SIZE)) - 1 }) ?? null;
    for (let seeks = 0; rows.length <= limit && segment !== null; seeks++) {
      if (seeks === MAX_SEGMENTS_PER_PAGE) {
        // Every segment above this one is read: the next page goes on from its end.
        return { items: rows.map(eventFromRow), frontier: Math.min(before, (segment + 1) * SQL.LOG_SEGMENT_SIZE) };
      }
      for (const row of this.selectSegment.all({ ...key, segment, before, limit: limit + 1 - rows.length })) rows.push(row);
      segment = segment === 0 ? null : (this.selectSegmentAtMost.get({ board_id: boardId, segment: segment - 1 }) ?? null);
    }
    return partOf(rows.map(eventFromRow), limit, (event) => event.seq);
  }

  private rejected(boardId: string, participantId: string, before: number, limit: number): HistoryPart<StoredRejection> {
    const rows = this.selectRejections.all({ board_id: boardId, participant_id: participantId, before, limit: limit + 1 });
    return partOf(rows.map(rejectionFromRow), limit, (rejection) => rejection.id);
  }
}

const DONE: HistoryPart<never> = { items: [], frontier: null };
