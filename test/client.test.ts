/**
 * The TypeScript client against the real server: every REST wrapper with its
 * error mapping, and live views over WebSocket, SSE and long-polling,
 * including reconnect with resume, resync after a lost message or a changed
 * epoch (a real crash and restart of the server process), and the fallbacks.
 * Faults are injected between client and server (a TCP proxy that drops
 * connections, a WebSocket that loses or alters a message or cannot connect,
 * a fetch that cannot stream), never inside either. Last, `ladder/client` as
 * an app gets it: imported from the packed tarball.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isDeepStrictEqual, promisify } from 'node:util';
import WebSocket from 'ws';
import { LadderApiError, LadderClient, type LadderClientOptions, type SubscriptionStatus, type View, type ViewUpdate, type WebSocketLike } from '../src/client/index.js';
import type { ClientMessage, ServerMessage } from '../src/client/protocol.js';
import { generateKey } from '../src/service/auth.js';
import { closedPort } from './helpers/ports.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { boardId, startServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
/** The package test packs dist/ as it is (npm test builds it first). */
const built = existsSync('dist/client/index.js');
if (!built && !process.env.CI) {
  process.stderr.write('\n!!! dist/ is not built: SKIPPING the test of the packed ladder/client (npm run build). On CI this fails. !!!\n\n');
}

/** Short delays, so that reconnects and fallbacks happen within a test. */
const fast = { backoff: { baseMs: 20, maxMs: 200 } } satisfies Partial<LadderClientOptions>;

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A TCP proxy in front of the server whose connections the test can cut, as a
 * failing network or server would, and point at another server (null: refuse
 * every connection, as while a server is down).
 */
async function startProxy(target: string): Promise<{ url: string; dropAll(): void; retarget(target: string | null): void; close(): Promise<void> }> {
  let upstreamUrl: URL | null = new URL(target);
  const sockets = new Set<Socket>();
  const proxy = createServer((downstream) => {
    if (upstreamUrl === null) return downstream.destroy();
    const upstream = connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    retarget: (next) => {
      upstreamUrl = next === null ? null : new URL(next);
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => proxy.close(() => resolve()));
    },
  };
}

/** One request the client made through a recorder(), and what the server answered. */
interface Exchange {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  response?: { readonly status: number; readonly headers: Headers; readonly body: unknown };
}

/**
 * A fetch that passes every request to the server and records it, in the
 * order sent, with the server's status, headers and JSON body once answered
 * (event streams are passed through unread).
 */
function recorder(inner: typeof fetch = fetch): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const exchange: Exchange = { method: init?.method ?? 'GET', url: new URL(String(input)), headers: new Headers(init?.headers) };
    exchanges.push(exchange);
    const response = await inner(input, init);
    let body: unknown = null;
    if (!exchange.url.pathname.endsWith('/events')) {
      const text = await response.clone().text();
      body = text === '' ? null : JSON.parse(text);
    }
    exchange.response = { status: response.status, headers: response.headers, body };
    return response;
  };
  return { fetch: recording, exchanges };
}

/** A fetch that answers the first `times` event-stream requests with `answer()` instead of passing them to the server. */
function refusingStreams(times: number, answer: () => Response): typeof fetch {
  let left = times;
  return (input, init) => (String(input).includes('/events') && left-- > 0 ? Promise.resolve(answer()) : fetch(input, init));
}

function errorAnswer(code: string, status: number): Response {
  return new Response(JSON.stringify({ error: { code, message: `refused with ${code}` } }), { status, headers: { 'content-type': 'application/json' } });
}

/** Every field of `value` is one its client type names (`fields`), so no part of the server's answer is untyped. */
function assertTyped<T extends object>(value: T, fields: readonly (keyof T)[]): void {
  for (const key of Object.keys(value)) assert.ok((fields as readonly PropertyKey[]).includes(key), `field ${key} is not in the client's type`);
}

/**
 * `ws`'s WebSocket behind the client's interface, recording every message,
 * optionally losing inbound ones or refusing to connect at all.
 */
class Wire {
  readonly sent: ClientMessage[] = [];
  readonly received: ServerMessage[] = [];
  sockets = 0;
  /** Inbound messages for which this answers true never reach the client. */
  lose: (message: ServerMessage) => boolean = () => false;
  /** What the client gets instead of each inbound message (e.g. a delta of another epoch). */
  rewrite: (message: ServerMessage) => ServerMessage = (message) => message;
  /** While positive, each connection attempt goes to a closed port instead, and counts down. */
  refusals = 0;

  constructor(private readonly deadPort = 0) {}

  get WebSocket(): new (url: string) => WebSocketLike {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below is instantiated by the client
    const wire = this;
    return class implements WebSocketLike {
      private readonly ws: WebSocket;

      constructor(url: string) {
        wire.sockets += 1;
        if (wire.refusals > 0) {
          wire.refusals -= 1;
          url = `ws://127.0.0.1:${wire.deadPort}/`;
        }
        this.ws = new WebSocket(url);
      }

      get readyState() {
        return this.ws.readyState;
      }

      send(data: string) {
        wire.sent.push(JSON.parse(data) as ClientMessage);
        this.ws.send(data);
      }

      close(code?: number, reason?: string) {
        this.ws.close(code, reason);
      }

      addEventListener(type: string, listener: (event: { data: unknown; code?: number }) => void) {
        if (type === 'close') {
          this.ws.on('close', (code: number) => listener({ data: undefined, code }));
          return;
        }
        if (type !== 'message') {
          this.ws.on(type, () => listener({ data: undefined }));
          return;
        }
        this.ws.on('message', (data) => {
          const message = wire.rewrite(JSON.parse(String(data)) as ServerMessage);
          if (wire.lose(message)) return;
          wire.received.push(message);
          listener({ data: JSON.stringify(message) });
        });
      }
    };
  }
}

