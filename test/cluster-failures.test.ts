/**
 * Cluster mode when a part fails (issue 8), on the machine's Redis and a
 * throwaway PostgreSQL database:
 * - one of two `ladder serve` processes is killed with SIGKILL under write
 *   load, its commits to PostgreSQL hung just before: every acknowledged
 *   score is ranked by the survivor, reaches PostgreSQL exactly once (the
 *   survivor claims what the dead one read but did not acknowledge), and a
 *   viewer of the dead member resumes on the survivor without a gap;
 * - PostgreSQL becomes unreachable (a TCP proxy the test closes) while
 *   writes go on: they are still acknowledged (by Redis), reads and viewers
 *   keep working, /healthz reports the persister's lag, and once PostgreSQL
 *   is back the persister catches up with every event exactly once;
 * - the persister alone, each race made to happen: a trim while another
 *   member reads the stream, and a commit that fails mid-drain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { startLadder, type RunningLadder } from '../src/app.js';
import { Persister, PERSISTER_GROUP } from '../src/backend/persister.js';
import { loadConfig } from '../src/core/config.js';
import { newEpoch } from '../src/core/epoch.js';
import type { BoardConfig } from '../src/core/types.js';
import { RedisIndex } from '../src/index/redis.js';
import { decodeLogEntry } from '../src/index/redis-log.js';
import { generateKey } from '../src/service/auth.js';
import { PostgresStore } from '../src/store/postgres.js';
import { skipWithoutCluster } from './helpers/cluster.js';
import { TestDatabase } from './helpers/postgres.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { eventually, FeedClient, restWindow, sleep, wsUrl } from './helpers/realtime.js';
import { connectTestRedis, testRedisUrl, type TestRedis } from './helpers/redis.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { api } from './helpers/server.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const skip = await skipWithoutCluster('the cluster failure suite (test/cluster-failures.test.ts)');

interface Target {
  readonly url: string;
  readonly adminKey: string;
}

interface IncrementEvent {
  readonly participant_id: string;
  readonly score: number;
  readonly event_id: string;
}

/** Polls `check` every `everyMs` until it passes, or rethrows its last failure after `ms` (for checks that open connections). */
async function until(check: () => Promise<void>, ms: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(everyMs);
    }
  }
}

