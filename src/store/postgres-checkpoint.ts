/**
 * Board checkpoints in PostgreSQL: the entries table holds each board's
 * latest checkpoint in rank order, the checkpoints table the log position
 * it covers. A new checkpoint replaces the old one in one transaction
 * (DELETE, then COPY of the new entries), so a load sees one or the other,
 * whole, and a checkpoint that fails to be written leaves the previous one
 * and the log after it in place. There is no checkpoint that is recorded
 * but unreadable, as a damaged file would be for the SQLite store, so one
 * is enough.
 *
 * A load (readCheckpoint, readChangedEntries) runs in the caller's
 * repeatable-read transaction, so the checkpoint and the log after it are
 * of one moment.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Entry, Metadata } from '../core/types.js';
import { transaction } from './postgres-client.js';
import { changedEntryFromRow, int, type BoardStateRow, type ChangedEntryRow, type EntryColumnsRow } from './postgres-rows.js';
import * as SQL from './postgres-sql.js';
import type { BoardCheckpoint, RankedColumns } from './store.js';

/** Entries per chunk of a checkpoint read: about 20 MB of JSON. */
const LOAD_CHUNK = 200_000;

/** Changed entries per FETCH of a load. */
const FETCH_ROWS = 50_000;

/** Rows per string handed to COPY. */
const COPY_ROWS = 10_000;

/**
 * Replaces the board's checkpoint. Checkpoints of one board are written one
 * at a time (an advisory lock, across processes); one that is not newer
 * than the board's is not written (it holds the same state or an older
 * one) and answers true. False when the board does not exist.
 */
export async function writeCheckpoint(pool: pg.Pool, boardId: string, checkpoint: BoardCheckpoint): Promise<boolean> {
  checkColumns(checkpoint.columns);
  return transaction(pool, async (client) => {
    await client.query(SQL.LOCK_XACT_BOARD, [SQL.LOCK_CHECKPOINT, boardId]);
    const { rows } = await client.query<BoardStateRow>(SQL.LOCK_BOARD_STATE, [boardId]);
    const board = rows[0];
    if (board === undefined) return false;
    if (board.checkpoint_seq !== null && int(board.checkpoint_seq) >= checkpoint.seq) return true;
    await client.query(SQL.DELETE_CHECKPOINT_ENTRIES, [boardId]);
    await pipeline(Readable.from(copyRows(boardId, checkpoint.columns)), client.query(copyFrom(SQL.COPY_CHECKPOINT_ENTRIES)));
    await client.query(SQL.UPSERT_CHECKPOINT, [boardId, checkpoint.seq, checkpoint.version, checkpoint.columns.ids.length, Date.now()]);
    return true;
  });
}

export function checkColumns(columns: RankedColumns): void {
  const n = columns.ids.length;
  if (columns.scores.length !== n || columns.achievedAt.length !== n || columns.updatedAt.length !== n) throw new Error('checkpoint columns of different lengths');
}

/** COPY's text format: a backslash, tab, line feed or carriage return in a value is escaped. */
const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function copyText(value: string): string {
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : value;
}

/**
 * The checkpoint's entries as lines of COPY_CHECKPOINT_ENTRIES (with
 * `suffix` as one more column: COPY_FINAL_RANKINGS's period id), in strings
 * of COPY_ROWS lines; Readable.from pulls the next only when COPY has taken
 * the last, so a large board is never one string.
 */
export function* copyRows(boardId: string, columns: RankedColumns, suffix = ''): Generator<string> {
  const board = copyText(boardId);
  const tail = suffix === '' ? '' : `\t${copyText(suffix)}`;
  const lines: string[] = [];
  for (let i = 0; i < columns.ids.length; i++) {
    const metadata = columns.metadata.get(i);
    const text = metadata === undefined ? '\\N' : copyText(JSON.stringify(metadata));
    lines.push(`${board}\t${i + 1}\t${copyText(columns.ids[i]!)}\t${columns.scores[i]}\t${columns.achievedAt[i]}\t${columns.updatedAt[i]}\t${text}${tail}\n`);
    if (lines.length === COPY_ROWS) {
      yield lines.join('');
      lines.length = 0;
    }
  }
  if (lines.length > 0) yield lines.join('');
}

/** The board's checkpoint of `total` entries, in rank order. Complexity: O(n), in chunks of LOAD_CHUNK. */
export async function readCheckpoint(client: pg.ClientBase, boardId: string, total: number): Promise<RankedColumns> {
  const ids: string[] = [];
  const scores = new Float64Array(total);
  const achievedAt = new Float64Array(total);
  const updatedAt = new Float64Array(total);
  const metadata = new Map<number, Metadata>();
  for (let from = 0; from < total; from += LOAD_CHUNK) {
    const { rows } = await client.query<EntryColumnsRow>(SQL.SELECT_CHECKPOINT_ENTRIES, [boardId, from, from + LOAD_CHUNK]);
    const chunk = rows[0]!;
    const count = chunk.ids?.length ?? 0;
    if (count !== Math.min(LOAD_CHUNK, total - from)) {
      throw new Error(`the checkpoint of board '${boardId}' has ${count} entries of rank ${from + 1} to ${Math.min(from + LOAD_CHUNK, total)}, not one each`);
    }
    for (let k = 0; k < count; k++) {
      ids.push(chunk.ids![k]!);
      scores[from + k] = chunk.scores![k]!;
      achievedAt[from + k] = chunk.achieved_at![k]!;
      updatedAt[from + k] = chunk.updated_at![k]!;
    }
    const ranks = chunk.metadata_ranks ?? [];
    for (let k = 0; k < ranks.length; k++) metadata.set(ranks[k]! - 1, chunk.metadata![k]!);
  }
  return { ids, scores, achievedAt, updatedAt, metadata };
}

/**
 * The latest state of every entry that changed after seq `after`, on top of
 * the checkpoint's columns, the participants whose last event removed their
 * entry, and the number of events after it. Read through
 * a cursor, so that a long log after an old checkpoint never arrives as one
 * result.
 */
export async function readChangedEntries(client: pg.ClientBase, boardId: string, after: number, ranked: RankedColumns): Promise<{ changed: Entry[]; removed: string[]; replayed: number }> {
  let earlier: Map<string, Metadata> | null = null;
  const checkpointMetadata = (participantId: string): Metadata | null => {
    earlier ??= metadataById(ranked);
    return earlier.get(participantId) ?? null;
  };
  const changed: Entry[] = [];
  const removed: string[] = [];
  let replayed = 0;
  await client.query(`DECLARE changed_entries NO SCROLL CURSOR FOR ${SQL.SELECT_CHANGED_ENTRIES}`, [boardId, after]);
  for (;;) {
    const { rows } = await client.query<ChangedEntryRow>({ text: `FETCH ${FETCH_ROWS} FROM changed_entries`, rowMode: 'array' });
    for (const row of rows) {
      if (row[7]) removed.push(row[0]);
      else changed.push(changedEntryFromRow(row, checkpointMetadata));
    }
    if (rows.length > 0) replayed = int(rows[0]![6]);
    if (rows.length < FETCH_ROWS) break;
  }
  await client.query('CLOSE changed_entries');
  return { changed, removed, replayed };
}

/** Metadata by participant, of the checkpoint's entries that have any (they are sparse). */
function metadataById(ranked: RankedColumns): Map<string, Metadata> {
  const byId = new Map<string, Metadata>();
  for (const [i, metadata] of ranked.metadata) byId.set(ranked.ids[i]!, metadata);
  return byId;
}
