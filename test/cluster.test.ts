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
import { eventually, FeedClient, restWindow, SseReader, wsUrl } from './helpers/realtime.js';
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
  const readers: SseReader[] = [];

  before(async () => {
    cluster = await startCluster({ members: 2, overrides: { tickMs: 10 } });
  });
  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    for (const reader of readers) reader.close();
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

  it('resumes a viewer that reconnects to the other member with one delta from where it was', async () => {
    const [a, b] = [member(cluster, 0), member(cluster, 1)];
    await createBoard(a, 'resume');
    for (let i = 0; i < 5; i++) await submit(a, 'resume', { participant_id: `p${i}`, score: 10 * i });
    const first = await FeedClient.connect(wsUrl(a, 'resume'));
    sockets.push(first);
    await first.subscribe('t', { top: 3 });
    const seen = await submit(a, 'resume', { participant_id: 'q', score: 35 });
    await first.next((m) => m.type === 'delta' && m.to_version === seen.version);
    const left = first.states.get('t')!;
    first.close();

    // Missed while away: the top changes twice, written through the first member.
    await submit(a, 'resume', { participant_id: 'r', score: 100 });
    const latest = await submit(a, 'resume', { participant_id: 'p0', score: 50 });
    const back = await FeedClient.connect(wsUrl(b, 'resume'));
    sockets.push(back);
    back.states.set('t', left);
    const epoch = first.epochs.get('t')!;
    const answer = await back.subscribe('t', { top: 3 }, left.version, epoch);
    assert.deepEqual(answer, { type: 'resumed', sub: 't', epoch, version: left.version }, 'resumed on the other member, not a snapshot');
    await back.next((m) => m.type === 'delta' && m.to_version >= latest.version);
    assert.deepEqual(back.gaps, []);
    assert.deepEqual(back.entries('t'), await restWindow(b, 'resume', { top: 3 }));
  });

  it('resumes an SSE stream that reconnects to the other member with Last-Event-ID', async () => {
    const [a, b] = [member(cluster, 0), member(cluster, 1)];
    await createBoard(a, 'resume-sse');
    await submit(a, 'resume-sse', { participant_id: 'p', score: 1 });
    const first = await SseReader.open(`${a.url}/v1/leaderboards/resume-sse/events?view=top:5`);
    readers.push(first);
    const { epoch } = (await first.next((e) => e.event === 'snapshot')).data as SnapshotMessage;
    const { version } = await submit(a, 'resume-sse', { participant_id: 'q', score: 2 });
    await first.next((e) => e.id === `${epoch}-${version}`);
    first.close();

    const missed = await submit(a, 'resume-sse', { participant_id: 'r', score: 3 });
    // SseReader sends Last-Event-ID from the state it is given.
    const back = await SseReader.open(`${b.url}/v1/leaderboards/resume-sse/events?view=top:5`, first.state);
    readers.push(back);
    const answer = await back.next((e) => e.event === 'resumed');
    assert.equal(answer.id, `${epoch}-${version}`, 'resumed on the other member, not a snapshot');
    await back.next((e) => e.id === `${epoch}-${missed.version}`);
    assert.deepEqual(back.gaps, []);
    assert.deepEqual(back.state?.entries, await restWindow(b, 'resume-sse', { top: 5 }));
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

  it('ladder rebuild restores every rank after Redis lost everything, with new epochs, and writes go on', async () => {
    const a = member(cluster, 0);
    await createBoard(a, 'lost');
    for (let i = 0; i < 200; i++) await submit(a, 'lost', { participant_id: `p${i}`, score: (i * 7919) % 1000, timestamp: 1_700_000_000_000 + i });
    await eventually(async () => assert.equal(await loggedEvents(cluster, 'lost'), 200), 5_000);
    await eventually(async () => assert.equal(await loggedEvents(cluster, 'ties'), 4), 5_000);
    const before = { lost: await ranking(a, 'lost'), ties: await ranking(a, 'ties') };
    // What a flush does to this cluster: every key under its prefix is gone (the shared Redis is not flushed).
    const all = await cluster.redis.keys();
    assert.ok(all.length > 0, 'the cluster has keys in Redis');
    for (let i = 0; i < all.length; i += 500) await cluster.redis.client.unlink(...all.slice(i, i + 500));

    const run = runCli(['rebuild'], {
      LADDER_REDIS_URL: cluster.config.redisUrl!,
      LADDER_DATABASE_URL: cluster.config.databaseUrl!,
      LADDER_REDIS_PREFIX: cluster.config.redisPrefix,
    });
    assert.equal(await run.exited, 0, run.errors());
    assert.match(run.errors(), /rebuilt \d+ board\(s\), \d+ entries/);
    for (const board of ['lost', 'ties'] as const) {
      const after = await ranking(member(cluster, 1), board);
      assert.deepEqual(after.entries, before[board].entries, `${board}: every rank is back`);
      assert.equal(after.version, before[board].version);
      assert.notEqual(after.epoch, before[board].epoch);
    }
    const next = await submit(a, 'lost', { participant_id: 'late', score: 5000 });
    assert.equal(next.version, before.lost.version + 1);
    assert.equal(next.rank, 1);
    await eventually(async () => assert.equal(await loggedEvents(cluster, 'lost'), 201), 5_000);
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
