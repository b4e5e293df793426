/**
 * Wire messages of the real-time protocol (docs/protocol.md), shared by the
 * server and the TypeScript client. Types only, so that browser code can
 * import it without pulling in anything from Node.
 */
import type { ErrorCode } from '../core/errors.js';

export interface TopView {
  /** Ranks 1..top, 1 ≤ top ≤ 1000. */
  readonly top: number;
}

export interface AroundView {
  /** Ranks r−radius .. r+radius around this participant's rank r. */
  readonly around: string;
  /** 0 ≤ radius ≤ 100. */
  readonly radius: number;
}

export interface ParticipantView {
  readonly participant: string;
}

export type ViewSpec = TopView | AroundView | ParticipantView;

/**
 * One entry as it travels. `rank` is the rank shown: `first_rank + position`
 * in the view, or on a board with shared ranks the shared one (docs/protocol.md
 * "Shared ranks"). `score` is a decimal on a board with score_decimals.
 */
export interface WireEntry {
  readonly rank: number;
  readonly participant_id: string;
  readonly score: number;
  readonly achieved_at: number;
  /** The participant's display name and avatar URL, when their profile sets them (PUT /v1/participants/{pid}). */
  readonly display_name?: string;
  readonly avatar_url?: string;
  /** A delta's upsert on a board with shared ranks: its place in the order, which says where it goes (`place − first_place`). */
  readonly place?: number;
}

export interface SubscribeMessage {
  readonly type: 'subscribe';
  readonly sub: string;
  readonly view: ViewSpec;
  /** The view of the ranking within one scope value, `<scope>:<value>` (e.g. `region:eu`), instead of the board's. */
  readonly scope?: string;
  /** 'all': the view of the board's all-time ranking (keep_all_time). */
  readonly period?: string;
  /** Resume: the version the client's copy is at. Honoured only together with the `epoch` it was seen in. */
  readonly since_version?: number;
  readonly epoch?: string;
}

export interface UnsubscribeMessage {
  readonly type: 'unsubscribe';
  readonly sub: string;
}

export interface PingMessage {
  readonly type: 'ping';
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage | PingMessage;

export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly sub: string;
  /** The board's epoch: versions of one epoch never mean anything in another (docs/protocol.md "Epochs"). */
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
  /** Rank (shown) of the first entry; 0 when the view is empty. */
  readonly first_rank: number;
  /** Boards with shared ranks only: the first entry's place in the order (its rank if ranks were unique). */
  readonly first_place?: number;
  readonly entries: readonly WireEntry[];
}

export interface ResumedMessage {
  readonly type: 'resumed';
  readonly sub: string;
  readonly epoch: string;
  /** The since_version the client sent; the missed deltas follow, chained from it. */
  readonly version: number;
}

/**
 * `to_version` equals `from_version` when only what profiles show changed
 * (a rename): the ranking did not, and the board's version did not move.
 */
export interface DeltaMessage {
  readonly type: 'delta';
  readonly sub: string;
  readonly epoch: string;
  readonly from_version: number;
  readonly to_version: number;
  readonly total: number;
  readonly first_rank: number;
  /** As in SnapshotMessage. */
  readonly first_place?: number;
  readonly removes: readonly string[];
  readonly upserts: readonly WireEntry[];
}

/**
 * A period of the board closed (`period`, now under GET .../periods), or the
 * board was finalized (`next_period` null). A snapshot of what the view shows
 * now follows: the new period's (empty) standings, or the final ones.
 */
export interface PeriodClosedMessage {
  readonly type: 'period_closed';
  readonly sub: string;
  readonly period: string;
  readonly next_period: string | null;
}

export interface UnsubscribedMessage {
  readonly type: 'unsubscribed';
  readonly sub: string;
}

/**
 * Codes of `error` messages: the one catalogue of src/core/errors.ts. The
 * connection-level ones come with a close code of 4000 + their HTTP status
 * (docs/protocol.md).
 */
export type FeedErrorCode = ErrorCode;

export interface ErrorMessage {
  readonly type: 'error';
  readonly sub?: string;
  readonly code: FeedErrorCode;
  readonly message: string;
}

export interface PongMessage {
  readonly type: 'pong';
}

export type ServerMessage = SnapshotMessage | ResumedMessage | DeltaMessage | PeriodClosedMessage | UnsubscribedMessage | ErrorMessage | PongMessage;

/** The messages that carry a view's state, in the order a subscription receives them. */
export type ViewMessage = SnapshotMessage | ResumedMessage | DeltaMessage;
