/**
 * Cluster mode end to end, on the machine's Redis and a throwaway
 * PostgreSQL database: two members behind a round-robin proxy, then each
 * member addressed alone. What one process writes, the other ranks, shows
 * live and persists; LADDER_ACK=durable answers only once PostgreSQL has
 * it; `ladder rebuild` restores every rank after Redis lost a board.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SnapshotMessage } from '../src/feed/protocol.js';
import { skipWithoutCluster, startCluster, type TestCluster } from './helpers/cluster.js';
import { runCli } from './helpers/process.js';
import { eventually, FeedClient, wsUrl } from './helpers/realtime.js';
import { api } from './helpers/server.js';

const skip = await skipWithoutCluster('the cluster-mode suite (test/cluster.test.ts)');

/** The member at index `i`, addressed alone. */
function member(cluster: TestCluster, i: number): { url: string; adminKey: string } {
  return { url: cluster.members[i]!.url, adminKey: cluster.adminKey };
}

async function createBoard(target: { url: string; adminKey: string }, id: string, operator = 'best'): Promise<void> {
  const res = await api(target, 'POST', '/v1/leaderboards', { key: target.adminKey, body: { id, sort_order: 'desc', operator } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function submit(target: { url: string; adminKey: string }, board: string, body: Record<string, unknown>) {
  const res = await api(target, 'POST', `/v1/leaderboards/${board}/scores`, { key: target.adminKey, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function ranking(target: { url: string; adminKey: string }, board: string): Promise<{ epoch: string; version: number; entries: [number, string, number][] }> {
  const res = await api(target, 'GET', `/v1/leaderboards/${board}/rankings?limit=1000`, { key: target.adminKey });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { epoch: res.body.epoch, version: res.body.version, entries: res.body.entries.map((e: { rank: number; participant_id: string; score: number }) => [e.rank, e.participant_id, e.score]) };
}

async function loggedEvents(cluster: TestCluster, board: string): Promise<number> {
  const [row] = await cluster.database.query<{ count: string }>('SELECT count(*) AS count FROM score_events WHERE board_id = $1', [board]);
  return Number(row!.count);
}

describe('cluster mode', { skip }, () => {
  let cluster: TestCluster;
  const sockets: FeedClient[] = [];

  before(async () => {
    cluster = await startCluster({ members: 2, overrides: { tickMs: 10 } });
  });
  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    await cluster?.close();
  });

  it('knows a board and a key created through one member on the other at once, and a revoked key stops working everywhere', async () => {
    const [a, b] = [member(cluster, 0), member(cluster, 1)];
    await createBoard(a, 'shared');
    assert.equal((await api(b, 'GET', '/v1/leaderboards/shared', { key: b.adminKey })).status, 200);
    const created = await api(b, 'POST', '/v1/keys', { key: b.adminKey, body: { scope: 'write', name: 'game server' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const writer = { url: a.url, adminKey: created.body.key as string };
    await submit(writer, 'shared', { participant_id: 'w', score: 1 });
    assert.equal((await api(a, 'DELETE', `/v1/keys/${created.body.id}`, { key: a.adminKey })).status, 200);
    await eventually(async () => {
      const res = await api({ url: b.url }, 'POST', '/v1/leaderboards/shared/scores', { key: writer.adminKey, body: { participant_id: 'w', score: 2 } });
      assert.equal(res.status, 401);
    }, 2_000);
  });

  it('ranks scores written through both members exactly, ties broken by who reached the score first', async () => {
    const [a, b] = [member(cluster, 0), member(cluster, 1)];
    await createBoard(a, 'ties');
    const t0 = 1_700_000_000_000;
    await submit(a, 'ties', { participant_id: 'late', score: 100, timestamp: t0 + 2 });
    await submit(b, 'ties', { participant_id: 'early', score: 100, timestamp: t0 + 1 });
    await submit(a, 'ties', { participant_id: 'max', score: Number.MAX_SAFE_INTEGER, timestamp: t0 });
    await submit(b, 'ties', { participant_id: 'min', score: -Number.MAX_SAFE_INTEGER, timestamp: t0 });
    const expected: [number, string, number][] = [
      [1, 'max', Number.MAX_SAFE_INTEGER],
      [2, 'early', 100],
      [3, 'late', 100],
      [4, 'min', -Number.MAX_SAFE_INTEGER],
    ];
    const fromA = await ranking(a, 'ties');
    assert.deepEqual(fromA.entries, expected);
    assert.deepEqual(await ranking(b, 'ties'), fromA, 'both members answer the same state');
  });

  it('shows a viewer on one member what is written through the other', async () => {
    const [a, b] = [member(cluster, 0), member(cluster, 1)];
    await createBoard(a, 'live');
    await submit(a, 'live', { participant_id: 'p1', score: 10 });
    const viewer = await FeedClient.connect(wsUrl(b, 'live'));
    sockets.push(viewer);
    const snapshot = (await viewer.subscribe('top', { top: 3 })) as SnapshotMessage;
    assert.deepEqual(snapshot.entries.map((e) => e.participant_id), ['p1']);
    const written = await submit(a, 'live', { participant_id: 'p2', score: 20 });
    const delta = await viewer.next((m) => m.type === 'delta' && m.to_version === written.version);
    assert.equal(delta.type, 'delta');
  });

  it('persists every event written through either member to PostgreSQL, once', async () => {
    const [a, b] = [member(cluster, 0), member(cluster, 1)];
    await createBoard(a, 'audit', 'increment');
    for (let i = 0; i < 50; i++) await submit(i % 2 === 0 ? a : b, 'audit', { participant_id: `p${i % 7}`, score: 1, event_id: `e${i}` });
    await eventually(async () => assert.equal(await loggedEvents(cluster, 'audit'), 50), 5_000);
    // A retry of an event id is applied once, whichever member takes it.
    await submit(b, 'audit', { participant_id: 'p0', score: 1, event_id: 'e0' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await loggedEvents(cluster, 'audit'), 50);
  });

  it('ladder rebuild restores every rank after Redis lost the board, with a new epoch that viewers resync to', async () => {
    const a = member(cluster, 0);
    await createBoard(a, 'lost');
    for (let i = 0; i < 200; i++) await submit(a, 'lost', { participant_id: `p${i}`, score: (i * 7919) % 1000, timestamp: 1_700_000_000_000 + i });
    await eventually(async () => assert.equal(await loggedEvents(cluster, 'lost'), 200), 5_000);
    const before = await ranking(a, 'lost');
    const lost = await cluster.redis.keys('{lost}');
    assert.ok(lost.length > 0, 'the board has keys in Redis');
    await cluster.redis.client.unlink(...lost);

    const run = runCli(['rebuild', '--board', 'lost'], {
      LADDER_REDIS_URL: cluster.config.redisUrl!,
      LADDER_DATABASE_URL: cluster.config.databaseUrl!,
      LADDER_REDIS_PREFIX: cluster.config.redisPrefix,
    });
    assert.equal(await run.exited, 0, run.errors());
    assert.match(run.errors(), /rebuilt 1 board\(s\), 200 entries/);
    const after = await ranking(member(cluster, 1), 'lost');
    assert.deepEqual(after.entries, before.entries);
    assert.equal(after.version, before.version);
    assert.notEqual(after.epoch, before.epoch);
  });
});

describe('cluster mode, LADDER_ACK=durable', { skip }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ members: 1, overrides: { ack: 'durable' } });
  });
  after(async () => cluster?.close());

  it('answers a submission only once PostgreSQL has committed it', async () => {
    const a = member(cluster, 0);
    await createBoard(a, 'durable');
    for (let i = 1; i <= 20; i++) {
      await submit(a, 'durable', { participant_id: `p${i}`, score: i });
      assert.equal(await loggedEvents(cluster, 'durable'), i, 'committed before the 200');
    }
  });
});
