/**
 * Webhooks through the front door, against a real receiver (node:http on
 * 127.0.0.1): a period closes when the service's clock (a ManualClock the
 * test moves) passes its end, and its final rankings are POSTed, signed,
 * retried until a 2xx, resumed after a restart, and delivered once when two
 * members race to close the same period. The same suite runs against a
 * two-member cluster (test/cluster-suites/webhooks.test.ts).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startLadder, type RunningLadder } from '../src/app.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { generateKey } from '../src/service/auth.js';
import { ManualClock } from '../src/service/clock.js';
import type { Ladder } from '../src/service/ladder.js';
import { nextAttempt, retryDelay, WEBHOOK_MAX_AGE_MS, WEBHOOK_RETRY_CAP_MS } from '../src/core/webhooks.js';
import { signWebhook, verifyWebhookSignature } from '../src/service/webhook-signature.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const CLUSTER = process.env.LADDER_TEST_CLUSTER === '1';

/** Noon of 2030-01-01 (UTC): a daily board's first period ends 12 h later. */
const NOON = Date.UTC(2030, 0, 1, 12);
const MIDNIGHT = Date.UTC(2030, 0, 2);
/** A short backoff, so that a retry is due a moment after a failure (the tests move the clock past it). */
const OVERRIDES: Partial<Config> = { webhookRetryMs: 100 };

type Behaviour = 'ok' | 'fail' | 'drop' | 'hang';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A webhook receiver: it answers each POST as the next queued behaviour says
 * (then 'ok' for good): 200, 500, a dropped connection, or no answer at all.
 */
class Receiver {
  readonly received: Received[] = [];
  readonly #behaviours: Behaviour[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #hanging: ServerResponse[] = [];
  #waiters: { count: number; wake: () => void }[] = [];

  private constructor(server: Server, behaviours: Behaviour[]) {
    this.#server = server;
    this.#behaviours = behaviours;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        this.received.push({ headers: request.headers, body });
        this.#waiters = this.#waiters.filter((waiter) => (this.received.length >= waiter.count ? (waiter.wake(), false) : true));
        const behaviour = this.#behaviours.shift() ?? 'ok';
        // Connection: close, so that no attempt meets a kept-alive socket the receiver closed meanwhile.
        if (behaviour === 'ok') response.writeHead(200, { connection: 'close' }).end('thanks');
        else if (behaviour === 'fail') response.writeHead(500, { connection: 'close', 'content-type': 'text/plain' }).end('database down');
        else if (behaviour === 'drop') request.socket.destroy();
        else this.#hanging.push(response);
      });
    });
  }

  static async start(...behaviours: Behaviour[]): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new Receiver(server, behaviours);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `count` POSTs have arrived. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((wake) => this.#waiters.push({ count, wake }));
  }

  /** The bodies received, parsed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into the JSON bodies
  bodies(): any[] {
    return this.received.map((request) => JSON.parse(request.body));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Polls `check` until it returns a value other than undefined (a store state another member records, say). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Setup {
  readonly server: TestServer;
  readonly clock: ManualClock;
  readonly receiver: Receiver;
  readonly board: string;
  readonly secret: string;
  /** The period id of the board's first period. */
  readonly period: string;
}

/** What each test started, stopped after it in reverse order. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server on a clock at NOON, a receiver, and a daily board with a webhook of its top 2 and three scores. */
async function setUp(behaviours: Behaviour[] = [], board: Record<string, unknown> = { reset: 'daily' }): Promise<Setup> {
  const clock = new ManualClock(NOON);
  const server = await startServer(OVERRIDES, { clock });
  const receiver = await Receiver.start(...behaviours);
  cleanups.push(() => server.close(), () => receiver.close());
  const id = boardId('hook');
  const created = await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id, sort_order: 'desc', operator: 'best', webhook_url: receiver.url, webhook_top: 2, ...board } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(typeof created.body.webhook_secret, 'string');
  await submitScores(server, id);
  return { server, clock, receiver, board: id, secret: created.body.webhook_secret, period: created.body.period ?? 'final' };
}

async function submitScores(server: { url: string; adminKey: string }, id: string): Promise<void> {
  for (const [participant_id, score, metadata] of [['ann', 300, { team: 'red' }], ['bob', 200, undefined], ['cid', 100, undefined]] as const) {
    const submitted = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key: server.adminKey, body: { participant_id, score, metadata } });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
  }
}

