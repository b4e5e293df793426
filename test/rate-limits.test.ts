/**
 * Rate limits through the front door (http/rate-limits.ts,
 * http/socket-limits.ts): per-key and default limits, the 429 answer and its
 * headers, refused submissions in the participants' histories, and the
 * WebSocket limits on messages and connections. The cluster wrapper
 * (test/cluster-suites/rate-limits.test.ts) runs it over two members behind
 * a round-robin proxy, so the key limits pass there only when the members
 * share their counters.
 *
 * Windows are a minute long, so that no test depends on when a window ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { LadderClient } from '../src/client/client.js';
import type { ViewUpdate } from '../src/client/subscription.js';
import { loadConfig } from '../src/core/config.js';
import { formatRateLimit, parseRateLimit } from '../src/core/rate-limit.js';
import { createBoard, eventually } from './helpers/realtime.js';
import { api, startServer, type TestServer } from './helpers/server.js';
import { wsUrl } from './helpers/realtime.js';

const MINUTE = 60_000;

describe('rate limit settings', () => {
  it('parses <max>/<window> and writes it back', () => {
    assert.deepEqual(parseRateLimit('1000/1s'), { max: 1000, windowMs: 1000 });
    assert.deepEqual(parseRateLimit('60/1m'), { max: 60, windowMs: MINUTE });
    assert.deepEqual(parseRateLimit(' 10 / 500ms '), { max: 10, windowMs: 500 });
    assert.deepEqual(parseRateLimit('5/h'), { max: 5, windowMs: 3_600_000 });
    for (const text of ['1000', '0/1s', '10/0s', '10/2d', '10/25h', 'many/1s']) assert.throws(() => parseRateLimit(text), Error, text);
    assert.equal(formatRateLimit({ max: 60, windowMs: MINUTE }), '60/1m');
    assert.equal(formatRateLimit({ max: 10, windowMs: 1500 }), '10/1500ms');
  });

  it('reads LADDER_RATE_LIMIT_DEFAULT and checks the WebSocket limits against each other', () => {
    assert.equal(loadConfig({}).rateLimitDefault, null);
    assert.deepEqual(loadConfig({ LADDER_RATE_LIMIT_DEFAULT: '60/1m' }).rateLimitDefault, { max: 60, windowMs: MINUTE });
    assert.throws(() => loadConfig({ LADDER_RATE_LIMIT_DEFAULT: 'fast' }), /LADDER_RATE_LIMIT_DEFAULT/);
    assert.throws(() => loadConfig({ LADDER_WS_MESSAGES_PER_SECOND: '50', LADDER_MAX_SUBSCRIPTIONS: '100' }), /LADDER_WS_MESSAGES_PER_SECOND=50 is below LADDER_MAX_SUBSCRIPTIONS=100/);
    assert.equal(loadConfig({ LADDER_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8, 127.0.0.1');
    assert.throws(() => loadConfig({ LADDER_TRUST_PROXY: 'the balancer' }), /LADDER_TRUST_PROXY/);
  });
});

describe('rate limits', () => {
  let server: TestServer;
  let board: string;

  before(async () => {
    server = await startServer({ rateLimitDefault: { max: 4, windowMs: MINUTE }, wsMessagesPerSecond: 5, maxSubscriptions: 5, wsMaxConnections: 2 });
    board = await createBoard(server);
  });
  after(() => server.close());

  async function newKey(body: Record<string, unknown>): Promise<string> {
    const created = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.key as string;
  }

  const rankings = (key?: string) => api(server, 'GET', `/v1/leaderboards/${board}/rankings`, { key });

  it('stores a key\'s rate_limit and lists it', async () => {
    const created = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope: 'read', name: 'limited', rate_limit: { max: 7, window_ms: 2000 } } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.rate_limit, { max: 7, window_ms: 2000 });
    const listed = await api(server, 'GET', '/v1/keys', { key: server.adminKey });
    const entry = listed.body.keys.find((key: { id: string }) => key.id === created.body.id);
    assert.deepEqual(entry.rate_limit, { max: 7, window_ms: 2000 });
    const plain = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope: 'read' } });
    assert.equal(plain.body.rate_limit, null);
    for (const rate_limit of [{ max: 0, window_ms: 1000 }, { max: 5 }, { max: 5, window_ms: 1000, burst: 2 }]) {
      const refused = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope: 'read', rate_limit } });
      assert.equal(refused.status, 400, JSON.stringify(rate_limit));
    }
  });

  it('holds a key to its own limit, answering 429 with Retry-After and RateLimit-* headers', async () => {
    const key = await newKey({ scope: 'read', rate_limit: { max: 6, window_ms: MINUTE } });
    for (let i = 1; i <= 6; i++) {
      const answer = await rankings(key);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('ratelimit-limit'), '6');
      assert.equal(answer.headers.get('ratelimit-remaining'), String(6 - i));
    }
    const refused = await rankings(key);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.equal(refused.body.error.details.limit, 6);
    assert.equal(refused.body.error.details.window_ms, MINUTE);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(refused.headers.get('ratelimit-limit'), '6');
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    assert.equal(refused.headers.get('ratelimit-reset'), String(retryAfter));
    // Another key has a counter of its own.
    assert.equal((await rankings(await newKey({ scope: 'read', rate_limit: { max: 6, window_ms: MINUTE } }))).status, 200);
  });

  it('holds keys without a limit of their own to LADDER_RATE_LIMIT_DEFAULT, and keyless requests per address', async () => {
    const key = await newKey({ scope: 'read' });
    for (let i = 0; i < 4; i++) assert.equal((await rankings(key)).status, 200);
    assert.equal((await rankings(key)).status, 429);
    // Reads need no key here (LADDER_READ_AUTH=false): they count against the address, at the default.
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await rankings()).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  });

  it('never limits LADDER_ADMIN_KEY, nor health, metrics and docs', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await rankings(server.adminKey)).status, 200);
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/metrics']) {
      for (let i = 0; i < 6; i++) assert.equal((await api(server, 'GET', path)).status, 200, path);
    }
  });

  it('records refused submissions, each item of a refused batch, in the participants\' histories', async () => {
    const key = await newKey({ scope: 'write', rate_limit: { max: 1, window_ms: MINUTE } });
    assert.equal((await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key, body: { participant_id: 'ann', score: 10 } })).status, 200);
    const one = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key, body: { participant_id: 'ann', score: 20, event_id: 'rl-1' } });
    assert.equal(one.status, 429);
    const batch = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, {
      key,
      body: { scores: [{ participant_id: 'bob', score: 5 }, { participant_id: 'cid', score: 6 }] },
    });
    assert.equal(batch.status, 429);
    assert.equal(batch.body.error.code, 'rate_limited');
    const historyOf = async (pid: string) => (await api(server, 'GET', `/v1/leaderboards/${board}/participants/${pid}/events`, { key: server.adminKey })).body.events;
    await eventually(async () => {
      const ann = await historyOf('ann');
      assert.deepEqual(
        ann.map((event: { outcome: string; score: number; code?: string }) => [event.outcome, event.score, event.code ?? null]),
        [
          ['rejected', 20, 'rate_limited'],
          ['accepted', 10, null],
        ],
      );
      assert.equal(ann[0].event_id, 'rl-1');
      for (const [pid, score] of [['bob', 5], ['cid', 6]] as const) {
        const events = await historyOf(pid);
        assert.deepEqual(events.map((event: { outcome: string; score: number; code: string }) => [event.outcome, event.score, event.code]), [['rejected', score, 'rate_limited']]);
      }
    });
    // The refusals happened before the board saw them: nothing of them was applied.
    const ranked = await api(server, 'GET', `/v1/leaderboards/${board}/participants/ann`, { key: server.adminKey });
    assert.equal(ranked.body.score, 10);
  });

  it('refuses WebSocket messages beyond LADDER_WS_MESSAGES_PER_SECOND, and closes a flooding connection with 4029', async () => {
    const ws = new WebSocket(wsUrl(server, board, `?key=${server.adminKey}`));
    const messages: { type: string; code?: string }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    // 5 accepted, 5 refused, the 11th closes (if they all come within one second, as a burst does).
    for (let i = 0; i < 11; i++) ws.send(JSON.stringify({ type: 'ping' }));
    assert.equal(await closed, 4029);
    assert.ok(messages.filter((message) => message.type === 'pong').length >= 5);
    assert.ok(messages.some((message) => message.type === 'error' && message.code === 'rate_limited'), JSON.stringify(messages));
  });

  it('refuses WebSocket connections of a key beyond LADDER_WS_MAX_CONNECTIONS with too_many_connections and 4029', async () => {
    const key = await newKey({ scope: 'read' });
    // Counted per process: 5 sockets are too many for one member, and for each of two behind a round-robin proxy.
    const sockets = Array.from({ length: 5 }, () => new WebSocket(wsUrl(server, board, `?key=${key}`)));
    const outcomes = await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<{ code: number | null; error: string | null }>((resolve) => {
            let error: string | null = null;
            // A refused socket says why at once, then closes; an accepted one answers the ping first.
            ws.once('message', (data) => {
              const message = JSON.parse(data.toString()) as { type: string; code: string };
              if (message.type === 'error') error = message.code;
              else resolve({ code: null, error: null });
            });
            ws.on('close', (code) => resolve({ code, error }));
            ws.once('open', () => ws.send(JSON.stringify({ type: 'ping' })));
          }),
      ),
    );
    const refused = outcomes.filter((outcome) => outcome.code !== null);
    assert.ok(refused.length >= 1, JSON.stringify(outcomes));
    assert.ok(outcomes.filter((outcome) => outcome.code === null).length >= 2, JSON.stringify(outcomes));
    for (const outcome of refused) assert.deepEqual(outcome, { code: 4029, error: 'too_many_connections' });
    for (const ws of sockets) ws.close();
  });

  it('has the client library retry a refused connection (4029) with backoff, and go live once there is room', async () => {
    const key = await newKey({ scope: 'read' });
    // Four sockets fill the key's 2 connections (per member, in cluster mode); each answers a ping or says it was refused.
    const holders = [0, 1, 2, 3].map(() => new WebSocket(wsUrl(server, board, `?key=${key}`)));
    await Promise.all(
      holders.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once('open', () => ws.send(JSON.stringify({ type: 'ping' })));
            ws.once('message', resolve);
          }),
      ),
    );
    let attempts = 0;
    class CountingSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        attempts += 1;
      }
    }
    const client = new LadderClient({ baseUrl: server.url, apiKey: key, WebSocket: CountingSocket, transports: ['websocket'], backoff: { baseMs: 20, maxMs: 100 } });
    const updates: ViewUpdate[] = [];
    const subscription = client.subscribe(board, { top: 5 }, (update) => updates.push(update));
    try {
      await eventually(() => assert.ok(attempts >= 2, `${attempts} attempts`), 15_000);
      assert.notEqual(subscription.status.state, 'closed');
      for (const ws of holders) ws.close();
      await eventually(() => assert.ok(updates.length > 0), 15_000);
    } finally {
      client.close();
    }
  });
});
