/**
 * Queries on a closed period's final rankings (Store.readFinal), the same
 * for both stores: each store says how to read a page by rank, a
 * participant's entry, a list of participants' entries and the lowest rank
 * of a score, and the rank queries are answered here exactly as the live
 * index answers them (core/windows.ts, and core/ties.ts for shared ranks).
 */
import { sharedRanksOf } from '../core/ties.js';
import type { RankedEntry } from '../core/types.js';
import { aroundSpan, neighborSpan } from '../core/windows.js';
import type { RankOptions, RankPage, RankQuery } from '../index/index.js';

export interface FinalSource {
  /** Entries in the final rankings. */
  readonly total: number;
  /** The entries of ranks offset+1 .. offset+limit. */
  page(offset: number, limit: number): Promise<RankedEntry[]>;
  entryOf(participantId: string): Promise<RankedEntry | null>;
  /** These participants' entries, in rank order; those without one are left out. */
  entriesOf(participantIds: readonly string[]): Promise<RankedEntry[]>;
  /** The lowest rank with the entry's score: its shared rank. Complexity: O(log n + entries tied with it above). */
  sharedRankOf(entry: RankedEntry): Promise<number>;
}

/** Answers the queries as RankIndex.read does, with shared ranks when `options` asks for them. */
export async function answerFinal(source: FinalSource, queries: readonly RankQuery[], options: RankOptions = {}): Promise<RankPage[]> {
  const pages = await unrankedPages(source, queries);
  if (options.ties !== 'shared') return pages;
  // One after the other: a store may answer them on one connection.
  const shared: RankPage[] = [];
  for (const [i, page] of pages.entries()) {
    const { entries } = page;
    let sharedRanks: number[] = [];
    if (queries[i]!.kind === 'participants') {
      for (const entry of entries) sharedRanks.push(await source.sharedRankOf(entry));
    } else if (entries.length > 0) {
      sharedRanks = sharedRanksOf(entries, await source.sharedRankOf(entries[0]!));
    }
    shared.push({ ...page, sharedRanks });
  }
  return shared;
}

async function unrankedPages(source: FinalSource, queries: readonly RankQuery[]): Promise<RankPage[]> {
  const pages: RankPage[] = [];
  for (const query of queries) {
    switch (query.kind) {
      case 'page':
        pages.push({ entries: await source.page(query.offset, query.limit), focus: null });
        break;
      case 'participants':
        pages.push({ entries: await source.entriesOf([...new Set(query.participantIds)]), focus: null });
        break;
      case 'around':
      case 'neighbors': {
        const focus = await source.entryOf(query.participantId);
        if (focus === null) {
          pages.push({ entries: [], focus: null });
          break;
        }
        const span = query.kind === 'around' ? aroundSpan(focus.rank, source.total, query.size) : neighborSpan(focus.rank, query.radius);
        pages.push({ entries: await source.page(span.offset, span.limit), focus });
        break;
      }
    }
  }
  return pages;
}
