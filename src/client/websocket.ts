/**
 * One WebSocket per board, shared by every subscription of a client to that
 * board (the socket's URL names the board, so boards cannot share one). It
 * reconnects with full-jitter backoff for as long as it has subscribers and
 * resubscribes each of them with `since_version` and `epoch`, so the server
 * can resume them from its history instead of sending snapshots.
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Feed, FeedListener } from './feed.js';
import { parseServerMessage, rankingFields, type ClientMessage, type RankingOf, type View } from './protocol.js';

/** The part of the WebSocket API the client uses; browsers' WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'close', listener: (event: { code?: number }) => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** The close code of a server that shuts down (src/feed/subscriber.ts CloseCode.serviceRestart). */
const SERVICE_RESTART = 1012;
/** The close code of a rate limit (too many messages, or too many connections of the key or address; CloseCode.rateLimited). */
const RATE_LIMITED = 4029;

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

export interface SocketOptions {
  readonly backoff: BackoffOptions;
  /** How often to ping; a socket that stays silent for two intervals counts as dead. */
  readonly heartbeatMs: number;
  /** A socket not open after this long counts as failed. */
  readonly connectTimeoutMs: number;
}

interface Member {
  readonly view: View;
  readonly listener: FeedListener;
  readonly ranking: RankingOf;
}

export class BoardSocket {
  private socket: WebSocketLike | null = null;
  private readonly members = new Set<Member>();
  /** Current subscription id of each member on the current connection. */
  private readonly subIds = new Map<Member, string>();
  private readonly membersBySubId = new Map<string, Member>();
  private nextSubId = 0;
  private failures = 0;
  /** Connections in a row that the server closed for a rate limit; they count as failures even when messages came first. */
  private rateLimited = 0;
  /** Whether the current connection delivered any message. */
  private delivered = false;
  private lastHeardAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly url: string,
    private readonly WebSocket: WebSocketConstructor,
    private readonly options: SocketOptions,
    /** Called once the last member left and the socket closed. */
    private readonly onIdle: () => void,
  ) {}

  attach(view: View, listener: FeedListener, ranking: RankingOf = {}): Feed {
    const member: Member = { view, listener, ranking };
    this.members.add(member);
    if (this.socket?.readyState === OPEN) this.subscribe(member);
    else if (this.socket === null && this.retryTimer === undefined) this.connect();
    return {
      resubscribe: () => {
        if (!this.members.has(member) || this.socket?.readyState !== OPEN) return;
        this.unsubscribe(member);
        this.subscribe(member);
      },
      close: () => this.detach(member),
    };
  }

  private detach(member: Member): void {
    if (!this.members.delete(member)) return;
    if (this.socket?.readyState === OPEN) this.unsubscribe(member);
    if (this.members.size > 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.disconnect();
    this.onIdle();
  }

  private connect(): void {
    this.retryTimer = undefined;
    this.delivered = false;
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocket(this.url);
    } catch {
      // Same path as a refused connection, but later: attach() must not call back into its caller.
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.lost();
      }, 0);
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.drop(socket), this.options.connectTimeoutMs);
    socket.addEventListener('open', () => {
      if (this.socket !== socket) return;
      clearTimeout(this.connectTimer);
      this.lastHeardAt = Date.now();
      this.heartbeatTimer = setInterval(() => this.heartbeat(socket), this.options.heartbeatMs);
      for (const member of this.members) this.subscribe(member);
    });
    socket.addEventListener('message', (event) => {
      if (this.socket !== socket) return;
      this.lastHeardAt = Date.now();
      this.delivered = true;
      this.failures = 0;
      const message = parseServerMessage(typeof event.data === 'string' ? event.data : String(event.data));
      if (message === null || !('sub' in message) || message.sub === undefined) return;
      this.membersBySubId.get(message.sub)?.listener.message(message);
    });
    // An error is always followed by close, which is where it is handled; the `ws` package throws when nobody listens.
    socket.addEventListener('error', () => undefined);
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      // 1012: the server is shutting down and asks its clients to reconnect
      // elsewhere. That is no failure, so the retry comes after the first,
      // shortest jittered delay, however often the previous attempts failed.
      if (event.code === SERVICE_RESTART) this.failures = 0;
      // 4029: a rate limit. The refused connection delivered its error message, which would
      // reset the backoff; instead each such close in a row waits longer, as a failure would.
      if (event.code === RATE_LIMITED) {
        this.rateLimited += 1;
        this.failures = this.rateLimited - 1;
        this.delivered = false;
      } else if (this.delivered) {
        this.rateLimited = 0;
      }
      this.lost(event.code === SERVICE_RESTART);
    });
  }

  private heartbeat(socket: WebSocketLike): void {
    // Browsers hide WebSocket-level pings from scripts, so liveness is checked with protocol pings.
    if (Date.now() - this.lastHeardAt > 2 * this.options.heartbeatMs) this.drop(socket);
    else this.send({ type: 'ping' });
  }

  /** Gives up on a socket without waiting for its close handshake, which a dead network never completes. */
  private drop(socket: WebSocketLike): void {
    if (this.socket === socket) this.lost();
  }

  private lost(planned = false): void {
    this.disconnect();
    if (this.members.size === 0) return;
    if (!this.delivered && !planned) this.failures += 1;
    const failures = this.failures;
    for (const member of [...this.members]) member.listener.down(failures);
    if (this.members.size > 0 && this.retryTimer === undefined) {
      this.retryTimer = setTimeout(() => this.connect(), backoffDelay(failures, this.options.backoff));
    }
  }

  private disconnect(): void {
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeatTimer);
    this.subIds.clear();
    this.membersBySubId.clear();
    const socket = this.socket;
    this.socket = null;
    try {
      socket?.close(1000);
    } catch {
      // Some implementations throw when closing a socket that is still connecting; it is forgotten either way.
    }
  }

  private subscribe(member: Member): void {
    // A fresh id each time, so late messages of a previous subscription of this member are ignored.
    const sub = `s${++this.nextSubId}`;
    this.subIds.set(member, sub);
    this.membersBySubId.set(sub, member);
    const since = member.listener.resumePoint();
    // The server resumes only from a version together with its epoch; without a local copy it sends a snapshot.
    const resume = since === null ? {} : { since_version: since.version, epoch: since.epoch };
    this.send({ type: 'subscribe', sub, view: member.view, ...rankingFields(member.ranking), ...resume });
  }

  private unsubscribe(member: Member): void {
    const sub = this.subIds.get(member);
    if (sub === undefined) return;
    this.subIds.delete(member);
    this.membersBySubId.delete(sub);
    this.send({ type: 'unsubscribe', sub });
  }

  private send(message: ClientMessage): void {
    this.socket?.send(JSON.stringify(message));
  }
}