/** The board's deliveries as an admin lists them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into the JSON answer
async function deliveries(server: { url: string; adminKey: string }, id: string): Promise<any[]> {
  const listed = await api(server, 'GET', `/v1/leaderboards/${id}/webhooks`, { key: server.adminKey });
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  return listed.body.deliveries;
}

/** Waits until the board's only delivery satisfies `check`, and answers it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into the JSON answer
async function deliveryWhen(server: { url: string; adminKey: string }, id: string, what: string, check: (delivery: any) => boolean): Promise<any> {
  return eventually(what, async () => {
    const [delivery, ...others] = await deliveries(server, id);
    assert.deepEqual(others, [], 'one delivery');
    return delivery !== undefined && check(delivery) ? delivery : undefined;
  });
}

/** Moves the clock past the end of the board's period and closes it. */
async function closePeriod(setup: { clock: ManualClock; server: { ladder: Ladder } }, at = MIDNIGHT + 1000): Promise<void> {
  setup.clock.set(at);
  await setup.server.ladder.lifecycle.runDue();
}

describe('webhook backoff and signature', () => {
  it('doubles the wait from the base up to an hour, less up to half of it at random', () => {
    assert.deepEqual([1, 2, 3, 4].map((attempt) => retryDelay(1000, attempt, 0)), [1000, 2000, 4000, 8000]);
    assert.deepEqual([1, 2, 3].map((attempt) => retryDelay(1000, attempt, 0.999_999)), [500, 1000, 2000]);
    assert.equal(retryDelay(1000, 13, 0), WEBHOOK_RETRY_CAP_MS);
    assert.equal(retryDelay(1000, 10_000, 0), WEBHOOK_RETRY_CAP_MS, 'no overflow after many attempts');
    assert.equal(retryDelay(1, 1, 0.999_999), 1, 'never 0');
  });

  it('gives up once the next attempt would come more than 3 days after the close', () => {
    assert.equal(nextAttempt(0, 1000, 1000, 1, 0), 2000);
    assert.equal(nextAttempt(0, WEBHOOK_MAX_AGE_MS - 1000, 1000, 1, 0), WEBHOOK_MAX_AGE_MS);
    assert.equal(nextAttempt(0, WEBHOOK_MAX_AGE_MS - 999, 1000, 1, 0), null);
  });

  it('verifies a signature of the exact body, with the secret, within the tolerance', () => {
    const body = '{"event":"period_closed"}';
    const now = Date.now();
    const header = signWebhook('secret', body, now);
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature('secret', header, body, now), true);
    assert.equal(verifyWebhookSignature('secret', header, `${body} `, now), false);
    assert.equal(verifyWebhookSignature('other', header, body, now), false);
    assert.equal(verifyWebhookSignature('secret', header, body, now + 5 * 60_000 + 1), false, 'too old');
    assert.equal(verifyWebhookSignature('secret', header.replace(/t=\d+/, `t=${now + 1}`), body, now), false, 'the time is signed');
    for (const broken of ['', 'v1=00', `t=${now}`, `t=x,v1=${'0'.repeat(64)}`, `t=${now},v1=zz`]) assert.equal(verifyWebhookSignature('secret', broken, body, now), false, broken);
  });
});

