/**
 * Helpers of the real-time tests (test/realtime-*.test.ts): a WebSocket test
 * client that keeps a local copy of each subscription by the protocol's rules
 * (with the client library's own applyDelta), an SSE reader, and REST calls.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { applyDelta, stateFromSnapshot, type ViewState } from '../../src/client/view-state.js';
import type { ServerMessage, ViewSpec, WireEntry } from '../../src/feed/protocol.js';
import { api, boardId as uniqueBoardId, type TestServer } from './server.js';

/** What these helpers need of a server: where it is, and a key that may do anything. */
type Target = Pick<TestServer, 'url' | 'adminKey'>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function createBoard(server: Target, sortOrder: 'desc' | 'asc' = 'desc'): Promise<string> {
  const id = uniqueBoardId('rt');
  const res = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: sortOrder, operator: 'best' } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return id;
}

export async function submit(server: Target, board: string, participantId: string, score: number, timestamp?: number): Promise<{ version: number; rank: number }> {
  const body: Record<string, unknown> = { participant_id: participantId, score };
  if (timestamp !== undefined) body.timestamp = timestamp;
  const res = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

export async function submitBatch(server: Target, board: string, scores: { participant_id: string; score: number; timestamp?: number }[]): Promise<void> {
  const res = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, { key: server.adminKey, body: { scores } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

/** The entries the REST API answers for the same window as `view`. */
export async function restWindow(server: Target, board: string, view: ViewSpec): Promise<WireEntry[]> {
  let query: string;
  // The same window rule for both (core/windows.ts): an around view of radius k is `around` with limit 2k+1.
  if ('top' in view) query = `limit=${view.top}&offset=0`;
  else if ('around' in view) query = `around=${view.around}&limit=${2 * view.radius + 1}`;
  else query = `participants=${view.participant}`;
  const res = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?${query}`);
  if (res.status === 404 && res.body?.error?.code === 'participant_not_found') return [];
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.entries.map((e: WireEntry) => ({ rank: e.rank, participant_id: e.participant_id, score: e.score, achieved_at: e.achieved_at }));
}

/** Retries `check` until it passes, or rethrows its last failure after `ms`. */
export async function eventually(check: () => void | Promise<void>, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (true) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(10);
    }
  }
}

export function wsUrl(server: Target, board: string, query = ''): string {
  return `${server.url.replace(/^http/, 'ws')}/v1/leaderboards/${board}/subscribe${query}`;
}

/**
 * A WebSocket client that records every message and keeps a local copy of
 * each subscription; a delta that does not apply is recorded as a gap.
 */
export class FeedClient {
  readonly ws: WebSocket;
  readonly received: ServerMessage[] = [];
  readonly states = new Map<string, ViewState>();
  /** The last epoch each subscription saw. */
  readonly epochs = new Map<string, string>();
  readonly gaps: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** WebSocket pings received from the server (the heartbeat). */
  pings = 0;
  private waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('ping', () => (this.pings += 1));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => this.onMessage(JSON.parse(data.toString()) as ServerMessage));
    ws.on('error', () => undefined);
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<FeedClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new FeedClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * Subscribes and waits for the answer (snapshot, resumed or error). A
   * resume sends `since_version` with an epoch: the given one, or else the
   * last one this client saw for `sub`.
   */
  async subscribe(sub: string, view: unknown, sinceVersion?: number, epoch: string | undefined = this.epochs.get(sub)): Promise<ServerMessage> {
    const from = this.received.length;
    const resume = sinceVersion === undefined ? {} : { since_version: sinceVersion, ...(epoch === undefined ? {} : { epoch }) };
    this.send({ type: 'subscribe', sub, view, ...resume });
    return this.next((m) => 'sub' in m && m.sub === sub && ['snapshot', 'resumed', 'error'].includes(m.type), from);
  }

  /** The first message received (from position `from` on) that matches, waiting for it if needed. */
  async next(match: (message: ServerMessage) => boolean, from = 0, ms = 3_000): Promise<ServerMessage> {
    const deadline = Date.now() + ms;
    while (true) {
      const found = this.received.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) assert.fail(`no matching message within ${ms} ms; got ${JSON.stringify(this.received.slice(from).slice(-5))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
    }
  }

  messagesOf(sub: string): ServerMessage[] {
    return this.received.filter((m) => 'sub' in m && m.sub === sub);
  }

  entries(sub: string): WireEntry[] | undefined {
    return this.states.get(sub)?.entries.map((e) => ({ ...e }));
  }

  close(): void {
    this.ws.close();
  }

  private onMessage(message: ServerMessage): void {
    this.received.push(message);
    if ('sub' in message && message.sub !== undefined) {
      const sub = message.sub;
      if ('epoch' in message) this.epochs.set(sub, message.epoch);
      if (message.type === 'snapshot') this.states.set(sub, stateFromSnapshot(message));
      else if (message.type === 'resumed') {
        if (this.states.get(sub)?.version !== message.version) this.gaps.push(`${sub}: resumed at ${message.version} without that local version`);
      } else if (message.type === 'delta') {
        const outcome = applyDelta(this.states.get(sub) ?? null, message);
        if (outcome.ok) this.states.set(sub, outcome.state);
        else {
          this.gaps.push(`${sub}: ${outcome.reason} at ${message.from_version}->${message.to_version}`);
          this.states.delete(sub);
        }
      } else if (message.type === 'unsubscribed') this.states.delete(sub);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** Reads an SSE stream: each event's id, type and parsed data, and the local copy of its view. */
export class SseReader {
  readonly events: { id: string | null; event: string; data: ServerMessage }[] = [];
  readonly comments: string[] = [];
  readonly gaps: string[] = [];
  state: ViewState | null;
  readonly done: Promise<void>;
  readonly status: number;
  private readonly controller: AbortController;

  private constructor(response: Response, controller: AbortController, state: ViewState | null) {
    this.status = response.status;
    this.controller = controller;
    this.state = state;
    this.done = this.read(response.body as ReadableStream<Uint8Array>).catch(() => undefined);
  }

  /** Opens the stream; with `state`, resumes from its epoch and version with `Last-Event-ID: <epoch>-<version>`. */
  static async open(url: string, state: ViewState | null = null, headers: Record<string, string> = {}): Promise<SseReader> {
    const controller = new AbortController();
    const resume: Record<string, string> = state === null ? {} : { 'last-event-id': `${state.epoch}-${state.version}` };
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...resume, ...headers }, signal: controller.signal });
    return new SseReader(response, controller, state);
  }

  async next(match: (event: SseReader['events'][number]) => boolean, ms = 3_000): Promise<SseReader['events'][number]> {
    const deadline = Date.now() + ms;
    while (true) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) assert.fail(`no matching SSE event within ${ms} ms; got ${JSON.stringify(this.events.slice(-5))}`);
      await sleep(5);
    }
  }

  close(): void {
    this.controller.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: string | null = null;
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) this.onEvent({ id, event, data: JSON.parse(data.join('\n')) as ServerMessage });
      }
    }
  }

  private onEvent(event: SseReader['events'][number]): void {
    this.events.push(event);
    const message = event.data;
    if (message.type === 'snapshot') this.state = stateFromSnapshot(message);
    else if (message.type === 'resumed' && this.state?.version !== message.version) this.gaps.push(`resumed at ${message.version} without that local version`);
    else if (message.type === 'delta') {
      const outcome = applyDelta(this.state, message);
      if (outcome.ok) this.state = outcome.state;
      else {
        this.gaps.push(`${outcome.reason} at ${message.from_version}->${message.to_version}`);
        this.state = null;
      }
    }
  }
}
