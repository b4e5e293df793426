/**
 * A participant's history (store.ts participantHistory) as both SQL stores
 * build it: two parts, each read newest first in its own order (accepted
 * events by seq, rejections by id), merged by the time they were received.
 *
 * The cursor holds a bound per part, not a position in the merged order, so
 * a walk along it yields every item exactly once, whatever the clocks did:
 * an item is left behind only below the bound of its own part. The merge
 * stops where a part's read stopped short of its end (it cannot know what
 * comes next there), so items come newest first by received_at as long as
 * each part is in that order too (log order is arrival order; with a clock
 * that stepped back, a part's own order wins). On equal times an accepted
 * event comes first.
 */
import type { HistoryCursor, HistoryItem, HistoryPage, ScoreEvent, StoredRejection } from './store.js';

/** A bound above every seq and id: the start of a walk. */
export const HISTORY_START = Number.MAX_SAFE_INTEGER;

/**
 * What a store read of one part, below `before`: its items newest first, at
 * most `limit` of them, and `frontier`: every item in [frontier, before) is
 * in `items`, and null means there is none below them either. A read that
 * filled `limit` sets it to the last item's key; one that stopped for
 * another reason (SQLite's bound on segments per page) to where it stopped.
 */
export interface HistoryPart<T> {
  readonly items: readonly T[];
  readonly frontier: number | null;
}

/** The part's frontier after reading `rows` (up to limit + 1 of them, newest first) below some bound: the first `limit` are its items. */
export function partOf<T>(rows: readonly T[], limit: number, key: (item: T) => number): HistoryPart<T> {
  if (rows.length <= limit) return { items: rows, frontier: null };
  const items = rows.slice(0, limit);
  return { items, frontier: key(items[limit - 1]!) };
}

/** The bounds a page starts from: the cursor's, or the start; a part that is done reads nothing. */
export function boundsOf(cursor: HistoryCursor | null): HistoryCursor {
  return cursor ?? { acceptedBefore: HISTORY_START, rejectedBefore: HISTORY_START };
}

/** Merges the two parts, read below `bounds`, into a page of at most `limit` items and the cursor after it. */
export function mergeHistory(bounds: HistoryCursor, accepted: HistoryPart<ScoreEvent>, rejected: HistoryPart<StoredRejection>, limit: number): HistoryPage {
  const items: HistoryItem[] = [];
  let a = 0;
  let r = 0;
  while (items.length < limit) {
    const event = accepted.items[a];
    const rejection = rejected.items[r];
    // A part read short of its end: what follows in it may be newer than the other part's next item.
    if ((event === undefined && accepted.frontier !== null) || (rejection === undefined && rejected.frontier !== null)) break;
    if (event === undefined && rejection === undefined) break;
    if (rejection === undefined || (event !== undefined && event.receivedAt >= rejection.receivedAt)) {
      items.push({ outcome: 'accepted', event: event! });
      a += 1;
    } else {
      items.push({ outcome: 'rejected', rejection });
      r += 1;
    }
  }
  const acceptedBefore = nextBound(bounds.acceptedBefore, accepted, a, (event) => event.seq);
  const rejectedBefore = nextBound(bounds.rejectedBefore, rejected, r, (rejection) => rejection.id);
  return { items, next: acceptedBefore === null && rejectedBefore === null ? null : { acceptedBefore, rejectedBefore } };
}

/** The part's bound for the next page, once its first `taken` items are on this one. */
function nextBound<T>(before: number | null, part: HistoryPart<T>, taken: number, key: (item: T) => number): number | null {
  if (before === null) return null;
  if (taken === part.items.length) return part.frontier;
  return taken === 0 ? before : key(part.items[taken - 1]!);
}