async function createIncrementBoard(target: Target, id: string): Promise<void> {
  const res = await api(target, 'POST', '/v1/leaderboards', { key: target.adminKey, body: { id, sort_order: 'desc', operator: 'increment' } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** Each participant's score after the events: the sum of their deltas (increment). */
function expectedScores(events: readonly IncrementEvent[]): Map<string, number> {
  const scores = new Map<string, number>();
  for (const event of events) scores.set(event.participant_id, (scores.get(event.participant_id) ?? 0) + event.score);
  return scores;
}

/** The whole ranking as participant → score, after checking that it is in rank order with ranks 1..n. */
async function rankedScores(target: Target, board: string): Promise<Map<string, number>> {
  const res = await api(target, 'GET', `/v1/leaderboards/${board}/rankings?limit=1000`, { key: target.adminKey });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const entries = res.body.entries as { rank: number; participant_id: string; score: number }[];
  entries.forEach((entry, i) => {
    assert.equal(entry.rank, i + 1);
    if (i > 0) assert.ok(entries[i - 1]!.score >= entry.score, `rank ${entry.rank} scores more than rank ${entry.rank - 1}`);
  });
  assert.equal(res.body.total, entries.length);
  return new Map(entries.map((entry) => [entry.participant_id, entry.score]));
}

/** Fails unless PostgreSQL's log of the board holds exactly these events, each once, with its delta. */
async function assertLoggedOnce(database: TestDatabase, board: string, events: readonly IncrementEvent[]): Promise<void> {
  const rows = await database.query<{ event_id: string | null; submitted: string; copies: string }>(
    'SELECT event_id, min(submitted) AS submitted, count(*) AS copies FROM score_events WHERE board_id = $1 GROUP BY event_id',
    [board],
  );
  const logged = new Map(rows.map((row) => [row.event_id, row]));
  const missing = events.filter((event) => !logged.has(event.event_id)).map((event) => event.event_id);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${events.length} acknowledged events are not in PostgreSQL`);
  const twice = rows.filter((row) => Number(row.copies) !== 1).map((row) => `${row.event_id} ×${row.copies}`);
  assert.deepEqual(twice, [], 'every event is logged once');
  assert.equal(rows.length, events.length, 'no event beyond the acknowledged ones is logged');
  for (const event of events) assert.equal(Number(logged.get(event.event_id)!.submitted), event.score, event.event_id);
}

async function health(target: { url: string }): Promise<{ persister_lag_events: number; persister_lag_ms: number }> {
  const res = await api(target, 'GET', '/healthz');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The view's local copy in the client equals what REST answers, and at the same version. */
async function assertViewerConsistent(viewer: FeedClient, sub: string, target: Target, board: string, top: number): Promise<void> {
  const rest = await api(target, 'GET', `/v1/leaderboards/${board}/rankings?limit=${top}`, { key: target.adminKey });
  assert.equal(viewer.states.get(sub)?.version, rest.body.version, 'the viewer is at the version REST answers');
  assert.deepEqual(viewer.entries(sub), await restWindow(target, board, { top }));
}

describe('cluster mode: a member killed with SIGKILL under write load', { skip }, () => {
  const adminKey = 'ldr_cluster-failures-test-key';
  let redis: TestRedis;
  let database: TestDatabase;
  /** The victim's way to PostgreSQL, stalled just before the kill. */
  let victimDatabase: TcpProxy;
  const members: ServerProcess[] = [];
  const sockets: FeedClient[] = [];

  before(async () => {
    redis = (await connectTestRedis(['the cluster failure suite']))!;
    database = await TestDatabase.create();
    victimDatabase = await TcpProxy.start(new URL(database.url));
    const env = {
      LADDER_REDIS_URL: testRedisUrl,
      LADDER_DATABASE_URL: database.url,
      LADDER_REDIS_PREFIX: redis.prefix,
      LADDER_ADMIN_KEY: adminKey,
      LADDER_TICK_MS: '10',
    };
    // One after the other: the first migrates the database.
    members.push(await startServerProcess({ ...env, LADDER_DATABASE_URL: victimDatabase.via(database.url) }));
    members.push(await startServerProcess(env));
  });

  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    for (const member of members) {
      if (member.child.exitCode === null && member.child.signalCode === null) {
        member.child.kill('SIGTERM');
        await member.exited;
      }
    }
    await victimDatabase?.stop();
    await redis?.cleanup();
    await database?.drop();
  });

  it('loses no acknowledged score: the survivor ranks them all, PostgreSQL logs each once, and the viewer resumes there', async () => {
    const [victim, survivor] = members.map((member): Target => ({ url: member.url, adminKey }));
    const board = 'killed';
    await createIncrementBoard(victim!, board);

    const TOP = 50;
    const viewer = await FeedClient.connect(wsUrl(victim!, board));
    sockets.push(viewer);
    assert.equal((await viewer.subscribe('top', { top: TOP })).type, 'snapshot');

    const acked: IncrementEvent[] = [];
    const refused: string[] = [];
    let ackedByVictim = 0;
    let stop = false;
    // Eight writers, half of them on each member; a writer whose member died sends the same event to the survivor.
    const writer = async (w: number) => {
      let target = w % 2 === 0 ? victim! : survivor!;
      for (let i = 0; !stop; i++) {
        const event: IncrementEvent = { participant_id: `p${(w * 7 + i) % 40}`, score: 1 + (i % 3), event_id: `w${w}-${i}` };
        let res;
        for (let attempt = 1; ; attempt++) {
          try {
            res = await api(target, 'POST', `/v1/leaderboards/${board}/scores`, { key: adminKey, body: event });
            break;
          } catch (err) {
            // fetch failed: the member is gone. A retry of the event id is applied once, wherever it lands.
            if (attempt >= 3) throw err;
            target = survivor!;
          }
        }
        if (res.status === 200) {
          acked.push(event);
          if (target === victim) ackedByVictim += 1;
        } else {
          refused.push(`${event.event_id}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await sleep(1_000);
    // The victim's commits to PostgreSQL hang from now on, so it dies with stream entries that it
    // read and did not acknowledge: only the survivor's claim can bring those to PostgreSQL.
    victimDatabase.stall();
    await sleep(300);
    members[0]!.child.kill('SIGKILL');
    assert.equal(await members[0]!.exited, 'SIGKILL');
    // Its connections close, as the kernel closes a dead process's. (Stalled, the proxy would not notice,
    // and PostgreSQL would keep the session and the board's row lock of the commit it hangs in.)
    await victimDatabase.stop();
    const ackedBeforeKill = acked.length;
    const stream = `${redis.prefix}{${board}}:log`;
    const pendingAtKill = (await redis.client.xpending(stream, PERSISTER_GROUP, '-', '+', 10_000)) as [string, string, number, number][];
    const victimConsumer = new RegExp(`-${members[0]!.child.pid}-[0-9a-f]+$`);
    assert.ok(
      pendingAtKill.some(([, consumer]) => victimConsumer.test(consumer)),
      `the killed member left entries it read unacknowledged: ${JSON.stringify(pendingAtKill.slice(0, 5))}`,
    );

    // The viewer lost its member: it reconnects to the survivor and resumes from its version and epoch.
    await viewer.closed;
    assert.deepEqual(viewer.gaps, []);
    const state = viewer.states.get('top');
    assert.ok(state !== undefined, 'the viewer had a state of its view');
    const resumed = await FeedClient.connect(wsUrl(survivor!, board));
    sockets.push(resumed);
    resumed.states.set('top', state);
    const answer = await resumed.subscribe('top', { top: TOP }, state.version, state.epoch);
    assert.ok(answer.type === 'resumed' || answer.type === 'snapshot', JSON.stringify(answer));

    // The writers go on on the survivor for a while.
    await sleep(1_000);
    stop = true;
    await Promise.all(writers);
    assert.deepEqual(refused, [], 'every submission was acknowledged, by one member or the other');
    assert.ok(ackedByVictim > 0 && ackedBeforeKill > 0, 'the killed member acknowledged writes before it died');
    assert.ok(acked.length > ackedBeforeKill, 'the survivor acknowledged writes after the kill');

    // Redis: the ranking is exactly what the acknowledged submissions make.
    assert.deepEqual(await rankedScores(survivor!, board), expectedScores(acked));
    // The viewer's copy is the survivor's ranking, at its version, with no gap.
    await eventually(() => assertViewerConsistent(resumed, 'top', survivor!, board, TOP), 3_000);
    assert.deepEqual(resumed.gaps, []);

    // PostgreSQL: the survivor's persister reads what no one read, and claims (after 10 s idle) what the dead member read.
    await until(() => assertLoggedOnce(database, board, acked), 25_000, 500);
    await until(async () => assert.equal((await health(survivor!)).persister_lag_events, 0), 5_000);
    const [pending] = (await redis.client.xpending(stream, PERSISTER_GROUP)) as [number, ...unknown[]];
    assert.equal(pending, 0, 'no stream entry is left unacknowledged');
  });
});

