/**
 * A participant's history, `GET /v1/leaderboards/{id}/participants/{pid}/events`,
 * through the real server: accepted and refused submissions with their
 * reasons, newest first, and its cursor pages. test/cluster-suites/history.test.ts
 * runs it again against two members, with LADDER_ACK=durable there, so that
 * an accepted submission is in PostgreSQL (where the history is read) once
 * it is answered.
 *
 * Refusals are recorded write-behind (service/rejections.ts): a test waits
 * for them to show, polling the endpoint.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { LadderClient } from '../src/client/index.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const MAX = Number.MAX_SAFE_INTEGER;

describe('participant history', () => {
  let server: TestServer;
  let key: string;

  before(async () => {
    server = await startServer({ ack: 'durable' });
    key = server.adminKey;
  });
  after(async () => server.close());

  async function createBoard(operator = 'best'): Promise<string> {
    const id = boardId('hist');
    const res = await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  }

  const submit = (id: string, body: unknown) => api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body });
  const batch = (id: string, scores: unknown[]) => api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, { key, body: { scores } });
  const historyPath = (id: string, pid: string, query = '') => `/v1/leaderboards/${id}/participants/${pid}/events${query}`;

  /** The first page once it holds `count` events (refusals are recorded write-behind). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answer's JSON
  async function historyOf(id: string, pid: string, count: number, query = '?limit=1000'): Promise<any> {
    for (let attempt = 0; ; attempt++) {
      const res = await api(server, 'GET', historyPath(id, pid, query));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      if (res.body.events.length >= count) {
        assert.equal(res.body.events.length, count, JSON.stringify(res.body.events));
        return res.body;
      }
      if (attempt === 500) assert.fail(`the history of ${pid} holds ${res.body.events.length} events, expected ${count}: ${JSON.stringify(res.body.events)}`);
      await sleep(10);
    }
  }

  /** Lets the clock move on, so that the next submission is received in a later millisecond. */
  const tick = () => sleep(2);

  it('lists accepted and refused submissions newest first, with what they did and why they were refused', async () => {
    const id = await createBoard();
    const first = await submit(id, { participant_id: 'alice', score: 100, event_id: 'm-1', timestamp: 1_000 });
    assert.equal(first.status, 200);
    await tick();
    assert.equal((await submit(id, { participant_id: 'alice', score: 40 })).status, 200, 'a worse score is accepted and changes nothing');
    await tick();
    const fractional = await submit(id, { participant_id: 'alice', score: 1.5 });
    assert.equal(fractional.status, 400);
    await tick();
    const conflict = await submit(id, { participant_id: 'alice', score: 101, event_id: 'm-1' });
    assert.equal(conflict.status, 409);
    await tick();
    const mixed = await batch(id, [
      { participant_id: 'alice', score: 250, event_id: 'm-2' },
      { participant_id: 'alice', score: 'lots', event_id: 'm-3' },
      { participant_id: 'bob', score: 7 },
    ]);
    assert.equal(mixed.status, 200);
    assert.equal(mixed.body.results[1].error.code, 'invalid_score');

    const history = await historyOf(id, 'alice', 6);
    assert.equal(history.leaderboard_id, id);
    assert.equal(history.participant_id, 'alice');
    assert.equal(history.next_cursor, null);
    const events = history.events;
    for (const event of events) assert.equal(typeof event.received_at, 'number');
    for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].received_at >= events[i].received_at, 'newest first');
    const without = events.map(({ received_at: _, timestamp: __, ...rest }: Record<string, unknown>) => rest);
    // The batch's two items share their millisecond: the accepted one comes first.
    assert.deepEqual(without, [
      { outcome: 'accepted', event_id: 'm-2', score: 250, old_score: 100, new_score: 250, old_rank: 1, new_rank: 1, version: 2, changed: true },
      { outcome: 'rejected', event_id: 'm-3', score: null, code: 'invalid_score', message: mixed.body.results[1].error.message },
      { outcome: 'rejected', event_id: 'm-1', score: 101, code: 'event_id_conflict', message: conflict.body.error.message },
      { outcome: 'rejected', event_id: null, score: 1.5, code: 'invalid_score', message: fractional.body.error.message },
      { outcome: 'accepted', event_id: null, score: 40, old_score: 100, new_score: 100, old_rank: 1, new_rank: 1, version: 1, changed: false },
      { outcome: 'accepted', event_id: 'm-1', score: 100, old_score: null, new_score: 100, old_rank: null, new_rank: 1, version: 1, changed: true },
    ]);
    assert.match(events[2].message, /m-1/);
    assert.equal(events[5].timestamp, 1_000, "the submission's own timestamp");
    assert.ok(Math.abs(events[4].timestamp - events[4].received_at) < 60_000, 'without one, the time it was received');
    assert.equal(events[3].timestamp, events[3].received_at, 'a refusal without one: the time it was received');
    assert.deepEqual(
      (await historyOf(id, 'bob', 1)).events.map((event: { outcome: string; score: number }) => [event.outcome, event.score]),
      [['accepted', 7]],
      "bob's history holds only his own",
    );
  });

  it('records a score_overflow with the submitted delta, and keeps a refused participant id out', async () => {
    const id = await createBoard('increment');
    assert.equal((await submit(id, { participant_id: 'carol', score: MAX })).status, 200);
    await tick();
    const overflow = await submit(id, { participant_id: 'carol', score: 1 });
    assert.equal(overflow.status, 400);
    assert.equal(overflow.body.error.code, 'score_overflow');
    const refused = await batch(id, [{ participant_id: 'not valid!', score: 1 }, { participant_id: 'carol', timestamp: -5, score: 2 }]);
    assert.equal(refused.body.results[0].error.code, 'invalid_request');
    const events = (await historyOf(id, 'carol', 3)).events;
    assert.deepEqual(
      events.map((event: Record<string, unknown>) => [event.outcome, event.code, event.score, event.timestamp]),
      [
        ['rejected', 'invalid_request', 2, -5],
        ['rejected', 'score_overflow', 1, events[1].received_at],
        ['accepted', undefined, MAX, events[2].timestamp],
      ],
    );
    assert.match(events[0].message, /^scores\[1\]\.timestamp/);
  });

  it('pages with cursors through every event exactly once, newest first, while new ones arrive', async () => {
    const id = await createBoard('increment');
    // 45 accepted and 30 refused submissions, interleaved.
    for (let round = 0; round < 15; round++) {
      const scores: unknown[] = [];
      for (let k = 0; k < 5; k++) {
        const n = round * 5 + k;
        scores.push(k % 5 < 3 ? { participant_id: 'dana', score: n, event_id: `ok-${n}` } : { participant_id: 'dana', score: n + 0.5, event_id: `bad-${n}` });
      }
      assert.equal((await batch(id, scores)).status, 200);
    }
    const keyOf = (event: { event_id: string }) => event.event_id;
    const limits = [1, 7, 50, 74, 75, 76];
    for (const [walk, limit] of limits.entries()) {
      // Each walk adds one event (below), which the next walk sees first.
      const all = (await historyOf(id, 'dana', 75 + walk)).events;
      assert.equal(new Set(all.map(keyOf)).size, all.length);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`;
        const page = await api(server, 'GET', historyPath(id, 'dana', query));
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.events.length <= limit);
        seen.push(...page.body.events.map(keyOf));
        cursor = page.body.next_cursor;
        pages += 1;
        // Newer submissions arrive meanwhile: a walk that started before them does not see them.
        if (pages === 2) assert.equal((await submit(id, { participant_id: 'dana', score: 1, event_id: `late-${limit}` })).status, 200);
      } while (cursor !== null);
      assert.deepEqual(seen, all.map(keyOf), `limit ${limit}: every event once, in the order of one page of all`);
      assert.equal(pages, Math.ceil(all.length / limit), `limit ${limit}: the last page ends the walk`);
    }
  });

  it('answers an empty list for a participant without events, and 404 for an unknown board', async () => {
    const id = await createBoard();
    const empty = await api(server, 'GET', historyPath(id, 'nobody'));
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { leaderboard_id: id, participant_id: 'nobody', events: [], next_cursor: null });
    const unknown = await api(server, 'GET', historyPath(boardId('missing'), 'alice'));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'board_not_found');
  });

  it('refuses a bad limit, cursor or participant id with 400 naming the field', async () => {
    const id = await createBoard();
    const bad = (text: string) => Buffer.from(text).toString('base64url');
    const cases: [string, string][] = [
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=ten', 'limit'],
      ['?cursor=', 'cursor'],
      ['?cursor=not-a-cursor', 'cursor'],
      [`?cursor=${bad('[1]')}`, 'cursor'],
      [`?cursor=${bad('[null,null]')}`, 'cursor'],
      [`?cursor=${bad('[-1,5]')}`, 'cursor'],
      [`?cursor=${bad('[1.5,5]')}`, 'cursor'],
      [`?cursor=${bad('{"a":1}')}`, 'cursor'],
      ['?colour=red', 'colour'],
    ];
    for (const [query, field] of cases) {
      const res = await api(server, 'GET', historyPath(id, 'alice', query));
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid_request', query);
      assert.equal(res.body.error.details.field, field, query);
    }
    const badId = await api(server, 'GET', historyPath(id, 'has%20space'));
    assert.equal(badId.status, 400);
    assert.equal(badId.body.error.details.field, 'pid');
  });

  it('forgets the history of a deleted board: created again, it starts empty', async () => {
    const id = await createBoard();
    await submit(id, { participant_id: 'erin', score: 5 });
    await submit(id, { participant_id: 'erin', score: 2.5 });
    await historyOf(id, 'erin', 2);
    assert.equal((await api(server, 'DELETE', `/v1/leaderboards/${id}`, { key })).status, 204);
    assert.equal((await api(server, 'GET', historyPath(id, 'erin'))).status, 404);
    assert.equal((await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best' } })).status, 201);
    assert.deepEqual((await api(server, 'GET', historyPath(id, 'erin'))).body.events, []);
  });

  it('is read by the TypeScript client, a page at a time', async () => {
    const id = await createBoard();
    const client = new LadderClient({ baseUrl: server.url, apiKey: key });
    await client.submitScores(id, [
      { participant_id: 'gus', score: 3 },
      { participant_id: 'gus', score: 0.5 },
      { participant_id: 'gus', score: 9 },
    ]);
    await historyOf(id, 'gus', 3);
    const first = await client.getParticipantHistory(id, 'gus', { limit: 2 });
    assert.equal(first.events.length, 2);
    assert.ok(first.next_cursor !== null);
    const rest = await client.getParticipantHistory(id, 'gus', { limit: 2, cursor: first.next_cursor });
    assert.equal(rest.next_cursor, null);
    const events = [...first.events, ...rest.events];
    assert.deepEqual(events.map((event) => (event.outcome === 'accepted' ? event.new_score : event.code)).sort(), [3, 9, 'invalid_score'].sort());
    await assert.rejects(client.getParticipantHistory(boardId('missing'), 'gus'), { code: 'board_not_found', status: 404 });
  });

  it('needs the read scope when reads need a key', async () => {
    const guarded = await startServer({ readAuth: true, ack: 'durable' });
    try {
      const id = boardId('hist');
      assert.equal((await api(guarded, 'POST', '/v1/leaderboards', { key: guarded.adminKey, body: { id, sort_order: 'desc', operator: 'best' } })).status, 201);
      const readKey = (await api(guarded, 'POST', '/v1/keys', { key: guarded.adminKey, body: { scope: 'read' } })).body.key as string;
      assert.equal((await api(guarded, 'GET', historyPath(id, 'alice'))).body.error.code, 'missing_api_key');
      const read = await api(guarded, 'GET', historyPath(id, 'alice'), { key: readKey });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.events, []);
    } finally {
      await guarded.close();
    }
  });
});
