/**
 * Views (docs/protocol.md "Views"): what a subscriber watches on a board, and
 * the shared state of one distinct view. All subscribers of the same view,
 * over WebSocket or SSE, share one View: its window is computed once per tick
 * and each delta is serialized once.
 */
import { LadderError } from '../core/errors.js';
import { isParticipantId } from '../core/ids.js';
import { DeltaHistory, type Delta } from './history.js';
import type { ViewSpec } from './protocol.js';
import type { Subscription } from './subscriber.js';
import { diffWindows, EMPTY_WINDOW, toWireEntry, windowRanks, type ViewWindow } from './window.js';

export const MAX_TOP = 1000;
export const MAX_RADIUS = 100;

/** Validates a view as sent in a subscribe message. Throws LadderError('invalid_view'). */
export function parseView(value: unknown): ViewSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LadderError('invalid_view', 'view must be an object: {"top":N}, {"around":"<pid>","radius":k} or {"participant":"<pid>"}');
  }
  const view = value as Record<string, unknown>;
  const keys = Object.keys(view).sort().join(',');
  if (keys === 'top') {
    if (!isIntegerIn(view.top, 1, MAX_TOP)) throw new LadderError('invalid_view', `view.top must be an integer from 1 to ${MAX_TOP}`);
    return { top: view.top };
  }
  if (keys === 'around,radius') {
    if (!isParticipantId(view.around)) throw new LadderError('invalid_view', 'view.around must be a participant id');
    if (!isIntegerIn(view.radius, 0, MAX_RADIUS)) throw new LadderError('invalid_view', `view.radius must be an integer from 0 to ${MAX_RADIUS}`);
    return { around: view.around, radius: view.radius };
  }
  if (keys === 'participant') {
    if (!isParticipantId(view.participant)) throw new LadderError('invalid_view', 'view.participant must be a participant id');
    return { participant: view.participant };
  }
  throw new LadderError('invalid_view', `unknown view with keys '${keys}'; use top, around + radius, or participant`);
}

/**
 * Parses the `view` query parameter of the SSE route: the view's JSON or a
 * shorthand `top:N`, `participant:<pid>`, `around:<radius>:<pid>`.
 */
export function parseViewParam(text: string): ViewSpec {
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new LadderError('invalid_view', 'view is neither valid JSON nor a shorthand');
    }
    return parseView(value);
  }
  const [kind, ...rest] = text.split(':');
  const number = (raw: string | undefined): number | string => (raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : String(raw));
  switch (kind) {
    case 'top':
      return parseView({ top: number(rest.join(':')) });
    case 'participant':
      return parseView({ participant: rest.join(':') });
    case 'around':
      return parseView({ around: rest.slice(1).join(':'), radius: number(rest[0]) });
    default:
      throw new LadderError('invalid_view', 'view must be JSON or one of top:N, participant:<pid>, around:<radius>:<pid>');
  }
}

export type ViewKind = 'top' | 'around' | 'participant';

/** Which of the three kinds of view `spec` is. */
export function viewKind(spec: ViewSpec): ViewKind {
  if ('top' in spec) return 'top';
  return 'around' in spec ? 'around' : 'participant';
}

