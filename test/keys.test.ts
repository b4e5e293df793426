/**
 * API keys limited to boards: a key with `boards` acts on those boards (and
 * their scope and all-time rankings) only, in every route that names a board,
 * including live views; elsewhere it may only read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startServer, type TestServer } from './helpers/server.js';

describe('board-limited API keys', () => {
  let server: TestServer;
  let limited: string;
  let limitedId: string;

  before(async () => {
    server = await startServer({ readAuth: true });
    for (const id of ['mine', 'theirs']) {
      assert.equal((await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best' } })).status, 201);
    }
    const created = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope: 'write', name: 'game server', boards: ['mine'] } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.boards, ['mine']);
    limited = created.body.key;
    limitedId = created.body.id;
  });
  after(() => server.close());

  it('writes and reads its own board', async () => {
    assert.equal((await api(server, 'POST', '/v1/leaderboards/mine/scores', { key: limited, body: { participant_id: 'p1', score: 5 } })).status, 200);
    assert.equal((await api(server, 'GET', '/v1/leaderboards/mine/rankings', { key: limited })).status, 200);
    assert.equal((await api(server, 'GET', '/v1/leaderboards/mine/participants/p1', { key: limited })).status, 200);
  });

  it('gets 403 on any other board, naming the board', async () => {
    for (const [method, path, body] of [
      ['POST', '/v1/leaderboards/theirs/scores', { participant_id: 'p1', score: 5 }],
      ['POST', '/v1/leaderboards/theirs/scores/batch', { scores: [{ participant_id: 'p1', score: 5 }] }],
      ['GET', '/v1/leaderboards/theirs/rankings', undefined],
      ['GET', '/v1/leaderboards/theirs', undefined],
    ] as const) {
      const answer = await api(server, method, path, { key: limited, body });
      assert.equal(answer.status, 403, `${method} ${path}`);
      assert.equal(answer.body.error.code, 'forbidden');
      assert.equal(answer.body.error.details.leaderboard_id, 'theirs');
    }
  });

  it('may read what is on no one board, but not write there', async () => {
    assert.equal((await api(server, 'GET', '/v1/leaderboards', { key: limited })).status, 200);
    const create = await api(server, 'POST', '/v1/leaderboards', { key: limited, body: { id: 'new-one', sort_order: 'desc', operator: 'best' } });
    assert.equal(create.status, 403);
  });

  it('is listed with its boards, never its secret', async () => {
    const listed = await api(server, 'GET', '/v1/keys', { key: server.adminKey });
    const entry = listed.body.keys.find((k: { id: string }) => k.id === limitedId);
    assert.deepEqual(entry.boards, ['mine']);
    assert.equal(JSON.stringify(listed.body).includes(limited), false);
    const invalid = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope: 'read', boards: ['not a board!'] } });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /boards/);
  });
});
