/**
 * GET /metrics: the exposition passes `promtool check metrics` (Prometheus's
 * own linter, Debian's prometheus package), and its figures match the
 * traffic this test sent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningLadder } from '../src/app.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';
import { newEpoch } from '../src/core/epoch.js';
import { Metrics } from '../src/http/metrics.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { skipWithoutCluster } from './helpers/cluster.js';
import { startProxiedMember, type ProxiedMember } from './helpers/proxied-member.js';
import { newEntryEvent } from './helpers/store-events.js';
import { eventually, FeedClient, wsUrl } from './helpers/realtime.js';
import { api, startServer, type TestServer } from './helpers/server.js';
import type { TcpProxy } from './helpers/tcp-proxy.js';

const PROMTOOL = process.env.LADDER_TEST_PROMTOOL ?? 'promtool';

/** The value of one sample line `name{labels} value`, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split('}')[0] ?? '';
    if (wanted.every((label) => labelText.includes(label))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function scrape(target: { url: string }): Promise<string> {
  return (await fetch(`${target.url}/metrics`)).text();
}

describe('GET /metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('passes promtool and counts the requests, submissions and viewers this test made', async () => {
    const key = server.adminKey;
    assert.equal((await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'metered', sort_order: 'desc', operator: 'best' } })).status, 201);
    for (let i = 0; i < 7; i++) assert.equal((await api(server, 'POST', '/v1/leaderboards/metered/scores', { key, body: { participant_id: `p${i}`, score: i } })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await api(server, 'POST', '/v1/leaderboards/metered/scores', { key, body: { participant_id: `p${i}` } })).status, 400);
    const batch = await api(server, 'POST', '/v1/leaderboards/metered/scores/batch', { key, body: { scores: [{ participant_id: 'b1', score: 1 }, { participant_id: 'b2', score: 'x' }] } });
    assert.equal(batch.status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await api(server, 'GET', '/v1/leaderboards/metered/rankings')).status, 200);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/leaderboards/metered/subscribe`);
    await new Promise<void>((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', sub: 's', view: { top: 10 } })));
      ws.on('message', () => resolve());
    });

    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    ws.close();

    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.error, undefined, `${PROMTOOL} must be installed (Debian: apt-get install prometheus)`);
    assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);

    assert.equal(sample(text, 'ladder_submissions_total', { outcome: 'accepted' }), 8);
    assert.equal(sample(text, 'ladder_submissions_total', { outcome: 'rejected', code: 'invalid_request' }), 3);
    assert.equal(sample(text, 'ladder_submissions_total', { outcome: 'rejected', code: 'invalid_score' }) + sample(text, 'ladder_submissions_total', { outcome: 'rejected', code: 'invalid_request' }), 4);
    assert.equal(sample(text, 'ladder_http_requests_total', { method: 'POST', route: '/v1/leaderboards/:id/scores', status: '200' }), 7);
    assert.equal(sample(text, 'ladder_http_requests_total', { method: 'POST', route: '/v1/leaderboards/:id/scores', status: '400' }), 3);
    assert.equal(sample(text, 'ladder_http_requests_total', { method: 'GET', route: '/v1/leaderboards/:id/rankings', status: '200' }), 5);
    assert.equal(sample(text, 'ladder_http_request_duration_seconds_count', { method: 'GET', route: '/v1/leaderboards/:id/rankings' }), 5);
    assert.equal(sample(text, 'ladder_viewers', {}), 1);
    assert.equal(sample(text, 'ladder_live_views', {}), 1);
    assert.ok(sample(text, 'ladder_process_resident_memory_bytes', {}) > 0);

    // Every metric the Grafana dashboard queries exists.
    const dashboard = readFileSync(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]));
    for (const [name] of dashboard.matchAll(/ladder_[a-z0-9_]+/g)) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(exposed.has(base), `the dashboard queries ${name}, which /metrics does not expose`);
    }
  });
});

describe('fan-out metrics', () => {
  let server: TestServer;
  after(() => server?.close());

  it('counts subscriptions per view kind, ticks, and the messages and bytes each socket was handed', async () => {
    server = await startServer({ tickMs: 10 });
    const key = server.adminKey;
    assert.equal((await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'fanned', sort_order: 'desc', operator: 'best' } })).status, 201);
    assert.equal((await api(server, 'POST', '/v1/leaderboards/fanned/scores', { key, body: { participant_id: 'p0', score: 1 } })).status, 200);
    const before = await scrape(server);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/leaderboards/fanned/subscribe`);
    const received: { type: string; bytes: number }[] = [];
    ws.on('message', (data: Buffer) => received.push({ type: (JSON.parse(data.toString()) as { type: string }).type, bytes: data.length }));
    await new Promise((resolve) => ws.once('open', resolve));
    const views = [{ top: 10 }, { top: 3 }, { around: 'p0', radius: 2 }, { participant: 'p0' }];
    views.forEach((view, i) => ws.send(JSON.stringify({ type: 'subscribe', sub: `s${i}`, view })));
    await eventually(() => assert.equal(received.length, views.length), 5_000);
    for (let i = 1; i <= 3; i++) {
      const deltas = received.filter((m) => m.type === 'delta').length;
      assert.equal((await api(server, 'POST', '/v1/leaderboards/fanned/scores', { key, body: { participant_id: 'p0', score: 1 + i } })).status, 200);
      // Each of the four views shows p0's new score.
      await eventually(() => assert.equal(received.filter((m) => m.type === 'delta').length, deltas + views.length), 5_000);
    }
    const text = await scrape(server);
    ws.close();

    assert.equal(sample(text, 'ladder_subscriptions', { view: 'top' }), 2);
    assert.equal(sample(text, 'ladder_subscriptions', { view: 'around' }), 1);
    assert.equal(sample(text, 'ladder_subscriptions', { view: 'participant' }), 1);
    const grew = (name: string) => sample(text, name, {}) - sample(before, name, {});
    assert.equal(grew('ladder_fanout_messages_total'), received.length);
    assert.equal(grew('ladder_fanout_bytes_total'), received.reduce((sum, m) => sum + m.bytes, 0));
    // Three submissions, each pushed by a tick of its own (the test waited for each); a tick may also have found nothing to send.
    assert.ok(grew('ladder_fanout_tick_seconds_count') >= 3, `${grew('ladder_fanout_tick_seconds_count')} ticks`);
    assert.ok(grew('ladder_fanout_tick_seconds_sum') > 0);
    // Every commit of the submissions carried at least one score event, and they sum to the four submissions.
    assert.equal(sample(text, 'ladder_commit_batch_events_sum', { store: 'sqlite' }), 4);
    assert.ok(sample(text, 'ladder_commit_batch_events_count', { store: 'sqlite' }) >= 1);
    assert.equal(sample(text, 'ladder_store_errors_total', { store: 'sqlite' }), 0);
  });

  /** Stops reading the socket, as a client on a congested link would. */
  function pause(client: FeedClient): Socket {
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    return socket;
  }

  async function crowdedServer(maxSocketBytes: number): Promise<string> {
    await server?.close();
    server = await startServer({ tickMs: 10, slowSocketBytes: 64 * 1024, maxSocketBytes, heartbeatMs: 60_000 });
    const key = server.adminKey;
    assert.equal((await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'crowded', sort_order: 'desc', operator: 'best' } })).status, 201);
    for (let start = 0; start < 1000; start += 500) {
      const scores = Array.from({ length: 500 }, (_, i) => ({ participant_id: `player-${start + i}`, score: start + i }));
      assert.equal((await api(server, 'POST', '/v1/leaderboards/crowded/scores/batch', { key, body: { scores } })).status, 200);
    }
    return key;
  }

  it('counts the skips of a slow socket: one per resync snapshot it then gets', async () => {
    const key = await crowdedServer(64 * 1024 * 1024);
    // The kernel takes about 4 MB of a paused loopback socket: 64 snapshots of ~80 KB fill it and then the process's buffer.
    const slow = await FeedClient.connect(wsUrl(server, 'crowded'));
    for (let i = 0; i < 8; i++) await slow.subscribe(`s${i}`, { top: 1000 - i });
    const socket = pause(slow);
    for (let i = 8; i < 64; i++) slow.send({ type: 'subscribe', sub: `s${i}`, view: { top: 1000 - i } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let last = 0;
    for (let round = 0; round < 3; round++) last = (await api(server, 'POST', '/v1/leaderboards/crowded/scores', { key, body: { participant_id: `climber-${round}`, score: 5_000 + round } })).body.version;
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.resume();
    await eventually(() => {
      for (let i = 0; i < 64; i++) assert.equal(slow.states.get(`s${i}`)?.version, last, `s${i}`);
    }, 10_000);
    let resyncs = 0;
    for (let i = 0; i < 64; i++) resyncs += slow.messagesOf(`s${i}`).filter((m) => m.type === 'snapshot').length - 1;
    const text = await scrape(server);
    assert.ok(resyncs > 0, 'the slow socket skipped deltas');
    assert.equal(sample(text, 'ladder_slow_socket_skips_total', {}), resyncs);
    assert.equal(sample(text, 'ladder_slow_socket_closes_total', {}), 0);
    slow.close();
  });

  it('counts a slow socket closed with 4008', async () => {
    const key = await crowdedServer(1024 * 1024);
    // Stuck past the close bound: a hundred big snapshots it does not read.
    const stuck = await FeedClient.connect(wsUrl(server, 'crowded'));
    await stuck.subscribe('s0', { top: 1000 });
    pause(stuck);
    for (let i = 1; i < 100; i++) stuck.send({ type: 'subscribe', sub: `s${i}`, view: { top: 1000 - i } });
    await api(server, 'POST', '/v1/leaderboards/crowded/scores', { key, body: { participant_id: 'meanwhile', score: 1_000_000 } });
    await eventually(async () => assert.equal(sample(await scrape(server), 'ladder_slow_socket_closes_total', {}), 1), 10_000);
    stuck.ws.terminate();
  });
});