describe('webhooks', { timeout: 60_000 }, () => {
  it("POSTs the closed period's final rankings once, signed with the board's webhook_secret", async () => {
    const setup = await setUp();
    const { server, receiver, board, secret, period } = setup;
    assert.equal(period, '2030-01-01');
    assert.deepEqual(await deliveries(server, board), [], 'nothing owed before a close');
    const named = await api(server, 'PUT', '/v1/participants/ann', { key: server.adminKey, body: { display_name: 'Ann' } });
    assert.equal(named.status, 200, JSON.stringify(named.body));
    await closePeriod(setup);
    await receiver.waitFor(1);
    const [request] = receiver.received;
    assert.deepEqual(JSON.parse(request!.body), {
      event: 'period_closed',
      delivery_id: `${board}/2030-01-01`,
      attempt: 1,
      leaderboard_id: board,
      period: '2030-01-01',
      starts_at: Date.UTC(2030, 0, 1),
      ends_at: MIDNIGHT,
      closed_at: MIDNIGHT + 1000,
      total: 3,
      entries: [
        { rank: 1, participant_id: 'ann', score: 300, achieved_at: NOON, display_name: 'Ann', metadata: { team: 'red' } },
        { rank: 2, participant_id: 'bob', score: 200, achieved_at: NOON },
      ],
    });
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['ladder-delivery'], `${board}/2030-01-01`);
    assert.equal(request!.headers['ladder-event'], 'period_closed');
    const signature = request!.headers['ladder-signature'] as string;
    assert.equal(verifyWebhookSignature(secret, signature, request!.body), true);
    assert.equal(verifyWebhookSignature('another secret', signature, request!.body), false);
    assert.equal(verifyWebhookSignature(secret, signature, request!.body.replace('"score":300', '"score":301')), false, 'the body is signed');
    // The README's recipe, by hand.
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    assert.equal(createHmac('sha256', secret).update(`${t}.${request!.body}`).digest('hex'), v1);
    assert.ok(Math.abs(Number(t) - Date.now()) < 60_000, 'signed at the wall-clock time');

    const delivered = await deliveryWhen(server, board, 'the success to be recorded', (delivery) => delivery.state === 'delivered');
    assert.deepEqual(delivered, {
      delivery_id: `${board}/2030-01-01`,
      period: '2030-01-01',
      state: 'delivered',
      url: receiver.url,
      attempts: 1,
      created_at: MIDNIGHT + 1000,
      next_attempt_at: null,
      delivered_at: MIDNIGHT + 1000,
      last_error: null,
    });
    // Delivered is delivered: later passes, much later, send nothing more.
    setup.clock.advance(86_400_000 - 2000);
    await server.ladder.webhooks.runDue();
    assert.equal(receiver.received.length, 1);
  });

  it('retries a receiver that fails (500, then a dropped connection) until it answers 2xx: three attempts, one success', async () => {
    const setup = await setUp(['fail', 'drop', 'ok']);
    const { server, receiver, board, clock } = setup;
    await closePeriod(setup);
    await receiver.waitFor(1);
    const first = await deliveryWhen(server, board, 'the 500 to be recorded', (delivery) => delivery.state === 'retrying');
    assert.equal(first.attempts, 1);
    assert.equal(first.last_error, 'HTTP 500: database down');
    const backoff = first.next_attempt_at - clock.now();
    assert.ok(backoff >= 50 && backoff <= 100, `the first retry waits LADDER_WEBHOOK_RETRY_MS less jitter, not ${backoff} ms`);
    await server.ladder.webhooks.runDue();
    assert.equal(receiver.received.length, 1, 'not due before its backoff');

    clock.advance(backoff);
    await server.ladder.webhooks.runDue();
    await receiver.waitFor(2);
    const second = await deliveryWhen(server, board, 'the dropped connection to be recorded', (delivery) => delivery.state === 'retrying' && delivery.attempts === 2);
    assert.match(second.last_error, /fetch failed|socket|closed/i);
    const secondBackoff = second.next_attempt_at - clock.now();
    assert.ok(secondBackoff >= 100 && secondBackoff <= 200, `the second retry waits twice as long, not ${secondBackoff} ms`);

    clock.advance(secondBackoff);
    await server.ladder.webhooks.runDue();
    await receiver.waitFor(3);
    const done = await deliveryWhen(server, board, 'the success to be recorded', (delivery) => delivery.state === 'delivered');
    assert.equal(done.attempts, 3);
    assert.equal(done.delivered_at, clock.now());
    assert.equal(done.last_error, second.last_error, 'the last failure stays on record');
    assert.deepEqual(receiver.bodies().map((body) => body.attempt), [1, 2, 3]);
    assert.deepEqual(new Set(receiver.received.map((request) => request.headers['ladder-delivery'])), new Set([`${board}/2030-01-01`]), 'one id for every attempt');

    clock.advance(3_600_000);
    await server.ladder.webhooks.runDue();
    assert.equal(receiver.received.length, 3, 'no attempt after the success');
  });

  it('posts board_finalized when a board closes: its last period, or its archive "final" without resets', async () => {
    const daily = await setUp();
    const closed = await api(daily.server, 'POST', `/v1/leaderboards/${daily.board}/close`, { key: daily.server.adminKey });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    await daily.receiver.waitFor(1);
    const [last] = daily.receiver.bodies();
    assert.deepEqual([last.event, last.period, last.total, last.closed_at], ['board_finalized', '2030-01-01', 3, NOON]);

    // A fixed-point board: scores go out in its decimals, as its answers show them.
    const plain = await setUp([], { score_decimals: 2 });
    assert.equal(plain.period, 'final');
    await api(plain.server, 'POST', `/v1/leaderboards/${plain.board}/close`, { key: plain.server.adminKey });
    await plain.receiver.waitFor(1);
    const [final] = plain.receiver.bodies();
    assert.deepEqual([final.event, final.period, final.delivery_id, final.entries.length], ['board_finalized', 'final', `${plain.board}/final`, 2]);
    assert.deepEqual(final.entries.map((entry: { score: number }) => entry.score), [300, 200]);
    assert.equal(plain.receiver.received[0]!.headers['ladder-event'], 'board_finalized');
  });

  it('leaves participants the board hides out of the final top, and the ranks close up', async () => {
    const setup = await setUp([], { score_decimals: 0 });
    const hidden = await api(setup.server, 'POST', `/v1/leaderboards/${setup.board}/participants/ann/hide`, { key: setup.server.adminKey });
    assert.equal(hidden.status, 200);
    await api(setup.server, 'POST', `/v1/leaderboards/${setup.board}/close`, { key: setup.server.adminKey });
    await setup.receiver.waitFor(1);
    const [body] = setup.receiver.bodies();
    assert.deepEqual(body.entries.map((entry: { rank: number; participant_id: string }) => `${entry.rank}:${entry.participant_id}`), ['1:bob', '2:cid']);
  });

  it('gives a delivery up 3 days after its close, or once the board has no webhook any more', async () => {
    // Boards without resets, closed by hand: moving the clock by days closes nothing else.
    const setup = await setUp(['fail', 'fail', 'fail'], {});
    const { server, receiver, board, clock } = setup;
    await api(server, 'POST', `/v1/leaderboards/${board}/close`, { key: server.adminKey });
    await receiver.waitFor(1);
    await deliveryWhen(server, board, 'the first failure', (delivery) => delivery.state === 'retrying');
    clock.advance(3 * 86_400_000);
    await server.ladder.webhooks.runDue();
    await receiver.waitFor(2);
    const failed = await deliveryWhen(server, board, 'the delivery to be given up', (delivery) => delivery.state === 'failed');
    assert.deepEqual([failed.attempts, failed.next_attempt_at, failed.delivered_at, failed.last_error], [2, null, null, 'HTTP 500: database down']);
    clock.advance(86_400_000);
    await server.ladder.webhooks.runDue();
    assert.equal(receiver.received.length, 2, 'never tried again');

    // A board whose webhook was removed after a failed attempt.
    const other = boardId('hook');
    await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id: other, sort_order: 'desc', operator: 'best', webhook_url: receiver.url } });
    await submitScores(server, other);
    await api(server, 'POST', `/v1/leaderboards/${other}/close`, { key: server.adminKey });
    await receiver.waitFor(3);
    await deliveryWhen(server, other, 'the failure', (delivery) => delivery.state === 'retrying');
    const patched = await api(server, 'PATCH', `/v1/leaderboards/${other}`, { key: server.adminKey, body: { webhook_url: null } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    clock.advance(3_600_000);
    await server.ladder.webhooks.runDue();
    const removed = await deliveryWhen(server, other, 'the delivery to be given up', (delivery) => delivery.state === 'failed');
    assert.equal(removed.last_error, 'the board has no webhook_url any more');
    assert.equal(receiver.received.length, 3, 'nothing sent unsigned');
  });

  it('lists deliveries to admins only, newest first; 404 for an unknown board', async () => {
    const setup = await setUp();
    const { server, board } = setup;
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/webhooks`)).status, 401);
    const writer = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope: 'write' } });
    assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/webhooks`, { key: writer.body.key })).status, 403);
    const unknown = await api(server, 'GET', '/v1/leaderboards/no-such-board/webhooks', { key: server.adminKey });
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'board_not_found']);
    const bad = await api(server, 'GET', `/v1/leaderboards/${board}/webhooks?limit=0`, { key: server.adminKey });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'invalid_request']);

    await closePeriod(setup);
    await setup.receiver.waitFor(1);
    await submitScores(server, board);
    await closePeriod(setup, MIDNIGHT + 86_400_000 + 1000);
    await setup.receiver.waitFor(2);
    const listed = await eventually('both deliveries to be recorded', async () => {
      const all = await deliveries(server, board);
      return all.length === 2 && all.every((delivery) => delivery.state === 'delivered') ? all : undefined;
    });
    assert.deepEqual(listed.map((delivery) => delivery.period), ['2030-01-02', '2030-01-01']);
    const page = await api(server, 'GET', `/v1/leaderboards/${board}/webhooks?limit=1&before=${listed[0].created_at}`, { key: server.adminKey });
    assert.deepEqual(page.body.deliveries.map((delivery: { period: string }) => delivery.period), ['2030-01-01']);
  });

  it('resumes a delivery that a stop cut short when Ladder starts again', async () => {
    const clock = new ManualClock(NOON);
    const receiver = await Receiver.start('hang');
    cleanups.push(() => receiver.close());
    const deployment = await restartable(clock);
    cleanups.push(() => deployment.close());
    const id = boardId('hook');
    const created = await api(deployment.current, 'POST', '/v1/leaderboards', { key: deployment.adminKey, body: { id, sort_order: 'desc', operator: 'best', reset: 'daily', webhook_url: receiver.url } });
    await submitScores({ url: deployment.current.url, adminKey: deployment.adminKey }, id);
    clock.set(MIDNIGHT + 1000);
    await deployment.current.ladder.lifecycle.runDue();
    await receiver.waitFor(1);

    // Stopped while the receiver has not answered: the attempt is aborted and due again at once.
    await deployment.restart();
    await receiver.waitFor(2);
    const server = { url: deployment.current.url, adminKey: deployment.adminKey };
    const delivered = await deliveryWhen(server, id, 'the resumed delivery to be recorded', (delivery) => delivery.state === 'delivered');
    assert.equal(delivered.attempts, 2);
    assert.equal(delivered.last_error, 'Ladder stopped during the attempt');
    const [first, second] = receiver.received;
    assert.equal(first!.headers['ladder-delivery'], second!.headers['ladder-delivery'], 'the receiver can tell the repeat by its id');
    assert.equal(verifyWebhookSignature(created.body.webhook_secret, second!.headers['ladder-signature'] as string, second!.body), true);
    assert.equal(receiver.bodies()[1].total, 3);
  });

  it('delivers once when members race to close the same period', async () => {
    const clock = new ManualClock(NOON);
    const receiver = await Receiver.start();
    cleanups.push(() => receiver.close());
    const members = await racingMembers(clock);
    cleanups.push(() => members.close());
    const id = boardId('hook');
    const server = { url: members.url, adminKey: members.adminKey };
    await api(server, 'POST', '/v1/leaderboards', { key: members.adminKey, body: { id, sort_order: 'desc', operator: 'best', reset: 'daily', webhook_url: receiver.url } });
    await submitScores(server, id);
    // Every member hears of the board before the race.
    await eventually('every member to know the board', async () => (members.ladders.every((ladder) => ladder.boardRules(id) !== undefined) ? true : undefined));
    clock.set(MIDNIGHT + 1000);
    await Promise.all(members.ladders.map((ladder) => ladder.lifecycle.runDue()));
    await receiver.waitFor(1);
    await deliveryWhen(server, id, 'the success to be recorded', (delivery) => delivery.state === 'delivered' && delivery.attempts === 1);
    await Promise.all(members.ladders.map((ladder) => ladder.webhooks.runDue()));
    assert.equal(receiver.received.length, 1, 'one POST');
    const periods = await api(server, 'GET', `/v1/leaderboards/${id}/periods`);
    assert.deepEqual(
      periods.body.periods.map((period: { period: string; status: string }) => [period.period, period.status]),
      [['2030-01-02', 'active'], ['2030-01-01', 'closed']],
      'one close',
    );
  });
});

