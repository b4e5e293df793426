/**
 * WebSocket endpoint `GET /v1/leaderboards/:id/subscribe` (docs/protocol.md).
 * This file only speaks the wire: it parses client messages, answers pings,
 * runs the heartbeat and hands subscriptions to the feed, which owns views,
 * deltas and slow-consumer handling.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LadderError } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import type { ErrorMessage, ServerMessage } from '../feed/protocol.js';
import { CloseCode, type Subscriber, type Transport } from '../feed/subscriber.js';
import { parseView } from '../feed/view.js';
import type { HttpContext } from './context.js';
import { limitSubject } from './rate-limits.js';
import { ConnectionCounter, MessageMeter } from './socket-limits.js';
import { boardParams } from './schemas.js';

const MAX_MESSAGE_BYTES = 16 * 1024;
const MAX_SUB_LENGTH = 64;
/** A refused connection answers the subscribes already on their way, then closes. */
const REFUSED_GRACE_MS = 2_000;
/** On shutdown, how long close handshakes may take before sockets are cut. */
const SHUTDOWN_GRACE_MS = 1_000;

interface PendingUpgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
}

/** Why a connection cannot subscribe to anything: its key or its board. */
interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
  /** 4000 + the HTTP status of the same cause. */
  readonly closeCode: number;
}

export function registerSubscribeRoute(app: FastifyInstance, ctx: HttpContext): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false });
  const upgrades = new WeakMap<IncomingMessage, PendingUpgrade>();
  const connections = new Set<Connection>();
  const perSubject = new ConnectionCounter(ctx.config.wsMaxConnections);

  // Upgrade requests go through Fastify's router like any other request, so
  // that hooks, parameter validation and the 404 of unknown paths apply.
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node drops its own error listener from an upgrading socket; a reset before ws takes it over must not crash the process.
    socket.on('error', () => socket.destroy());
    upgrades.set(request, { socket, head });
    const response = new ServerResponse(request);
    response.assignSocket(socket as Socket);
    // Answered over HTTP instead (an error): the socket no longer belongs to the HTTP server, so end it here.
    response.on('finish', () => socket.end());
    app.routing(request, response);
  });

  app.get<{ Params: { id: string } }>('/v1/leaderboards/:id/subscribe', { schema: { params: boardParams } }, async (request, reply) => {
    const upgrade = upgrades.get(request.raw);
    if (upgrade === undefined) {
      void reply.header('upgrade', 'websocket');
      throw new LadderError('upgrade_required', 'this endpoint speaks WebSocket: send the request with Upgrade: websocket');
    }
    const boardId = request.params.id;
    let refusal = await refusalOf(request, boardId, ctx);
    const subject = refusal === null ? (await limitSubject(request, ctx)).id : null;
    reply.hijack();
    wss.handleUpgrade(request.raw, upgrade.socket, upgrade.head, (ws) => {
      // The HTTP response object is done with: let go of it rather than keep it for the socket's lifetime.
      reply.raw.detachSocket(upgrade.socket as Socket);
      // Counted once the socket exists, so that an upgrade that fails leaves no count behind; refused sockets do not count.
      const counted = subject !== null && perSubject.tryOpen(subject);
      if (subject !== null && !counted) refusal = tooManyConnections(ctx.config.wsMaxConnections);
      const connection = new Connection(ws, ctx, boardId, refusal);
      connections.add(connection);
      ws.once('close', () => {
        connections.delete(connection);
        if (counted) perSubject.release(subject);
      });
    });
  });

  const heartbeat = setInterval(() => {
    for (const connection of connections) connection.heartbeat();
  }, ctx.config.heartbeatMs);
  heartbeat.unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    if (connections.size === 0) return;
    const closed = [...connections].map((connection) => connection.shutDown());
    await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS))]);
    for (const connection of connections) connection.terminate();
  });
}

