/**
 * The partitions of score_events: one per UTC day of received_at, named
 * `score_events_YYYYMMDD`, created a few days ahead, and dropped whole by the
 * audit-log retention, so that neither inserts nor retention touch more than
 * the rows they must.
 *
 * Retention keeps every event after its board's checkpoint (store.ts
 * saveCheckpoint: a load needs them), and the checkpoint of a quiet board may
 * be old. So a partition past the cutoff is not simply dropped: the events
 * in it that a checkpoint does not cover yet move to the default partition
 * (its range is nobody's once it is detached), and the rest goes with it. The
 * default partition, which also takes events outside every day created (a
 * clock far off), is pruned row by row under the same rule.
 *
 * Each step runs in its own transaction under a lock that one process at a
 * time takes (the others skip the step), with a lock timeout: the DDL needs
 * an exclusive lock on score_events for a moment, and waiting behind a long
 * reader would stall every append queued behind it.
 */
import type pg from 'pg';
import { transaction } from './postgres-client.js';
import * as SQL from './postgres-sql.js';

export const DAY_MS = 86_400_000;

/** Days of partitions created ahead of today. */
export const DAYS_AHEAD = 7;

/** Rows deleted from the default partition per statement. */
const PRUNE_LIMIT = 10_000;

const LOCK_TIMEOUT = `SET LOCAL lock_timeout = '5s'`;

const NAME = /^score_events_(\d{4})(\d{2})(\d{2})$/;

/** The partition of the UTC day that starts at `day` (ms). */
export function partitionName(day: number): string {
  return `score_events_${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** The days (their first ms) that have a partition. */
export async function partitionDays(client: pg.ClientBase | pg.Pool): Promise<number[]> {
  const { rows } = await client.query<{ name: string }>(`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'score_events'::regclass`);
  const days: number[] = [];
  for (const { name } of rows) {
    const match = NAME.exec(name);
    if (match !== null) days.push(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  }
  return days.sort((a, b) => a - b);
}

/**
 * Runs `step` in a transaction under the maintenance lock; answers null
 * without running it when another session holds the lock.
 */
async function underMaintenanceLock<T>(pool: pg.Pool, step: (client: pg.PoolClient) => Promise<T>): Promise<T | null> {
  return transaction(pool, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>(SQL.TRY_LOCK_XACT, [SQL.LOCK_MAINTENANCE, 0]);
    if (!rows[0]!.locked) return null;
    await client.query(LOCK_TIMEOUT);
    return step(client);
  });
}

/**
 * Creates the missing partitions of the days from `from` to `to` (ms,
 * inclusive). A day for which the default partition holds events already
 * keeps them there (PostgreSQL refuses the partition then): told to `warn`.
 * Returns the partitions created.
 */
export async function createPartitions(pool: pg.Pool, from: number, to: number, warn: (message: string) => void): Promise<string[]> {
  return (
    (await underMaintenanceLock(pool, async (client) => {
      const existing = new Set(await partitionDays(client));
      const created: string[] = [];
      for (let day = dayOf(from); day <= to; day += DAY_MS) {
        if (existing.has(day)) continue;
        const name = partitionName(day);
        await client.query('SAVEPOINT partition');
        try {
          await client.query(`CREATE TABLE ${name} PARTITION OF score_events FOR VALUES FROM (${day}) TO (${day + DAY_MS})`);
          await client.query('RELEASE SAVEPOINT partition');
          created.push(name);
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT partition');
          if ((err as { code?: unknown }).code !== '23514') throw err;
          warn(`score_events_default holds events received on ${name.slice(-8)}, so that day gets no partition of its own; retention deletes them row by row`);
        }
      }
      return created;
    })) ?? []
  );
}

/**
 * Drops the partitions whose every event was received before `cutoff`,
 * moving the events a checkpoint does not cover yet into the default
 * partition, with the event ids of the dropped events. Returns the
 * partitions dropped.
 */
export async function dropPartitionsBefore(pool: pg.Pool, cutoff: number): Promise<string[]> {
  const dropped: string[] = [];
  for (;;) {
    const name = await underMaintenanceLock(pool, async (client) => {
      const day = (await partitionDays(client)).find((start) => start + DAY_MS <= cutoff);
      if (day === undefined) return null;
      const name = partitionName(day);
      // Frozen from here (SHARE blocks writes to it, not to the others), so
      // what is kept is all there is; ACCESS EXCLUSIVE on score_events comes
      // only with the DETACH, after the scans.
      await client.query(`LOCK TABLE ${name} IN SHARE MODE`);
      await client.query(`
        CREATE TEMPORARY TABLE ladder_kept_events ON COMMIT DROP AS
        SELECT p.* FROM ${name} p LEFT JOIN checkpoints c ON c.board_id = p.board_id
        WHERE p.seq > coalesce(c.seq, 0)`);
      await client.query(`
        DELETE FROM score_event_ids i
        USING ${name} p LEFT JOIN checkpoints c ON c.board_id = p.board_id
        WHERE i.board_id = p.board_id AND i.event_id = p.event_id AND p.seq <= coalesce(c.seq, 0)`);
      await client.query(`ALTER TABLE score_events DETACH PARTITION ${name}`);
      await client.query(`INSERT INTO score_events SELECT * FROM ladder_kept_events`);
      await client.query(`DROP TABLE ${name}`);
      return name;
    });
    if (name === null) return dropped;
    dropped.push(name);
  }
}

/**
 * Deletes from the default partition, in statements of PRUNE_LIMIT rows,
 * the events received before `cutoff` that their board's checkpoint covers,
 * with their event ids. Returns how many it deleted.
 */
export async function pruneDefaultPartition(pool: pg.Pool, cutoff: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const count = await underMaintenanceLock(pool, async (client) => {
      const { rows } = await client.query<{ count: string }>(
        `
        WITH gone AS (
          DELETE FROM score_events_default d
          WHERE d.ctid = ANY (ARRAY(
            SELECT p.ctid FROM score_events_default p LEFT JOIN checkpoints c ON c.board_id = p.board_id
            WHERE p.received_at < $1 AND p.seq <= coalesce(c.seq, 0)
            LIMIT $2
          ))
          RETURNING d.board_id, d.event_id
        ),
        ids AS (
          DELETE FROM score_event_ids i USING gone WHERE i.board_id = gone.board_id AND i.event_id = gone.event_id
        )
        SELECT count(*) FROM gone`,
        [cutoff, PRUNE_LIMIT],
      );
      return Number(rows[0]!.count);
    });
    if (count === null) return deleted;
    deleted += count;
    if (count < PRUNE_LIMIT) return deleted;
  }
}
