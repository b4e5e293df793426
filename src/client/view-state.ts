/**
 * The local copy of a view, and how snapshots and deltas change it
 * (docs/protocol.md). Pure functions with no I/O, so the server's tests can
 * replay what they sent and check that it rebuilds their own view exactly.
 */
import type { DeltaMessage, SnapshotMessage, ViewEntry } from './protocol.js';

export interface ViewState {
  /** The board's epoch the version belongs to: a version means nothing in another epoch. */
  readonly epoch: string;
  readonly version: number;
  /** Entries on the whole board, not only in the view. */
  readonly total: number;
  /** Rank shown for entries[0]. */
  readonly firstRank: number;
  readonly entries: readonly ViewEntry[];
}

export type DeltaOutcome =
  | { readonly ok: true; readonly state: ViewState }
  /**
   * `gap`: the delta does not start at the local version (a message was
   * missed), or belongs to another epoch (the versions were reissued).
   * `inconsistent`: an upsert lands outside the list. Either way the local
   * copy can no longer be trusted and the view must be resubscribed.
   */
  | { readonly ok: false; readonly reason: 'gap' | 'inconsistent' };

/**
 * The state a snapshot describes, with the ranks it carries: first_rank +
 * position, or shared ranks on a board that shares them (the rankings
 * answers a poll turns into snapshots carry those too).
 */
export function stateFromSnapshot(snapshot: Omit<SnapshotMessage, 'type' | 'sub'>): ViewState {
  return {
    epoch: snapshot.epoch,
    version: snapshot.version,
    total: snapshot.total,
    firstRank: snapshot.first_rank,
    entries: snapshot.entries.map(copyEntry),
  };
}

/**
 * Applies a delta: drops the removed participants, inserts the upserts in
 * ascending rank at position `rank − first_rank`, then renumbers from
 * first_rank. A delta whose to_version is its from_version (a rename) applies
 * like any other. On a board with shared ranks (the delta has first_place), an
 * upsert goes to `place − first_place` and the ranks are renumbered as
 * shared ones: an entry shares the rank of the one before it when their
 * scores are equal, else its rank is first_place + position (the first
 * entry's is first_rank). An upserted participant still in the list is dropped first too,
 * so a participant can never appear twice. A delta of another epoch than the
 * local copy's is a gap, even when its from_version matches: the version was
 * issued again. Complexity: O(view size × upserts).
 */
export function applyDelta(state: ViewState | null, delta: Omit<DeltaMessage, 'type' | 'sub'>): DeltaOutcome {
  if (state === null || delta.from_version !== state.version || delta.epoch !== state.epoch) return { ok: false, reason: 'gap' };
  const leaving = new Set(delta.removes);
  for (const upsert of delta.upserts) leaving.add(upsert.participant_id);
  const entries = state.entries.filter((entry) => !leaving.has(entry.participant_id));
  const firstPlace = delta.first_place ?? delta.first_rank;
  const placeOf = (upsert: ViewEntry) => upsert.place ?? upsert.rank;
  const upserts = [...delta.upserts].sort((a, b) => placeOf(a) - placeOf(b));
  for (const upsert of upserts) {
    const position = placeOf(upsert) - firstPlace;
    if (position < 0 || position > entries.length) return { ok: false, reason: 'inconsistent' };
    entries.splice(position, 0, copyEntry(upsert));
  }
  return {
    ok: true,
    state: { epoch: state.epoch, version: delta.to_version, total: delta.total, firstRank: delta.first_rank, entries: numbered(entries, delta.first_rank, delta.first_place) },
  };
}

/** The entry's fields of the protocol, the profile's ones only when set (so that entries compare equal with and without them). */
function copyEntry(entry: ViewEntry): ViewEntry {
  const copy: { -readonly [K in keyof ViewEntry]: ViewEntry[K] } = { rank: entry.rank, participant_id: entry.participant_id, score: entry.score, achieved_at: entry.achieved_at };
  if (entry.display_name !== undefined) copy.display_name = entry.display_name;
  if (entry.avatar_url !== undefined) copy.avatar_url = entry.avatar_url;
  return copy;
}

/** Ranks from first_rank by position, or shared ones from first_place (see applyDelta). */
function numbered(entries: ViewEntry[], firstRank: number, firstPlace?: number): ViewEntry[] {
  const numbered: ViewEntry[] = [];
  entries.forEach((entry, i) => {
    const previous = numbered[i - 1];
    let rank = firstRank + i;
    if (firstPlace !== undefined && previous !== undefined) rank = entry.score === previous.score ? previous.rank : firstPlace + i;
    numbered.push(entry.rank === rank ? entry : { ...entry, rank });
  });
  return numbered;
}