/** A deployment that can be stopped and started again on the same durable state: one embedded process, or a cluster of one member. */
async function restartable(clock: ManualClock): Promise<{ readonly current: RunningLadder; readonly adminKey: string; restart(): Promise<void>; close(): Promise<void> }> {
  const adminKey = generateKey();
  if (CLUSTER) {
    const { startCluster } = await import('./helpers/cluster.js');
    const cluster = await startCluster({ members: 1, overrides: { ...OVERRIDES, adminKey }, clock });
    let current = cluster.members[0]!;
    return {
      get current() {
        return current;
      },
      adminKey,
      async restart() {
        await current.close();
        current = await cluster.addMember();
      },
      close: () => cluster.close(),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-webhooks-'));
  const config = loadConfig({}, { port: 0, logLevel: 'silent', ...OVERRIDES, dataDir, adminKey });
  let current = await startLadder(config, undefined, { clock });
  return {
    get current() {
      return current;
    },
    adminKey,
    async restart() {
      await current.close();
      current = await startLadder(config, undefined, { clock });
    },
    async close() {
      await current.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Members that race for the same closes: a cluster's two, or, embedded, the one process twice over. */
async function racingMembers(clock: ManualClock): Promise<{ readonly url: string; readonly adminKey: string; readonly ladders: readonly Ladder[]; close(): Promise<void> }> {
  if (CLUSTER) {
    const { startCluster } = await import('./helpers/cluster.js');
    const cluster = await startCluster({ members: 2, overrides: OVERRIDES, clock });
    return { url: cluster.url, adminKey: cluster.adminKey, ladders: cluster.members.map((member) => member.ladder), close: () => cluster.close() };
  }
  const server = await startServer(OVERRIDES, { clock });
  return { url: server.url, adminKey: server.adminKey, ladders: [server.ladder, server.ladder], close: () => server.close() };
}