describe('cluster mode: PostgreSQL unreachable while writes go on', { skip }, () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let member: RunningLadder;
  let viewer: FeedClient | undefined;
  const logs: { level: number; msg: string }[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const adminKey = generateKey();

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = (await connectTestRedis(['the cluster failure suite']))!;
    database = await TestDatabase.create();
    proxy = await TcpProxy.start(new URL(database.url));
    const config = loadConfig({}, { port: 0, logLevel: 'warn', tickMs: 10, adminKey, redisUrl: testRedisUrl, databaseUrl: proxy.via(database.url), redisPrefix: redis.prefix });
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
    member = await startLadder(config, logger);
  });

  after(async () => {
    viewer?.ws.terminate();
    // Up again (when a failure left it down), so that the member closes at once.
    await proxy?.resume().catch(() => undefined);
    await member?.close();
    await proxy?.stop();
    await redis?.cleanup();
    await database?.drop();
    process.off('unhandledRejection', onUnhandled);
  });

  it('acknowledges writes from Redis while PostgreSQL is down, reports the lag, and catches up once it is back', async () => {
    const target: Target = { url: member.url, adminKey };
    const board = 'outage';
    await createIncrementBoard(target, board);
    const events: IncrementEvent[] = [];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const event: IncrementEvent = { participant_id: `p${events.length % 13}`, score: 1 + (events.length % 4), event_id: `e${events.length}` };
        const res = await api(target, 'POST', `/v1/leaderboards/${board}/scores`, { key: adminKey, body: event });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        events.push(event);
      }
    };

    await write(20);
    await until(() => assertLoggedOnce(database, board, events), 5_000);
    viewer = await FeedClient.connect(wsUrl(target, board));
    assert.equal((await viewer.subscribe('top', { top: 20 })).type, 'snapshot');

    await proxy.stop();
    const warningsBefore = logs.length;
    await write(30);
    // Reads and the live feed need only Redis.
    assert.deepEqual(await rankedScores(target, board), expectedScores(events));
    await eventually(() => assertViewerConsistent(viewer!, 'top', target, board, 20), 3_000);
    // After a sweep, /healthz counts what waits for PostgreSQL: the 30 events written during the outage.
    await until(async () => assert.equal((await health(target)).persister_lag_events, 30), 10_000);
    assert.ok(
      logs.slice(warningsBefore).some((line) => /persister failed/.test(line.msg)),
      `the persister says that it failed: ${JSON.stringify(logs.slice(warningsBefore))}`,
    );
    // Still down for a few sweeps: the persister keeps retrying, and writes are still answered.
    await sleep(2_500);
    await write(10);

    await proxy.resume();
    await until(() => assertLoggedOnce(database, board, events), 15_000, 500);
    await until(async () => {
      const lag = await health(target);
      assert.deepEqual([lag.persister_lag_events, lag.persister_lag_ms], [0, 0]);
    }, 5_000);
    assert.deepEqual(await rankedScores(target, board), expectedScores(events));
    assert.deepEqual(viewer.gaps, []);
    assert.deepEqual(unhandled, [], 'no promise rejection went unhandled');
  });
});

