/**
 * Periods across processes: two cluster members whose schedulers race to
 * close the same period close it once, the archive holds every
 * acknowledged score (those still in Redis streams included), and both
 * members then serve the next period. A member started after a boundary
 * passed closes the period that it finds open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/service/clock.js';
import { skipWithoutCluster, startCluster, type TestCluster } from './helpers/cluster.js';
import { api } from './helpers/server.js';

const skip = await skipWithoutCluster('the cluster period suite (test/cluster-lifecycle.test.ts)');
const T0 = Date.UTC(2026, 11, 2, 10);
const MIDNIGHT = Date.UTC(2026, 11, 3);

describe('periods in cluster mode', { skip }, () => {
  const clock = new ManualClock(T0);
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ members: 2, overrides: { lifecycleTickMs: 60_000 }, clock });
  });
  after(async () => cluster?.close());

  const at = (i: number) => ({ url: cluster.members[i]!.url });

  it('closes a period once when both members race, and archives every acknowledged score', async () => {
    clock.set(T0);
    const id = `race-${process.pid}-${Date.now().toString(36)}`;
    const key = cluster.adminKey;
    assert.equal((await api(at(0), 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'increment', reset: 'daily' } })).status, 201);
    // Spread over both members, acknowledged by Redis: the persister may not have them in PostgreSQL yet.
    const writes = [];
    for (let i = 0; i < 200; i++) writes.push(api(at(i % 2), 'POST', `/v1/leaderboards/${id}/scores`, { key, body: { participant_id: `p${i % 50}`, score: i } }));
    for (const res of await Promise.all(writes)) assert.equal(res.status, 200, JSON.stringify(res.body));
    const live = await api(at(1), 'GET', `/v1/leaderboards/${id}/rankings?limit=100`);

    clock.set(MIDNIGHT + 1);
    await Promise.all(cluster.members.map((member) => member.ladder.lifecycle.runDue()));

    const [row] = await cluster.database.query<{ count: string }>('SELECT count(*) AS count FROM periods WHERE board_id = $1', [id]);
    assert.equal(Number(row!.count), 1);
    for (const i of [0, 1]) {
      const archived = await api(at(i), 'GET', `/v1/leaderboards/${id}/rankings?limit=100&period=2026-12-02`);
      assert.equal(archived.status, 200);
      assert.deepEqual(archived.body.entries, live.body.entries);
      const board = await api(at(i), 'GET', `/v1/leaderboards/${id}`);
      assert.equal(board.body.period, '2026-12-03');
      assert.equal(board.body.total, 0);
    }
    const next = await api(at(1), 'POST', `/v1/leaderboards/${id}/scores`, { key, body: { participant_id: 'late', score: 1 } });
    assert.equal(next.body.rank, 1);
    const stale = await api(at(0), 'POST', `/v1/leaderboards/${id}/scores`, { key, body: { participant_id: 'late', score: 1, timestamp: MIDNIGHT - 1 } });
    assert.equal(stale.body.error.code, 'period_closed');
  });

  it('a member that starts after a boundary closes the period it finds open', async () => {
    clock.set(MIDNIGHT + 60_000);
    const id = `start-${process.pid}-${Date.now().toString(36)}`;
    const key = cluster.adminKey;
    await api(at(0), 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best', reset: 'hourly' } });
    await api(at(0), 'POST', `/v1/leaderboards/${id}/scores`, { key, body: { participant_id: 'a', score: 7 } });
    clock.set(MIDNIGHT + 2 * 3_600_000);
    const late = await cluster.addMember();
    await late.ladder.lifecycle.runDue();
    const periods = await api({ url: late.url }, 'GET', `/v1/leaderboards/${id}/periods`);
    assert.deepEqual(periods.body.periods.map((p: { period: string; total: number }) => [p.period, p.total]), [['2026-12-03T02', 0], ['2026-12-03T00', 1]]);
  });
});
