/**
 * Exports read a whole ranking as a sequence of pages, so that a board of
 * millions of entries streams in constant memory: the HTTP edge encodes one
 * page at a time and asks for the next only when the client has taken the
 * last (src/http/export.ts). The pages are a plain async iterable, so any
 * ranking can be a source: the live board here, and a closed period's final
 * rankings from the store in the same shape.
 *
 * A live board is read through the read port, one page per read, each read
 * one consistent state of the board. What a write between two reads can do
 * to the file is stated at `rankingPages`.
 */
import { isCluster, type Config } from '../core/config.js';
import { LadderError } from '../core/errors.js';
import { scoreToWire } from '../core/fixed-point.js';
import { withSharedRanks } from '../core/ties.js';
import type { RankedEntry } from '../core/types.js';
import type { RankPage } from '../index/index.js';
import type { Ladder } from './ladder.js';

/**
 * Entries per read of the live board: large enough that a read costs little
 * per entry, small enough to hold one at a time. Embedded, a read is a walk
 * of the in-process ranking (10,000 entries take about a millisecond). In
 * cluster mode it is one script call, and Redis runs nothing else meanwhile
 * (about 12 µs per entry: bucket and metadata lookups), so a page is what
 * the rankings endpoint's largest read costs already: 1000 entries.
 */
export function exportPageSize(config: Config): number {
  return isCluster(config) ? 1_000 : 10_000;
}

/** An exported entry. `updatedAt` is null when the source does not keep it. */
export type ExportEntry = Omit<RankedEntry, 'updatedAt'> & { readonly updatedAt: number | null };

/** One page of an export, labelled with the state of the ranking it was read from. */
export interface RankingPage {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  /** In rank order, continuing the previous page's ranks. */
  readonly entries: readonly ExportEntry[];
}

/**
 * A ranking to export, page after page in rank order. The first page comes
 * even when it is empty, so that an export can label its answer with the
 * state before it sends a byte, and a source that fails (an unknown board)
 * fails on that first page.
 */
export type RankingPages = AsyncIterable<RankingPage>;

/**
 * The live ranking of a board (or, with `period`, a closed period's final
 * rankings, which never change), `pageSize` entries per read (ranks 1..n,
 * then n+1..2n, ...), until a read returns fewer than that.
 *
 * Consistency: when no write lands while the export runs, the pages are the
 * board at one version, exactly. A write between two reads can move an
 * entry across the boundary between the pages already read and those to
 * come: an entry that climbs from the part still to read into the part read
 * is missing from the export, and one that falls the other way (or a new
 * entry above the boundary, which pushes the entry at the boundary down) is
 * listed twice; ranks in the export stay 1, 2, 3, ... in order. A change of
 * the board's epoch (the board deleted and created again, rebuilt, or
 * reloaded after a failed commit) makes the ranks of the two states
 * unrelated, so the pages stop with export_interrupted, and so does a board
 * deleted meanwhile (board_not_found). Complexity: O(log n + pageSize) per
 * read, O(pageSize) memory.
 */
export async function* rankingPages(ladder: Ladder, boardId: string, period?: string, pageSize = exportPageSize(ladder.config)): AsyncGenerator<RankingPage> {
  let epoch: string | null = null;
  const decimals = (await ladder.requireBoard(boardId)).scoreDecimals;
  for (let offset = 0; ; ) {
    const read = await ladder.read(boardId, [{ kind: 'page', offset, limit: pageSize }], period, { shown: false });
    if (epoch !== null && read.epoch !== epoch) throw exportInterrupted(boardId, epoch, read.epoch, offset);
    epoch = read.epoch;
    const page = read.pages[0];
    const entries = page === undefined ? [] : shownForExport(page, decimals);
    yield { epoch: read.epoch, version: read.version, total: read.total, entries };
    if (entries.length < pageSize) return;
    offset += entries.length;
  }
}

/** The page's entries as the board shows them: shared ranks under rank_ties 'shared', scores as decimals under score_decimals. */
function shownForExport(page: RankPage, decimals: number): readonly ExportEntry[] {
  const ranked = withSharedRanks(page.entries, page.sharedRanks);
  return decimals === 0 ? ranked : ranked.map((entry) => ({ ...entry, score: scoreToWire(entry.score, decimals) }));
}

function exportInterrupted(boardId: string, from: string, to: string, exported: number): LadderError {
  return new LadderError(
    'export_interrupted',
    `the export of leaderboard '${boardId}' stopped after ${exported} entries: the board's epoch changed from ${from} to ${to} while it streamed; export again`,
    { leaderboard_id: boardId, exported },
  );
}
