/**
 * Scopes and the all-time ranking (core/derived.ts) through the front door:
 * a board's ranking within each scope value beside its own, participants
 * moving between values, scope rankings of closed periods, live views of a
 * scope, the all-time ranking across a period reset, and the validation of
 * every new field. The service's clock is a ManualClock, moved past a
 * period's end, so no test waits for a real period. Runs in cluster mode too
 * (test/cluster-suites/scopes.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeltaMessage, SnapshotMessage } from '../src/feed/protocol.js';
import { periodAt } from '../src/core/periods.js';
import { ManualClock } from '../src/service/clock.js';
import WebSocket from 'ws';
import { LadderClient } from '../src/client/client.js';
import type { WebSocketConstructor } from '../src/client/websocket.js';
import { eventually, FeedClient, wsUrl } from './helpers/realtime.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

/** Noon UTC of a day far from now, so that no real clock decides a period. */
const START = Date.UTC(2031, 4, 14, 12);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests index into the API's JSON answers
type Json = any;

describe('scopes and the all-time ranking', () => {
  let server: TestServer;
  const clock = new ManualClock(START);
  const clients: FeedClient[] = [];

  before(async () => {
    server = await startServer({ tickMs: 10 }, { clock });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await server.close();
  });

  async function createBoard(body: Record<string, unknown>): Promise<string> {
    const id = boardId('scope');
    const res = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best', ...body } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  }

  async function submit(board: string, body: Record<string, unknown>): Promise<{ status: number; body: Json }> {
    return api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body });
  }

  async function ok(board: string, body: Record<string, unknown>): Promise<Json> {
    const res = await submit(board, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function read(board: string, query: string): Promise<Json> {
    const res = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  const ranks = (body: Json) => body.entries.map((e: Json) => [e.rank, e.participant_id, e.score]);

  /** Moves the clock past the end of the current day and runs the closes that are due now. */
  async function nextDay(): Promise<void> {
    clock.set(periodAt('daily', clock.now()).end + 1000);
    await server.ladder.lifecycle.runDue();
  }

  it('keeps the global ranking and each scope value\'s, with ranks, windows and percentiles of their own', async () => {
    const board = await createBoard({ scopes: ['region', 'platform'] });
    await ok(board, { participant_id: 'ann', score: 100, scope: { region: 'eu', platform: 'pc' } });
    await ok(board, { participant_id: 'bob', score: 90, scope: { region: 'us' } });
    await ok(board, { participant_id: 'cid', score: 80, scope: { region: 'eu', platform: 'pc' } });
    await ok(board, { participant_id: 'dee', score: 70 });
    await ok(board, { participant_id: 'eve', score: 60, scope: { region: 'eu' } });

    assert.deepEqual(ranks(await read(board, 'limit=10')), [[1, 'ann', 100], [2, 'bob', 90], [3, 'cid', 80], [4, 'dee', 70], [5, 'eve', 60]]);
    const eu = await read(board, 'scope=region:eu');
    assert.deepEqual(ranks(eu), [[1, 'ann', 100], [2, 'cid', 80], [3, 'eve', 60]]);
    assert.equal(eu.total, 3);
    assert.equal(eu.scope, 'region:eu');
    assert.equal(eu.leaderboard_id, board);
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'bob', 90]]);
    assert.deepEqual(ranks(await read(board, 'scope=platform:pc')), [[1, 'ann', 100], [2, 'cid', 80]]);
    // A value nobody named is an empty ranking.
    const none = await read(board, 'scope=region:apac');
    assert.deepEqual([none.total, none.entries], [0, []]);

    // The same entry as the board's: score and achieved_at.
    const global = await read(board, 'participants=cid');
    assert.deepEqual(eu.entries[1], global.entries[0] && { ...global.entries[0], rank: 2 });

    assert.deepEqual(ranks(await read(board, 'scope=region:eu&around=eve&limit=2')), [[2, 'cid', 80], [3, 'eve', 60]]);
    assert.deepEqual(ranks(await read(board, 'scope=region:eu&participants=eve,bob,ann')), [[1, 'ann', 100], [3, 'eve', 60]]);
    assert.deepEqual(ranks(await read(board, 'scope=region:eu&offset=1&limit=1')), [[2, 'cid', 80]]);

    const cid = await api(server, 'GET', `/v1/leaderboards/${board}/participants/cid?scope=region:eu&neighbors=1`);
    assert.equal(cid.status, 200, JSON.stringify(cid.body));
    assert.equal(cid.body.rank, 2);
    assert.equal(cid.body.total, 3);
    assert.equal(cid.body.percentile, 50);
    assert.equal(cid.body.scope, 'region:eu');
    assert.deepEqual(cid.body.neighbors.above.map((e: Json) => [e.rank, e.participant_id]), [[1, 'ann']]);
    assert.deepEqual(cid.body.neighbors.below.map((e: Json) => [e.rank, e.participant_id]), [[3, 'eve']]);
    const globalCid = await api(server, 'GET', `/v1/leaderboards/${board}/participants/cid`);
    assert.equal(globalCid.body.rank, 3);
    assert.equal(globalCid.body.scope, undefined);

    // Someone outside the scope value has no standing in it.
    const dee = await api(server, 'GET', `/v1/leaderboards/${board}/participants/dee?scope=region:eu`);
    assert.equal(dee.status, 404);
    assert.equal(dee.body.error.code, 'participant_not_found');
    const around = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?scope=region:eu&around=bob`);
    assert.equal(around.status, 404);

    // Batches carry scopes too.
    const batch = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, {
      key: server.adminKey,
      body: { scores: [{ participant_id: 'fay', score: 95, scope: { region: 'us' } }, { participant_id: 'gus', score: 85, scope: { region: 'us', platform: 'pc' } }] },
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'fay', 95], [2, 'bob', 90], [3, 'gus', 85]]);
    assert.deepEqual(ranks(await read(board, 'scope=platform:pc')), [[1, 'ann', 100], [2, 'gus', 85], [3, 'cid', 80]]);

    // Scope rankings are no boards of their own in the listing.
    const listed = await api(server, 'GET', '/v1/leaderboards');
    const ids: string[] = listed.body.leaderboards.map((b: Json) => b.id);
    assert.ok(ids.includes(board));
    assert.equal(ids.filter((id) => id.includes('#')).length, 0);
    assert.equal(listed.body.total, ids.length);
  });

  it('moves a participant whose value changes: they leave the old ranking, whose ranks close up, and appear in the new one', async () => {
    const board = await createBoard({ scopes: ['region'] });
    await ok(board, { participant_id: 'ann', score: 100, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'bob', score: 90, scope: { region: 'us' } });
    await ok(board, { participant_id: 'cid', score: 80, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'dan', score: 70, scope: { region: 'eu' } });
    const before = await read(board, 'scope=region:eu');
    assert.deepEqual(ranks(before), [[1, 'ann', 100], [2, 'cid', 80], [3, 'dan', 70]]);

    // cid moves to us with a better score; dan closes up to rank 2 in eu.
    await ok(board, { participant_id: 'cid', score: 95, scope: { region: 'us' } });
    const eu = await read(board, 'scope=region:eu');
    assert.deepEqual(ranks(eu), [[1, 'ann', 100], [2, 'dan', 70]]);
    assert.ok(eu.version > before.version);
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'cid', 95], [2, 'bob', 90]]);
    assert.deepEqual(ranks(await read(board, 'limit=10')), [[1, 'ann', 100], [2, 'cid', 95], [3, 'bob', 90], [4, 'dan', 70]]);

    // A submission without a scope leaves cid where they are (us), and updates their entry there.
    await ok(board, { participant_id: 'cid', score: 105 });
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'cid', 105], [2, 'bob', 90]]);
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'ann', 100], [2, 'dan', 70]]);

    // A move with a worse score (best keeps 105) still moves the participant, with their global entry.
    await ok(board, { participant_id: 'cid', score: 1, scope: { region: 'eu' } });
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'cid', 105], [2, 'ann', 100], [3, 'dan', 70]]);
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'bob', 90]]);

    // Within one batch: the last value named wins.
    const batch = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, {
      key: server.adminKey,
      body: { scores: [{ participant_id: 'dan', score: 71, scope: { region: 'us' } }, { participant_id: 'dan', score: 72, scope: { region: 'apac' } }] },
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(ranks(await read(board, 'scope=region:apac')), [[1, 'dan', 72]]);
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'bob', 90]]);
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'cid', 105], [2, 'ann', 100]]);
  });

  it('shares ranks in scope and all-time rankings under rank_ties shared, moves included', async () => {
    const board = await createBoard({ scopes: ['region'], keep_all_time: true, rank_ties: 'shared', reset: 'daily' });
    await ok(board, { participant_id: 'ann', score: 50, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'bob', score: 50, scope: { region: 'eu' } });
    const cid = await ok(board, { participant_id: 'cid', score: 40, scope: { region: 'eu' } });
    assert.equal(cid.rank, 3);
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'ann', 50], [1, 'bob', 50], [3, 'cid', 40]]);
    assert.deepEqual(ranks(await read(board, 'period=all')), [[1, 'ann', 50], [1, 'bob', 50], [3, 'cid', 40]]);
    // bob moves to us: eu closes up, and cid now shares no rank.
    await ok(board, { participant_id: 'bob', score: 50, scope: { region: 'us' } });
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'ann', 50], [2, 'cid', 40]]);
    await ok(board, { participant_id: 'dan', score: 50, scope: { region: 'us' } });
    assert.deepEqual(ranks(await read(board, 'scope=region:us')), [[1, 'bob', 50], [1, 'dan', 50]]);
  });

  it('erases a participant from the scope and all-time rankings too, which stay out of the erasure\'s list', async () => {
    const board = await createBoard({ scopes: ['region'], keep_all_time: true, reset: 'daily' });
    const pid = `${board}-gone`;
    await ok(board, { participant_id: pid, score: 100, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'ann', score: 90, scope: { region: 'eu' } });
    const erased = await api(server, 'DELETE', `/v1/participants/${pid}`, { key: server.adminKey });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    assert.deepEqual(erased.body.leaderboards.map((b: Json) => b.leaderboard_id), [board]);
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'ann', 90]]);
    assert.deepEqual(ranks(await read(board, 'period=all')), [[1, 'ann', 90]]);
    // Back without a scope: no scope value of theirs was kept, so no scope ranking gets them.
    await ok(board, { participant_id: pid, score: 5 });
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'ann', 90]]);
  });

  it('answers a retried event_id from its first write, and the scope rankings do not move', async () => {
    const board = await createBoard({ scopes: ['region'], operator: 'increment' });
    const first = await ok(board, { participant_id: 'ann', score: 10, event_id: 'e-1', scope: { region: 'eu' } });
    const eu = await read(board, 'scope=region:eu');
    const again = await ok(board, { participant_id: 'ann', score: 10, event_id: 'e-1', scope: { region: 'eu' } });
    assert.deepEqual(again, first);
    assert.deepEqual(await read(board, 'scope=region:eu'), eu);
    // The same event id with another scope value is another submission.
    const conflict = await submit(board, { participant_id: 'ann', score: 10, event_id: 'e-1', scope: { region: 'us' } });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'event_id_conflict');
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'ann', 10]]);
  });

  it('archives the scope rankings with each closed period, and starts them empty', async () => {
    const board = await createBoard({ scopes: ['region'], reset: 'daily' });
    const day = periodAt('daily', clock.now()).id;
    await ok(board, { participant_id: 'ann', score: 100, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'bob', score: 90, scope: { region: 'us' } });
    await ok(board, { participant_id: 'cid', score: 80, scope: { region: 'eu' } });
    await nextDay();

    await eventually(async () => {
      const eu = await read(board, `period=${day}&scope=region:eu`);
      assert.deepEqual(ranks(eu), [[1, 'ann', 100], [2, 'cid', 80]]);
      assert.equal(eu.period, day);
      assert.equal(eu.scope, 'region:eu');
    });
    assert.deepEqual(ranks(await read(board, `period=${day}&scope=region:us`)), [[1, 'bob', 90]]);
    assert.deepEqual(ranks(await read(board, `period=${day}`)), [[1, 'ann', 100], [2, 'bob', 90], [3, 'cid', 80]]);
    const cid = await api(server, 'GET', `/v1/leaderboards/${board}/participants/cid?period=${day}&scope=region:eu&neighbors=1`);
    assert.equal(cid.status, 200, JSON.stringify(cid.body));
    assert.deepEqual([cid.body.rank, cid.body.total, cid.body.period], [2, 2, day]);
    // A value that was never named has no archive.
    const none = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?period=${day}&scope=region:apac`);
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, 'period_not_found');

    // The new period starts with empty scope rankings; a participant enters one with a submission that names it.
    await eventually(async () => assert.equal((await read(board, 'scope=region:eu')).total, 0));
    await ok(board, { participant_id: 'ann', score: 5 });
    await ok(board, { participant_id: 'cid', score: 7, scope: { region: 'eu' } });
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'cid', 7]]);
    assert.deepEqual(ranks(await read(board, 'limit=10')), [[1, 'cid', 7], [2, 'ann', 5]]);
    // The archive did not move.
    assert.deepEqual(ranks(await read(board, `period=${day}&scope=region:eu`)), [[1, 'ann', 100], [2, 'cid', 80]]);
  });

  it('keeps an all-time ranking through period resets, with the board\'s operator applied to every submission', async () => {
    const board = await createBoard({ operator: 'increment', reset: 'daily', keep_all_time: true });
    const day = periodAt('daily', clock.now()).id;
    await ok(board, { participant_id: 'ann', score: 10 });
    await ok(board, { participant_id: 'ann', score: 5 });
    await ok(board, { participant_id: 'bob', score: 12 });
    assert.deepEqual(ranks(await read(board, 'period=all')), [[1, 'ann', 15], [2, 'bob', 12]]);
    await nextDay();

    await ok(board, { participant_id: 'ann', score: 7 });
    await ok(board, { participant_id: 'cid', score: 3 });
    assert.deepEqual(ranks(await read(board, 'limit=10')), [[1, 'ann', 7], [2, 'cid', 3]]);
    const all = await read(board, 'period=all');
    assert.deepEqual(ranks(all), [[1, 'ann', 22], [2, 'bob', 12], [3, 'cid', 3]]);
    assert.equal(all.period, 'all');
    assert.deepEqual(ranks(await read(board, `period=${day}`)), [[1, 'ann', 15], [2, 'bob', 12]]);
    const bob = await api(server, 'GET', `/v1/leaderboards/${board}/participants/bob?period=all`);
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    assert.deepEqual([bob.body.rank, bob.body.score, bob.body.total, bob.body.period], [2, 12, 3, 'all']);

    // Another reset: the all-time ranking still keeps everything.
    await nextDay();
    await ok(board, { participant_id: 'bob', score: 20 });
    assert.deepEqual(ranks(await read(board, 'period=all')), [[1, 'bob', 32], [2, 'ann', 22], [3, 'cid', 3]]);
  });

  it('pushes changes of a scope view and of the all-time view to WebSocket subscribers', async () => {
    const board = await createBoard({ scopes: ['region'], reset: 'daily', keep_all_time: true });
    await ok(board, { participant_id: 'ann', score: 100, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'bob', score: 90, scope: { region: 'us' } });
    const client = await FeedClient.connect(wsUrl(server, board));
    clients.push(client);
    client.send({ type: 'subscribe', sub: 'eu', view: { top: 5 }, scope: 'region:eu' });
    const snapshot = (await client.next((m) => m.type === 'snapshot' && m.sub === 'eu')) as SnapshotMessage;
    assert.deepEqual(snapshot.entries.map((e) => [e.rank, e.participant_id]), [[1, 'ann']]);
    assert.equal(snapshot.total, 1);
    client.send({ type: 'subscribe', sub: 'all', view: { top: 5 }, period: 'all' });
    const all = (await client.next((m) => m.type === 'snapshot' && m.sub === 'all')) as SnapshotMessage;
    assert.deepEqual(all.entries.map((e) => [e.rank, e.participant_id]), [[1, 'ann'], [2, 'bob']]);
    // A value nobody named yet can be watched; it is empty until someone names it.
    client.send({ type: 'subscribe', sub: 'apac', view: { top: 5 }, scope: 'region:apac' });
    const apac = (await client.next((m) => m.type === 'snapshot' && m.sub === 'apac')) as SnapshotMessage;
    assert.deepEqual([apac.total, apac.entries], [0, []]);

    // bob moves to eu and passes ann there.
    await ok(board, { participant_id: 'bob', score: 110, scope: { region: 'eu' } });
    const delta = (await client.next((m) => m.type === 'delta' && m.sub === 'eu')) as DeltaMessage;
    assert.equal(delta.total, 2);
    await eventually(() => assert.deepEqual(client.entries('eu')?.map((e) => [e.rank, e.participant_id, e.score]), [[1, 'bob', 110], [2, 'ann', 100]]));
    await eventually(() => assert.deepEqual(client.entries('all')?.map((e) => [e.rank, e.participant_id, e.score]), [[1, 'bob', 110], [2, 'ann', 100]]));
    // ann leaves eu for apac.
    await ok(board, { participant_id: 'ann', score: 1, scope: { region: 'apac' } });
    await eventually(() => assert.deepEqual(client.entries('eu')?.map((e) => [e.rank, e.participant_id]), [[1, 'bob']]));
    await eventually(() => assert.deepEqual(client.entries('apac')?.map((e) => [e.rank, e.participant_id, e.score]), [[1, 'ann', 100]]));
    assert.deepEqual(client.gaps, []);

    // A reset: the scope view starts again empty, the all-time view goes on.
    await nextDay();
    await eventually(() => assert.deepEqual(client.entries('eu'), []));
    await ok(board, { participant_id: 'cid', score: 5, scope: { region: 'eu' } });
    await eventually(() => assert.deepEqual(client.entries('eu')?.map((e) => [e.rank, e.participant_id, e.score]), [[1, 'cid', 5]]));
    await eventually(() => assert.deepEqual(client.entries('all')?.map((e) => [e.rank, e.participant_id]), [[1, 'bob'], [2, 'ann'], [3, 'cid']]));
    const closes = client.received.filter((m) => m.type === 'period_closed');
    assert.ok(closes.some((m) => 'sub' in m && m.sub === 'eu'));
    assert.ok(!closes.some((m) => 'sub' in m && m.sub === 'all'), 'the all-time view hears of no reset');
    assert.deepEqual(client.gaps, []);

    // Bad scopes are refused per subscription.
    client.send({ type: 'subscribe', sub: 'bad', view: { top: 5 }, scope: 'country:fr' });
    const refused = await client.next((m) => m.type === 'error' && 'sub' in m && m.sub === 'bad');
    assert.equal(refused.type === 'error' && refused.code, 'invalid_request');
    client.send({ type: 'subscribe', sub: 'old', view: { top: 5 }, period: '2020-01-01' });
    const old = await client.next((m) => m.type === 'error' && 'sub' in m && m.sub === 'old');
    assert.equal(old.type === 'error' && old.code, 'invalid_request');
  });

  it('lets the client library read and watch a scope value\'s and the all-time ranking, over each transport', async () => {
    const board = await createBoard({ scopes: ['region'], reset: 'daily', keep_all_time: true });
    const client = new LadderClient({ baseUrl: server.url, apiKey: server.adminKey, WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { baseMs: 20, maxMs: 200 }, pollWaitMs: 2_000 });
    try {
      await client.submitScore(board, { participant_id: 'ann', score: 100, scope: { region: 'eu' } });
      await client.submitScores(board, [{ participant_id: 'bob', score: 90, scope: { region: 'us' } }]);
      const eu = await client.getRankings(board, { scope: 'region:eu' });
      assert.deepEqual([eu.scope, eu.total, eu.entries.map((e) => e.participant_id)], ['region:eu', 1, ['ann']]);
      assert.equal((await client.getParticipant(board, 'bob', { scope: 'region:us' })).rank, 1);
      assert.equal((await client.getRankings(board, { period: 'all' })).total, 2);

      const views = (['websocket', 'sse', 'poll'] as const).map((transport) => {
        const updates: string[][] = [];
        const only = new LadderClient({ baseUrl: server.url, WebSocket: WebSocket as unknown as WebSocketConstructor, transports: [transport], pollWaitMs: 2_000 });
        only.subscribe(board, { top: 5 }, (update) => updates.push(update.entries.map((e) => `${e.participant_id}:${e.score}`)), { scope: 'region:eu' });
        return { transport, updates, sub: only };
      });
      const allTime: string[][] = [];
      const allSub = client.subscribe(board, { top: 5 }, (update) => allTime.push(update.entries.map((e) => e.participant_id)), { period: 'all' });
      await eventually(() => views.forEach((view) => assert.deepEqual(view.updates.at(-1), ['ann:100'], view.transport)), 10_000);
      await client.submitScore(board, { participant_id: 'bob', score: 120, scope: { region: 'eu' } });
      await eventually(() => views.forEach((view) => assert.deepEqual(view.updates.at(-1), ['bob:120', 'ann:100'], view.transport)), 10_000);
      await eventually(() => assert.deepEqual(allTime.at(-1), ['bob', 'ann']), 10_000);
      for (const view of views) view.sub.close();
      allSub.close();
    } finally {
      client.close();
    }
  });

  it('serves a scope view over SSE', async () => {
    const board = await createBoard({ scopes: ['region'] });
    await ok(board, { participant_id: 'ann', score: 100, scope: { region: 'eu' } });
    await ok(board, { participant_id: 'bob', score: 90, scope: { region: 'us' } });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/leaderboards/${board}/events?view=top:5&scope=region:us`, { signal: controller.signal });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /"participant_id":"bob"/);
    assert.doesNotMatch(text, /"participant_id":"ann"/);
    controller.abort();
    const bad = await api(server, 'GET', `/v1/leaderboards/${board}/events?view=top:5&scope=region`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'scope');
  });

  it('refuses malformed scopes with a 400 naming the field', async () => {
    const board = await createBoard({ scopes: ['region'] });
    const plain = await createBoard({});
    const cases: [string, Record<string, unknown>, string][] = [
      [board, { participant_id: 'p', score: 1, scope: { country: 'fr' } }, 'scope.country'],
      [board, { participant_id: 'p', score: 1, scope: { region: 'e u' } }, 'scope.region'],
      [board, { participant_id: 'p', score: 1, scope: { region: 'x'.repeat(65) } }, 'scope.region'],
      [board, { participant_id: 'p', score: 1, scope: { region: '' } }, 'scope.region'],
      [board, { participant_id: 'p', score: 1, scope: { region: 3 } }, 'scope.region'],
      [board, { participant_id: 'p', score: 1, scope: 'eu' }, 'scope'],
      [plain, { participant_id: 'p', score: 1, scope: { region: 'eu' } }, 'scope.region'],
    ];
    for (const [target, body, field] of cases) {
      const res = await submit(target, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'invalid_request');
      assert.equal(res.body.error.details.field, field, JSON.stringify(res.body));
    }
    const batch = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, {
      key: server.adminKey,
      body: { scores: [{ participant_id: 'p', score: 1, scope: { region: 'eu' } }, { participant_id: 'q', score: 1, scope: { platform: 'pc' } }, { participant_id: 'r', score: 1, scope: { region: '/' } }] },
    });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.results[0].score, 1);
    assert.equal(batch.body.results[1].error.details.field, 'scores[1].scope.platform');
    assert.equal(batch.body.results[2].error.details.field, 'scores[2].scope.region');
    // Nothing of the refused items went anywhere.
    assert.deepEqual(ranks(await read(board, 'limit=10')), [[1, 'p', 1]]);

    for (const query of ['scope=region', 'scope=country:fr', 'scope=region:e%20u', 'scope=:eu']) {
      const res = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.details.field, 'scope', query);
    }
    const onPlain = await api(server, 'GET', `/v1/leaderboards/${plain}/participants/p?scope=region:eu`);
    assert.equal(onPlain.status, 400);
    assert.equal(onPlain.body.error.details.field, 'scope');
    const noAllTime = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?period=all`);
    assert.equal(noAllTime.status, 404);
    assert.equal(noAllTime.body.error.code, 'period_not_found');
    const both = await createBoard({ scopes: ['region'], reset: 'daily', keep_all_time: true });
    const mixed = await api(server, 'GET', `/v1/leaderboards/${both}/rankings?period=all&scope=region:eu`);
    assert.equal(mixed.status, 400);
    assert.equal(mixed.body.error.details.field, 'scope');
  });

  it('keeps scope rankings and the all-time ranking through a restart (embedded) or a rebuild from PostgreSQL (cluster), moves included', async () => {
    const cluster = process.env.LADDER_TEST_CLUSTER === '1';
    // Embedded, a server of its own, which restarts on the same data directory.
    const first = cluster ? server : await startServer({ tickMs: 10 }, { clock });
    const post = (target: TestServer, path: string, body: Record<string, unknown>) => api(target, 'POST', `/v1/leaderboards${path}`, { key: target.adminKey, body });
    const board = boardId('scope');
    assert.equal((await post(first, '', { id: board, sort_order: 'desc', operator: 'best', scopes: ['region'], reset: 'daily', keep_all_time: true })).status, 201);
    for (const body of [
      { participant_id: 'ann', score: 100, scope: { region: 'eu' }, metadata: { team: 'red' } },
      { participant_id: 'bob', score: 90, scope: { region: 'eu' } },
      { participant_id: 'bob', score: 95, scope: { region: 'us' } },
      { participant_id: 'cid', score: 80, scope: { region: 'us' } },
    ]) {
      assert.equal((await post(first, `/${board}/scores`, body)).status, 200);
    }
    let target = first;
    if (cluster) {
      // Every ranking of the board loaded again from what PostgreSQL holds.
      const backend = server.ladder.backend as unknown as { rebuild(rules: unknown): Promise<number> };
      for (const id of [board, ...server.ladder.registry.derivedOf(board).map((derived) => derived.id)]) await backend.rebuild(server.ladder.registry.get(id));
    } else {
      await first.close({ keepData: true });
      target = await startServer({ tickMs: 10, dataDir: first.dataDir, adminKey: first.adminKey }, { clock });
    }
    try {
      const readOn = async (query: string) => {
        const res = await api(target, 'GET', `/v1/leaderboards/${board}/rankings?${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body;
      };
      const eu = await readOn('scope=region:eu');
      assert.deepEqual(ranks(eu), [[1, 'ann', 100]]);
      assert.deepEqual(eu.entries[0].metadata, { team: 'red' });
      assert.deepEqual(ranks(await readOn('scope=region:us')), [[1, 'bob', 95], [2, 'cid', 80]]);
      assert.deepEqual(ranks(await readOn('period=all')), [[1, 'ann', 100], [2, 'bob', 95], [3, 'cid', 80]]);
      // Who is where is known again: cid moves from us to eu, bob stays in us.
      assert.equal((await post(target, `/${board}/scores`, { participant_id: 'cid', score: 85, scope: { region: 'eu' } })).status, 200);
      assert.equal((await post(target, `/${board}/scores`, { participant_id: 'bob', score: 99 })).status, 200);
      assert.deepEqual(ranks(await readOn('scope=region:eu')), [[1, 'ann', 100], [2, 'cid', 85]]);
      assert.deepEqual(ranks(await readOn('scope=region:us')), [[1, 'bob', 99]]);
    } finally {
      if (target !== server) await target.close();
    }
  });

  it('deletes the derived rankings with their board, and when the board no longer keeps them', async () => {
    const board = await createBoard({ scopes: ['region', 'platform'], reset: 'daily', keep_all_time: true });
    await ok(board, { participant_id: 'ann', score: 100, scope: { region: 'eu', platform: 'pc' } });
    assert.equal((await read(board, 'scope=platform:pc')).total, 1);
    // Dropping a scope and keep_all_time deletes those rankings.
    const patched = await api(server, 'PATCH', `/v1/leaderboards/${board}`, { key: server.adminKey, body: { scopes: ['region'], keep_all_time: false } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/rankings?scope=platform:pc`)).status, 400);
    assert.equal((await read(board, 'scope=region:eu')).total, 1);

    const deleted = await api(server, 'DELETE', `/v1/leaderboards/${board}`, { key: server.adminKey });
    assert.equal(deleted.status, 204);
    const again = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id: board, sort_order: 'desc', operator: 'best', scopes: ['region'] } });
    assert.equal(again.status, 201);
    await eventually(async () => assert.equal((await read(board, 'scope=region:eu')).total, 0));
    await ok(board, { participant_id: 'bob', score: 1, scope: { region: 'eu' } });
    assert.deepEqual(ranks(await read(board, 'scope=region:eu')), [[1, 'bob', 1]]);
  });
});
