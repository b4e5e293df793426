/**
 * Boards in time through the front door: schedules, close and reopen,
 * PATCH, periodic resets with archived final rankings, ?period= reads,
 * /periods, period_closed on live views, finalization, and a restart across
 * a period boundary. Time is a ManualClock: no test waits for a period.
 * test/cluster-suites/lifecycle.test.ts runs the same against two cluster
 * members sharing one clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/service/clock.js';
import { eventually, FeedClient, wsUrl } from './helpers/realtime.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const DAY = 86_400_000;
/** 2026-12-02T10:00:00Z */
const T0 = Date.UTC(2026, 11, 2, 10);
const MIDNIGHT = Date.UTC(2026, 11, 3);

describe('boards in time', () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let key: string;

  before(async () => {
    server = await startServer({ lifecycleTickMs: 60_000 }, { clock });
    key = server.adminKey;
  });
  after(async () => server.close());

  async function createBoard(body: Record<string, unknown> = {}): Promise<{ id: string; body: Record<string, unknown> }> {
    const id = boardId('life');
    const res = await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best', ...body } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { id, body: res.body };
  }

  const submit = (id: string, body: Record<string, unknown>) => api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body });
  const board = async (id: string) => (await api(server, 'GET', `/v1/leaderboards/${id}`)).body;

  /** Moves the clock and runs what is due in every process now (the schedulers' tick). */
  async function moveTo(at: number): Promise<void> {
    clock.set(at);
    await server.ladder.lifecycle.runDue();
  }

  describe('schedules', () => {
    it('refuses scores before starts_at and from ends_at on, with the status in every board answer', async () => {
      clock.set(T0);
      const { id, body } = await createBoard({ starts_at: T0 + 1000, ends_at: T0 + 5000 });
      assert.equal(body.status, 'scheduled');
      const early = await submit(id, { participant_id: 'a', score: 1 });
      assert.equal(early.status, 409);
      assert.equal(early.body.error.code, 'board_not_started');

      clock.set(T0 + 1000);
      assert.equal((await board(id)).status, 'active');
      assert.equal((await submit(id, { participant_id: 'a', score: 5 })).status, 200);
      const before = await submit(id, { participant_id: 'b', score: 9, timestamp: T0 });
      assert.equal(before.body.error.code, 'board_not_started');
      assert.equal(before.body.error.details.field, 'timestamp');

      await moveTo(T0 + 5000);
      const late = await submit(id, { participant_id: 'a', score: 7 });
      assert.equal(late.status, 409);
      assert.equal(late.body.error.code, 'board_closed');
      const closed = await board(id);
      assert.equal(closed.status, 'closed');
      assert.equal(typeof closed.finalized_at, 'number');
    });

    it('finalizes a tournament: its final rankings stay queryable, from the store, like live ones', async () => {
      clock.set(T0);
      const { id } = await createBoard({ ends_at: T0 + 10_000 });
      for (const [participant, score] of [['a', 10], ['b', 30], ['c', 20], ['d', 40]] as const) {
        assert.equal((await submit(id, { participant_id: participant, score })).status, 200);
      }
      await moveTo(T0 + 10_000);
      const final = await api(server, 'GET', `/v1/leaderboards/${id}/rankings`);
      assert.equal(final.status, 200, JSON.stringify(final.body));
      assert.equal(final.body.period, 'final');
      assert.deepEqual(final.body.entries.map((e: { participant_id: string; rank: number }) => [e.rank, e.participant_id]), [[1, 'd'], [2, 'b'], [3, 'c'], [4, 'a']]);
      const around = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?around=c&limit=3`);
      assert.deepEqual(around.body.entries.map((e: { participant_id: string }) => e.participant_id), ['b', 'c', 'a']);
      const friends = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?participants=a,d,zz`);
      assert.equal(friends.status, 200, JSON.stringify(friends.body));
      assert.deepEqual(friends.body.entries.map((e: { participant_id: string; rank: number }) => [e.rank, e.participant_id]), [[1, 'd'], [4, 'a']]);
      const standing = await api(server, 'GET', `/v1/leaderboards/${id}/participants/b?neighbors=1`);
      assert.equal(standing.status, 200, JSON.stringify(standing.body));
      assert.equal(standing.body.rank, 2);
      assert.equal(standing.body.percentile, 66.67);
      assert.deepEqual(standing.body.neighbors.above.map((e: { participant_id: string }) => e.participant_id), ['d']);
      assert.deepEqual(standing.body.neighbors.below.map((e: { participant_id: string }) => e.participant_id), ['c']);
      const periods = await api(server, 'GET', `/v1/leaderboards/${id}/periods`);
      assert.deepEqual(periods.body.periods.map((p: { period: string; total: number; leader: { participant_id: string } }) => [p.period, p.total, p.leader.participant_id]), [['final', 4, 'd']]);
      assert.equal((await board(id)).total, 4);
    });

    it('closes a board early and reopens it: scores are refused meanwhile, and the standings go on after', async () => {
      clock.set(T0);
      const { id } = await createBoard();
      await submit(id, { participant_id: 'a', score: 3 });
      const closed = await api(server, 'POST', `/v1/leaderboards/${id}/close`, { key });
      assert.equal(closed.status, 200);
      assert.equal(closed.body.status, 'closed');
      assert.equal((await submit(id, { participant_id: 'b', score: 1 })).body.error.code, 'board_closed');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/periods`)).body.periods[0].period, 'final');

      const reopened = await api(server, 'POST', `/v1/leaderboards/${id}/reopen`, { key });
      assert.equal(reopened.body.status, 'active');
      assert.equal(reopened.body.finalized_at, null);
      assert.equal((await submit(id, { participant_id: 'b', score: 9 })).body.rank, 1);
      const live = await api(server, 'GET', `/v1/leaderboards/${id}/rankings`);
      assert.equal(live.body.period, null);
      assert.deepEqual(live.body.entries.map((e: { participant_id: string }) => e.participant_id), ['b', 'a']);
      assert.deepEqual((await api(server, 'GET', `/v1/leaderboards/${id}/periods`)).body.periods, []);
      assert.equal((await api(server, 'POST', `/v1/leaderboards/${id}/close`)).status, 401);
    });

    it('changes name, metadata, schedule and rules with PATCH, never the id, sort order or operator', async () => {
      clock.set(T0);
      const { id } = await createBoard();
      const patched = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key, body: { name: 'Finals', metadata: { round: 2 }, ends_at: T0 + DAY, rank_ties: 'shared' } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.name, 'Finals');
      assert.deepEqual(patched.body.metadata, { round: 2 });
      assert.equal(patched.body.ends_at, T0 + DAY);
      assert.equal(patched.body.rank_ties, 'shared');
      assert.equal((await board(id)).name, 'Finals');
      const reset = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key, body: { reset: 'daily' } });
      assert.deepEqual([reset.status, reset.body.error.code, reset.body.error.details.field], [409, 'immutable_field', 'reset']);
      for (const field of ['id', 'sort_order', 'operator']) {
        const refused = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key, body: { [field]: 'x' } });
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, 'immutable_field');
        assert.equal(refused.body.error.details.field, field);
      }
      const bad = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key, body: { starts_at: T0 + 2 * DAY } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details.field, 'ends_at');
      await submit(id, { participant_id: 'a', score: 1 });
      const decimals = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key, body: { score_decimals: 2 } });
      assert.equal(decimals.status, 409);
      assert.equal(decimals.body.error.details.field, 'score_decimals');
      assert.equal((await api(server, 'PATCH', `/v1/leaderboards/${boardId('none')}`, { key, body: { name: 'x' } })).status, 404);
    });

    it('names the field of a bad schedule or reset', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ reset: 'yearly' }, 'reset'],
        [{ reset: { cron: 'not a cron' } }, 'reset.cron'],
        [{ reset: { cron: '0 0 * * *', timezone: 'Mars/Olympus' } }, 'reset.timezone'],
        [{ starts_at: 10, ends_at: 5 }, 'ends_at'],
        [{ starts_at: -1 }, 'starts_at'],
        [{ keep_all_time: true }, 'keep_all_time'],
        [{ webhook_url: 'ftp://x' }, 'webhook_url'],
      ];
      for (const [body, field] of cases) {
        const res = await api(server, 'POST', '/v1/leaderboards', { key, body: { id: boardId('bad'), sort_order: 'desc', operator: 'best', ...body } });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.details.field, field, JSON.stringify(res.body));
      }
    });
  });

  describe('periodic resets', () => {
    it('archives each daily period exactly and starts the next one empty, with its own versions', async () => {
      clock.set(T0);
      const { id, body } = await createBoard({ reset: 'daily' });
      assert.equal(body.period, '2026-12-02');
      assert.equal(body.next_reset_at, MIDNIGHT);
      for (const [participant, score] of [['a', 5], ['b', 8], ['c', 8]] as const) await submit(id, { participant_id: participant, score });
      const epochBefore = (await board(id)).epoch;

      await moveTo(MIDNIGHT + 5);
      const next = await board(id);
      assert.equal(next.period, '2026-12-03');
      assert.equal(next.next_reset_at, MIDNIGHT + DAY);
      assert.equal(next.total, 0);
      assert.equal(next.version, 0);
      assert.notEqual(next.epoch, epochBefore);
      const fresh = await submit(id, { participant_id: 'a', score: 1 });
      assert.equal(fresh.body.rank, 1);
      assert.equal(fresh.body.version, 1);

      const yesterday = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?period=2026-12-02`);
      assert.equal(yesterday.status, 200);
      assert.equal(yesterday.body.period, '2026-12-02');
      assert.deepEqual(yesterday.body.entries.map((e: { participant_id: string; score: number }) => [e.participant_id, e.score]), [['b', 8], ['c', 8], ['a', 5]]);
      const standing = await api(server, 'GET', `/v1/leaderboards/${id}/participants/c?period=2026-12-02&neighbors=1`);
      assert.equal(standing.body.rank, 2);
      const exported = await fetch(`${server.url}/v1/leaderboards/${id}/export?format=ndjson&period=2026-12-02`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(exported.status, 200);
      assert.match(exported.headers.get('content-disposition') ?? '', /-2026-12-02\.ndjson/);
      const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as { rank: number; participant_id: string });
      assert.deepEqual(lines.map((line) => [line.rank, line.participant_id]), [[1, 'b'], [2, 'c'], [3, 'a']]);
      const missing = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?period=1999-01-01`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'period_not_found');

      const periods = (await api(server, 'GET', `/v1/leaderboards/${id}/periods`)).body.periods;
      assert.deepEqual(
        periods.map((p: { period: string; status: string; total: number; leader: { participant_id: string } | null }) => [p.period, p.status, p.total, p.leader?.participant_id ?? null]),
        [['2026-12-03', 'active', 1, 'a'], ['2026-12-02', 'closed', 3, 'b']],
      );
    });

    it('refuses a submission timestamped in a closed period with period_closed', async () => {
      clock.set(T0);
      const { id } = await createBoard({ reset: 'daily' });
      await submit(id, { participant_id: 'a', score: 5 });
      await moveTo(MIDNIGHT + 1000);
      const late = await submit(id, { participant_id: 'a', score: 50, timestamp: MIDNIGHT - 1 });
      assert.equal(late.status, 409);
      assert.equal(late.body.error.code, 'period_closed');
      const batch = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, {
        key,
        body: { scores: [{ participant_id: 'x', score: 1, timestamp: MIDNIGHT - 5 }, { participant_id: 'y', score: 2 }] },
      });
      assert.equal(batch.body.results[0].error.code, 'period_closed');
      assert.equal(batch.body.results[0].error.details.field, 'scores[0].timestamp');
      assert.equal(batch.body.results[1].rank, 1);
      const archived = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?period=2026-12-02`);
      assert.deepEqual(archived.body.entries.map((e: { score: number }) => e.score), [5]);
    });

    it('closes a period that ended on the first submission after it, before the scheduler ticks', async () => {
      clock.set(T0);
      const { id } = await createBoard({ reset: 'hourly' });
      await submit(id, { participant_id: 'a', score: 5 });
      clock.set(T0 + 3_600_000 + 10); // no tick: the submission finds the period over
      const res = await submit(id, { participant_id: 'b', score: 1 });
      assert.equal(res.status, 200);
      assert.equal(res.body.rank, 1);
      const periods = (await api(server, 'GET', `/v1/leaderboards/${id}/periods`)).body.periods;
      assert.deepEqual(periods.map((p: { period: string }) => p.period), ['2026-12-02T11', '2026-12-02T10']);
    });

    it('rolls cron periods with a seconds field in a time zone, named by their start', async () => {
      clock.set(T0);
      const { id, body } = await createBoard({ reset: { cron: '*/10 * * * * *', timezone: 'Europe/Paris' } });
      assert.equal(body.period, '2026-12-02T10:00:00Z');
      assert.equal(body.next_reset_at, T0 + 10_000);
      await submit(id, { participant_id: 'a', score: 1 });
      await moveTo(T0 + 25_000);
      assert.equal((await board(id)).period, '2026-12-02T10:00:20Z');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/rankings?period=2026-12-02T10:00:00Z`)).body.total, 1);
    });

    it('tells live subscribers period_closed, then sends the new period’s snapshot', async () => {
      clock.set(T0);
      const { id } = await createBoard({ reset: 'daily' });
      await submit(id, { participant_id: 'a', score: 5 });
      const feed = await FeedClient.connect(wsUrl(server, id));
      try {
        const first = await feed.subscribe('top', { top: 10 });
        assert.equal(first.type, 'snapshot');
        await eventually(() => assert.equal(feed.entries('top')?.length, 1));
        const from = feed.received.length;
        await moveTo(MIDNIGHT);
        const closed = await feed.next((m) => m.type === 'period_closed', from);
        assert.deepEqual(closed, { type: 'period_closed', sub: 'top', period: '2026-12-02', next_period: '2026-12-03' });
        const at = feed.received.indexOf(closed);
        const snapshot = await feed.next((m) => m.type === 'snapshot', at);
        assert.equal(snapshot.type === 'snapshot' && snapshot.total, 0);
        await submit(id, { participant_id: 'b', score: 2 });
        await eventually(() => assert.deepEqual(feed.entries('top')?.map((e) => e.participant_id), ['b']));
        assert.deepEqual(feed.gaps, []);
      } finally {
        feed.close();
      }
    });

    it('lists a participant’s final placements across boards and periods, latest first', async () => {
      clock.set(T0);
      const player = `player-${Date.now().toString(36)}`;
      const daily = await createBoard({ reset: 'daily' });
      const cup = await createBoard({ ends_at: T0 + 60_000 });
      await submit(daily.id, { participant_id: 'rival', score: 9 });
      await submit(daily.id, { participant_id: player, score: 5 });
      await submit(cup.id, { participant_id: player, score: 1 });
      await moveTo(T0 + 60_000);
      await moveTo(MIDNIGHT + 1);
      const res = await api(server, 'GET', `/v1/participants/${player}/placements`);
      assert.equal(res.status, 200);
      const mine = res.body.placements.filter((p: { leaderboard_id: string }) => p.leaderboard_id === daily.id || p.leaderboard_id === cup.id);
      assert.deepEqual(
        mine.map((p: { leaderboard_id: string; period: string; rank: number; total: number }) => [p.leaderboard_id, p.period, p.rank, p.total]),
        [[daily.id, '2026-12-02', 2, 2], [cup.id, 'final', 1, 1]],
      );
      assert.equal((await api(server, 'GET', '/v1/participants/bad%20id/placements')).status, 400);

      // Erased, they leave the archives too, which keep everyone's final ranks under an anonymous id.
      assert.equal((await api(server, 'DELETE', `/v1/participants/${player}`, { key })).status, 200);
      assert.deepEqual((await api(server, 'GET', `/v1/participants/${player}/placements`)).body.placements, []);
      const archived = (await api(server, 'GET', `/v1/leaderboards/${daily.id}/rankings?period=2026-12-02`)).body.entries;
      assert.deepEqual(archived.map((e: { rank: number }) => e.rank), [1, 2]);
      assert.equal(archived[0].participant_id, 'rival');
      assert.match(archived[1].participant_id, /^erased-[0-9a-f]{16}$/);
    });

    it('keeps the same answers for the live period read with its own id', async () => {
      clock.set(T0);
      const { id } = await createBoard({ reset: 'weekly' });
      await submit(id, { participant_id: 'a', score: 5 });
      const week = (await board(id)).period;
      assert.equal(week, '2026-W49');
      const live = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?period=${week}`);
      assert.equal(live.body.period, null);
      assert.equal(live.body.total, 1);
    });
  });
});

