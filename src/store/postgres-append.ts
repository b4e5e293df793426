/**
 * One commit of the PostgreSQL store's group commit: the events of every
 * appendEvents call in it, in call order, in one transaction of two
 * statements on the hot path (LOCK_BOARDS, APPEND_EVENTS), whatever the
 * number of events.
 *
 * What is dropped, and where:
 * - events of a board that does not exist (any more): the boards' lock
 *   answers which exist;
 * - an event whose (board, seq) or (board, event id) came earlier in the
 *   commit: here, the first one wins;
 * - an event whose (board, seq) is logged already, such as a redelivery
 *   (the cluster's persister, after XAUTOCLAIM, hands over again what it may
 *   have appended): only an event not beyond its board's last seq can be
 *   one, and only those are looked up in the log (SELECT_LOGGED_SEQS);
 * - an event whose (board, event id) is logged already: APPEND_EVENTS.
 *
 * The boards' row locks serialize the commits of every process that touch
 * the same board, and each statement after the lock sees what the commits
 * before it committed, so two processes cannot both append one event.
 */
import type pg from 'pg';
import { eventColumns, int } from './postgres-rows.js';
import * as SQL from './postgres-sql.js';
import type { ScoreEvent } from './store.js';

/** Appends the events, in order, in `client`'s open transaction. */
export async function appendInTransaction(client: pg.ClientBase, events: readonly ScoreEvent[]): Promise<void> {
  const boardIds = [...new Set(events.map((event) => event.boardId))];
  const { rows } = await client.query<{ id: string; last_seq: string }>(SQL.LOCK_BOARDS, [boardIds]);
  const lastSeq = new Map(rows.map((row) => [row.id, int(row.last_seq)]));
  const seqs = new Set<string>();
  const eventIds = new Set<string>();
  let kept: ScoreEvent[] = [];
  const recheck: ScoreEvent[] = [];
  for (const event of events) {
    const last = lastSeq.get(event.boardId);
    if (last === undefined) continue;
    const seqKey = `${event.boardId}\n${event.seq}`;
    if (seqs.has(seqKey)) continue;
    seqs.add(seqKey);
    if (event.eventId !== null) {
      const idKey = `${event.boardId}\n${event.eventId}`;
      if (eventIds.has(idKey)) continue;
      eventIds.add(idKey);
    }
    kept.push(event);
    if (event.seq <= last) recheck.push(event);
  }
  if (recheck.length > 0) {
    const logged = await client.query<{ board_id: string; seq: string }>(SQL.SELECT_LOGGED_SEQS, [recheck.map((event) => event.boardId), recheck.map((event) => event.seq)]);
    if (logged.rows.length > 0) {
      const found = new Set(logged.rows.map((row) => `${row.board_id}\n${int(row.seq)}`));
      kept = kept.filter((event) => !found.has(`${event.boardId}\n${event.seq}`));
    }
  }
  if (kept.length > 0) await client.query(SQL.APPEND_EVENTS, eventColumns(kept));
}
