/**
 * What a view shows at one version (its window), how the windows of a
 * board's views are read (one read port call, so one state), and how two
 * windows differ (docs/protocol.md "delta").
 */
import type { BoardRules, ShownEntry } from '../core/types.js';
import { aroundViewSize } from '../core/windows.js';
import type { RankQuery, RankRead } from '../index/index.js';
import type { ViewSpec, WireEntry } from './protocol.js';

export interface WindowEntry {
  readonly participantId: string;
  readonly score: number;
  readonly achievedAt: number;
  /** What the participant's profile shows, when it sets it. */
  readonly displayName?: string;
  readonly avatarUrl?: string;
}

export interface ViewWindow {
  /** Rank of the first entry; 0 when the window is empty. */
  readonly firstRank: number;
  readonly entries: readonly WindowEntry[];
}

export const EMPTY_WINDOW: ViewWindow = { firstRank: 0, entries: [] };

/** Where the feed reads boards: the service's read port. */
export interface FeedSource {
  /** The board's rules, or undefined when it does not exist. Synchronous. */
  rules(boardId: string): BoardRules | undefined;
  /** Answers the queries from one state of the board (Backend.read), with what profiles show (Ladder.read). */
  read(boardId: string, queries: readonly RankQuery[]): Promise<RankRead<ShownEntry>>;
}

/** The windows of several views of one board, all read from one state. */
export interface BoardRead {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  /** One per requested view, in the same order. */
  readonly windows: ViewWindow[];
}

/**
 * Reads the windows of `specs` in one read. Top-N views share one page (the
 * largest N), and views that ask the same question share its answer.
 */
export async function readWindows(source: FeedSource, boardId: string, specs: readonly ViewSpec[]): Promise<BoardRead> {
  let maxTop = 0;
  for (const spec of specs) if ('top' in spec) maxTop = Math.max(maxTop, spec.top);
  const queries: RankQuery[] = [];
  const queryOf = new Map<string, number>();
  const ask = (key: string, query: RankQuery): number => {
    let at = queryOf.get(key);
    if (at === undefined) {
      at = queries.push(query) - 1;
      queryOf.set(key, at);
    }
    return at;
  };
  const asked = specs.map((spec) => {
    if ('top' in spec) return ask('top', { kind: 'page', offset: 0, limit: maxTop });
    if ('around' in spec) return ask(`around:${spec.radius}:${spec.around}`, { kind: 'around', participantId: spec.around, size: aroundViewSize(spec.radius) });
    return ask(`participant:${spec.participant}`, { kind: 'participants', participantIds: [spec.participant] });
  });
  const read = await source.read(boardId, queries);
  const windows = specs.map((spec, i): ViewWindow => {
    const entries = read.pages[asked[i] as number]!.entries;
    if ('top' in spec) return toWindow(entries.length > spec.top ? entries.slice(0, spec.top) : entries);
    return toWindow(entries);
  });
  return { epoch: read.epoch, version: read.version, total: read.total, windows };
}

/** A window holds the read's entries as they are: their other fields (rank, metadata) go nowhere. */
function toWindow(entries: readonly (WindowEntry & { readonly rank: number })[]): ViewWindow {
  const first = entries[0];
  return first ? { firstRank: first.rank, entries } : EMPTY_WINDOW;
}

export interface WindowDiff {
  /** Participants that left the window or whose score, achieved_at, display name or avatar changed. */
  readonly removes: string[];
  /** Entries new to the window or changed, in ascending rank. */
  readonly upserts: WireEntry[];
}

/**
 * What turns `before` into `after` by the protocol's rule, or null when
 * neither the entries nor first_rank changed. Entries that stay in the window
 * with the same score and achieved_at keep their relative order (the rank
 * order is total), so they need not be sent, unless what their profile
 * shows changed (a rename). Complexity: O(window).
 */
export function diffWindows(before: ViewWindow, after: ViewWindow): WindowDiff | null {
  if (before.firstRank === after.firstRank && sameEntries(before.entries, after.entries)) return null;
  const old = new Map<string, WindowEntry>();
  for (const entry of before.entries) old.set(entry.participantId, entry);
  const current = new Map<string, WindowEntry>();
  const upserts: WireEntry[] = [];
  after.entries.forEach((entry, i) => {
    current.set(entry.participantId, entry);
    if (!sameKey(old.get(entry.participantId), entry)) upserts.push(toWireEntry(entry, after.firstRank + i));
  });
  const removes: string[] = [];
  for (const entry of before.entries) {
    if (!sameKey(current.get(entry.participantId), entry)) removes.push(entry.participantId);
  }
  return { removes, upserts };
}

export function toWireEntry(entry: WindowEntry, rank: number): WireEntry {
  const wire: { -readonly [K in keyof WireEntry]: WireEntry[K] } = { rank, participant_id: entry.participantId, score: entry.score, achieved_at: entry.achievedAt };
  if (entry.displayName !== undefined) wire.display_name = entry.displayName;
  if (entry.avatarUrl !== undefined) wire.avatar_url = entry.avatarUrl;
  return wire;
}

/** The same entry as far as a viewer sees it: ranking key and what its profile shows. */
function sameKey(a: WindowEntry | undefined, b: WindowEntry): boolean {
  return a !== undefined && a.score === b.score && a.achievedAt === b.achievedAt && a.displayName === b.displayName && a.avatarUrl === b.avatarUrl;
}

function sameEntries(a: readonly WindowEntry[], b: readonly WindowEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as WindowEntry;
    const y = b[i] as WindowEntry;
    if (x.participantId !== y.participantId || !sameKey(x, y)) return false;
  }
  return true;
}