/** One canonical string per distinct view of a board. */
export function viewKey(spec: ViewSpec): string {
  if ('top' in spec) return `top:${spec.top}`;
  if ('around' in spec) return `around:${spec.radius}:${spec.around}`;
  return `participant:${spec.participant}`;
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

export interface HistoryBounds {
  readonly historySize: number;
  readonly historyBytes: number;
}

/** What a new read of a view's window led to. */
export type Advance =
  /** The window changed within the epoch: this delta leads there. */
  | { readonly kind: 'delta'; readonly delta: Delta }
  /** The board's epoch changed: the history is gone and every subscriber needs a snapshot. */
  | { readonly kind: 'reset' }
  | { readonly kind: 'unchanged' };

/**
 * The shared state of one distinct view of a board: its window at `version`
 * (the view's last chain point: the to_version of its last delta) within
 * `epoch`, its recent deltas and its subscriptions. `version` moves only when
 * the window changes, so every subscriber's chain of deltas is the same.
 */
export class View {
  readonly boardId: string;
  readonly key: string;
  readonly spec: ViewSpec;
  readonly subscriptions = new Set<Subscription>();
  readonly history: DeltaHistory;
  epoch = '';
  version = 0;
  total = 0;
  /** The board's change count (BoardFeed.changes) when the window was last read. */
  readAt = 0;
  /** When the view lost its last subscriber (performance.now()); null while it has some. */
  idleSince: number | null = null;
  private window: ViewWindow = EMPTY_WINDOW;
  /** The serialized snapshot after its `{"type":"snapshot","sub":"…",` prefix, built on first demand. */
  private snapshot: { body: string; bytes: number } | null = null;
  /** Set while the view has no subscribers: when it fires the view is freed. */
  lingerTimer: NodeJS.Timeout | null = null;
  /** Resolves once the window is current (first read, or a refresh of an idle view); subscribers wait for it. */
  loaded: Promise<void> = Promise.resolve();
  /** False until the first window was read; ticks skip the view until then. */
  ready = false;

  constructor(boardId: string, spec: ViewSpec, bounds: HistoryBounds) {
    this.boardId = boardId;
    this.spec = spec;
    this.key = viewKey(spec);
    this.history = new DeltaHistory(bounds.historySize, bounds.historyBytes);
  }

  /** Sets the first window. */
  start(window: ViewWindow, epoch: string, version: number, total: number): void {
    this.window = window;
    this.epoch = epoch;
    this.version = version;
    this.total = total;
    this.ready = true;
  }

  /**
   * Moves the view to `window` (read at `version` of `epoch`). Within the
   * epoch, the delta that leads there is retained in the history; an
   * unchanged window sends nothing and `version` stays. A new epoch resets
   * the view: versions of the old one mean nothing in it.
   */
  advance(window: ViewWindow, epoch: string, version: number, total: number): Advance {
    if (epoch !== this.epoch) {
      this.history.clear();
      this.window = window;
      this.epoch = epoch;
      this.version = version;
      this.total = total;
      this.snapshot = null;
      return { kind: 'reset' };
    }
    if (total !== this.total) {
      this.total = total;
      this.snapshot = null;
    }
    const delta = this.#delta(this.window, this.version, window, version);
    if (delta === null) return { kind: 'unchanged' };
    this.history.push(delta);
    this.window = window;
    this.version = version;
    this.snapshot = null;
    return { kind: 'delta', delta };
  }

  /** The window at `version`. */
  get currentWindow(): ViewWindow {
    return this.window;
  }

  /**
   * The one delta that leads from `window`, this view's window at
   * `fromVersion` as another process kept it (feed/archive.ts), to the
   * current one: empty when they are the same, since the version moves
   * anyway. Not part of the history.
   */
  deltaFrom(window: ViewWindow, fromVersion: number): Delta {
    return this.#delta(window, fromVersion, this.window, this.version) ?? this.#body(fromVersion, this.version, this.window, { removes: [], upserts: [] });
  }

  #delta(from: ViewWindow, fromVersion: number, to: ViewWindow, toVersion: number): Delta | null {
    const diff = diffWindows(from, to);
    return diff === null ? null : this.#body(fromVersion, toVersion, to, diff);
  }

  #body(fromVersion: number, toVersion: number, to: ViewWindow, diff: NonNullable<ReturnType<typeof diffWindows>>): Delta {
    const body = JSON.stringify({
      epoch: this.epoch,
      from_version: fromVersion,
      to_version: toVersion,
      total: this.total,
      first_rank: to.firstRank,
      ...(to.firstPlace === undefined ? {} : { first_place: to.firstPlace }),
      removes: diff.removes,
      upserts: diff.upserts,
    }).slice(1);
    return { fromVersion, toVersion, body, bytes: Buffer.byteLength(body) };
  }

  /** The current window as a snapshot body; serialized once per version. */
  snapshotBody(): { body: string; bytes: number } {
    if (this.snapshot === null) {
      const window = this.window;
      const ranks = windowRanks(window);
      const body = JSON.stringify({
        epoch: this.epoch,
        version: this.version,
        total: this.total,
        first_rank: window.firstRank,
        ...(window.firstPlace === undefined ? {} : { first_place: window.firstPlace }),
        entries: window.entries.map((entry, i) => toWireEntry(entry, ranks[i]!, window.scoreDecimals)),
      }).slice(1);
      this.snapshot = { body, bytes: Buffer.byteLength(body) };
    }
    return this.snapshot;
  }
}
