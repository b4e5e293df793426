/**
 * Board rules through the front door: rank_ties (shared ranks, 1 2 2 4, in
 * every answer that has ranks: submissions, rankings pages, around, friends,
 * participants, live views, long-polls, closed periods) and score_decimals
 * (fixed-point scores submitted and answered as exact decimals, refused
 * with a 400 naming the field when they have too many decimals). The same
 * file runs against a two-member cluster (test/cluster-suites/board-rules.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeltaMessage, SnapshotMessage } from '../src/feed/protocol.js';
import { eventually, FeedClient, restWindow, SseReader, wsUrl } from './helpers/realtime.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const T0 = Date.now() - 60_000;

describe('board rules', () => {
  let server: TestServer;
  const clients: FeedClient[] = [];

  before(async () => {
    server = await startServer({ tickMs: 10 });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await server.close();
  });

  async function createBoard(settings: Record<string, unknown>): Promise<string> {
    const id = boardId('rules');
    const res = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best', ...settings } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are arbitrary JSON
  async function post(board: string, body: Record<string, unknown>): Promise<any> {
    const res = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are arbitrary JSON
  async function get(path: string): Promise<any> {
    const res = await api(server, 'GET', path);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** `pid:rank` of each entry. */
  const ranked = (entries: readonly { participant_id: string; rank: number }[]) => entries.map((e) => `${e.participant_id}:${e.rank}`);

  /** a 100, b 90, c 90, d 80, reached in that order. */
  async function tiedBoard(settings: Record<string, unknown> = {}): Promise<{ board: string; answers: { rank: number; previous_rank: number | null }[] }> {
    const board = await createBoard({ rank_ties: 'shared', ...settings });
    const answers = [];
    for (const [i, [pid, score]] of ([['a', 100], ['b', 90], ['c', 90], ['d', 80]] as const).entries()) {
      answers.push(await post(board, { participant_id: pid, score, timestamp: T0 + i }));
    }
    return { board, answers };
  }

  async function connect(board: string): Promise<FeedClient> {
    const client = await FeedClient.connect(wsUrl(server, board));
    clients.push(client);
    return client;
  }

  describe('rank_ties: shared', () => {
    it('submission answers: equal scores get the same rank, the next one skips (1, 2, 2, 4); previous_rank too', async () => {
      const { board, answers } = await tiedBoard();
      assert.deepEqual(answers.map((a) => [a.rank, a.previous_rank]), [[1, null], [2, null], [2, null], [4, null]]);
      const up = await post(board, { participant_id: 'b', score: 100, timestamp: T0 + 10 });
      assert.deepEqual([up.previous_rank, up.rank], [2, 1]);
      const worse = await post(board, { participant_id: 'c', score: 10, timestamp: T0 + 11 });
      assert.deepEqual([worse.changed, worse.previous_rank, worse.rank], [false, 3, 3]);
      const batch = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, {
        key: server.adminKey,
        body: { scores: [{ participant_id: 'e', score: 80, timestamp: T0 + 12 }, { participant_id: 'd', score: 100, timestamp: T0 + 13 }] },
      });
      assert.equal(batch.status, 200, JSON.stringify(batch.body));
      assert.deepEqual(batch.body.results.map((r: { rank: number; previous_rank: number | null }) => [r.previous_rank, r.rank]), [[null, 4], [4, 1]]);
      // A retry of an event id gets the first answer's ranks, whatever happened since.
      const first = await post(board, { participant_id: 'g', score: 90, event_id: 'g-1', timestamp: T0 + 14 });
      assert.equal(first.rank, 4);
      await post(board, { participant_id: 'h', score: 95, timestamp: T0 + 15 });
      const retry = await post(board, { participant_id: 'g', score: 90, event_id: 'g-1', timestamp: T0 + 14 });
      assert.deepEqual([retry.rank, retry.previous_rank, retry.version], [4, null, first.version]);
      assert.equal((await get(`/v1/leaderboards/${board}/participants/g`)).rank, 5);
    });

    it('rankings pages, around, friends and participant answers show shared ranks; the percentile follows them', async () => {
      const { board } = await tiedBoard();
      const base = `/v1/leaderboards/${board}`;
      assert.deepEqual(ranked((await get(`${base}/rankings`)).entries), ['a:1', 'b:2', 'c:2', 'd:4']);
      assert.deepEqual(ranked((await get(`${base}/rankings?offset=2&limit=2`)).entries), ['c:2', 'd:4'], 'a page that starts inside a tie');
      assert.deepEqual(ranked((await get(`${base}/rankings?offset=1&limit=1`)).entries), ['b:2']);
      assert.deepEqual(ranked((await get(`${base}/rankings?around=d&limit=3`)).entries), ['b:2', 'c:2', 'd:4']);
      assert.deepEqual(ranked((await get(`${base}/rankings?participants=d,c,nobody,a`)).entries), ['a:1', 'c:2', 'd:4']);
      assert.deepEqual(ranked((await get(`${base}/rankings?participants=c`)).entries), ['c:2'], 'a friend alone still shares its rank');

      const c = await get(`${base}/participants/c?neighbors=1`);
      assert.deepEqual([c.rank, c.percentile], [2, 66.67]);
      assert.deepEqual([ranked(c.neighbors.above), ranked(c.neighbors.below)], [['b:2'], ['d:4']]);
      const b = await get(`${base}/participants/b?neighbors=2`);
      assert.deepEqual([b.rank, b.percentile, ranked(b.neighbors.above), ranked(b.neighbors.below)], [2, 66.67, ['a:1'], ['c:2', 'd:4']]);
      assert.equal((await get(`${base}/participants/d`)).percentile, 0);

      // A long-poll answers with the same ranks.
      const { version, epoch } = await get(`${base}/rankings`);
      const poll = api(server, 'GET', `${base}/rankings?wait_for_version_after=${version}&epoch=${epoch}&timeout_ms=5000`);
      await post(board, { participant_id: 'e', score: 90, timestamp: T0 + 20 });
      const polled = await poll;
      assert.equal(polled.status, 200);
      assert.deepEqual(ranked(polled.body.entries), ['a:1', 'b:2', 'c:2', 'e:2', 'd:5']);
    });

    it('a unique board ranks the same scores 1, 2, 3, 4, as before', async () => {
      const { board, answers } = await tiedBoard({ rank_ties: 'unique' });
      assert.deepEqual(answers.map((a) => a.rank), [1, 2, 3, 4]);
      assert.deepEqual(ranked((await get(`/v1/leaderboards/${board}/rankings?offset=2&limit=2`)).entries), ['c:3', 'd:4']);
      assert.equal((await get(`/v1/leaderboards/${board}/participants/c`)).rank, 3);
      const client = await connect(board);
      const snapshot = (await client.subscribe('top', { top: 4 })) as SnapshotMessage;
      assert.deepEqual(ranked(snapshot.entries), ['a:1', 'b:2', 'c:3', 'd:4']);
      assert.equal('first_place' in snapshot, false, 'unique boards send what they always sent');
      // The rule may change later: answers follow it at once.
      const patched = await api(server, 'PATCH', `/v1/leaderboards/${board}`, { key: server.adminKey, body: { rank_ties: 'shared' } });
      assert.deepEqual([patched.status, patched.body.rank_ties], [200, 'shared']);
      await eventually(async () => assert.deepEqual(ranked((await get(`/v1/leaderboards/${board}/rankings`)).entries), ['a:1', 'b:2', 'c:2', 'd:4']));
    });

    it('a live WebSocket view: snapshots and deltas carry shared ranks, and the local copy follows them', async () => {
      const { board } = await tiedBoard();
      const client = await connect(board);
      const top = (await client.subscribe('top', { top: 4 })) as SnapshotMessage;
      assert.deepEqual([top.first_rank, top.first_place, ranked(top.entries)], [1, 1, ['a:1', 'b:2', 'c:2', 'd:4']]);
      const me = (await client.subscribe('me', { participant: 'c' })) as SnapshotMessage;
      assert.deepEqual([me.first_rank, me.first_place, ranked(me.entries)], [2, 3, ['c:2']]);
      const around = (await client.subscribe('around', { around: 'd', radius: 1 })) as SnapshotMessage;
      assert.deepEqual([around.first_rank, around.first_place, ranked(around.entries)], [2, 2, ['b:2', 'c:2', 'd:4']]);

      // e passes b and c: they drop to 3 together without being sent again, d leaves the top 4.
      const entered = await post(board, { participant_id: 'e', score: 95, timestamp: T0 + 20 });
      assert.equal(entered.rank, 2);
      const delta = (await client.next((m) => m.type === 'delta' && m.sub === 'top' && m.to_version === entered.version)) as DeltaMessage;
      assert.deepEqual([delta.first_rank, delta.first_place, delta.removes], [1, 1, ['d']]);
      assert.deepEqual(delta.upserts, [{ rank: 2, participant_id: 'e', score: 95, achieved_at: T0 + 20, place: 2 }]);
      await eventually(() => {
        assert.deepEqual(ranked(client.entries('top') ?? []), ['a:1', 'e:2', 'b:3', 'c:3']);
        assert.deepEqual(ranked(client.entries('me') ?? []), ['c:3']);
        assert.deepEqual(ranked(client.entries('around') ?? []), ['b:3', 'c:3', 'd:5']);
      });
      assert.deepEqual(client.entries('top'), await restWindow(server, board, { top: 4 }));
      assert.deepEqual(client.entries('around'), await restWindow(server, board, { around: 'd', radius: 1 }));

      // f ties e above the windows: their entries move down one place and one rank.
      const joined = await post(board, { participant_id: 'f', score: 95, timestamp: T0 + 21 });
      await client.next((m) => m.type === 'delta' && m.sub === 'me' && m.to_version === joined.version);
      await eventually(() => {
        assert.deepEqual(ranked(client.entries('around') ?? []), ['b:4', 'c:4', 'd:6']);
        assert.deepEqual(ranked(client.entries('me') ?? []), ['c:4']);
      });
      // b leaves its tie with c without moving: c keeps its place but no longer shares b's rank.
      const split = await post(board, { participant_id: 'b', score: 92, timestamp: T0 + 22 });
      const moved = (await client.next((m) => m.type === 'delta' && m.sub === 'me' && m.to_version === split.version)) as DeltaMessage;
      assert.deepEqual([moved.first_rank, moved.first_place, moved.removes, moved.upserts], [5, 5, [], []]);
      await eventually(() => {
        assert.deepEqual(ranked(client.entries('me') ?? []), ['c:5']);
        assert.deepEqual(ranked(client.entries('around') ?? []), ['b:4', 'c:5', 'd:6']);
      });
      assert.deepEqual(client.entries('around'), await restWindow(server, board, { around: 'd', radius: 1 }));
      assert.deepEqual(client.entries('me'), await restWindow(server, board, { participant: 'c' }));
      assert.deepEqual(client.gaps, []);
    });

    it('Server-Sent Events carry the same shared ranks', async () => {
      const { board } = await tiedBoard();
      const reader = await SseReader.open(`${server.url}/v1/leaderboards/${board}/events?view=top:4`);
      try {
        const snapshot = (await reader.next((e) => e.event === 'snapshot')).data as SnapshotMessage;
        assert.deepEqual([snapshot.first_place, ranked(snapshot.entries)], [1, ['a:1', 'b:2', 'c:2', 'd:4']]);
        const changed = await post(board, { participant_id: 'd', score: 90, timestamp: T0 + 30 });
        await reader.next((e) => e.event === 'delta' && (e.data as DeltaMessage).to_version === changed.version);
        await eventually(() => assert.deepEqual(ranked(reader.state?.entries ?? []), ['a:1', 'b:2', 'c:2', 'd:2']));
      } finally {
        reader.close();
      }
    });

    it("a closed board's final rankings, read with ?period=, share ranks too", async () => {
      const { board } = await tiedBoard();
      const closed = await api(server, 'POST', `/v1/leaderboards/${board}/close`, { key: server.adminKey });
      assert.equal(closed.status, 200, JSON.stringify(closed.body));
      const base = `/v1/leaderboards/${board}`;
      const final = await get(`${base}/rankings?period=final`);
      assert.equal(final.period, 'final');
      assert.deepEqual(ranked(final.entries), ['a:1', 'b:2', 'c:2', 'd:4']);
      assert.deepEqual(ranked((await get(`${base}/rankings?period=final&offset=2&limit=2`)).entries), ['c:2', 'd:4']);
      assert.deepEqual(ranked((await get(`${base}/rankings?period=final&around=d&limit=3`)).entries), ['b:2', 'c:2', 'd:4']);
      assert.deepEqual(ranked((await get(`${base}/rankings?period=final&participants=d,c`)).entries), ['c:2', 'd:4']);
      const c = await get(`${base}/participants/c?period=final&neighbors=1`);
      assert.deepEqual([c.rank, c.percentile, ranked(c.neighbors.above), ranked(c.neighbors.below)], [2, 66.67, ['b:2'], ['d:4']]);
    });
  });

  describe('score_decimals', () => {
    it('takes and answers decimals exactly, and keeps them as integers ×10^decimals', async () => {
      const board = await createBoard({ score_decimals: 3 });
      const a = await post(board, { participant_id: 'a', score: 83.217 });
      assert.deepEqual([a.score, a.previous_score, a.rank], [83.217, null, 1]);
      assert.equal((await post(board, { participant_id: 'b', score: 0.001 })).score, 0.001);
      assert.equal((await post(board, { participant_id: 'c', score: 1.005 })).score, 1.005);
      assert.equal((await post(board, { participant_id: 'd', score: -2 })).score, -2);
      const better = await post(board, { participant_id: 'a', score: 90.01 });
      assert.deepEqual([better.score, better.previous_score], [90.01, 83.217]);
      // Exponent forms are the same numbers.
      const raw = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, raw: '{"participant_id":"e","score":8.3217e1}' });
      assert.deepEqual([raw.status, raw.body.score], [200, 83.217]);
      const big = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, raw: '{"participant_id":"f","score":1.5e3}' });
      assert.deepEqual([big.status, big.body.score], [200, 1500]);

      const rankings = await get(`/v1/leaderboards/${board}/rankings`);
      assert.deepEqual(rankings.entries.map((e: { participant_id: string; score: number }) => [e.participant_id, e.score]), [
        ['f', 1500],
        ['a', 90.01],
        ['e', 83.217],
        ['c', 1.005],
        ['b', 0.001],
        ['d', -2],
      ]);
      const e = await get(`/v1/leaderboards/${board}/participants/e?neighbors=1`);
      assert.deepEqual([e.score, e.neighbors.above[0].score, e.neighbors.below[0].score], [83.217, 90.01, 1.005]);
      // Kept exactly: 1.005 * 1000 would be 1004.9999999999999.
      const kept = await server.ladder.rankings(board, { limit: 10, offset: 0 });
      assert.deepEqual(kept.entries.map((entry) => entry.score), [1_500_000, 90_010, 83_217, 1_005, 1, -2_000]);
    });

    it('refuses more decimals than the board keeps with a 400 naming the field, alone in a batch', async () => {
      const board = await createBoard({ score_decimals: 3 });
      for (const score of [83.2171, 1e-7, 0.0005, '1', null, 9_007_199_254_741, -9_007_199_254_741]) {
        const res = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body: { participant_id: 'a', score } });
        assert.equal(res.status, 400, `${score}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'invalid_score');
        assert.equal(res.body.error.details.field, 'score');
        assert.equal(res.body.error.message, 'score must be a number with at most 3 decimals within ±9007199254740.991');
      }
      assert.equal((await post(board, { participant_id: 'edge', score: 9_007_199_254.741 })).score, 9_007_199_254.741);
      const batch = await api(server, 'POST', `/v1/leaderboards/${board}/scores/batch`, {
        key: server.adminKey,
        body: { scores: [{ participant_id: 'a', score: 1.25 }, { participant_id: 'b', score: 1.2345 }, { participant_id: 'c', score: 7 }] },
      });
      assert.equal(batch.status, 200);
      const [first, second, third] = batch.body.results;
      assert.equal(first.score, 1.25);
      assert.deepEqual([second.error.code, second.error.details.field], ['invalid_score', 'scores[1].score']);
      assert.match(second.error.message, /^scores\[1\]\.score must be a number with at most 3 decimals/);
      assert.equal(third.score, 7);
      assert.equal((await get(`/v1/leaderboards/${board}`)).total, 3, 'the refused item changed nothing');

      // A board without decimals takes integers only, as it always did.
      const integers = await createBoard({});
      const res = await api(server, 'POST', `/v1/leaderboards/${integers}/scores`, { key: server.adminKey, body: { participant_id: 'a', score: 1.5 } });
      assert.deepEqual([res.status, res.body.error.code, res.body.error.details.field, res.body.error.message], [400, 'invalid_score', 'score', 'score must be an integer within ±(2^53−1)']);
    });

    it('an increment board adds decimal deltas exactly (no float drift)', async () => {
      const board = await createBoard({ operator: 'increment', score_decimals: 2 });
      assert.equal((await post(board, { participant_id: 'a', score: 1.25 })).score, 1.25);
      const down = await post(board, { participant_id: 'a', score: -1.5 });
      assert.deepEqual([down.score, down.previous_score], [-0.25, 1.25]);
      let last;
      for (let i = 0; i < 3; i++) last = await post(board, { participant_id: 'a', score: 0.1 });
      assert.equal(last.score, 0.05, '-0.25 + 3 × 0.1, where floats give 0.04999999999999999');
      const refused = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body: { participant_id: 'a', score: 0.001 } });
      assert.deepEqual([refused.status, refused.body.error.details.field], [400, 'score']);
      // An increment past ±(2^53−1) once scaled is score_overflow, worded in the board's decimals.
      assert.equal((await post(board, { participant_id: 'z', score: 90_071_992_547_409 })).score, 90_071_992_547_409);
      const overflow = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body: { participant_id: 'z', score: 1 } });
      assert.deepEqual([overflow.status, overflow.body.error.code, overflow.body.error.details.current], [400, 'score_overflow', 90_071_992_547_409]);
      assert.equal(overflow.body.error.message, "score increment of 1 would take participant 'z' outside ±90071992547409.91");
    });

    it('live views, long-polls and periods show decimals', async () => {
      const board = await createBoard({ score_decimals: 3 });
      await post(board, { participant_id: 'a', score: 83.217 });
      const client = await connect(board);
      const snapshot = (await client.subscribe('top', { top: 3 })) as SnapshotMessage;
      assert.deepEqual(snapshot.entries.map((e) => e.score), [83.217]);
      const { version, epoch } = await get(`/v1/leaderboards/${board}/rankings`);
      const poll = api(server, 'GET', `/v1/leaderboards/${board}/rankings?wait_for_version_after=${version}&epoch=${epoch}&timeout_ms=5000`);
      const b = await post(board, { participant_id: 'b', score: 99.999 });
      const delta = (await client.next((m) => m.type === 'delta' && m.to_version === b.version)) as DeltaMessage;
      assert.deepEqual(delta.upserts.map((e) => [e.participant_id, e.score]), [['b', 99.999]]);
      await eventually(() => assert.deepEqual(client.entries('top')?.map((e) => e.score), [99.999, 83.217]));
      assert.deepEqual((await poll).body.entries.map((e: { score: number }) => e.score), [99.999, 83.217]);

      const closed = await api(server, 'POST', `/v1/leaderboards/${board}/close`, { key: server.adminKey });
      assert.equal(closed.status, 200, JSON.stringify(closed.body));
      const periods = await get(`/v1/leaderboards/${board}/periods`);
      assert.deepEqual([periods.periods[0].period, periods.periods[0].leader.score], ['final', 99.999]);
      assert.deepEqual((await get(`/v1/leaderboards/${board}/rankings?period=final`)).entries.map((e: { score: number }) => e.score), [99.999, 83.217]);
    });

    it('an asc race-time board with decimals and shared ranks: the lower time first, equal times share', async () => {
      const board = await createBoard({ sort_order: 'asc', score_decimals: 3, rank_ties: 'shared' });
      const times: [string, number][] = [['ana', 83.217], ['ben', 82.9], ['cai', 83.217], ['dee', 84.05]];
      const answers = [];
      for (const [pid, time] of times) answers.push(await post(board, { participant_id: pid, score: time }));
      assert.deepEqual(answers.map((a) => [a.score, a.rank]), [[83.217, 1], [82.9, 1], [83.217, 2], [84.05, 4]]);
      const slower = await post(board, { participant_id: 'ben', score: 83.5 });
      assert.deepEqual([slower.changed, slower.score, slower.rank], [false, 82.9, 1], 'best keeps the faster time');
      const faster = await post(board, { participant_id: 'dee', score: 82.001 });
      assert.deepEqual([faster.previous_rank, faster.rank, faster.previous_score], [4, 1, 84.05]);
      const rankings = await get(`/v1/leaderboards/${board}/rankings`);
      assert.deepEqual(rankings.entries.map((e: { participant_id: string; score: number; rank: number }) => `${e.rank}. ${e.participant_id} ${e.score}`), [
        '1. dee 82.001',
        '2. ben 82.9',
        '3. ana 83.217',
        '3. cai 83.217',
      ]);
      const exported = await fetch(`${server.url}/v1/leaderboards/${board}/export?format=csv`, { headers: { authorization: `Bearer ${server.adminKey}` } });
      const lines = (await exported.text()).trim().split('\n').slice(1).map((line) => line.split(',').slice(0, 3).join(' '));
      assert.deepEqual(lines, ['1 dee 82.001', '2 ben 82.9', '3 ana 83.217', '3 cai 83.217'], 'exports show shared ranks and decimals too');
      const tooPrecise = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: server.adminKey, body: { participant_id: 'eve', score: 81.0001 } });
      assert.deepEqual([tooPrecise.status, tooPrecise.body.error.code, tooPrecise.body.error.details.field], [400, 'invalid_score', 'score']);
    });
  });
});
