/**
 * Hiding, unhiding and flagging a participant on a board: the hidden leave
 * every ranking (pages, around, friends, the participant answer, exports,
 * live views), the ranks below close up, their submissions are refused with
 * 403 and recorded, and unhiding brings them back as they were.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBoard, eventually, FeedClient, submit, wsUrl } from './helpers/realtime.js';
import { api, startServer, type TestServer } from './helpers/server.js';

describe('moderation: hide, unhide and flag participants', () => {
  let server: TestServer;
  const clients: FeedClient[] = [];
  before(async () => {
    server = await startServer({ tickMs: 10 });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await server.close();
  });

  const admin = (method: string, path: string, body?: unknown) => api(server, method, path, { key: server.adminKey, body });
  const ranking = async (board: string, query = '') => (await admin('GET', `/v1/leaderboards/${board}/rankings${query}`)).body;
  const ids = (body: { entries: { participant_id: string; rank: number }[] }) => body.entries.map((e) => `${e.rank}:${e.participant_id}`);

  /** p1 (50) .. p5 (10), then p3 hidden. */
  async function boardWithHidden(): Promise<string> {
    const board = await createBoard(server);
    for (let i = 1; i <= 5; i++) await submit(server, board, `p${i}`, 60 - i * 10);
    const hidden = await admin('POST', `/v1/leaderboards/${board}/participants/p3/hide`, { reason: 'impossible run' });
    assert.equal(hidden.status, 200, JSON.stringify(hidden.body));
    assert.equal(hidden.body.hidden.reason, 'impossible run');
    return board;
  }

  it('leaves the hidden out of rankings, and the ranks below close up', async () => {
    const board = await boardWithHidden();
    await eventually(async () => assert.deepEqual(ids(await ranking(board)), ['1:p1', '2:p2', '3:p4', '4:p5']));
    assert.equal((await ranking(board)).total, 4);
    assert.deepEqual(ids(await ranking(board, '?offset=2&limit=2')), ['3:p4', '4:p5']);
    assert.deepEqual(ids(await ranking(board, '?around=p4&limit=3')), ['2:p2', '3:p4', '4:p5']);
    assert.deepEqual(ids(await ranking(board, '?participants=p3,p5')), ['4:p5']);
    const standing = await admin('GET', `/v1/leaderboards/${board}/participants/p4?neighbors=1`);
    assert.equal(standing.body.rank, 3);
    assert.deepEqual(standing.body.neighbors.above.map((e: { participant_id: string }) => e.participant_id), ['p2']);
    assert.equal((await admin('GET', `/v1/leaderboards/${board}/participants/p3`)).status, 404);
    assert.equal((await admin('GET', `/v1/leaderboards/${board}/rankings?around=p3`)).status, 404);
    const exported = await api(server, 'GET', `/v1/leaderboards/${board}/export?format=ndjson`, { key: server.adminKey });
    assert.equal(String(exported.body).includes('p3'), false);
  });

  it("refuses the hidden participant's submissions with 403 and records them; others still rank right", async () => {
    const board = await boardWithHidden();
    await eventually(async () => {
      const refused = await admin('POST', `/v1/leaderboards/${board}/scores`, { participant_id: 'p3', score: 99 });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'participant_hidden');
    });
    const moved = await admin('POST', `/v1/leaderboards/${board}/scores`, { participant_id: 'p5', score: 35 });
    assert.equal(moved.status, 200);
    // p5 passed p4 (20) and the hidden p3 (30): rank 3 among the shown.
    assert.equal(moved.body.rank, 3);
    await eventually(async () => {
      const history = await admin('GET', `/v1/leaderboards/${board}/participants/p3/events`);
      assert.ok(history.body.events.some((e: { code?: string }) => e.code === 'participant_hidden'));
    });
  });

  it('unhides: the participant is back as they were', async () => {
    const board = await boardWithHidden();
    const unhidden = await admin('POST', `/v1/leaderboards/${board}/participants/p3/unhide`);
    assert.equal(unhidden.status, 200);
    assert.equal(unhidden.body.hidden, null);
    await eventually(async () => assert.deepEqual(ids(await ranking(board)), ['1:p1', '2:p2', '3:p3', '4:p4', '5:p5']));
    const standing = await admin('GET', `/v1/leaderboards/${board}/participants/p3`);
    assert.equal(standing.body.score, 30);
  });

  it('live views drop the hidden and bring them back, without a gap', async () => {
    const board = await createBoard(server);
    for (let i = 1; i <= 5; i++) await submit(server, board, `p${i}`, 60 - i * 10);
    const client = await FeedClient.connect(wsUrl(server, board));
    clients.push(client);
    await client.subscribe('top', { top: 3 });
    await admin('POST', `/v1/leaderboards/${board}/participants/p2/hide`);
    await eventually(() => assert.deepEqual(client.entries('top')?.map((e) => `${e.rank}:${e.participant_id}`), ['1:p1', '2:p3', '3:p4']));
    await admin('POST', `/v1/leaderboards/${board}/participants/p2/unhide`);
    await eventually(() => assert.deepEqual(client.entries('top')?.map((e) => `${e.rank}:${e.participant_id}`), ['1:p1', '2:p2', '3:p3']));
    assert.deepEqual(client.gaps, []);
  });

  it('flags for review without hiding, and lists both', async () => {
    const board = await boardWithHidden();
    const flagged = await admin('POST', `/v1/leaderboards/${board}/participants/p1/flag`, { reason: 'check replay' });
    assert.equal(flagged.status, 200);
    assert.equal(flagged.body.flagged.reason, 'check replay');
    // Without a body, and again: idempotent, the first mark stays.
    const again = await admin('POST', `/v1/leaderboards/${board}/participants/p1/flag`);
    assert.equal(again.body.flagged.reason, 'check replay');
    assert.deepEqual(ids(await ranking(board)).slice(0, 1), ['1:p1']);
    const listed = await admin('GET', `/v1/leaderboards/${board}/moderation`);
    assert.deepEqual(listed.body.hidden.map((m: { participant_id: string }) => m.participant_id), ['p3']);
    assert.deepEqual(listed.body.flagged.map((m: { participant_id: string; reason: string }) => [m.participant_id, m.reason]), [['p1', 'check replay']]);
    assert.equal((await admin('POST', `/v1/leaderboards/${board}/participants/p1/unflag`)).body.flagged, null);
  });

  it('needs an admin key, and names bad input', async () => {
    const board = await createBoard(server);
    const write = await admin('POST', '/v1/keys', { scope: 'write' });
    assert.equal((await api(server, 'POST', `/v1/leaderboards/${board}/participants/p1/hide`, { key: write.body.key })).status, 403);
    assert.equal((await api(server, 'POST', `/v1/leaderboards/${board}/participants/p1/hide`, {})).status, 401);
    const bad = await admin('POST', `/v1/leaderboards/${board}/participants/p1/hide`, { reason: 5 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /reason/);
    assert.equal((await admin('POST', `/v1/leaderboards/nope/participants/p1/hide`)).status, 404);
  });
});
