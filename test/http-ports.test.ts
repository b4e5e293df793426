/**
 * The REST face of the ports, over a real socket: one window rule for
 * `around` in REST and live views (at the top and bottom edges too), event-id
 * conflicts, ids that a URL parser would rewrite, and key revocation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FeedClient, submitBatch } from './helpers/realtime.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

describe('REST and the ports', () => {
  let server: TestServer;
  let key: string;

  before(async () => {
    server = await startServer({ tickMs: 5 });
    key = server.adminKey;
  });
  after(async () => server.close());

  async function createBoard(operator = 'best'): Promise<string> {
    const id = boardId();
    const res = await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  }

  it('shows the same around window in REST and in a live view, shifted inward at the top and bottom', async () => {
    const board = await createBoard();
    // p1 ranks 1 (score 10) ... p10 ranks 10 (score 1).
    await submitBatch(server, board, Array.from({ length: 10 }, (_, i) => ({ participant_id: `p${i + 1}`, score: 10 - i })));
    const client = await FeedClient.connect(`${server.url.replace('http', 'ws')}/v1/leaderboards/${board}/subscribe`);
    const cases = [
      ['p1', 2, [1, 2, 3, 4, 5]],
      ['p2', 2, [1, 2, 3, 4, 5]],
      ['p5', 2, [3, 4, 5, 6, 7]],
      ['p9', 2, [6, 7, 8, 9, 10]],
      ['p10', 2, [6, 7, 8, 9, 10]],
      ['p3', 20, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ] as const;
    for (const [pid, radius, ranks] of cases) {
      const rest = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?around=${pid}&limit=${2 * radius + 1}`);
      assert.deepEqual(rest.body.entries.map((e: { rank: number }) => e.rank), ranks, `REST around ${pid} ±${radius}`);
      await client.subscribe(`${pid}-${radius}`, { around: pid, radius });
      assert.deepEqual(client.entries(`${pid}-${radius}`)?.map((e) => e.rank), ranks, `live around ${pid} ±${radius}`);
    }
    // The participant answer's neighbours are cut off at the edges instead.
    const top = await api(server, 'GET', `/v1/leaderboards/${board}/participants/p1?neighbors=2`);
    assert.deepEqual([top.body.neighbors.above.length, top.body.neighbors.below.map((e: { rank: number }) => e.rank)], [0, [2, 3]]);
    client.close();
  });

  it('answers a reused event_id with another submission 409 event_id_conflict, and the same one with the first answer', async () => {
    const board = await createBoard('increment');
    const path = `/v1/leaderboards/${board}/scores`;
    const first = await api(server, 'POST', path, { key, body: { participant_id: 'p', score: 5, event_id: 'pay-1' } });
    assert.equal(first.status, 200);
    const retry = await api(server, 'POST', path, { key, body: { participant_id: 'p', score: 5, event_id: 'pay-1' } });
    assert.deepEqual([retry.status, retry.body], [200, first.body]);
    const other = await api(server, 'POST', path, { key, body: { participant_id: 'p', score: 50, event_id: 'pay-1' } });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'event_id_conflict');
    assert.equal(other.body.error.details.field, 'event_id');
    const batch = await api(server, 'POST', `${path}/batch`, {
      key,
      body: { scores: [{ participant_id: 'p', score: 5, event_id: 'pay-1' }, { participant_id: 'q', score: 5, event_id: 'pay-1' }] },
    });
    assert.deepEqual(batch.body.results[0], first.body);
    assert.equal(batch.body.results[1].error.code, 'event_id_conflict');
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/participants/p`)).body.score, 5);
  });

  it("refuses participant ids '.' and '..', which no URL can address", async () => {
    const board = await createBoard();
    for (const pid of ['.', '..']) {
      const res = await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key, body: { participant_id: pid, score: 1 } });
      assert.equal(res.status, 400, pid);
      assert.equal(res.body.error.details.field, 'participant_id');
    }
    for (const pid of ['...', '.a', 'a..b']) {
      assert.equal((await api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key, body: { participant_id: pid, score: 1 } })).status, 200, pid);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/participants/${pid}`)).status, 200, pid);
    }
  });

  it('lists keys without their secrets and revokes one at once', async () => {
    const issued = await api(server, 'POST', '/v1/keys', { key, body: { scope: 'write', name: 'game server' } });
    assert.equal(issued.status, 201);
    const board = await createBoard();
    const submit = () => api(server, 'POST', `/v1/leaderboards/${board}/scores`, { key: issued.body.key, body: { participant_id: 'p', score: 1 } });
    assert.equal((await submit()).status, 200);
    const listed = await api(server, 'GET', '/v1/keys', { key });
    const mine = listed.body.keys.find((k: { id: string }) => k.id === issued.body.id);
    assert.deepEqual(mine, { id: issued.body.id, scope: 'write', name: 'game server', boards: null, rate_limit: null, created_at: issued.body.created_at, revoked_at: null });
    assert.ok(!JSON.stringify(listed.body).includes(issued.body.key), 'no secret in the list');

    const revoked = await api(server, 'DELETE', `/v1/keys/${issued.body.id}`, { key });
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.body.revoked_at, 'number');
    // The key was remembered as valid a moment ago; the revocation reached the cache through the bus.
    const refused = await submit();
    assert.deepEqual([refused.status, refused.body.error.code], [401, 'invalid_api_key']);
    assert.equal((await api(server, 'DELETE', '/v1/keys/no-such-key', { key })).body.error.code, 'key_not_found');
    assert.equal((await api(server, 'GET', '/v1/keys', { key: issued.body.key })).status, 401);
  });
});