describe('store metrics (SQLite)', () => {
  it('counts a commit the SQLite store refused', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ladder-metrics-'));
    const metrics = new Metrics();
    const store = await openSqliteStore({ dataDir, commitIntervalMs: 0, sync: 'normal', observer: metrics.store('sqlite') });
    try {
      await store.createBoard({ ...BOARD_DEFAULTS, id: 'strict', name: 'strict', sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 }, newEpoch());
      await store.appendEvents([newEntryEvent('strict', 1, 'p', 1)]);
      // A fractional score is refused by the STRICT table: a real failed transaction.
      await assert.rejects(store.appendEvents([newEntryEvent('strict', 2, 'p', 1.5)]), /SQLite commit failed/);
      const text = await metrics.registry.metrics();
      assert.equal(sample(text, 'ladder_store_errors_total', { store: 'sqlite' }), 1);
      assert.equal(sample(text, 'ladder_commit_batch_events_sum', { store: 'sqlite' }), 1);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

const cluster = await skipWithoutCluster('the cluster metrics in test/metrics.test.ts');

describe('persister and store metrics (cluster)', { skip: cluster }, () => {
  let proxied: ProxiedMember;
  let member: RunningLadder;
  let adminKey: string;
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;

  before(async () => {
    proxied = await startProxiedMember('the cluster metrics');
    ({ member, adminKey, postgres: postgresProxy, redis: redisProxy } = proxied);
  });

  after(() => proxied?.close());

  it('reports the persister lag while PostgreSQL is down, the batches it commits, and the errors of PostgreSQL and Redis', async () => {
    const submit = (i: number) => api(member, 'POST', '/v1/leaderboards/lagging/scores', { key: adminKey, body: { participant_id: `p${i}`, score: i, event_id: `e${i}` } });
    assert.equal((await api(member, 'POST', '/v1/leaderboards', { key: adminKey, body: { id: 'lagging', sort_order: 'desc', operator: 'best' } })).status, 201);
    for (let i = 0; i < 5; i++) assert.equal((await submit(i)).status, 200);
    await eventually(async () => assert.equal(sample(await scrape(member), 'ladder_commit_batch_events_sum', { store: 'postgres' }), 5), 10_000);

    await postgresProxy.stop();
    for (let i = 5; i < 9; i++) assert.equal((await submit(i)).status, 200);
    const refused = await api(member, 'POST', '/v1/leaderboards', { key: adminKey, body: { id: 'later', sort_order: 'desc', operator: 'best' } });
    assert.equal(refused.status, 503);
    // After a sweep: the four events written while PostgreSQL was away wait in Redis.
    await eventually(async () => assert.equal(sample(await scrape(member), 'ladder_persister_lag_events', {}), 4), 15_000);
    const down = await scrape(member);
    assert.ok(sample(down, 'ladder_persister_lag_seconds', {}) > 0);
    assert.ok(sample(down, 'ladder_store_errors_total', { store: 'postgres' }) >= 1, 'the refused board creation at least');

    await postgresProxy.resume();
    await eventually(async () => {
      const back = await scrape(member);
      assert.equal(sample(back, 'ladder_persister_lag_events', {}), 0);
      assert.equal(sample(back, 'ladder_persister_lag_seconds', {}), 0);
      assert.equal(sample(back, 'ladder_commit_batch_events_sum', { store: 'postgres' }), 9, 'each event committed once');
    }, 20_000);

    assert.equal(sample(await scrape(member), 'ladder_store_errors_total', { store: 'redis' }), 0);
    await redisProxy.stop();
    assert.equal((await submit(9)).status, 503);
    assert.ok(sample(await scrape(member), 'ladder_store_errors_total', { store: 'redis' }) >= 1, 'the refused submission at least');
    await redisProxy.resume();
  });
});
