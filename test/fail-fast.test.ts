/**
 * Cluster mode fails fast (issue 10, item 6): while PostgreSQL or Redis is
 * down (a TCP proxy in front of it closed) or hangs (the proxy forwards
 * nothing any more), a request that needs it answers 503 with Retry-After
 * and the code of the part that failed, instead of waiting; once the part is
 * back, the same request succeeds, without a restart. The bound on the
 * answer's time is a guard against a hang, far above the configured
 * timeouts, not a timing assertion.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningLadder } from '../src/app.js';
import { skipWithoutCluster } from './helpers/cluster.js';
import { startProxiedMember, type ProxiedMember } from './helpers/proxied-member.js';
import { api } from './helpers/server.js';
import type { TcpProxy } from './helpers/tcp-proxy.js';

const skip = await skipWithoutCluster('the fail-fast suite (test/fail-fast.test.ts)');

/** Far above every timeout the member is configured with below: only a hang takes longer. */
const HANG_GUARD_MS = 5_000;

describe('cluster mode: requests fail fast while PostgreSQL or Redis is down or hangs, and succeed once it is back', { skip }, () => {
  let proxied: ProxiedMember;
  let member: RunningLadder;
  let adminKey: string;
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let boards = 0;

  before(async () => {
    // Timeouts well under the hang guard.
    proxied = await startProxiedMember('the fail-fast suite', { databaseConnectTimeoutMs: 1_000, databaseQueryTimeoutMs: 1_000, redisCommandTimeoutMs: 1_000 });
    ({ member, adminKey, postgres: postgresProxy, redis: redisProxy } = proxied);
    assert.equal((await createBoard()).status, 201);
  });

  after(() => proxied?.close());

  /** A board creation: it writes to PostgreSQL. */
  const createBoard = () => api(member, 'POST', '/v1/leaderboards', { key: adminKey, body: { id: `b${boards++}`, sort_order: 'desc', operator: 'best' } });
  /** A submission: it goes to Redis (and, later, the persister moves it to PostgreSQL). */
  const submit = (score: number) => api(member, 'POST', '/v1/leaderboards/b0/scores', { key: adminKey, body: { participant_id: 'p', score, event_id: `e${score}` } });

  /** Answers the request's answer, checked to be a 503 with Retry-After and `code`, given before the hang guard. */
  async function refused(request: () => Promise<{ status: number; body: any; headers: Headers }>, code: string): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers
    const started = Date.now();
    const answer = await request();
    const tookMs = Date.now() - started;
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, code, JSON.stringify(answer.body));
    assert.equal(answer.headers.get('retry-after'), '1');
    assert.ok(tookMs < HANG_GUARD_MS, `answered after ${tookMs} ms`);
  }

  /** Retries the request until it answers `status` (the client reconnects in the background), for at most 15 s. */
  async function recovers(request: () => Promise<{ status: number; body: unknown }>, status: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const answer = await request();
      if (answer.status === status) return;
      if (Date.now() > deadline) assert.fail(`still ${answer.status} after the service came back: ${JSON.stringify(answer.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('answers 503 store_unavailable while PostgreSQL refuses connections, then creates boards again', async () => {
    await postgresProxy.stop();
    await refused(createBoard, 'store_unavailable');
    await postgresProxy.resume();
    await recovers(createBoard, 201);
  });

  it('answers 503 store_unavailable while PostgreSQL hangs, then creates boards again', async () => {
    postgresProxy.stall();
    await refused(createBoard, 'store_unavailable');
    await postgresProxy.stop();
    await postgresProxy.resume();
    await recovers(createBoard, 201);
  });

  it('answers 503 index_unavailable while Redis refuses connections, then takes scores again', async () => {
    assert.equal((await submit(1)).status, 200);
    await redisProxy.stop();
    await refused(() => submit(2), 'index_unavailable');
    await redisProxy.resume();
    await recovers(() => submit(3), 200);
  });

  it('answers 503 index_unavailable while Redis hangs, then takes scores again', async () => {
    redisProxy.stall();
    await refused(() => submit(4), 'index_unavailable');
    await redisProxy.stop();
    await redisProxy.resume();
    await recovers(() => submit(5), 200);
    const ranked = await api(member, 'GET', '/v1/leaderboards/b0/participants/p', { key: adminKey });
    assert.equal(ranked.body.score, 5);
  });
});