async function refusalOf(request: FastifyRequest, boardId: string, ctx: HttpContext): Promise<Refusal | null> {
  try {
    await ctx.auth.authorize(request, 'read');
  } catch (err) {
    if (!(err instanceof LadderError)) throw err;
    const code = err.code === 'missing_api_key' || err.code === 'invalid_api_key' || err.code === 'invalid_token' || err.code === 'token_keys_unavailable' ? err.code : 'forbidden';
    return { code, message: err.message, closeCode: 4000 + err.status };
  }
  if ((await ctx.ladder.requireBoard(boardId).catch(() => undefined)) === undefined) return boardNotFound(boardId);
  return null;
}

function tooManyConnections(max: number): Refusal {
  return {
    code: 'too_many_connections',
    message: `this key (or, without a key, this address) holds ${max} WebSocket connections already (LADDER_WS_MAX_CONNECTIONS); close one or retry later`,
    closeCode: CloseCode.rateLimited,
  };
}

function boardNotFound(boardId: string): Refusal {
  return { code: 'board_not_found', message: `leaderboard '${boardId}' does not exist`, closeCode: CloseCode.boardNotFound };
}

/** One WebSocket: its subscriber in the feed (or why it has none) and its heartbeat state. */
class Connection {
  private readonly ws: WebSocket;
  private subscriber: Subscriber | null = null;
  private refusal: Refusal | null;
  private readonly meter: MessageMeter;
  /** Cleared at each heartbeat, set again by the pong; still clear at the next heartbeat means dead. */
  private alive = true;

  constructor(
    ws: WebSocket,
    private readonly ctx: HttpContext,
    private readonly boardId: string,
    refusal: Refusal | null,
  ) {
    this.ws = ws;
    this.refusal = refusal;
    this.meter = new MessageMeter(ctx.config.wsMessagesPerSecond);
    if (refusal === null) {
      try {
        this.subscriber = ctx.feed.connect(boardId, wsTransport(ws), ctx.config.maxSubscriptions);
      } catch (err) {
        if (!(err instanceof LadderError)) throw err;
        this.refusal = boardNotFound(boardId);
      }
    }
    if (this.refusal !== null) {
      this.sendMessage({ type: 'error', code: this.refusal.code, message: this.refusal.message });
      const { closeCode, code } = this.refusal;
      setTimeout(() => ws.close(closeCode, code), REFUSED_GRACE_MS).unref();
    }
    ws.on('message', (data) => this.onMessage(data));
    ws.on('pong', () => (this.alive = true));
    // 'close' follows every 'error'; the subscriber is released there.
    ws.on('error', () => undefined);
    ws.on('close', () => this.subscriber?.disconnect());
  }

