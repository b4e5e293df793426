/**
 * The real-time messages of docs/protocol.md. Their types live with the
 * server (src/feed/protocol.ts, types only, so nothing of Node comes along);
 * the same server messages travel over WebSocket and Server-Sent Events, and
 * the poller makes snapshots of the same shape, so one state machine handles
 * all three transports.
 */
import type { ServerMessage, ViewSpec, WireEntry } from '../feed/protocol.js';

export type {
  ClientMessage,
  DeltaMessage,
  ErrorMessage,
  FeedErrorCode,
  ResumedMessage,
  ServerMessage,
  SnapshotMessage,
} from '../feed/protocol.js';

/** What a subscription watches: `{top: N}`, `{around: pid, radius: k}` or `{participant: pid}`. */
export type View = ViewSpec;

/** An entry of a view. Its rank is `first_rank + position`, or its shared rank on a board with rank_ties shared (docs/protocol.md). */
export type ViewEntry = WireEntry;

export type Transport = 'websocket' | 'sse' | 'poll';

/** Which of a board's rankings a view is of: the board's (neither set), a scope value's (`scope: 'region:eu'`) or the all-time one (`period: 'all'`). */
export interface RankingOf {
  readonly scope?: string | undefined;
  readonly period?: string | undefined;
}

/** The query parameters (and subscribe message fields) that name a ranking; none for the board's own. */
export function rankingFields(ranking: RankingOf): { scope?: string; period?: string } {
  const fields: { scope?: string; period?: string } = {};
  if (ranking.scope !== undefined) fields.scope = ranking.scope;
  if (ranking.period !== undefined) fields.period = ranking.period;
  return fields;
}

const serverTypes = new Set(['snapshot', 'resumed', 'delta', 'period_closed', 'unsubscribed', 'error', 'pong']);

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
