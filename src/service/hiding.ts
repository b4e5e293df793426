/**
 * Hidden participants (POST .../participants/{pid}/hide). Their entries stay
 * where they are, in the live ranking and in the store: nothing of theirs is
 * lost, and unhiding shows them again at once, with what they had. Every
 * read of the board leaves them out instead, and the ranks below them close
 * up. Reads pass through one place (Ladder's read), so REST answers, live
 * views, exports and archives agree.
 *
 * A board hides few participants (MAX_HIDDEN), so a read asks, in the same
 * read of one state, for as many more entries as are hidden, and for the
 * hidden ones' own entries; it then drops them and renumbers: an entry's
 * rank goes down by the hidden entries ranked above it (its shared rank by
 * those with a strictly better score). Complexity: O(k) more entries read
 * and O((entries + k) log k) to renumber, for k hidden participants.
 */
import type { RankedEntry, SortOrder } from '../core/types.js';
import { aroundSpan, neighborSpan } from '../core/windows.js';
import type { RankPage, RankQuery, RankRead } from '../index/index.js';

/** Participants one board hides at most (each is in the board's configuration, which every process holds). */
export const MAX_HIDDEN = 1000;

/** The queries that, once the hidden are dropped, still hold what `queries` ask for; the hidden ones' entries last. */
export function widenQueries(queries: readonly RankQuery[], hidden: readonly string[]): RankQuery[] {
  const k = hidden.length;
  const wide = queries.map((query): RankQuery => {
    switch (query.kind) {
      case 'page':
        return { ...query, limit: query.limit + k };
      case 'around':
        return { ...query, size: query.size + 2 * k };
      case 'neighbors':
        return { ...query, radius: query.radius + k };
      case 'participants':
        return query;
    }
  });
  wide.push({ kind: 'participants', participantIds: hidden });
  return wide;
}

/** How many of the ascending `values` are below `value`. */
function countBelow(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (values[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The read of widenQueries(queries) answered as `queries` would be on the board without the hidden participants. */
export function withoutHidden<E extends RankedEntry>(read: RankRead<E>, queries: readonly RankQuery[], hidden: ReadonlySet<string>, sortOrder: SortOrder): RankRead<E> {
  const hiddenEntries = read.pages[queries.length]!.entries;
  const renumber = closingUp(hiddenEntries, sortOrder);
  const total = read.total - hiddenEntries.length;
  const pages = queries.map((query, i): RankPage<E> => {
    const page = read.pages[i]!;
    const entries: E[] = [];
    const shared: number[] | undefined = page.sharedRanks === undefined ? undefined : [];
    page.entries.forEach((entry, j) => {
      if (hidden.has(entry.participantId)) return;
      entries.push({ ...entry, rank: renumber.unique(entry.rank) });
      shared?.push(renumber.shared(page.sharedRanks![j]!, entry.score));
    });
    const focusId = page.focus === null || hidden.has(page.focus.participantId) ? null : page.focus.participantId;
    const focus = focusId === null ? null : (entries.find((entry) => entry.participantId === focusId) ?? null);
    let from = 0;
    let to = entries.length;
    if (query.kind === 'page') {
      ({ from, to } = spanIn(entries, query.offset, query.limit));
    } else if (query.kind === 'around' || query.kind === 'neighbors') {
      if (focus === null) return { entries: [], focus: null, ...(shared === undefined ? {} : { sharedRanks: [] }) };
      const span = query.kind === 'around' ? aroundSpan(focus.rank, total, query.size) : neighborSpan(focus.rank, query.radius);
      ({ from, to } = spanIn(entries, span.offset, span.limit));
    }
    const kept = from === 0 && to === entries.length ? entries : entries.slice(from, to);
    return { entries: kept, focus, ...(shared === undefined ? {} : { sharedRanks: shared.slice(from, to) }) };
  });
  return { ...read, total, pages };
}

/** The positions in `entries` (ascending ranks) of ranks offset+1 .. offset+limit. */
function spanIn(entries: readonly RankedEntry[], offset: number, limit: number): { from: number; to: number } {
  let from = 0;
  while (from < entries.length && entries[from]!.rank <= offset) from++;
  let to = from;
  while (to < entries.length && entries[to]!.rank <= offset + limit) to++;
  return { from, to };
}

/**
 * How ranks close up without the hidden entries (in rank order): a unique
 * rank goes down by the hidden ones ranked above it, a shared rank by those
 * with a strictly better score.
 */
export function closingUp(hiddenEntries: readonly RankedEntry[], sortOrder: SortOrder): { unique(rank: number): number; shared(rank: number, score: number): number } {
  const ranks = hiddenEntries.map((entry) => entry.rank);
  // "Strictly better" as "strictly below" a key: on a desc board the scores negated.
  const key = (score: number) => (sortOrder === 'desc' ? -score : score);
  const keys = hiddenEntries.map((entry) => key(entry.score)).sort((a, b) => a - b);
  return {
    unique: (rank) => rank - countBelow(ranks, rank),
    shared: (rank, score) => rank - countBelow(keys, key(score)),
  };
}

/** The ids in a board's hidden marks, as a set (kept per marks array: a configuration's arrays never change). */
const hiddenSets = new WeakMap<readonly { participantId: string }[], ReadonlySet<string>>();
export function hiddenSet(marks: readonly { participantId: string }[]): ReadonlySet<string> {
  let set = hiddenSets.get(marks);
  if (set === undefined) {
    set = new Set(marks.map((mark) => mark.participantId));
    hiddenSets.set(marks, set);
  }
  return set;
}