  heartbeat(): void {
    if (!this.alive) {
      this.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Starts the close handshake (1012: reconnect elsewhere); resolves once the socket closed. */
  shutDown(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    if (this.subscriber !== null) this.subscriber.close(CloseCode.serviceRestart, 'server shutting down');
    else this.ws.close(CloseCode.serviceRestart, 'server shutting down');
    return closed;
  }

  /** Ends a connection that keeps sending beyond its message rate (4029). */
  private closeFlooding(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.subscriber !== null) this.subscriber.close(CloseCode.rateLimited, 'rate_limited');
    else this.ws.close(CloseCode.rateLimited, 'rate_limited');
  }

  terminate(): void {
    this.subscriber?.disconnect();
    this.ws.terminate();
  }

  private onMessage(data: RawData): void {
    const verdict = this.meter.take(Date.now());
    if (verdict === 'close') {
      this.closeFlooding();
      return;
    }
    if (verdict === 'refuse') {
      this.sendError(undefined, 'rate_limited', `more than ${this.ctx.config.wsMessagesPerSecond} messages this second (LADDER_WS_MESSAGES_PER_SECOND): this one was ignored; twice as many close the connection`);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      this.sendError(undefined, 'invalid_message', 'the message is not valid JSON');
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.sendError(undefined, 'invalid_message', 'a message must be a JSON object with a "type"');
      return;
    }
    const fields = message as Record<string, unknown>;
    switch (fields.type) {
      case 'subscribe':
        this.onSubscribe(fields);
        return;
      case 'unsubscribe':
        this.onUnsubscribe(fields);
        return;
      case 'ping':
        this.sendMessage({ type: 'pong' });
        return;
      default:
        this.sendError(undefined, 'invalid_message', `unknown message type ${JSON.stringify(fields.type ?? null)}; use subscribe, unsubscribe or ping`);
    }
  }

  private onSubscribe(fields: Record<string, unknown>): void {
    const sub = subOf(fields);
    if (sub === null) {
      this.sendError(undefined, 'invalid_message', `subscribe needs "sub": a string of 1 to ${MAX_SUB_LENGTH} characters`);
      return;
    }
    const since = fields.since_version;
    if (since !== undefined && since !== null && !(Number.isSafeInteger(since) && (since as number) >= 0)) {
      this.sendError(sub, 'invalid_message', 'since_version must be a non-negative integer');
      return;
    }
    const epoch = fields.epoch;
    if (epoch !== undefined && epoch !== null && !(typeof epoch === 'string' && epoch.length <= 64)) {
      this.sendError(sub, 'invalid_message', 'epoch must be the string of the snapshot or delta that since_version comes from');
      return;
    }
    const { scope, period } = fields;
    for (const [name, value] of [['scope', scope], ['period', period]] as const) {
      if (value !== undefined && value !== null && !(typeof value === 'string' && value.length <= 100)) {
        this.sendError(sub, 'invalid_message', `${name} must be a string of at most 100 characters`);
        return;
      }
    }
    if (this.refusal !== null) {
      this.sendError(sub, this.refusal.code, this.refusal.message);
      return;
    }
    const subscriber = this.subscriber as Subscriber;
    try {
      const view = parseView(fields.view);
      // A since_version without its epoch cannot be trusted (it may be issued again in another epoch): a snapshot.
      const resume = typeof since === 'number' && typeof epoch === 'string' ? { epoch, version: since } : null;
      // A scope value's or the all-time ranking: a derived board (core/derived.ts), looked up (or made) while the subscribe goes on.
      const ref = { scope: typeof scope === 'string' ? scope : undefined, period: typeof period === 'string' ? period : undefined };
      const board = ref.scope === undefined && ref.period === undefined ? undefined : this.ctx.ladder.liveBoard(this.boardId, ref);
      board?.catch(() => undefined);
      subscriber.subscribe(sub, view, resume, board).catch((err: unknown) => this.failed(sub, err));
    } catch (err) {
      this.failed(sub, err);
    }
  }

  private onUnsubscribe(fields: Record<string, unknown>): void {
    const sub = subOf(fields);
    if (sub === null) {
      this.sendError(undefined, 'invalid_message', 'unsubscribe needs "sub"');
      return;
    }
    if (this.refusal !== null) {
      this.sendError(sub, this.refusal.code, this.refusal.message);
      return;
    }
    try {
      (this.subscriber as Subscriber).unsubscribe(sub);
    } catch (err) {
      this.failed(sub, err);
    }
  }

  private failed(sub: string, err: unknown): void {
    if (err instanceof LadderError && err.status < 500) this.sendError(sub, err.code, err.message);
    else this.sendError(sub, 'internal_error', 'the view could not be read; subscribe again later');
  }

  private sendError(sub: string | undefined, code: ErrorCode, message: string): void {
    const error: ErrorMessage = sub === undefined ? { type: 'error', code, message } : { type: 'error', sub, code, message };
    this.sendMessage(error);
  }

  private sendMessage(message: ServerMessage): void {
    // Through the subscriber when there is one, so that its unsent bytes count these too.
    if (this.subscriber !== null) this.subscriber.sendMessage(message);
    else if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }
}

function subOf(fields: Record<string, unknown>): string | null {
  const sub = fields.sub;
  return typeof sub === 'string' && sub.length >= 1 && sub.length <= MAX_SUB_LENGTH ? sub : null;
}

function wsTransport(ws: WebSocket): Transport {
  return {
    send: (_type, _id, json, flushed) => ws.send(json, flushed),
    close: (code, reason) => ws.close(code, reason),
  };
}