describe('a restart across a period boundary', () => {
  it('closes on start the period that ended while Ladder was down', { skip: process.env.LADDER_TEST_CLUSTER === '1' ? 'embedded restart on one data directory (cluster.test.ts restarts members)' : false }, async () => {
    const clock = new ManualClock(T0);
    let server = await startServer({ lifecycleTickMs: 20 }, { clock });
    const id = boardId('restart');
    try {
      await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'increment', reset: 'monthly' } });
      await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: server.adminKey, body: { participant_id: 'a', score: 3 } });
      await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: server.adminKey, body: { participant_id: 'b', score: 4 } });
      await server.close({ keepData: true });
      clock.set(Date.UTC(2027, 0, 2));
      server = await startServer({ lifecycleTickMs: 20, dataDir: server.dataDir, adminKey: server.adminKey }, { clock });
      await eventually(async () => assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/periods`)).body.periods.length, 2));
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).body.period, '2027-01');
      const live = await api(server, 'GET', `/v1/leaderboards/${id}`);
      assert.equal(live.body.total, 0);
      const december = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?period=2026-12`);
      assert.deepEqual(december.body.entries.map((e: { participant_id: string; score: number }) => [e.participant_id, e.score]), [['b', 4], ['a', 3]]);
      await server.close({ keepData: true });
      // A second restart closes nothing again, and loads the live period empty.
      server = await startServer({ lifecycleTickMs: 20, dataDir: server.dataDir, adminKey: server.adminKey }, { clock });
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/rankings`)).body.total, 0);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/periods`)).body.periods.length, 2);
    } finally {
      await server.close();
    }
  });
});
