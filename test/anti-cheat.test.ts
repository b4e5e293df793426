/**
 * A board's anti-cheat rules and per-participant rate limit: each rule's
 * 422 and the 429 with its headers, set at creation and changed later by
 * PATCH, judged item by item in a batch, and every refusal kept in the
 * participant's history.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

describe('anti-cheat rules and rate limits of a board', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  async function board(settings: Record<string, unknown>, operator = 'best', sortOrder = 'desc'): Promise<string> {
    const id = boardId('rules');
    const created = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: sortOrder, operator, ...settings } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return id;
  }
  const submit = (id: string, participant: string, score: number) => api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: server.adminKey, body: { participant_id: participant, score } });
  const codes = async (id: string, participant: string) => {
    const history = await api(server, 'GET', `/v1/leaderboards/${id}/participants/${participant}/events`, { key: server.adminKey });
    assert.equal(history.status, 200);
    return history.body.events.filter((item: { outcome: string }) => item.outcome === 'rejected').map((item: { code: string }) => item.code);
  };

  it('refuses scores outside min_score and max_score with 422, and records them', async () => {
    const id = await board({ rules: { min_score: 0, max_score: 1000 } });
    const high = await submit(id, 'p1', 1001);
    assert.equal(high.status, 422);
    assert.equal(high.body.error.code, 'rule_max_score');
    assert.match(high.body.error.message, /p1/);
    assert.equal((await submit(id, 'p1', -1)).body.error.code, 'rule_min_score');
    assert.equal((await submit(id, 'p1', 1000)).status, 200);
    const shown = await api(server, 'GET', `/v1/leaderboards/${id}`, { key: server.adminKey });
    assert.deepEqual(shown.body.rules, { min_score: 0, max_score: 1000, max_increase: null, max_increase_per_window: null, monotonic: false });
    await eventuallyEqual(() => codes(id, 'p1'), ['rule_min_score', 'rule_max_score']);
    const counted = await api(server, 'GET', `/v1/leaderboards/${id}/participants/p1/moderation`, { key: server.adminKey });
    assert.deepEqual(counted.body.rejections, { rule_min_score: 1, rule_max_score: 1 });
    assert.equal(counted.body.hidden, null);
  });

  it('bounds the total of an increment board, and its increments by max_increase', async () => {
    const id = await board({ rules: { max_score: 100, max_increase: 30 } }, 'increment');
    assert.equal((await submit(id, 'p1', 30)).status, 200);
    assert.equal((await submit(id, 'p1', 31)).body.error.code, 'rule_max_increase');
    assert.equal((await submit(id, 'p1', 30)).status, 200);
    assert.equal((await submit(id, 'p1', 30)).status, 200);
    assert.equal((await submit(id, 'p1', 30)).body.error.code, 'rule_max_score');
    const standing = await api(server, 'GET', `/v1/leaderboards/${id}/participants/p1`, { key: server.adminKey });
    assert.equal(standing.body.score, 90);
  });

  it('max_increase compares with the current score; a first score improves on nothing', async () => {
    const id = await board({ rules: { max_increase: 100 } });
    assert.equal((await submit(id, 'p1', 5000)).status, 200);
    assert.equal((await submit(id, 'p1', 5101)).body.error.code, 'rule_max_increase');
    assert.equal((await submit(id, 'p1', 5100)).status, 200);
    // Worse scores on a best board change nothing and pass.
    assert.equal((await submit(id, 'p1', 10)).status, 200);
  });

  it('speaks of improvement on an asc board (lower is better)', async () => {
    const id = await board({ rules: { max_increase: 10, monotonic: true } }, 'latest', 'asc');
    assert.equal((await submit(id, 'p1', 100)).status, 200);
    assert.equal((await submit(id, 'p1', 89)).body.error.code, 'rule_max_increase');
    assert.equal((await submit(id, 'p1', 90)).status, 200);
    assert.equal((await submit(id, 'p1', 95)).body.error.code, 'rule_monotonic');
  });

  it('monotonic refuses what would make a latest or increment score worse', async () => {
    const latest = await board({ rules: { monotonic: true } }, 'latest');
    assert.equal((await submit(latest, 'p1', 50)).status, 200);
    assert.equal((await submit(latest, 'p1', 40)).body.error.code, 'rule_monotonic');
    assert.equal((await submit(latest, 'p1', 50)).status, 200);
    const increment = await board({ rules: { monotonic: true } }, 'increment');
    assert.equal((await submit(increment, 'p1', 5)).status, 200);
    assert.equal((await submit(increment, 'p1', -1)).body.error.code, 'rule_monotonic');
  });

  it('max_increase_per_window bounds the improvements of a window', async () => {
    const id = await board({ rules: { max_increase_per_window: { amount: 100, window_ms: 60_000 } } }, 'increment');
    assert.equal((await submit(id, 'p1', 60)).status, 200);
    const over = await submit(id, 'p1', 41);
    assert.equal(over.status, 422);
    assert.equal(over.body.error.code, 'rule_max_increase_per_window');
    assert.equal((await submit(id, 'p1', 40)).status, 200);
    // Another participant has a window of their own.
    assert.equal((await submit(id, 'p2', 100)).status, 200);
  });

  it('judges the items of a batch one by one, as if sent in order', async () => {
    const id = await board({ rules: { max_increase: 10 } }, 'latest');
    const batch = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, {
      key: server.adminKey,
      body: { scores: [{ participant_id: 'p1', score: 100, timestamp: 1 }, { participant_id: 'p1', score: 110, timestamp: 2 }, { participant_id: 'p1', score: 125, timestamp: 3 }, { participant_id: 'p2', score: 7, timestamp: 1 }] },
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(
      batch.body.results.map((r: { error?: { code: string } }) => r.error?.code ?? 'ok'),
      ['ok', 'ok', 'rule_max_increase', 'ok'],
    );
  });

  it('changes rules by PATCH, field by field, and drops them with null', async () => {
    const id = await board({});
    assert.equal((await submit(id, 'p1', 5000)).status, 200);
    let patched = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key: server.adminKey, body: { rules: { max_score: 100 } } });
    assert.equal(patched.status, 200);
    patched = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key: server.adminKey, body: { rules: { min_score: 1 } } });
    assert.equal(patched.body.rules.max_score, 100);
    assert.equal(patched.body.rules.min_score, 1);
    // Every process hears a change of rules at once (in cluster mode over the bus, a moment later).
    await eventuallyEqual(async () => (await submit(id, 'p2', 101)).body.error?.code, 'rule_max_score');
    patched = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key: server.adminKey, body: { rules: { max_score: null } } });
    assert.equal(patched.body.rules.max_score, null);
    await eventuallyEqual(async () => (await submit(id, 'p2', 101)).status, 200);
    patched = await api(server, 'PATCH', `/v1/leaderboards/${id}`, { key: server.adminKey, body: { rules: null } });
    assert.equal(patched.body.rules, null);
  });

  it('refuses rules that do not fit, naming the field', async () => {
    for (const [rules, field] of [
      [{ min_score: 10, max_score: 5 }, 'rules.max_score'],
      [{ max_increase: -1 }, 'rules.max_increase'],
      [{ max_increase_per_window: { amount: 5 } }, 'rules.max_increase_per_window'],
      [{ max_score: 1.5 }, 'rules.max_score'],
      [{ bogus: 1 }, 'rules'],
    ] as const) {
      const answer = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id: boardId('bad'), sort_order: 'desc', operator: 'best', rules } });
      assert.ok(answer.status === 400, `${JSON.stringify(rules)}: ${answer.status}`);
      assert.match(answer.body.error.message, new RegExp(field.replace(/\./g, '\\.')), JSON.stringify(answer.body));
    }
    const rate = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id: boardId('bad'), sort_order: 'desc', operator: 'best', rate_limit: { max: 0, window_ms: 1000 } } });
    assert.equal(rate.status, 400);
    assert.match(rate.body.error.message, /rate_limit\.max/);
  });

  it('takes rule scores in the board decimals', async () => {
    const id = await board({ score_decimals: 2, rules: { max_score: 9.99 } });
    assert.equal((await submit(id, 'p1', 9.99)).status, 200);
    const over = await submit(id, 'p1', 10);
    assert.equal(over.body.error.code, 'rule_max_score');
    assert.match(over.body.error.message, /9\.99/);
  });

  it('limits submissions per participant with 429, Retry-After and RateLimit headers, and records them', async () => {
    const id = await board({ rate_limit: { max: 3, window_ms: 60_000 } });
    for (let i = 1; i <= 3; i++) assert.equal((await submit(id, 'p1', i)).status, 200);
    const limited = await submit(id, 'p1', 4);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(limited.headers.get('ratelimit-limit'), '3');
    assert.equal(limited.headers.get('ratelimit-remaining'), '0');
    assert.ok(Number(limited.headers.get('ratelimit-reset')) >= 1);
    // Per participant: another one still submits.
    assert.equal((await submit(id, 'p2', 1)).status, 200);
    const batch = await api(server, 'POST', `/v1/leaderboards/${id}/scores/batch`, { key: server.adminKey, body: { scores: [{ participant_id: 'p1', score: 9 }, { participant_id: 'p2', score: 9 }] } });
    assert.deepEqual(
      batch.body.results.map((r: { error?: { code: string } }) => r.error?.code ?? 'ok'),
      ['rate_limited', 'ok'],
    );
    await eventuallyEqual(async () => (await codes(id, 'p1')).length, 2);
  });
});

async function eventuallyEqual(read: () => Promise<unknown>, expected: unknown): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const actual = await read();
    try {
      assert.deepEqual(actual, expected);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
