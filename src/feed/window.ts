/**
 * What a view shows at one version (its window), how it is read from the
 * index, and how two windows differ (docs/protocol.md "delta").
 */
import type { RankIndex } from '../index/index.js';
import type { RankedEntry } from '../core/types.js';
import type { ViewSpec, WireEntry } from './protocol.js';

export interface WindowEntry {
  readonly participantId: string;
  readonly score: number;
  readonly achievedAt: number;
}

export interface ViewWindow {
  /** Rank of the first entry; 0 when the window is empty. */
  readonly firstRank: number;
  readonly entries: readonly WindowEntry[];
}

export const EMPTY_WINDOW: ViewWindow = { firstRank: 0, entries: [] };

/** The windows of several views of one board, all read at `version`. */
export interface BoardRead {
  readonly version: number;
  readonly total: number;
  /** One per requested view, in the same order. */
  readonly windows: ViewWindow[];
}

/**
 * Reads the windows of `specs` from the index. Top-N views share one range
 * read, and each participant is looked up once however many views follow it.
 *
 * The reads of each phase start in one synchronous run, so the in-process
 * index answers them from one state. Around views need a second phase (their
 * range depends on the participant's rank); the version is read before and
 * after, and a read that straddled a change returns null, because a window
 * labelled with the wrong version would break resume.
 */
export async function readWindows(index: RankIndex, boardId: string, specs: readonly ViewSpec[]): Promise<BoardRead | null> {
  let maxTop = 0;
  const participants = new Set<string>();
  for (const spec of specs) {
    if ('top' in spec) maxTop = Math.max(maxTop, spec.top);
    else participants.add('around' in spec ? spec.around : spec.participant);
  }
  const lookedUp = [...participants];
  const [versionBefore, total, top, ...entries] = await Promise.all([
    index.version(boardId),
    index.total(boardId),
    maxTop > 0 ? index.range(boardId, 0, maxTop) : [],
    ...lookedUp.map((pid) => index.get(boardId, pid)),
  ]);
  const entryOf = new Map<string, RankedEntry | null>();
  lookedUp.forEach((pid, i) => entryOf.set(pid, entries[i] as RankedEntry | null));

  const aroundReads = new Map<string, Promise<RankedEntry[]>>();
  const aroundKey = (spec: ViewSpec): string | null => {
    if (!('around' in spec)) return null;
    const rank = entryOf.get(spec.around)?.rank;
    if (rank === undefined) return null;
    const first = Math.max(1, rank - spec.radius);
    const key = `${first}:${rank + spec.radius - first + 1}`;
    if (!aroundReads.has(key)) aroundReads.set(key, index.range(boardId, first - 1, rank + spec.radius - first + 1));
    return key;
  };
  const aroundKeys = specs.map(aroundKey);
  const aroundWindows = new Map<string, RankedEntry[]>();
  const [version] = await Promise.all([
    index.version(boardId),
    ...[...aroundReads].map(async ([key, read]) => aroundWindows.set(key, await read)),
  ]);
  if (version !== versionBefore) return null;

  const windows = specs.map((spec, i): ViewWindow => {
    if ('top' in spec) return toWindow(top.length > spec.top ? top.slice(0, spec.top) : top);
    if ('participant' in spec) {
      const entry = entryOf.get(spec.participant);
      return entry ? toWindow([entry]) : EMPTY_WINDOW;
    }
    const key = aroundKeys[i];
    return key ? toWindow(aroundWindows.get(key) ?? []) : EMPTY_WINDOW;
  });
  return { version, total, windows };
}

function toWindow(entries: readonly RankedEntry[]): ViewWindow {
  const first = entries[0];
  return first ? { firstRank: first.rank, entries } : EMPTY_WINDOW;
}

export interface WindowDiff {
  /** Participants that left the window or whose score or achieved_at changed. */
  readonly removes: string[];
  /** Entries new to the window or changed, in ascending rank. */
  readonly upserts: WireEntry[];
}

/**
 * What turns `before` into `after` by the protocol's rule, or null when
 * neither the entries nor first_rank changed. Entries that stay in the window
 * with the same score and achieved_at keep their relative order (the rank
 * order is total), so they need not be sent. Complexity: O(window).
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
  return { rank, participant_id: entry.participantId, score: entry.score, achieved_at: entry.achievedAt };
}

function sameKey(a: WindowEntry | undefined, b: WindowEntry): boolean {
  return a !== undefined && a.score === b.score && a.achievedAt === b.achievedAt;
}

function sameEntries(a: readonly WindowEntry[], b: readonly WindowEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as WindowEntry;
    const y = b[i] as WindowEntry;
    if (x.participantId !== y.participantId || x.score !== y.score || x.achievedAt !== y.achievedAt) return false;
  }
  return true;
}
