/**
 * The TypeScript client of Ladder, for browsers and Node 20: typed wrappers of
 * the REST API, and live views that survive reconnects and fall back from
 * WebSocket to Server-Sent Events to long-polling.
 */
import { defaultBackoff, type BackoffOptions } from './backoff.js';
import { boardPath, endpoint, participantPath, requestJson, type HttpContext } from './http.js';
import { PollFeed } from './poll.js';
import type { RankingOf, Transport, View } from './protocol.js';
import { SseFeed } from './sse.js';
import { LiveSubscription, type FeedOpener, type SubscribeOptions, type Subscription, type ViewUpdate } from './subscription.js';
import type {
  BoardSettingsInput,
  PeriodList,
  BatchResult,
  Board,
  BoardList,
  CreateBoardInput,
  HistoryQuery,
  ListBoardsQuery,
  ParticipantErasure,
  ParticipantHistory,
  ParticipantStanding,
  Profile,
  ProfileInput,
  Rankings,
  RankingsQuery,
  ScoreResult,
  ScoreSubmission,
} from './types.js';
import { BoardSocket, type WebSocketConstructor } from './websocket.js';

export interface LadderClientOptions {
  /** Where Ladder listens, e.g. `http://localhost:8080`; may carry a path prefix. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer`; on WebSocket URLs as `?key=` (browsers cannot set headers there). */
  readonly apiKey?: string;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Defaults to the global WebSocket; Node 20 has none, so pass `ws`'s. Without one, live views start on SSE. */
  readonly WebSocket?: WebSocketConstructor;
  /** Transports live views may use, in order of preference. Default: websocket, sse, poll. */
  readonly transports?: readonly Transport[];
  /** Reconnect delays of every transport (full jitter). Default: base 500 ms, max 30 s. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Consecutive failed attempts after which a live view moves to the next transport. Default 3. */
  readonly fallbackAfter?: number;
  /** WebSocket liveness ping interval. Default 15 s. */
  readonly heartbeatMs?: number;
  /** An SSE stream silent for this long is reconnected; keep it above the server's LADDER_HEARTBEAT_MS. Default 75 s. */
  readonly sseIdleMs?: number;
  /** How long the server may hold a long-poll. Default 25 s. */
  readonly pollWaitMs?: number;
}

export class LadderClient {
  private readonly http: HttpContext;
  private readonly WebSocket: WebSocketConstructor | undefined;
  private readonly transports: readonly Transport[];
  private readonly backoff: BackoffOptions;
  private readonly sockets = new Map<string, BoardSocket>();
  private readonly subscriptions = new Set<LiveSubscription>();

  constructor(private readonly options: LadderClientOptions) {
    const globalFetch = typeof fetch === 'function' ? fetch.bind(globalThis) : undefined;
    const fetchImpl = options.fetch ?? globalFetch;
    if (fetchImpl === undefined) throw new Error('LadderClient needs fetch: pass the fetch option');
    this.http = { baseUrl: options.baseUrl, apiKey: options.apiKey, fetch: fetchImpl };
    this.WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.transports = (options.transports ?? ['websocket', 'sse', 'poll']).filter((t) => t !== 'websocket' || this.WebSocket !== undefined);
    if (this.transports.length === 0) throw new Error('LadderClient: no usable transport (websocket needs a WebSocket constructor)');
    this.backoff = { ...defaultBackoff, ...options.backoff };
  }

  /** Creates a board. Throws `board_exists` (409) when the id is taken. */
  createBoard(board: CreateBoardInput): Promise<Board> {
    return requestJson(this.http, 'v1/leaderboards', { method: 'POST', body: board });
  }

  /** One page of boards in id order (default: the first 1000), with `total`, the number of boards in all. */
  listBoards(query: ListBoardsQuery = {}): Promise<BoardList> {
    return requestJson(this.http, 'v1/leaderboards', { query: { limit: query.limit, offset: query.offset } });
  }

  /** The board's config, version and entry count. Throws `board_not_found` (404). */
  getBoard(boardId: string): Promise<Board> {
    return requestJson(this.http, boardPath(boardId));
  }

  /** Changes the board's name, metadata, schedule or rules (PATCH). Throws `immutable_field` (409) for score_decimals once it has entries. */
  updateBoard(boardId: string, settings: BoardSettingsInput): Promise<Board> {
    return requestJson(this.http, boardPath(boardId), { method: 'PATCH', body: settings });
  }

  /** Closes the board now: it refuses scores and its standings are archived as its final rankings. */
  closeBoard(boardId: string): Promise<Board> {
    return requestJson(this.http, boardPath(boardId, '/close'), { method: 'POST' });
  }

  /** Opens a closed board again; its standings go on from where they were. */
  reopenBoard(boardId: string): Promise<Board> {
    return requestJson(this.http, boardPath(boardId, '/reopen'), { method: 'POST' });
  }

  /** The board's periods, newest first: the live one, then the closed ones with their winners. */
  listPeriods(boardId: string, query: { limit?: number; before?: number } = {}): Promise<PeriodList> {
    return requestJson(this.http, boardPath(boardId, '/periods'), { query: { limit: query.limit, before: query.before } });
  }

