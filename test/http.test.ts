/**
 * The REST API through the real server over a real socket: every endpoint,
 * every error cause, and the exactness rules of DESIGN.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const MAX = Number.MAX_SAFE_INTEGER;

describe('REST API', () => {
  let server: TestServer;
  let key: string;

  before(async () => {
    server = await startServer();
    key = server.adminKey;
  });
  after(async () => server.close());

  async function createBoard(body: Record<string, unknown> = {}): Promise<string> {
    const id = boardId();
    const res = await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best', ...body } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  }

  async function submit(id: string, body: Record<string, unknown>) {
    return api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body });
  }

  describe('boards', () => {
    it('creates, reads, lists and deletes a board', async () => {
      const id = boardId();
      const created = await api(server, 'POST', '/v1/leaderboards', {
        key,
        body: { id, name: 'Arena', sort_order: 'asc', operator: 'latest', metadata: { season: 3 } },
      });
      assert.equal(created.status, 201);
      assert.equal(created.headers.get('location'), `/v1/leaderboards/${id}`);
      assert.match(created.body.epoch, /^[0-9a-f]{12}$/);
      // server_time: the server's clock at the answer (countdowns run on it).
      assert.ok(Math.abs(created.body.server_time - Date.now()) < 60_000);
      assert.deepEqual({ ...created.body, created_at: 0, epoch: '', server_time: 0 }, {
        id, name: 'Arena', sort_order: 'asc', operator: 'latest', metadata: { season: 3 }, created_at: 0, epoch: '', version: 0, total: 0, server_time: 0,
        status: 'active', starts_at: null, ends_at: null, closed_at: null, finalized_at: null, reset: null, period: null, next_reset_at: null,
        keep_all_time: false, scopes: [], rank_ties: 'unique', score_decimals: 0, webhook_url: null, webhook_top: 100, rules: null, rate_limit: null,
      });
      const got = await api(server, 'GET', `/v1/leaderboards/${id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.name, 'Arena');
      const list = await api(server, 'GET', '/v1/leaderboards');
      assert.ok(list.body.leaderboards.some((b: { id: string }) => b.id === id));
      assert.equal((await api(server, 'DELETE', `/v1/leaderboards/${id}`, { key })).status, 204);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).body.error.code, 'board_not_found');
      assert.equal((await api(server, 'DELETE', `/v1/leaderboards/${id}`, { key })).status, 404);
    });

    it('defaults the name to the id and answers 409 for a taken id', async () => {
      const id = await createBoard();
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).body.name, id);
      const again = await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best' } });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'board_exists');
    });

    it('rejects bad board definitions, naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ sort_order: 'desc', operator: 'best' }, 'id'],
        [{ id: 'has space', sort_order: 'desc', operator: 'best' }, 'id'],
        [{ id: 'x'.repeat(65), sort_order: 'desc', operator: 'best' }, 'id'],
        [{ id: boardId(), sort_order: 'up', operator: 'best' }, 'sort_order'],
        [{ id: boardId(), sort_order: 'desc', operator: 'sum' }, 'operator'],
        [{ id: boardId(), sort_order: 'desc', operator: 'best', colour: 'red' }, 'colour'],
        [{ id: boardId(), sort_order: 'desc', operator: 'best', metadata: 'x' }, 'metadata'],
        [{ id: boardId(), sort_order: 'desc', operator: 'best', metadata: { big: 'x'.repeat(5000) } }, 'metadata'],
      ];
      for (const [body, field] of cases) {
        const res = await api(server, 'POST', '/v1/leaderboards', { key, body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, 'invalid_request');
        assert.equal(res.body.error.details.field, field);
        assert.match(res.body.error.message, new RegExp(`^${field}`));
      }
    });
  });

  describe('scores', () => {
    it('answers rank, previous rank and score, version and changed', async () => {
      const id = await createBoard();
      const first = await submit(id, { participant_id: 'alice', score: 100, timestamp: 1000 });
      assert.equal(first.status, 200);
      const board = await api(server, 'GET', `/v1/leaderboards/${id}`);
      assert.deepEqual(first.body, {
        participant_id: 'alice', score: 100, rank: 1, previous_rank: null, previous_score: null, epoch: board.body.epoch, version: 1, changed: true, achieved_at: 1000,
      });
      const bob = await submit(id, { participant_id: 'bob', score: 200, timestamp: 1001 });
      assert.equal(bob.body.rank, 1);
      assert.equal(bob.body.version, 2);
      const worse = await submit(id, { participant_id: 'alice', score: 50, timestamp: 1002 });
      assert.deepEqual(
        { rank: worse.body.rank, score: worse.body.score, changed: worse.body.changed, version: worse.body.version, previous_rank: worse.body.previous_rank },
        { rank: 2, score: 100, changed: false, version: 2, previous_rank: 2 },
      );
    });

    it('ranks the participant who reached a score first higher, whatever the arrival order', async () => {
      const id = await createBoard();
      await submit(id, { participant_id: 'late', score: 10, timestamp: 2000 });
      await submit(id, { participant_id: 'early', score: 10, timestamp: 1000 });
      const page = await api(server, 'GET', `/v1/leaderboards/${id}/rankings`);
      assert.deepEqual(page.body.entries.map((e: { participant_id: string }) => e.participant_id), ['early', 'late']);
    });

    it('sorts asc boards low-first and sums increments', async () => {
      const race = await createBoard({ sort_order: 'asc' });
      await submit(race, { participant_id: 'slow', score: 95_000 });
      await submit(race, { participant_id: 'fast', score: 61_250 });
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${race}/rankings`)).body.entries[0].participant_id, 'fast');
      const points = await createBoard({ operator: 'increment' });
      await submit(points, { participant_id: 'p', score: 5 });
      const res = await submit(points, { participant_id: 'p', score: -2 });
      assert.equal(res.body.score, 3);
      assert.equal(res.body.previous_score, 5);
    });

    it('keeps scores exact at ±(2^53−1)', async () => {
      const id = await createBoard();
      await submit(id, { participant_id: 'top', score: MAX });
      await submit(id, { participant_id: 'next', score: MAX - 1 });
      await submit(id, { participant_id: 'bottom', score: -MAX });
      const page = await api(server, 'GET', `/v1/leaderboards/${id}/rankings`);
      assert.deepEqual(page.body.entries.map((e: { score: number }) => e.score), [MAX, MAX - 1, -MAX]);
    });

    it('treats a repeated event_id as the same submission', async () => {
      const id = await createBoard({ operator: 'increment' });
      const body = { participant_id: 'p', score: 7, event_id: 'evt-1' };
      const first = await submit(id, body);
      const retries = await Promise.all([submit(id, body), submit(id, body), submit(id, body)]);
      for (const retry of retries) assert.deepEqual(retry.body, first.body);
      const standing = await api(server, 'GET', `/v1/leaderboards/${id}/participants/p`);
      assert.equal(standing.body.score, 7);
      assert.equal(standing.body.version, 1);
    });

    it('rejects bad scores with 400 naming the field', async () => {
      const id = await createBoard();
      const cases: [unknown, string, string][] = [
        [{ participant_id: 'p', score: 1.5 }, 'score', 'invalid_score'],
        [{ participant_id: 'p', score: MAX + 2 }, 'score', 'invalid_score'],
        [{ participant_id: 'p', score: -MAX - 2 }, 'score', 'invalid_score'],
        [{ participant_id: 'p', score: 1e300 }, 'score', 'invalid_score'],
        [{ participant_id: 'p', score: '100' }, 'score', 'invalid_score'],
        [{ participant_id: 'p', score: null }, 'score', 'invalid_score'],
        [{ participant_id: 'p' }, 'score', 'invalid_request'],
        [{ score: 1 }, 'participant_id', 'invalid_request'],
        [{ participant_id: 42, score: 1 }, 'participant_id', 'invalid_request'],
        [{ participant_id: '', score: 1 }, 'participant_id', 'invalid_request'],
        [{ participant_id: 'a/b', score: 1 }, 'participant_id', 'invalid_request'],
        [{ participant_id: 'x'.repeat(129), score: 1 }, 'participant_id', 'invalid_request'],
        [{ participant_id: 'p', score: 1, timestamp: -1 }, 'timestamp', 'invalid_request'],
        [{ participant_id: 'p', score: 1, timestamp: 1.5 }, 'timestamp', 'invalid_request'],
        [{ participant_id: 'p', score: 1, timestamp: 2 ** 53 }, 'timestamp', 'invalid_request'],
        [{ participant_id: 'p', score: 1, event_id: '' }, 'event_id', 'invalid_request'],
        [{ participant_id: 'p', score: 1, metadata: [1] }, 'metadata', 'invalid_request'],
        [{ participant_id: 'p', score: 1, extra: true }, 'extra', 'invalid_request'],
        [[1, 2], 'body', 'invalid_request'],
      ];
      for (const [body, field, code] of cases) {
        const res = await submit(id, body as Record<string, unknown>);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, code, JSON.stringify(body));
        assert.equal(res.body.error.details.field, field, JSON.stringify(body));
        assert.ok(res.body.error.message.startsWith(field), res.body.error.message);
      }
      const deep = `{"participant_id":"p","score":1,"metadata":{"a":${'['.repeat(20000)}${']'.repeat(20000)}}}`;
      const nested = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, raw: deep });
      assert.equal(nested.status, 400);
      assert.equal(nested.body.error.details.field, 'metadata');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).body.total, 0);
    });

    it('accepts any timestamp in [0, 2^53) and the edges of the score range', async () => {
      const id = await createBoard();
      assert.equal((await submit(id, { participant_id: 'a', score: 1, timestamp: 0 })).status, 200);
      assert.equal((await submit(id, { participant_id: 'b', score: 1, timestamp: MAX })).status, 200);
    });

    it('rejects an increment that would overflow, and keeps the score', async () => {
      const id = await createBoard({ operator: 'increment' });
      await submit(id, { participant_id: 'p', score: MAX });
      const res = await submit(id, { participant_id: 'p', score: 1 });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'score_overflow');
      assert.equal(res.body.error.details.field, 'score');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/participants/p`)).body.score, MAX);
    });

    it('answers malformed JSON, wrong media types and oversized bodies with 4xx', async () => {
      const id = await createBoard();
      const path = `/v1/leaderboards/${id}/scores`;
      const bad = await api(server, 'POST', path, { key, raw: '{"participant_id": "p", "score": ' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'malformed_json');
      const empty = await api(server, 'POST', path, { key, raw: '' });
      assert.equal(empty.status, 400);
      const proto = await api(server, 'POST', path, { key, raw: '{"participant_id":"p","score":1,"__proto__":{"x":1}}' });
      assert.equal(proto.status, 400);
      const text = await api(server, 'POST', path, { key, raw: 'participant_id=p', headers: { 'content-type': 'text/plain' } });
      assert.equal(text.status, 415);
      assert.equal(text.body.error.code, 'unsupported_media_type');
      // Behind the cluster suites' TCP proxy the 413 is lost: the server resets a connection whose
      // body it stops reading, and the reset discards the answer in the proxy's receive buffer.
      if (process.env.LADDER_TEST_CLUSTER === '1') return;
      const huge = await api(server, 'POST', path, { key, raw: JSON.stringify({ participant_id: 'p', score: 1, pad: 'x'.repeat(5 * 1024 * 1024) }) });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'payload_too_large');
    });

    it('answers 404 for an unknown board', async () => {
      const res = await submit('no-such-board', { participant_id: 'p', score: 1 });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'board_not_found');
    });
  });

  describe('batch', () => {
    it('applies every valid item in order and reports each bad one alone', async () => {
      const id = await createBoard();
      const res = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, {
        key,
        body: {
          scores: [
            { participant_id: 'a', score: 10, timestamp: 1 },
            { participant_id: 'b', score: 'x' },
            { participant_id: 'b', score: 20, timestamp: 2 },
            { score: 5 },
            { participant_id: 'a', score: 30, timestamp: 3 },
          ],
        },
      });
      assert.equal(res.status, 200);
      const [a1, bad1, b, bad2, a2] = res.body.results;
      assert.equal(a1.rank, 1);
      assert.equal(bad1.error.code, 'invalid_score');
      assert.equal(bad1.error.details.field, 'scores[1].score');
      assert.equal(b.rank, 1);
      assert.equal(bad2.error.details.field, 'scores[3].participant_id');
      assert.deepEqual([a2.rank, a2.previous_rank, a2.version], [1, 2, 3]);
    });

    it('bounds the batch size and deduplicates event ids inside a batch', async () => {
      const id = await createBoard({ operator: 'increment' });
      const tooMany = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, {
        key,
        body: { scores: Array.from({ length: 1001 }, (_, i) => ({ participant_id: `p${i}`, score: 1 })) },
      });
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.error.details.field, 'scores');
      const item = { participant_id: 'p', score: 4, event_id: 'dup' };
      const res = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, { key, body: { scores: [item, item] } });
      assert.deepEqual(res.body.results[0], res.body.results[1]);
      assert.equal(res.body.results[0].score, 4);
      for (const bad of [{}, { scores: [] }, { scores: 'x' }]) {
        assert.equal((await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, { key, body: bad })).status, 400);
      }
    });
  });

  describe('queries', () => {
    let id: string;
    before(async () => {
      id = await createBoard();
      const scores = Array.from({ length: 30 }, (_, i) => ({ participant_id: `p${String(i).padStart(2, '0')}`, score: i * 10, timestamp: 1000 + i }));
      await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, { key, body: { scores } });
    });

    it('pages with limit and offset', async () => {
      const res = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?limit=5&offset=2`);
      assert.equal(res.status, 200);
      assert.equal(res.body.leaderboard_id, id);
      assert.equal(res.body.total, 30);
      assert.equal(res.body.version, 30);
      assert.deepEqual(res.body.entries[0], { rank: 3, participant_id: 'p27', score: 270, achieved_at: 1027 });
      assert.deepEqual(res.body.entries.map((e: { rank: number }) => e.rank), [3, 4, 5, 6, 7]);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/rankings`)).body.entries.length, 30);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/rankings?offset=100`)).body.entries.length, 0);
    });

    it('centres a window around a participant', async () => {
      const res = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?around=p15&limit=5`);
      assert.deepEqual(res.body.entries.map((e: { participant_id: string }) => e.participant_id), ['p17', 'p16', 'p15', 'p14', 'p13']);
      const top = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?around=p29&limit=5`);
      assert.equal(top.body.entries[0].rank, 1);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/rankings?around=nobody`)).body.error.code, 'participant_not_found');
    });

    it('ranks a list of friends', async () => {
      const res = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?participants=p01,p20,ghost,p10`);
      assert.deepEqual(res.body.entries.map((e: { rank: number; participant_id: string }) => [e.rank, e.participant_id]), [[10, 'p20'], [20, 'p10'], [29, 'p01']]);
    });

    it('answers a participant with percentile and neighbours', async () => {
      const res = await api(server, 'GET', `/v1/leaderboards/${id}/participants/p20?neighbors=2`);
      assert.equal(res.status, 200);
      assert.equal(res.body.rank, 10);
      assert.equal(res.body.percentile, Math.round((20 / 29) * 10000) / 100);
      assert.deepEqual(res.body.neighbors.above.map((e: { participant_id: string }) => e.participant_id), ['p22', 'p21']);
      assert.deepEqual(res.body.neighbors.below.map((e: { participant_id: string }) => e.participant_id), ['p19', 'p18']);
      const leader = await api(server, 'GET', `/v1/leaderboards/${id}/participants/p29`);
      assert.deepEqual(leader.body.neighbors.above, []);
      assert.equal(leader.body.percentile, 100);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/participants/ghost`)).status, 404);
    });

    it('rejects bad query parameters, naming them', async () => {
      for (const [query, field] of [
        ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'], ['offset=-1', 'offset'],
        ['around=a%2Fb', 'around'], ['participants=a,b%2Fc', 'participants'], ['bogus=1', 'bogus'], ['around=p1&participants=p2', 'around'],
      ]) {
        const res = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?${query}`);
        assert.equal(res.status, 400, query);
        assert.equal(res.body.error.details.field, field, query);
      }
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}/participants/p1?neighbors=101`)).status, 400);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/bad%20id/rankings`)).status, 400);
    });

    it('answers 304 to If-None-Match while the version is unchanged', async () => {
      const first = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?limit=3`);
      const etag = first.headers.get('etag') as string;
      assert.ok(etag);
      const again = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?limit=3`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body: { participant_id: 'new', score: 5 } });
      const changed = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?limit=3`, { headers: { 'if-none-match': etag } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get('etag'), etag);
    });

    // The poll's own timeout is far beyond the test's, so only the submission can end it.
    it('long-polls until the version passes the given one', { timeout: 20_000 }, async () => {
      const board = await createBoard();
      let answered = false;
      const poll = api(server, 'GET', `/v1/leaderboards/${board}/rankings?wait_for_version_after=0&timeout_ms=600000`).finally(() => (answered = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(answered, false, 'the poll waits while the version is unchanged');
      await submit(board, { participant_id: 'p', score: 1 });
      const res = await poll;
      assert.equal(res.body.version, 1);
      const timedOut = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?wait_for_version_after=1&timeout_ms=50`);
      assert.equal(timedOut.status, 200);
      assert.equal(timedOut.body.version, 1);
    });
  });

  describe('auth', () => {
    it('requires a key with the right scope for writes', async () => {
      const id = await createBoard();
      const body = { participant_id: 'p', score: 1 };
      const missing = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { body });
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error.code, 'missing_api_key');
      const wrong = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: 'ldr_nope', body });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'invalid_api_key');

      const readKey = (await api(server, 'POST', '/v1/keys', { key, body: { scope: 'read', name: 'viewer' } })).body.key;
      const forbidden = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: readKey, body });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, 'forbidden');

      const writeKey = (await api(server, 'POST', '/v1/keys', { key, body: { scope: 'write' } })).body.key;
      assert.equal((await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: writeKey, body })).status, 200);
      assert.equal((await api(server, 'DELETE', `/v1/leaderboards/${id}`, { key: writeKey })).status, 403);
      assert.equal((await api(server, 'POST', '/v1/keys', { key: writeKey, body: { scope: 'admin' } })).status, 403);
    });

    it('keeps reads public unless LADDER_READ_AUTH', async () => {
      const guarded = await startServer({ readAuth: true });
      try {
        const denied = await api(guarded, 'GET', '/v1/leaderboards');
        assert.equal(denied.status, 401);
        assert.equal((await api(guarded, 'GET', '/v1/leaderboards', { key: guarded.adminKey })).status, 200);
        assert.equal((await api(guarded, 'GET', `/v1/leaderboards?key=${guarded.adminKey}`)).status, 200);
      } finally {
        await guarded.close();
      }
    });
  });

  it('answers unknown routes with the error shape and never a 5xx', async () => {
    const res = await api(server, 'GET', '/v1/nothing');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'route_not_found');
    assert.equal((await api(server, 'GET', '/healthz')).body.status, 'ok');
  });
});