/** A live view and everything it reported. */
function watch(client: LadderClient, board: string, view: View) {
  const updates: ViewUpdate[] = [];
  const statuses: SubscriptionStatus[] = [];
  const errors: LadderApiError[] = [];
  const subscription = client.subscribe(board, view, (update) => updates.push(update), {
    onStatus: (status) => statuses.push(status),
    onError: (error) => errors.push(error),
  });
  return {
    subscription,
    updates,
    statuses,
    errors,
    get latest(): ViewUpdate | undefined {
      return updates[updates.length - 1];
    },
  };
}

describe('LadderClient', () => {
  let server: TestServer;
  let admin: LadderClient;
  let deadPort: number;

  /** Every client a test made; closed after it even when it fails, so no reconnect loop outlives it. */
  const clients: LadderClient[] = [];
  function makeClient(options: Partial<LadderClientOptions> = {}): LadderClient {
    const made = new LadderClient({ baseUrl: server.url, ...fast, ...options });
    clients.push(made);
    return made;
  }

  before(async () => {
    server = await startServer();
    admin = new LadderClient({ baseUrl: server.url, apiKey: server.adminKey });
    deadPort = await closedPort();
  });
  afterEach(() => {
    for (const made of clients.splice(0)) made.close();
  });
  after(async () => {
    admin.close();
    await server.close();
  });

  async function newBoard(sort_order: 'desc' | 'asc' = 'desc'): Promise<string> {
    const id = boardId('client');
    await admin.createBoard({ id, sort_order, operator: 'best' });
    return id;
  }

  let leaders = 0;
  /** Submits `count` random scores for participants p0..p{spread−1}, and a new leader, so that every top-N changes. */
  async function play(board: string, count: number, spread = 30): Promise<void> {
    const scores = Array.from({ length: count }, () => ({ participant_id: `p${Math.floor(Math.random() * spread)}`, score: Math.floor(Math.random() * 1000) }));
    leaders += 1;
    await admin.submitScores(board, [...scores, { participant_id: `leader${leaders}`, score: 1000 + leaders }]);
  }

  /**
   * Waits until the view shows exactly what the REST API says for it now (call
   * it once the writes are done). Entries, not versions: a view's version only
   * moves when a change touches the view.
   */
  async function converges(watched: ReturnType<typeof watch>, board: string, view: View): Promise<void> {
    let expected: unknown[] = [];
    await waitFor(`the view ${JSON.stringify(view)} to match the rankings of ${board}`, async () => {
      expected = await restView(board, view);
      return watched.latest !== undefined && isDeepStrictEqual(watched.latest.entries.map((e) => ({ ...e })), expected);
    }).catch((err: Error) => {
      assert.deepEqual(watched.latest?.entries.map((e) => ({ ...e })), expected, err.message);
    });
  }

  async function restView(board: string, view: View) {
    const strip = ({ rank, participant_id, score, achieved_at }: { rank: number; participant_id: string; score: number; achieved_at: number }) => ({
      rank,
      participant_id,
      score,
      achieved_at,
    });
    if ('top' in view) return (await admin.getRankings(board, { limit: view.top })).entries.map(strip);
    if ('participant' in view) return (await admin.getRankings(board, { participants: [view.participant] })).entries.map(strip);
    try {
      // The same window as the live view (README "Windows").
      return (await admin.getRankings(board, { around: view.around, limit: 2 * view.radius + 1 })).entries.map(strip);
    } catch (err) {
      if (err instanceof LadderApiError && err.code === 'participant_not_found') return [];
      throw err;
    }
  }

  describe('REST', () => {
    it('creates, reads, lists and deletes boards', async () => {
      const id = boardId('client');
      const created = await admin.createBoard({ id, name: 'Race', sort_order: 'asc', operator: 'latest', metadata: { unit: 'ms' } });
      assert.match(created.epoch, /^[0-9a-f]+$/);
      assert.equal(typeof created.server_time, 'number');
      assert.deepEqual({ ...created, created_at: 0, server_time: 0 }, {
        id,
        name: 'Race',
        sort_order: 'asc',
        operator: 'latest',
        metadata: { unit: 'ms' },
        created_at: 0,
        status: 'active',
        starts_at: null,
        ends_at: null,
        closed_at: null,
        finalized_at: null,
        reset: null,
        period: null,
        next_reset_at: null,
        keep_all_time: false,
        scopes: [],
        rank_ties: 'unique',
        score_decimals: 0,
        webhook_url: null,
        webhook_top: 100,
        rules: null,
        rate_limit: null,
        epoch: created.epoch,
        version: 0,
        total: 0,
        server_time: 0,
      });
      assert.deepEqual({ ...(await admin.getBoard(id)), server_time: created.server_time }, created);
      assert.ok((await admin.listBoards()).leaderboards.some((board) => board.id === id));
      await admin.deleteBoard(id);
      await assert.rejects(admin.getBoard(id), { name: 'LadderApiError', code: 'board_not_found', status: 404 });
    });

    it('submits scores one by one and in batches, with one result or error per item', async () => {
      const id = await newBoard();
      const first = await admin.submitScore(id, { participant_id: 'ann', score: 10 });
      assert.equal(first.rank, 1);
      assert.equal(first.previous_rank, null);
      assert.equal(first.changed, true);
      const { results } = await admin.submitScores(id, [
        { participant_id: 'bob', score: 20 },
        { participant_id: 'ann', score: 1.5 },
        { participant_id: 'ann', score: 5 },
      ]);
      assert.equal(results.length, 3);
      assert.ok('rank' in results[0]! && results[0].rank === 1);
      assert.ok('error' in results[1]! && results[1].error.code === 'invalid_score', JSON.stringify(results[1]));
      assert.ok('changed' in results[2]! && results[2].changed === false && results[2].rank === 2 && results[2].score === 10);
    });

    it('reads rankings by page, around a participant and for listed participants, and standings', async () => {
      const id = await newBoard();
      await admin.submitScores(id, Array.from({ length: 10 }, (_, i) => ({ participant_id: `p${i}`, score: i * 10 })));
      const page = await admin.getRankings(id, { limit: 3, offset: 2 });
      assert.deepEqual(page.entries.map((e) => [e.rank, e.participant_id]), [[3, 'p7'], [4, 'p6'], [5, 'p5']]);
      assert.equal(page.total, 10);
      const around = await admin.getRankings(id, { around: 'p5', limit: 3 });
      assert.deepEqual(around.entries.map((e) => e.participant_id), ['p6', 'p5', 'p4']);
      const listed = await admin.getRankings(id, { participants: ['p0', 'p9'] });
      assert.deepEqual(listed.entries.map((e) => [e.rank, e.participant_id]), [[1, 'p9'], [10, 'p0']]);
      const standing = await admin.getParticipant(id, 'p5', { neighbors: 1 });
      assert.equal(standing.rank, 5);
      assert.deepEqual([standing.neighbors.above[0]?.participant_id, standing.neighbors.below[0]?.participant_id], ['p6', 'p4']);
      await assert.rejects(admin.getParticipant(id, 'nobody'), { code: 'participant_not_found', status: 404 });
    });

    it('returns from every wrapper the whole answer the server sent, typed', async () => {
      const { fetch: recording, exchanges } = recorder();
      const client = makeClient({ apiKey: server.adminKey, fetch: recording });
      const answer = () => exchanges[exchanges.length - 1]!.response!;
      const id = boardId('client');

      const created = await client.createBoard({ id, name: 'Wrapped', sort_order: 'desc', operator: 'best', metadata: { season: 3 } });
      assert.equal(answer().status, 201);
      assert.deepEqual(created, answer().body);
      assertTyped(created, [
        'id', 'name', 'sort_order', 'operator', 'metadata', 'created_at', 'status', 'starts_at', 'ends_at', 'closed_at', 'finalized_at', 'reset', 'period',
        'next_reset_at', 'keep_all_time', 'scopes', 'rank_ties', 'score_decimals', 'webhook_url', 'webhook_top', 'rules', 'rate_limit', 'epoch',
        'version', 'total', 'server_time',
      ]);

      const scored = await client.submitScore(id, { participant_id: 'ann', score: 30, metadata: { clan: 'red' } });
      assert.deepEqual(scored, answer().body);
      assertTyped(scored, ['participant_id', 'score', 'rank', 'previous_rank', 'previous_score', 'epoch', 'version', 'changed', 'achieved_at']);

      const batch = await client.submitScores(id, [
        { participant_id: 'bob', score: 20 },
        { participant_id: 'cat', score: 10 },
        { participant_id: 'dan', score: 1.5 },
      ]);
      assert.deepEqual(batch, answer().body);
      assertTyped(batch, ['results']);
      assert.deepEqual(batch.results.map((result) => ('error' in result ? result.error.code : result.rank)), [2, 3, 'invalid_score']);

      const list = await client.listBoards();
      assert.deepEqual(list, answer().body);
      assertTyped(list, ['leaderboards', 'total']);
      assert.ok(list.leaderboards.some((board) => board.id === id));
      assert.equal(list.total, list.leaderboards.length);
      const page = await client.listBoards({ limit: 1, offset: list.total - 1 });
      // Each answer carries the server's clock of its own moment.
      const last = list.leaderboards[list.total - 1]!;
      assert.deepEqual(page, { leaderboards: [{ ...last, server_time: page.leaderboards[0]?.server_time }], total: list.total });

      const board = await client.getBoard(id);
      assert.deepEqual(board, answer().body);
      assert.deepEqual([board.version, board.total], [3, 3]);

      const rankings = await client.getRankings(id, { limit: 2 });
      assert.deepEqual(rankings, answer().body);
      assertTyped(rankings, ['leaderboard_id', 'period', 'epoch', 'version', 'total', 'entries']);
      assertTyped(rankings.entries[0]!, ['rank', 'participant_id', 'score', 'achieved_at', 'metadata']);
      assert.deepEqual(rankings.entries[0]!.metadata, { clan: 'red' });

      const standing = await client.getParticipant(id, 'ann', { neighbors: 1 });
      assert.deepEqual(standing, answer().body);
      assertTyped(standing, ['leaderboard_id', 'period', 'participant_id', 'rank', 'score', 'achieved_at', 'percentile', 'epoch', 'version', 'total', 'neighbors', 'metadata']);
      // Every answer about one board carries its one epoch.
      assert.deepEqual([scored.epoch, board.epoch, rankings.epoch, standing.epoch], [created.epoch, created.epoch, created.epoch, created.epoch]);
      assert.deepEqual(standing.metadata, { clan: 'red' });
      assert.deepEqual(standing.neighbors.below.map((entry) => entry.participant_id), ['bob']);

      assert.equal(await client.deleteBoard(id), undefined);
      assert.deepEqual([answer().status, answer().body], [204, null]);
    });

    it('long-polls the rankings: no answer while the version stands still, then the new state; at once for another epoch', async () => {
      const id = await newBoard();
      const { epoch, version } = await admin.getBoard(id);
      let answered = false;
      // The server may hold the poll for LADDER_LONG_POLL_MAX_MS (30 s); nothing here waits that long.
      const polled = admin.getRankings(id, { waitForVersionAfter: version, epoch, timeoutMs: 30_000 }).finally(() => (answered = true));
      // Requests sent after the poll are answered while it is held.
      await admin.getRankings(id);
      await admin.getBoard(id);
      assert.equal(answered, false, 'held while the version stands still');
      await admin.submitScore(id, { participant_id: 'late', score: 1 });
      const rankings = await polled;
      assert.deepEqual([rankings.epoch, rankings.version], [epoch, version + 1]);
      assert.equal(rankings.entries[0]?.participant_id, 'late');
      // A version of another epoch says nothing about this board's state: the answer comes at once, not after the 30 s.
      const signal = AbortSignal.timeout(10_000);
      const stale = await admin.getRankings(id, { waitForVersionAfter: rankings.version, epoch: 'ffffffffffff', timeoutMs: 30_000, signal });
      assert.deepEqual([stale.epoch, stale.version], [epoch, version + 1]);
    });

    it('maps every failure to LadderApiError with the server code and status', async () => {
      const id = await newBoard();
      await assert.rejects(admin.createBoard({ id, sort_order: 'desc', operator: 'best' }), { code: 'board_exists', status: 409 });
      const anonymous = new LadderClient({ baseUrl: server.url });
      await assert.rejects(anonymous.submitScore(id, { participant_id: 'x', score: 1 }), { code: 'missing_api_key', status: 401 });
      const wrongKey = new LadderClient({ baseUrl: server.url, apiKey: 'not-a-key' });
      await assert.rejects(wrongKey.deleteBoard(id), { code: 'invalid_api_key', status: 401 });
      await assert.rejects(admin.createBoard({ id: 'bad id!', sort_order: 'desc', operator: 'best' }), (err: unknown) => {
        assert.ok(err instanceof LadderApiError);
        assert.equal(err.status, 400);
        assert.equal(err.details?.field, 'id');
        return true;
      });
      const unreachable = new LadderClient({ baseUrl: `http://127.0.0.1:${deadPort}` });
      await assert.rejects(unreachable.listBoards(), { code: 'network_error', status: 0 });
    });
  });

  describe('which server errors end a view', () => {
    it('retries too_many_subscriptions instead of giving up, and goes live once there is room', async () => {
      const id = await newBoard();
      await play(id, 5);
      const client = makeClient({ WebSocket: new Wire().WebSocket });
      // The server allows 100 subscriptions per connection, and the client shares one connection per board.
      const full = Array.from({ length: 100 }, (_, i) => watch(client, id, { top: i + 1 }));
      await waitFor('100 live views', () => full.every((view) => view.latest !== undefined));
      const extra = watch(client, id, { top: 5 });
      await waitFor('the refusal', () => extra.errors.length > 0);
      assert.equal(extra.errors[0]!.code, 'too_many_subscriptions');
      assert.notEqual(extra.subscription.status.state, 'closed');
      full[0]!.subscription.close();
      await converges(extra, id, { top: 5 });
      assert.equal(extra.latest?.transport, 'websocket');
      client.close();
    });

    it('ends an SSE view on invalid_view, and retries too_many_views, answered or streamed, until it passes', async () => {
      const id = await newBoard();
      await play(id, 5);
      const invalid = makeClient({ transports: ['sse'], fetch: refusingStreams(Infinity, () => errorAnswer('invalid_view', 400)) });
      const refused = watch(invalid, id, { top: 5 });
      await waitFor('the error', () => refused.errors.length > 0);
      assert.deepEqual([refused.errors[0]!.code, refused.errors[0]!.status], ['invalid_view', 400]);
      assert.equal(refused.subscription.status.state, 'closed');

      const answered = makeClient({ transports: ['sse'], fetch: refusingStreams(3, () => errorAnswer('too_many_views', 503)) });
      const limited = watch(answered, id, { top: 5 });
      await converges(limited, id, { top: 5 });
      assert.equal(limited.latest?.transport, 'sse');

      const event = 'event: error\ndata: {"type":"error","sub":"sse","code":"too_many_views","message":"the board has too many views"}\n\n';
      const streamed = makeClient({
        transports: ['sse'],
        fetch: refusingStreams(1, () => new Response(event, { headers: { 'content-type': 'text/event-stream' } })),
      });
      const retried = watch(streamed, id, { top: 5 });
      await waitFor('the error event', () => retried.errors.length > 0);
      assert.equal(retried.errors[0]!.code, 'too_many_views');
      await converges(retried, id, { top: 5 });
      assert.notEqual(retried.subscription.status.state, 'closed');
    });
  });

  describe('live views over WebSocket', () => {
    it('gets a snapshot, then deltas that keep a top-N exactly equal to the rankings', async () => {
      const id = await newBoard();
      await play(id, 20);
      const client = makeClient({ WebSocket: new Wire().WebSocket });
      const top = watch(client, id, { top: 10 });
      await converges(top, id, { top: 10 });
      for (let round = 0; round < 5; round++) {
        await play(id, 15);
        await sleep(20);
      }
      await converges(top, id, { top: 10 });
      assert.ok(top.updates.every((update) => update.transport === 'websocket'));
      assert.deepEqual(top.statuses[top.statuses.length - 1], { state: 'live', transport: 'websocket' });
      assert.equal(top.latest?.firstRank, 1);
      client.close();
      assert.equal(top.subscription.status.state, 'closed');
    });

    it('keeps around and participant views, all on one shared socket per board', async () => {
      const id = await newBoard();
      const other = await newBoard();
      await play(id, 30, 20);
      const wire = new Wire();
      const client = makeClient({ WebSocket: wire.WebSocket });
      const views: View[] = [{ around: 'p3', radius: 2 }, { participant: 'p5' }, { top: 5 }, { around: 'newcomer', radius: 1 }];
      const watched = views.map((view) => watch(client, id, view));
      const elsewhere = watch(client, other, { top: 5 });
      for (let round = 0; round < 4; round++) {
        await play(id, 10, 20);
        await sleep(30);
      }
      await admin.submitScore(id, { participant_id: 'newcomer', score: 500 });
      for (const [i, view] of views.entries()) await converges(watched[i]!, id, view);
      await waitFor('the other board', () => elsewhere.latest !== undefined);
      assert.equal(wire.sockets, 2, 'one socket per board');
      assert.equal(wire.sent.filter((m) => m.type === 'subscribe').length, 5);
      client.close();
    });

    it('reconnects after the connection drops and resumes from its version', async (t) => {
      const id = await newBoard();
      await play(id, 20);
      const proxy = await startProxy(server.url);
      t.after(() => proxy.close());
      const wire = new Wire();
      const client = makeClient({ baseUrl: proxy.url, WebSocket: wire.WebSocket });
      const top = watch(client, id, { top: 10 });
      await converges(top, id, { top: 10 });
      const { epoch, version: versionBeforeDrop } = top.latest!;

      proxy.dropAll();
      await waitFor('the view to notice', () => top.statuses.some((status) => status.state === 'reconnecting'));
      await play(id, 10);
      await converges(top, id, { top: 10 });

      assert.equal(wire.sockets, 2);
      const subscribes = wire.sent.filter((m) => m.type === 'subscribe');
      assert.equal(subscribes.length, 2);
      const resubscribe = subscribes[1];
      assert.ok(resubscribe?.type === 'subscribe');
      assert.deepEqual([resubscribe.since_version, resubscribe.epoch], [versionBeforeDrop, epoch], 'resumes from its version within its epoch');
      // In the cluster suites the second connection may reach the other member, which resumes from the window archive or, when the window expired there, answers a snapshot.
      const resumed = process.env.LADDER_TEST_CLUSTER === '1' ? ['resumed', 'snapshot'] : ['resumed'];
      const answers = wire.received.filter((m) => m.type === 'snapshot' || m.type === 'resumed').map((m) => m.type);
      assert.equal(answers.length, 2);
      assert.equal(answers[0], 'snapshot');
      assert.ok(resumed.includes(answers[1]!), `the second connection resumed instead of starting over: ${answers[1]}`);
      assert.deepEqual(top.statuses.map((s) => s.state), ['live', 'reconnecting', 'live']);
      client.close();
    });

    it('resubscribes for a fresh snapshot when a delta went missing', async () => {
      const id = await newBoard();
      const wire = new Wire();
      const client = makeClient({ WebSocket: wire.WebSocket });
      const top = watch(client, id, { top: 5 });
      await waitFor('the snapshot', () => top.latest !== undefined);
      let lost = 0;
      wire.lose = (message) => message.type === 'delta' && lost++ === 0;
      await admin.submitScore(id, { participant_id: 'a', score: 1 });
      await waitFor('the delta to be lost', () => lost > 0);
      await admin.submitScore(id, { participant_id: 'b', score: 2 });
      await converges(top, id, { top: 5 });
      const subscribes = wire.sent.filter((m) => m.type === 'subscribe');
      assert.equal(subscribes.length, 2);
      const resubscribe = subscribes[1];
      assert.ok(resubscribe?.type === 'subscribe' && resubscribe.since_version === undefined && resubscribe.epoch === undefined, 'asks for a snapshot');
      assert.ok(wire.sent.some((m) => m.type === 'unsubscribe'));
      assert.equal(wire.received.filter((m) => m.type === 'snapshot').length, 2);
      client.close();
    });

    it('resyncs from a snapshot on a delta of another epoch, even one whose from_version fits', async () => {
      const id = await newBoard();
      await play(id, 10);
      const wire = new Wire();
      const client = makeClient({ WebSocket: wire.WebSocket });
      const top = watch(client, id, { top: 5 });
      await converges(top, id, { top: 5 });
      const { epoch } = await admin.getBoard(id);
      assert.equal(top.latest?.epoch, epoch);

      // As if the server had issued these versions again under a new epoch: the next delta chains by version, but not by epoch.
      let altered = 0;
      wire.rewrite = (message) => (message.type === 'delta' && altered++ === 0 ? { ...message, epoch: 'ffffffffffff' } : message);
      await play(id, 10);
      await converges(top, id, { top: 5 });
      assert.ok(altered > 0);
      const subscribes = wire.sent.filter((m) => m.type === 'subscribe');
      assert.equal(subscribes.length, 2);
      const resync = subscribes[1];
      assert.ok(resync?.type === 'subscribe' && resync.since_version === undefined && resync.epoch === undefined, 'asks for a snapshot');
      assert.equal(wire.received.filter((m) => m.type === 'snapshot').length, 2);
      assert.ok(top.updates.every((update) => update.epoch === epoch), 'nothing of the other epoch was applied');
      client.close();
    });

    it('reports an unknown board, and a deleted one, as fatal errors', async () => {
      const client = makeClient({ WebSocket: new Wire().WebSocket });
      const unknown = watch(client, boardId('missing'), { top: 5 });
      await waitFor('the error', () => unknown.errors.length > 0);
      assert.equal(unknown.errors[0]!.code, 'board_not_found');
      assert.equal(unknown.subscription.status.state, 'closed');

      const id = await newBoard();
      const top = watch(client, id, { top: 5 });
      await waitFor('the snapshot', () => top.latest !== undefined);
      await admin.deleteBoard(id);
      await waitFor('the error', () => top.errors.length > 0);
      assert.equal(top.errors[0]!.code, 'board_not_found');
      assert.equal(top.subscription.status.state, 'closed');
      client.close();
    });
  });

  describe('fallbacks', () => {
    it('long-polls with the epoch and the ETag of the state it holds, so that an idle board costs 304s, and still gets every change', async () => {
      const id = await newBoard();
      await play(id, 5);
      const { fetch: recording, exchanges } = recorder();
      // Polls the server holds for 200 ms only, so that an idle board answers several times.
      const client = makeClient({ transports: ['poll'], fetch: recording, pollWaitMs: 200 });
      const top = watch(client, id, { top: 5 });
      await converges(top, id, { top: 5 });
      const polls = () => exchanges.filter((exchange) => exchange.url.pathname.endsWith('/rankings') && exchange.response !== undefined);
      await waitFor('a 304 while the board is idle', () => polls().some((exchange) => exchange.response!.status === 304));
      await play(id, 5);
      await converges(top, id, { top: 5 });
      assert.ok(top.updates.every((update) => update.transport === 'poll'));
      // One view polls one request at a time. Each asks from the state of the last 200 before it: its version, its
      // epoch, and exactly the ETag the server sent with it (never one the client built); the first asks for the state.
      let held: Exchange | null = null;
      for (const exchange of polls()) {
        const sent = [exchange.url.searchParams.get('wait_for_version_after'), exchange.url.searchParams.get('epoch'), exchange.headers.get('if-none-match')];
        if (held === null) assert.deepEqual(sent, [null, null, null]);
        else {
          const state = held.response!.body as { epoch: string; version: number };
          assert.deepEqual(sent, [String(state.version), state.epoch, held.response!.headers.get('etag')]);
        }
        if (exchange.response!.status === 200) held = exchange;
        else assert.equal(exchange.response!.status, 304);
      }
      assert.ok(held !== null);
      client.close();
    });

    it('starts on SSE when there is no WebSocket (Node 20 without one)', async () => {
      const id = await newBoard();
      const client = makeClient();
      const top = watch(client, id, { top: 5 });
      await play(id, 10);
      await converges(top, id, { top: 5 });
      assert.ok(top.updates.every((update) => update.transport === 'sse'));
      client.close();
    });

    it('reconnects an SSE stream that went silent and resumes it with Last-Event-ID', async () => {
      const id = await newBoard();
      await play(id, 10);
      const resumeFrom: (string | null)[] = [];
      const recording: typeof fetch = (input, init) => {
        if (String(input).includes('/events')) resumeFrom.push(new Headers(init?.headers).get('last-event-id'));
        return fetch(input, init);
      };
      const client = makeClient({ transports: ['sse'], fetch: recording, sseIdleMs: 300 });
      const top = watch(client, id, { top: 5 });
      await converges(top, id, { top: 5 });
      const { epoch, version } = top.latest!;
      // The server sends keep-alive comments every LADDER_HEARTBEAT_MS (30 s), so 300 ms of silence passes for a dead stream.
      await waitFor('a reconnect', () => resumeFrom.length >= 2);
      // The id of the last event applied, as the server sent it: `<epoch>-<version>` (docs/protocol.md).
      assert.deepEqual(resumeFrom.slice(0, 2), [null, `${epoch}-${version}`]);
      await play(id, 10);
      await converges(top, id, { top: 5 });
      assert.ok(top.statuses.some((status) => status.state === 'reconnecting'));
      assert.equal(top.updates.filter((update) => update.version === version).length, 1, 'resumed, not sent the same state again');
    });

    it('sends no Last-Event-ID for a copy that another transport brought, and gets a snapshot', async (t) => {
      const id = await newBoard();
      await play(id, 10);
      const proxy = await startProxy(server.url);
      t.after(() => proxy.close());
      const wire = new Wire(deadPort);
      const { fetch: recording, exchanges } = recorder();
      const client = makeClient({ baseUrl: proxy.url, WebSocket: wire.WebSocket, fetch: recording, fallbackAfter: 2 });
      const top = watch(client, id, { top: 5 });
      await converges(top, id, { top: 5 });
      assert.equal(top.latest?.transport, 'websocket');

      wire.refusals = Infinity;
      proxy.dropAll();
      const streams = () => exchanges.filter((exchange) => exchange.url.pathname.endsWith('/events'));
      await waitFor('the fallback to SSE', () => streams().length > 0);
      // SSE holds no event of its own that brought the copy where it stands, and builds no id from the WebSocket's state.
      assert.equal(streams()[0]!.headers.get('last-event-id'), null);
      await waitFor('the SSE snapshot', () => top.latest?.transport === 'sse');
      await play(id, 10);
      await converges(top, id, { top: 5 });
      client.close();
    });

    it('falls back to SSE when WebSocket keeps failing, and returns to it once it works', async () => {
      const id = await newBoard();
      await play(id, 10);
      const wire = new Wire(deadPort);
      wire.refusals = Infinity;
      const client = makeClient({ WebSocket: wire.WebSocket, fallbackAfter: 3 });
      const top = watch(client, id, { top: 5 });
      await waitFor('SSE', () => top.latest?.transport === 'sse');
      assert.ok(wire.sockets >= 3);
      await play(id, 10);
      await converges(top, id, { top: 5 });
      assert.ok(top.updates.every((update) => update.transport === 'sse'));

      wire.refusals = 0;
      await waitFor('the WebSocket to take over', () => top.subscription.status.transport === 'websocket');
      await play(id, 10);
      await converges(top, id, { top: 5 });
      assert.equal(top.latest?.transport, 'websocket');
      const subscribe = wire.sent.find((m) => m.type === 'subscribe');
      assert.ok(subscribe?.type === 'subscribe' && subscribe.since_version !== undefined, 'the WebSocket resumed from what SSE delivered');
      assert.equal(subscribe.epoch, top.latest?.epoch);
      client.close();
    });

    it('falls back to long-polling when neither WebSocket nor SSE gets through', async () => {
      const id = await newBoard();
      await play(id, 10);
      const wire = new Wire(deadPort);
      wire.refusals = Infinity;
      // A proxy that cannot stream: event streams fail, plain requests pass.
      const { fetch: noStreaming, exchanges } = recorder(refusingStreams(Infinity, () => new Response('bad gateway', { status: 502 })));
      // Polls the server may hold for as long as it allows (LADDER_LONG_POLL_MAX_MS, 30 s).
      const client = makeClient({ WebSocket: wire.WebSocket, fetch: noStreaming, fallbackAfter: 2, pollWaitMs: 30_000 });
      const top = watch(client, id, { top: 5 });
      const around = watch(client, id, { around: 'p3', radius: 1 });
      await waitFor('polling', () => top.latest?.transport === 'poll');
      await play(id, 10);
      await converges(top, id, { top: 5 });
      await converges(around, id, { around: 'p3', radius: 1 });
      assert.equal(top.latest?.transport, 'poll');
      // The status starts as connecting on websocket (subscription.status); onStatus reports the changes.
      assert.deepEqual([...new Set(top.statuses.map((s) => s.transport))], ['sse', 'poll']);

      // The change is delivered by the poll that was already held when it was made, not by a later one.
      const { epoch, version } = top.latest!;
      const topPolls = () => exchanges.filter((exchange) => exchange.url.pathname.endsWith('/rankings') && exchange.url.searchParams.get('limit') === '5');
      const waiting = () => topPolls().find((exchange) => exchange.url.searchParams.get('wait_for_version_after') === String(version));
      await waitFor('a poll held at the current version', () => waiting() !== undefined);
      const held = waiting()!;
      assert.equal(held.response, undefined, 'the poll is held, not answered');
      assert.equal(held.url.searchParams.get('epoch'), epoch);
      await admin.submitScore(id, { participant_id: 'fresh', score: 5000 });
      await waitFor('the update', () => top.latest!.version > version);
      const answer = waiting()?.response;
      assert.equal(answer?.status, 200);
      assert.equal((answer?.body as { version: number }).version, top.latest!.version);
      assert.equal(top.latest!.entries[0]?.participant_id, 'fresh');
      client.close();
    });
  });

  describe('across a restart after a crash', () => {
    it('resyncs every transport from a snapshot of the new epoch instead of resuming into the old one, even at the same version', async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ladder-client-crash-'));
      const key = generateKey();
      // A long commit window keeps alice's score visible and uncommitted when the process dies, as in test/epochs.test.ts.
      const env = { LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_COMMIT_INTERVAL_MS: '1000', LADDER_TICK_MS: '5' };
      const processes: ServerProcess[] = [];
      t.after(async () => {
        for (const running of processes) {
          if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
          await running.exited;
        }
        rmSync(dataDir, { recursive: true, force: true });
      });
      const crashing = await startServerProcess(env);
      processes.push(crashing);
      const proxy = await startProxy(crashing.url);
      t.after(() => proxy.close());
      const owner = makeClient({ baseUrl: crashing.url, apiKey: key });
      await owner.createBoard({ id: 'arena', sort_order: 'desc', operator: 'best' });

      // Not awaited: its answer would only come after the commit, which never happens.
      let acknowledged = false;
      void owner.submitScore('arena', { participant_id: 'alice', score: 100 }).then(() => (acknowledged = true), () => undefined);
      await waitFor('alice to be visible', async () => (await owner.getRankings('arena')).version === 1);

      // Views that start now see alice at version 1 (the server publishes deltas only once committed, but reads show what it holds).
      const wire = new Wire();
      const sse = recorder();
      const poll = recorder();
      const views = {
        websocket: watch(makeClient({ baseUrl: proxy.url, WebSocket: wire.WebSocket, transports: ['websocket'] }), 'arena', { top: 5 }),
        sse: watch(makeClient({ baseUrl: proxy.url, fetch: sse.fetch, transports: ['sse'] }), 'arena', { top: 5 }),
        // Polls the server may hold for 30 s, longer than the waits below: the one after the restart must be answered at once.
        poll: watch(makeClient({ baseUrl: proxy.url, fetch: poll.fetch, transports: ['poll'], pollWaitMs: 30_000 }), 'arena', { top: 5 }),
      };
      const all = Object.values(views);
      const shows = (view: (typeof all)[number], participant: string) => view.latest?.entries[0]?.participant_id === participant;
      await waitFor('alice in every view', () => all.every((view) => shows(view, 'alice')));
      crashing.child.kill('SIGKILL');
      assert.equal(acknowledged, false, 'the process died before it committed alice (LADDER_COMMIT_INTERVAL_MS)');
      const oldEpoch = views.websocket.latest!.epoch;
      for (const view of all) assert.deepEqual([view.latest!.epoch, view.latest!.version], [oldEpoch, 1]);
      proxy.retarget(null);
      await crashing.exited;

      const restarted = await startServerProcess(env);
      processes.push(restarted);
      // Before any view gets through: the version alice had is issued again, to bob, in a new epoch.
      const bob = await makeClient({ baseUrl: restarted.url, apiKey: key }).submitScore('arena', { participant_id: 'bob', score: 50 });
      assert.equal(bob.version, 1);
      assert.notEqual(bob.epoch, oldEpoch);
      proxy.retarget(restarted.url);
      await waitFor('bob in every view', () => all.every((view) => shows(view, 'bob'))).catch((err: Error) => {
        for (const [transport, view] of Object.entries(views)) assert.deepEqual(view.latest?.entries.map((e) => e.participant_id), ['bob'], `${transport}: ${err.message}`);
      });
      for (const [transport, view] of Object.entries(views)) {
        assert.deepEqual(
          [view.latest!.epoch, view.latest!.version, view.latest!.entries.map((e) => e.participant_id), view.latest!.transport],
          [bob.epoch, 1, ['bob'], transport],
          `${transport}: the new epoch replaced the local copy`,
        );
      }

      // Each transport asked to resume from version 1 of the old epoch, and was answered with the new state instead.
      const resubscribe = wire.sent.filter((m) => m.type === 'subscribe').at(-1);
      assert.ok(resubscribe?.type === 'subscribe');
      assert.deepEqual([resubscribe.since_version, resubscribe.epoch], [1, oldEpoch]);
      assert.deepEqual(
        wire.received.filter((m) => m.type === 'snapshot' || m.type === 'resumed').map((m) => [m.type, m.epoch]),
        [
          ['snapshot', oldEpoch],
          ['snapshot', bob.epoch],
        ],
        'a snapshot of the new epoch, never resumed',
      );
      const streamIds = sse.exchanges.filter((exchange) => exchange.url.pathname.endsWith('/events')).map((exchange) => exchange.headers.get('last-event-id'));
      assert.equal(streamIds[0], null);
      assert.ok(streamIds.includes(`${oldEpoch}-1`), `SSE resumed with the id of the last event applied: ${JSON.stringify(streamIds)}`);
      const answered = poll.exchanges.find((exchange) => exchange.response?.status === 200 && (exchange.response.body as { epoch: string }).epoch === bob.epoch);
      assert.ok(answered !== undefined);
      assert.deepEqual(
        [answered.url.searchParams.get('wait_for_version_after'), answered.url.searchParams.get('epoch'), answered.headers.get('if-none-match')],
        ['1', oldEpoch, `"${oldEpoch}-1"`],
        'the poll named the old epoch and its ETag, and was answered at once with the new state',
      );
    });
  });

  describe('read auth', () => {
    let guarded: TestServer;
    before(async () => {
      guarded = await startServer({ readAuth: true });
    });
    after(async () => guarded.close());

    it('sends the key on every transport, and reports a missing one as fatal', async () => {
      const id = boardId('guarded');
      const owner = makeClient({ baseUrl: guarded.url, apiKey: guarded.adminKey });
      await owner.createBoard({ id, sort_order: 'desc', operator: 'best' });
      await owner.submitScore(id, { participant_id: 'a', score: 1 });
      for (const transports of [['websocket'], ['sse'], ['poll']] as const) {
        const client = makeClient({ baseUrl: guarded.url, apiKey: guarded.adminKey, WebSocket: new Wire().WebSocket, transports });
        const top = watch(client, id, { top: 5 });
        await waitFor(`${transports[0]} with a key`, () => top.latest !== undefined);
        assert.equal(top.latest?.transport, transports[0]);
        client.close();

        const keyless = makeClient({ baseUrl: guarded.url, WebSocket: new Wire().WebSocket, transports });
        const refused = watch(keyless, id, { top: 5 });
        await waitFor(`${transports[0]} to refuse`, () => refused.errors.length > 0);
        assert.equal(refused.errors[0]!.code, 'missing_api_key');
        assert.equal(refused.errors[0]!.status, 401);
        keyless.close();
      }
      owner.close();
    });
  });

  describe('the package', { skip: !built && !process.env.CI ? 'dist/ is not built' : false }, () => {
    it('makes ladder/client importable from the packed tarball, without the server dependencies, and it talks to the server', async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'ladder-pack-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      // What `npm pack` makes of package.json's files and exports; --ignore-scripts packs dist/ as built.
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir]);
      const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
      const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, Record<string, string>> };
      const paths = new Set(packed.files.map((file) => file.path));
      for (const target of Object.values(manifest.exports['./client']!)) assert.ok(paths.has(target.replace(/^\.\//, '')), `${target} is in the tarball`);

      // `npm install <tgz>` unpacks it into node_modules/ladder; the client's dependencies, none, are all it needs to run.
      const app = join(dir, 'app');
      mkdirSync(join(app, 'node_modules', 'ladder'), { recursive: true });
      await run('tar', ['-xzf', join(dir, packed.filename), '-C', join(app, 'node_modules', 'ladder'), '--strip-components=1']);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
      writeFileSync(
        join(app, 'check.mjs'),
        [
          "import { LadderClient } from 'ladder/client';",
          'const [baseUrl, board] = process.argv.slice(2);',
          'const ladder = new LadderClient({ baseUrl });',
          'const rankings = await ladder.getRankings(board, { limit: 1 });',
          'console.log(JSON.stringify(rankings.entries[0]));',
        ].join('\n'),
      );
      const id = await newBoard();
      await admin.submitScore(id, { participant_id: 'packed', score: 7 });
      // Asynchronously: the server answering it runs in this process.
      const check = await run(process.execPath, ['check.mjs', server.url, id], { cwd: app });
      assert.deepEqual(JSON.parse(check.stdout), (await admin.getRankings(id, { limit: 1 })).entries[0]);
    });
  });
});
