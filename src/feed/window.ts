/**
 * What a view shows at one version (its window), how the windows of a
 * board's views are read (one read port call, so one state), and how two
 * windows differ (docs/protocol.md "delta").
 */
import { scoreToWire } from '../core/fixed-point.js';
import type { BoardConfig, BoardRules, ShownEntry } from '../core/types.js';
import { aroundViewSize } from '../core/windows.js';
import type { RankPage, RankQuery, RankRead } from '../index/index.js';
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
  /** Rank shown for the first entry; 0 when the window is empty. */
  readonly firstRank: number;
  /**
   * Boards with shared ranks only: the first entry's place in the order (its
   * unique rank), from which the entries' places, and so where a delta's
   * upserts go, follow (docs/protocol.md "Shared ranks"). Without it the
   * place is the rank.
   */
  readonly firstPlace?: number;
  readonly entries: readonly WindowEntry[];
  /** The board's score_decimals when not 0: scores are kept ×10^scoreDecimals and shown as decimals. */
  readonly scoreDecimals?: number;
}

export const EMPTY_WINDOW: ViewWindow = { firstRank: 0, entries: [] };

/** Where the feed reads boards: the service's read port. */
export interface FeedSource {
  /** The board's rules (and how it shows scores), or undefined when it does not exist. Synchronous. */
  rules(boardId: string): (BoardRules & Partial<Pick<BoardConfig, 'scoreDecimals'>>) | undefined;
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
  const decimals = source.rules(boardId)?.scoreDecimals ?? 0;
  const windows = specs.map((spec, i): ViewWindow => {
    const page = read.pages[asked[i] as number]!;
    const limit = 'top' in spec ? spec.top : page.entries.length;
    return toWindow(page, limit, decimals);
  });
  return { epoch: read.epoch, version: read.version, total: read.total, windows };
}

/** The first `limit` entries of the page as a window (with their shared ranks, when the read returned them); their other fields (metadata) go nowhere. */
function toWindow(page: RankPage<ShownEntry>, limit: number, decimals: number): ViewWindow {
  const entries = page.entries.length > limit ? page.entries.slice(0, limit) : page.entries;
  const first = entries[0];
  if (first === undefined) return decimals === 0 ? EMPTY_WINDOW : { ...EMPTY_WINDOW, scoreDecimals: decimals };
  const window: { -readonly [K in keyof ViewWindow]: ViewWindow[K] } = { firstRank: first.rank, entries };
  if (page.sharedRanks !== undefined) {
    window.firstRank = page.sharedRanks[0]!;
    window.firstPlace = first.rank;
  }
  if (decimals !== 0) window.scoreDecimals = decimals;
  return window;
}

/**
 * The rank shown for each entry of the window: first_rank + position, or on
 * boards with shared ranks the rank of the entry before when their scores
 * are equal, else the entry's place (core/ties.ts). Complexity: O(window).
 */
export function windowRanks(window: ViewWindow): number[] {
  const { entries, firstRank, firstPlace } = window;
  const ranks: number[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    if (i === 0) ranks[i] = firstRank;
    else if (firstPlace === undefined) ranks[i] = firstRank + i;
    else ranks[i] = entries[i]!.score === entries[i - 1]!.score ? ranks[i - 1]! : firstPlace + i;
  }
  return ranks;
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
  if (before.firstRank === after.firstRank && before.firstPlace === after.firstPlace && sameEntries(before.entries, after.entries)) return null;
  const old = new Map<string, WindowEntry>();
  for (const entry of before.entries) old.set(entry.participantId, entry);
  const current = new Map<string, WindowEntry>();
  const upserts: WireEntry[] = [];
  const ranks = windowRanks(after);
  after.entries.forEach((entry, i) => {
    current.set(entry.participantId, entry);
    if (sameKey(old.get(entry.participantId), entry)) return;
    upserts.push(toWireEntry(entry, ranks[i]!, after.scoreDecimals, after.firstPlace === undefined ? undefined : after.firstPlace + i));
  });
  const removes: string[] = [];
  for (const entry of before.entries) {
    if (!sameKey(current.get(entry.participantId), entry)) removes.push(entry.participantId);
  }
  return { removes, upserts };
}

/** One entry as it travels: its score as the board shows it, what the participant's profile shows, and, for an upsert on a board with shared ranks, its place. */
export function toWireEntry(entry: WindowEntry, rank: number, decimals = 0, place?: number): WireEntry {
  const wire: { -readonly [K in keyof WireEntry]: WireEntry[K] } = { rank, participant_id: entry.participantId, score: scoreToWire(entry.score, decimals), achieved_at: entry.achievedAt };
  if (entry.displayName !== undefined) wire.display_name = entry.displayName;
  if (entry.avatarUrl !== undefined) wire.avatar_url = entry.avatarUrl;
  if (place !== undefined) wire.place = place;
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
