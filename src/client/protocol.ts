/**
 * The real-time messages of docs/protocol.md. The same server messages travel
 * over WebSocket and Server-Sent Events; the polling transport produces
 * snapshots of the same shape, so one state machine handles all three.
 */

/** What a subscription watches: a top-N, a window around a participant, or one participant. */
export type View = { readonly top: number } | { readonly around: string; readonly radius: number } | { readonly participant: string };

export type Transport = 'websocket' | 'sse' | 'poll';

/** An entry of a view. Its rank is always `first_rank + position`. */
export interface ViewEntry {
  readonly rank: number;
  readonly participant_id: string;
  readonly score: number;
  readonly achieved_at: number;
}

export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly sub: string;
  readonly version: number;
  readonly total: number;
  readonly first_rank: number;
  readonly entries: readonly ViewEntry[];
}

export interface ResumedMessage {
  readonly type: 'resumed';
  readonly sub: string;
  readonly version: number;
}

export interface DeltaMessage {
  readonly type: 'delta';
  readonly sub: string;
  readonly from_version: number;
  readonly to_version: number;
  readonly total: number;
  readonly first_rank: number;
  readonly removes: readonly string[];
  readonly upserts: readonly ViewEntry[];
}

export interface UnsubscribedMessage {
  readonly type: 'unsubscribed';
  readonly sub: string;
}

export type FeedErrorCode =
  | 'invalid_message'
  | 'invalid_view'
  | 'board_not_found'
  | 'duplicate_subscription'
  | 'unknown_subscription'
  | 'too_many_subscriptions';

export interface ErrorMessage {
  readonly type: 'error';
  readonly sub?: string;
  readonly code: FeedErrorCode;
  readonly message: string;
}

export interface PongMessage {
  readonly type: 'pong';
}

export type ServerMessage = SnapshotMessage | ResumedMessage | DeltaMessage | UnsubscribedMessage | ErrorMessage | PongMessage;

export type ClientMessage =
  | { readonly type: 'subscribe'; readonly sub: string; readonly view: View; readonly since_version?: number }
  | { readonly type: 'unsubscribe'; readonly sub: string }
  | { readonly type: 'ping' };

const serverTypes = new Set(['snapshot', 'resumed', 'delta', 'unsubscribed', 'error', 'pong']);

/** Parses one message; null for anything that is not a server message (never throws). */
export function parseServerMessage(text: string): ServerMessage | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null) return null;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' && serverTypes.has(type) ? (message as ServerMessage) : null;
}
