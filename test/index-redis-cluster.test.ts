/**
 * Cluster mode on a real Redis Cluster: three redis-server masters that this
 * file starts itself (test/helpers/redis-cluster.ts), reached through
 * connectRedis, as LADDER_REDIS_URL reaches them.
 *
 * - connectRedis: any live seed, or one node alone, joins the cluster.
 * - The RankIndex conformance suite, unchanged, over ioredis' Cluster client,
 *   and a check that boards really spread over the nodes, each board's keys
 *   on the one node that owns its hash tag's slot.
 * - The Redis bus between processes, and what it says after its pub/sub
 *   connection dropped or its node went away.
 * - A smoke test of whole Ladder members over HTTP and WebSocket: boards,
 *   single and batch submissions, rankings, a participant with neighbours, a
 *   live delta through another member, every event persisted to PostgreSQL,
 *   and `ladder rebuild` after one board's keys were lost.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis as IORedis, type Redis } from 'ioredis';
import { startLadder, type RunningLadder } from '../src/app.js';
import { connectRedis, type RedisClient } from '../src/backend/redis-client.js';
import { loadConfig, type Config } from '../src/core/config.js';
import type { BusMessage } from '../src/feed/bus.js';
import type { DeltaMessage, SnapshotMessage } from '../src/feed/protocol.js';
import { RedisBus } from '../src/feed/redis-bus.js';
import { RedisIndex } from '../src/index/redis.js';
import { generateKey } from '../src/service/auth.js';
import { indexConformance } from './conformance/index.js';
import { closedPort } from './helpers/ports.js';
import { skipWithoutPostgres, TestDatabase } from './helpers/postgres.js';
import { runCli } from './helpers/process.js';
import { eventually, FeedClient, sleep, wsUrl } from './helpers/realtime.js';
import { skipWithoutRedisServer, startRedisCluster, type TestRedisCluster } from './helpers/redis-cluster.js';
import { api } from './helpers/server.js';

const SUITES = [
  'connectRedis on a Redis Cluster',
  'RankIndex conformance: RedisIndex on a Redis Cluster',
  'RedisIndex on a Redis Cluster',
  'the Redis bus on a Redis Cluster',
  'cluster mode on a Redis Cluster',
];
const skipCluster = skipWithoutRedisServer(SUITES.join(', '));
const T0 = 1_700_000_000_000;

/** The keys under `prefix` that this node holds itself (SCAN on a cluster node sees only its own slots). */
async function keysOn(node: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1_000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** The board id of a key `<prefix>{<board>}:…`. */
function boardOf(key: string): string {
  return key.slice(key.indexOf('{') + 1, key.indexOf('}'));
}

/** Which node (index into cluster.nodes) owns the slot of `key`, by CLUSTER SLOTS. */
async function ownerOf(cluster: TestRedisCluster, key: string): Promise<number> {
  const slot = (await cluster.nodes[0]!.cluster('KEYSLOT', key)) as number;
  const range = (await cluster.nodes[0]!.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to);
  assert.ok(range?.[2] !== undefined, `slot ${slot} is served`);
  return cluster.ports.indexOf(range[2][1]);
}

if (skipCluster === false) {
  const cluster = await startRedisCluster();
  const client: RedisClient = await connectRedis(cluster.seeds);
  after(async () => {
    client.disconnect();
    await cluster.stop();
  });

  describe('connectRedis on a Redis Cluster', () => {
    it('takes the seed list and gets a cluster client that knows every master', () => {
      assert.ok(client instanceof Cluster, 'an ioredis Cluster');
      assert.equal(client.nodes('master').length, 3);
    });

    it('joins through any live seed, or through one node alone, and names every seed when none answers', async () => {
      const dead = `redis://127.0.0.1:${await closedPort()}`;
      for (const urls of [`${dead},${cluster.seeds}`, `redis://127.0.0.1:${cluster.ports[1]}`]) {
        const joined = await connectRedis(urls);
        try {
          assert.ok(joined instanceof Cluster, urls);
          assert.equal(joined.nodes('master').length, 3, urls);
        } finally {
          joined.disconnect();
        }
      }
      const alsoDead = `redis://u:secret@127.0.0.1:${await closedPort()}`;
      await assert.rejects(connectRedis(`${dead},${alsoDead}`), (err: Error) => {
        assert.ok(err.message.startsWith('cannot use the Redis of LADDER_REDIS_URL'), err.message);
        assert.ok(err.message.includes(`${dead}: connect ECONNREFUSED`), err.message);
        assert.ok(err.message.includes(`${alsoDead.replace('secret', '***')}: connect ECONNREFUSED`), err.message);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      });
    });
  });

  indexConformance('RedisIndex on a Redis Cluster', async () => RedisIndex.create(client, { prefix: `conf-${randomBytes(4).toString('hex')}:` }));

  describe('RedisIndex on a Redis Cluster', () => {
    it("spreads boards over the nodes, every key of a board on the node that owns its hash tag's slot", async () => {
      const prefix = `spread-${randomBytes(4).toString('hex')}:`;
      const index = new RedisIndex(client, { prefix });
      const ids = Array.from({ length: 12 }, (_, i) => `board-${i}`);
      for (const id of ids) {
        await index.open({ id, sortOrder: 'desc', operator: 'increment' }, { epoch: `epoch-${id}`, version: 0 });
        const eventId = `e-${id}`;
        await index.apply(id, [{ participantId: 'a', score: 1, timestamp: T0, eventId, metadata: { id } }]);
        // A load goes through temporary keys and a pipeline: the same slot too.
        await index.load(id, [{ participantId: 'b', score: 2, achievedAt: T0, updatedAt: T0, metadata: null }], { epoch: `loaded-${id}`, version: 5 });
        await index.apply(id, [{ participantId: 'c', score: 3, timestamp: T0, eventId, metadata: null }]);
      }
      const holders = new Map<string, number>();
      for (const [n, node] of cluster.nodes.entries()) {
        for (const key of await keysOn(node, prefix)) {
          const id = boardOf(key);
          assert.equal(holders.get(id) ?? n, n, `every key of ${id} on one node (${key})`);
          holders.set(id, n);
        }
      }
      assert.deepEqual([...holders.keys()].sort(), [...ids].sort(), 'every board has keys');
      for (const id of ids) assert.equal(holders.get(id), await ownerOf(cluster, index.keys(id).state), `${id} lives where its slot is served`);
      const used = new Set(holders.values());
      assert.ok(used.size >= 2, `the boards' keys sit on ${used.size} node(s) of 3`);
      for (const id of ids) {
        const read = await index.read(id, [{ kind: 'page', offset: 0, limit: 10 }]);
        assert.deepEqual(
          read.pages[0]!.entries.map((e) => [e.participantId, e.score]),
          [
            ['c', 3],
            ['b', 2],
          ],
        );
        await index.drop(id);
      }
      for (const node of cluster.nodes) assert.deepEqual(await keysOn(node, prefix), [], 'drop leaves nothing behind');
    });
  });

  describe('the Redis bus on a Redis Cluster', () => {
    const prefix = `bus-${randomBytes(4).toString('hex')}:`;
    let clients: RedisClient[];
    let writer: RedisBus;
    let reader: RedisBus;
    const heard: BusMessage[] = [];
    let resubscribed = 0;

    before(async () => {
      clients = [await connectRedis(cluster.seeds), await connectRedis(cluster.seeds)];
      writer = await RedisBus.open(clients[0]!, { prefix });
      reader = await RedisBus.open(clients[1]!, { prefix, onResubscribed: () => resubscribed++ });
      reader.subscribe((message) => heard.push(message));
      await reader.watch('watched');
    });
    after(async () => {
      await writer?.close();
      await reader?.close();
      for (const client of clients ?? []) client.disconnect();
    });

    /** Publishes a change from the writer until the reader hears it (pub/sub may drop what it sends while a subscription is on its way). */
    async function carried(version: number): Promise<void> {
      await eventually(async () => {
        writer.publish({ kind: 'changes', boardId: 'watched', epoch: 'e', version });
        await sleep(20);
        assert.ok(heard.some((m) => m.kind === 'changes' && m.version === version), `change ${version} reached the other process`);
      }, 10_000);
    }

    /** The reader announced its watched board as changed, and its registry as stale: it may have missed messages. */
    async function caughtUp(since: number): Promise<void> {
      await eventually(() => {
        assert.ok(resubscribed > since, 'onResubscribed');
        assert.ok(heard.some((m) => m.kind === 'board_reset' && m.boardId === 'watched'), `the watched board announced as reset: ${JSON.stringify(heard)}`);
      }, 10_000);
      heard.length = 0;
    }

    // Every assert.ok here names its message: inside `eventually`, one that node:assert generates from the source took over 90 s here, past the deadline.
    it("carries a board's changes and the registry's messages from one process to another", async () => {
      await carried(1);
      writer.publish({ kind: 'board_deleted', boardId: 'gone' });
      await eventually(() => assert.ok(heard.some((m) => m.kind === 'board_deleted' && m.boardId === 'gone'), `a registry message reached the other process: ${JSON.stringify(heard)}`));
    });

    it('says it may have missed messages when Redis dropped its pub/sub connection (CLIENT KILL), and listens again', async () => {
      const since = resubscribed;
      for (const node of cluster.nodes) await node.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await caughtUp(since);
      await carried(2);
    });

    it('moves to another node when its node goes away, says it may have missed messages, and listens again', async () => {
      const since = resubscribed;
      const lost = cluster.ports.indexOf(Number(reader.listeningOn.split(':')[1]));
      assert.ok(lost >= 0, reader.listeningOn);
      await cluster.killNode(lost);
      try {
        await caughtUp(since);
        assert.notEqual(reader.listeningOn, `127.0.0.1:${cluster.ports[lost]}`);
      } finally {
        await cluster.restartNode(lost);
      }
      await carried(3);
    });

    it('over a single Redis connection, reconnects to its server when it is back, and says it may have missed messages', async () => {
      // A plain client of one node is what a single Redis gets: its subscriber is a duplicate, which waits for that server.
      const single = new IORedis({ host: '127.0.0.1', port: cluster.ports[2], lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      single.on('error', () => undefined);
      await single.connect();
      let missed = 0;
      const alone: BusMessage[] = [];
      const bus = await RedisBus.open(single, { prefix, onResubscribed: () => missed++ });
      try {
        bus.subscribe((message) => alone.push(message));
        await bus.watch('watched');
        assert.equal(bus.listeningOn, `127.0.0.1:${cluster.ports[2]}`);
        await cluster.restartNode(2);
        await eventually(() => {
          assert.ok(missed > 0, 'onResubscribed');
          assert.ok(alone.some((m) => m.kind === 'board_reset' && m.boardId === 'watched'), `the watched board announced as reset: ${JSON.stringify(alone)}`);
        }, 10_000);
        assert.equal(bus.listeningOn, `127.0.0.1:${cluster.ports[2]}`);
        await eventually(async () => {
          writer.publish({ kind: 'changes', boardId: 'watched', epoch: 'e', version: 4 });
          await sleep(20);
          assert.ok(alone.some((m) => m.kind === 'changes' && m.version === 4), 'the change reached it after the restart');
        }, 10_000);
      } finally {
        await bus.close();
        single.disconnect();
      }
    });
  });

  const skipPostgres = await skipWithoutPostgres(SUITES[4]!);
  describe(SUITES[4]!, { skip: skipPostgres }, () => {
    let database: TestDatabase;
    let config: Config;
    let ladder: RunningLadder;
    /** A second member on the same Redis Cluster and database, for a viewer. */
    let other: RunningLadder;
    let target: { url: string; adminKey: string };
    const viewers: FeedClient[] = [];
    const boards = Array.from({ length: 6 }, (_, i) => `smoke-${i}`);

    before(async () => {
      database = await TestDatabase.create();
      const adminKey = generateKey();
      config = loadConfig({}, { port: 0, logLevel: 'silent', tickMs: 10, adminKey, redisUrl: cluster.seeds, databaseUrl: database.url, redisPrefix: `smoke-${randomBytes(4).toString('hex')}:` });
      ladder = await startLadder(config);
      other = await startLadder(config);
      target = { url: ladder.url, adminKey };
    });
    after(async () => {
      for (const viewer of viewers) viewer.ws.terminate();
      await other?.close();
      await ladder?.close();
      await database?.drop();
    });

    async function call(method: string, path: string, body?: unknown, status = 200) {
      const res = await api(target, method, path, { key: target.adminKey, body });
      assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
      return res.body;
    }

    async function loggedEvents(): Promise<number> {
      const [row] = await database.query<{ count: string }>('SELECT count(*) AS count FROM score_events');
      return Number(row!.count);
    }

    it('serves boards on several nodes: scores, rankings, a participant with neighbours, a live delta through another member, the audit log, a rebuild', async () => {
      const owners = new Set<number>();
      for (const id of boards) {
        await call('POST', '/v1/leaderboards', { id, sort_order: 'desc', operator: 'best' }, 201);
        owners.add(await ownerOf(cluster, `${config.redisPrefix}{${id}}:s`));
      }
      assert.ok(owners.size >= 2, `the boards' slots are on ${owners.size} node(s) of 3`);
      assert.equal((await api(target, 'GET', '/healthz')).body.mode, 'cluster');

      let submitted = 0;
      for (const [b, id] of boards.entries()) {
        const single = await call('POST', `/v1/leaderboards/${id}/scores`, { participant_id: 'solo', score: 50 + b, timestamp: T0 });
        assert.equal(single.rank, 1);
        const scores = Array.from({ length: 20 }, (_, i) => ({ participant_id: `p${i}`, score: i * 5, timestamp: T0 + i }));
        const batch = await call('POST', `/v1/leaderboards/${id}/scores/batch`, { scores });
        assert.equal(batch.results.length, 20);
        submitted += 21;
      }

      const [first] = boards;
      const ranking = await call('GET', `/v1/leaderboards/${first}/rankings?limit=5`);
      assert.equal(ranking.total, 21);
      assert.deepEqual(
        ranking.entries.map((e: { rank: number; participant_id: string; score: number }) => [e.rank, e.participant_id, e.score]),
        [
          [1, 'p19', 95],
          [2, 'p18', 90],
          [3, 'p17', 85],
          [4, 'p16', 80],
          [5, 'p15', 75],
        ],
      );
      const standing = await call('GET', `/v1/leaderboards/${first}/participants/solo?neighbors=1`);
      // p10 scored 50 at T0 + 10, after solo's 50 at T0: solo ranks first of the two.
      assert.equal(standing.rank, 10);
      assert.deepEqual(
        [standing.neighbors.above.map((e: { participant_id: string }) => e.participant_id), standing.neighbors.below.map((e: { participant_id: string }) => e.participant_id)],
        [['p11'], ['p10']],
      );

      // The viewer watches through the other member: the change reaches it over the cluster's pub/sub.
      const viewer = await FeedClient.connect(wsUrl({ url: other.url, adminKey: target.adminKey }, first!));
      viewers.push(viewer);
      const snapshot = (await viewer.subscribe('top', { top: 3 })) as SnapshotMessage;
      assert.deepEqual(snapshot.entries.map((e) => e.participant_id), ['p19', 'p18', 'p17']);
      const written = await call('POST', `/v1/leaderboards/${first}/scores`, { participant_id: 'newcomer', score: 1_000 });
      submitted += 1;
      const delta = (await viewer.next((m) => m.type === 'delta' && m.to_version === written.version)) as DeltaMessage;
      assert.equal(delta.type, 'delta');

      await eventually(async () => assert.equal(await loggedEvents(), submitted), 10_000);

      // Redis loses one board; `ladder rebuild` restores it (and every other board) from PostgreSQL.
      const lost = boards[boards.length - 1]!;
      const before = await call('GET', `/v1/leaderboards/${lost}/rankings?limit=100`);
      const holder = cluster.nodes[await ownerOf(cluster, `${config.redisPrefix}{${lost}}:s`)]!;
      const keys = await keysOn(holder, `${config.redisPrefix}{${lost}}`);
      assert.ok(keys.length > 0, `${lost} has keys on its node`);
      await holder.unlink(...keys);
      const run = runCli(['rebuild'], { LADDER_REDIS_URL: cluster.seeds, LADDER_DATABASE_URL: database.url, LADDER_REDIS_PREFIX: config.redisPrefix });
      assert.equal(await run.exited, 0, run.errors());
      assert.match(run.errors(), new RegExp(`rebuilt ${boards.length} board\\(s\\), ${submitted} entries`));
      const after = await call('GET', `/v1/leaderboards/${lost}/rankings?limit=100`);
      assert.deepEqual(after.entries, before.entries);
      assert.equal(after.version, before.version);
      assert.notEqual(after.epoch, before.epoch);
      assert.equal((await call('POST', `/v1/leaderboards/${lost}/scores`, { participant_id: 'after-rebuild', score: 1 })).version, before.version + 1);
    });
  });
} else {
  for (const suite of SUITES) describe(suite, { skip: skipCluster }, () => {});
}
