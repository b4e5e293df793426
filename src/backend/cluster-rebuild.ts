/**
 * `ladder rebuild`: restores the live ranks of cluster mode in Redis from
 * PostgreSQL, board by board, after Redis lost data. Each board gets its
 * entries and its version from PostgreSQL and a new epoch, and the running
 * processes hear a board_reset, so their viewers resync from the restored
 * state without a restart.
 *
 * What the persister had not moved to PostgreSQL when Redis lost it is lost
 * with it (README "Cluster mode": what each LADDER_ACK setting can lose).
 * On a Redis that still holds a board, its stream is drained into
 * PostgreSQL first, so a rebuild of a healthy board loses nothing that was
 * acknowledged before it started.
 */
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import { boardNotFound } from '../core/errors.js';
import type { BoardConfig } from '../core/types.js';
import { clusterParts } from './cluster-parts.js';

export interface RebuildProgress {
  readonly boards: number;
  readonly of: number;
  readonly entries: number;
  readonly boardId: string;
}

export async function rebuildBoards(
  config: Config,
  logger: Logger,
  boardId: string | null,
  onProgress: (progress: RebuildProgress) => void,
): Promise<{ boards: number; entries: number; ms: number }> {
  const started = performance.now();
  const parts = await clusterParts(config, logger);
  try {
    let boards: BoardConfig[];
    if (boardId === null) {
      boards = (await parts.store.listBoards()).map((stored) => stored.config);
    } else {
      const stored = await parts.store.getBoard(boardId);
      if (stored === null) throw boardNotFound(boardId);
      boards = [stored.config];
    }
    let entries = 0;
    for (const [i, board] of boards.entries()) {
      onProgress({ boards: i, of: boards.length, entries, boardId: board.id });
      entries += await parts.backend.rebuild(board);
    }
    onProgress({ boards: boards.length, of: boards.length, entries, boardId: '' });
    return { boards: boards.length, entries, ms: performance.now() - started };
  } finally {
    await parts.backend.close();
    await parts.close();
    await parts.store.close();
  }
}