  /** Deletes the board with its entries and events; the server answers 204 with no body. */
  deleteBoard(boardId: string): Promise<void> {
    return requestJson(this.http, boardPath(boardId), { method: 'DELETE' });
  }

  /** Submits one score; resolves once the server has made it durable. */
  submitScore(boardId: string, submission: ScoreSubmission): Promise<ScoreResult> {
    return requestJson(this.http, boardPath(boardId, '/scores'), { method: 'POST', body: submission });
  }

  /** Submits up to 1000 scores in one request; `results` holds one result (or error) per item, in order. */
  submitScores(boardId: string, submissions: readonly ScoreSubmission[]): Promise<BatchResult> {
    return requestJson(this.http, boardPath(boardId, '/scores/batch'), { method: 'POST', body: { scores: submissions } });
  }

  /** A page of the ranking, a window around a participant, or listed participants' entries; optionally long-polled. */
  getRankings(boardId: string, query: RankingsQuery = {}): Promise<Rankings> {
    return requestJson(this.http, boardPath(boardId, '/rankings'), {
      query: {
        limit: query.limit,
        offset: query.offset,
        around: query.around,
        participants: query.participants?.join(','),
        wait_for_version_after: query.waitForVersionAfter,
        epoch: query.epoch,
        timeout_ms: query.timeoutMs,
        period: query.period,
        scope: query.scope,
      },
      signal: query.signal,
    });
  }

  /** The participant's rank, score and percentile, with `neighbors` entries above and below. Throws `participant_not_found` (404). */
  getParticipant(boardId: string, participantId: string, options: { neighbors?: number; period?: string; scope?: string } = {}): Promise<ParticipantStanding> {
    const query = { neighbors: options.neighbors, period: options.period, scope: options.scope };
    return requestJson(this.http, boardPath(boardId, `/participants/${encodeURIComponent(participantId)}`), { query });
  }

  /** Sets the participant's profile, shared by every board; a field left out is cleared. Needs a write key. */
  putProfile(participantId: string, profile: ProfileInput): Promise<Profile> {
    return requestJson(this.http, participantPath(participantId), { method: 'PUT', body: profile });
  }

  /** The participant's profile. Throws `participant_not_found` (404) when they have none. */
  getProfile(participantId: string): Promise<Profile> {
    return requestJson(this.http, participantPath(participantId));
  }

  /** Erases the participant from every board, with their profile and logged events (the right to be forgotten). Needs an admin key. */
  eraseParticipant(participantId: string): Promise<ParticipantErasure> {
    return requestJson(this.http, participantPath(participantId), { method: 'DELETE' });
  }

  /**
   * A page of the participant's history on the board: accepted and refused
   * submissions, newest first. Pass `next_cursor` back as `cursor` for the
   * next page. Throws `board_not_found` (404).
   */
  getParticipantHistory(boardId: string, participantId: string, query: HistoryQuery = {}): Promise<ParticipantHistory> {
    return requestJson(this.http, boardPath(boardId, `/participants/${encodeURIComponent(participantId)}/events`), { query: { limit: query.limit, cursor: query.cursor } });
  }

  /**
   * Watches a view live. `onUpdate` gets the whole view after every change
   * (at most once per server tick). Subscriptions to one board share one
   * WebSocket. `options.scope` / `options.period: 'all'` watch the view of a
   * scope value's or the all-time ranking instead of the board's. Close the
   * subscription when done.
   */
  subscribe(boardId: string, view: View, onUpdate: (update: ViewUpdate) => void, options: SubscribeOptions = {}): Subscription {
    const ranking: RankingOf = { scope: options.scope, period: options.period };
    const subscription: LiveSubscription = new LiveSubscription({
      onUpdate,
      options,
      transports: this.transports.map((transport) => ({ transport, open: this.opener(transport, boardId, view, ranking) })),
      fallbackAfter: this.options.fallbackAfter ?? 3,
      onClosed: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Closes every live view and socket. The REST methods keep working. */
  close(): void {
    for (const subscription of [...this.subscriptions]) subscription.close();
  }

  private opener(transport: Transport, boardId: string, view: View, ranking: RankingOf): FeedOpener {
    switch (transport) {
      case 'websocket':
        return (listener) => this.socketFor(boardId).attach(view, listener, ranking);
      case 'sse':
        return (listener) => new SseFeed(this.http, boardId, view, listener, this.backoff, this.options.sseIdleMs ?? 75_000, ranking);
      case 'poll':
        return (listener) => new PollFeed(this.http, boardId, view, listener, this.backoff, this.options.pollWaitMs ?? 25_000, ranking);
    }
  }

  private socketFor(boardId: string): BoardSocket {
    let socket = this.sockets.get(boardId);
    if (socket === undefined) {
      const url = endpoint(this.http, boardPath(boardId, '/subscribe'), { key: this.http.apiKey });
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const options = { backoff: this.backoff, heartbeatMs: this.options.heartbeatMs ?? 15_000, connectTimeoutMs: 10_000 };
      const created = new BoardSocket(url.href, this.WebSocket!, options, () => {
        if (this.sockets.get(boardId) === created) this.sockets.delete(boardId);
      });
      socket = created;
      this.sockets.set(boardId, socket);
    }
    return socket;
  }
}