/** A board in PostgreSQL and in Redis, as a member makes it, and a writer that applies `n` increments of 1 with event ids e0, e1, … */
async function openBoard(store: PostgresStore, index: RedisIndex, id: string) {
  const board: BoardConfig = { ...BOARD_DEFAULTS, id, name: id, sortOrder: 'desc', operator: 'increment', metadata: null, createdAt: 1 };
  const epoch = newEpoch();
  await store.createBoard(board, epoch);
  await index.open(board, { epoch, version: 0 });
  let written = 0;
  const write = (n: number) =>
    index.submit(id, Array.from({ length: n }, () => ({ participantId: `p${written % 3}`, score: 1, timestamp: 1_000, eventId: `e${written++}`, metadata: null })));
  return { stream: index.keys(id).log, write };
}

async function loggedEventIds(database: TestDatabase, boardId: string): Promise<string[]> {
  const rows = await database.query<{ event_id: string }>('SELECT event_id FROM score_events WHERE board_id = $1 ORDER BY seq', [boardId]);
  return rows.map((row) => row.event_id);
}

const eventIds = (n: number) => Array.from({ length: n }, (_, i) => `e${i}`);

describe('cluster mode: the persister, when another member dies mid-read or a commit fails', { skip }, () => {
  let redis: TestRedis;
  let database: TestDatabase;
  /** The store's way to PostgreSQL. */
  let proxy: TcpProxy;
  let store: PostgresStore;
  let index: RedisIndex;
  const persisters: Persister[] = [];

  /** A persister that the test sweeps (none on its own), claiming entries idle for `claimIdleMs`. */
  const persisterOf = (client: Redis, claimIdleMs: number, errors: unknown[] = []) => {
    const persister = new Persister(client, store, {
      consumer: 'survivor',
      streamKey: (boardId) => index.keys(boardId).log,
      decode: decodeLogEntry,
      boardIds: () => store.listBoards().then((boards) => boards.map((stored) => stored.config.id)),
      sweepMs: 3_600_000,
      claimIdleMs,
      onError: (err) => errors.push(err),
    });
    persisters.push(persister);
    return persister;
  };

  before(async () => {
    redis = (await connectTestRedis(['the cluster failure suite']))!;
    database = await TestDatabase.create();
    proxy = await TcpProxy.start(new URL(database.url));
    store = await PostgresStore.open({ url: proxy.via(database.url), onWarning: () => undefined });
    index = new RedisIndex(redis.client, { prefix: redis.prefix });
  });

  after(async () => {
    await proxy?.resume();
    for (const persister of persisters) await persister.close();
    await store?.close();
    await proxy?.stop();
    await redis?.cleanup();
    await database?.drop();
  });

  it('keeps, when it trims, the entries that another member read meanwhile, so that they are claimed and persisted when it dies', async () => {
    const { stream, write } = await openBoard(store, index, 'trimmed');
    // Between the persister's two reads of the group's state when it trims, another member writes
    // and reads entries, and dies before it acknowledges them. (The trim is the only place that
    // reads the group's state while the persister drains; the hook runs once.)
    let stateReads = 0;
    let armed = false;
    const otherMemberReads = async () => {
      await write(3);
      await redis.client.xreadgroup('GROUP', PERSISTER_GROUP, 'dead-member', 'COUNT', 100, 'STREAMS', stream, '>');
    };
    const client = new Proxy(redis.client, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        const method = value.bind(target) as (...args: unknown[]) => Promise<unknown>;
        if (property !== 'xpending' && property !== 'xinfo') return method;
        return async (...args: unknown[]) => {
          if (armed && ++stateReads === 2) await otherMemberReads();
          return method(...args);
        };
      },
    });
    // What the dead member read is claimed at the first sweep.
    const persister = persisterOf(client, 0);

    await write(5);
    armed = true;
    persister.touched('trimmed');
    await persister.flush();
    assert.ok(stateReads >= 2, 'the other member read during the trim');
    const [pending, , , consumers] = (await redis.client.xpending(stream, PERSISTER_GROUP)) as [number, string, string, [string, string][]];
    assert.deepEqual([pending, consumers], [3, [['dead-member', '3']]]);
    assert.equal(await redis.client.xlen(stream), 3, 'the trim kept exactly the entries that are not acknowledged');

    await persister.sweep();
    assert.deepEqual(await loggedEventIds(database, 'trimmed'), eventIds(8));
  });

  it('retries at the next sweep what a drain read and could not commit, without waiting for the claim', async () => {
    const { stream, write } = await openBoard(store, index, 'retried');
    const errors: unknown[] = [];
    // A claim would take an hour: only the retry of the failed drain can persist them in this test.
    const persister = persisterOf(redis.client, 3_600_000, errors);
    await write(4);
    persister.touched('retried');
    await persister.flush();
    assert.deepEqual(await loggedEventIds(database, 'retried'), eventIds(4));

    await proxy.stop();
    await write(6);
    persister.touched('retried');
    await persister.flush();
    assert.ok(errors.length > 0, 'the drain failed');
    const [pending] = (await redis.client.xpending(stream, PERSISTER_GROUP)) as [number, ...unknown[]];
    assert.equal(pending, 6, 'what it read waits, unacknowledged');
    // A sweep while PostgreSQL is down lists no boards from it, and still measures the lag.
    await persister.sweep();
    assert.equal(persister.lag.events, 6);

    await proxy.resume();
    await persister.sweep();
    assert.deepEqual(await loggedEventIds(database, 'retried'), eventIds(10));
    // A sweep measures the lag before it drains: the next one finds nothing waiting.
    await persister.sweep();
    assert.deepEqual(persister.lag, { events: 0, ms: 0 });
    assert.equal(((await redis.client.xpending(stream, PERSISTER_GROUP)) as [number])[0], 0, 'nothing is left unacknowledged');
  });
});
