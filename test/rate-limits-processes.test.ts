/**
 * Rate limits across two cluster processes (`ladder serve`, each its own
 * OS process) on one Redis and one PostgreSQL: a key's requests to both
 * count against one counter in Redis, under the cluster's LADDER_REDIS_PREFIX,
 * kept under the key's hash, never the key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKey, hashKey } from '../src/service/auth.js';
import { skipWithoutCluster } from './helpers/cluster.js';
import { TestDatabase } from './helpers/postgres.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { connectTestRedis, testRedisUrl, type TestRedis } from './helpers/redis.js';
import { api } from './helpers/server.js';

const skip = await skipWithoutCluster('the rate limits across processes suite (test/rate-limits-processes.test.ts)');

describe('rate limits across two cluster processes', { skip }, () => {
  let redis: TestRedis;
  let database: TestDatabase;
  const members: ServerProcess[] = [];
  const adminKey = generateKey();

  before(async () => {
    redis = (await connectTestRedis(['rate limits across processes'])) as TestRedis;
    database = await TestDatabase.create();
    const env = {
      LADDER_REDIS_URL: testRedisUrl,
      LADDER_DATABASE_URL: database.url,
      LADDER_REDIS_PREFIX: redis.prefix,
      LADDER_ADMIN_KEY: adminKey,
      LADDER_RATE_LIMIT_DEFAULT: '4/1m',
    };
    // One after the other: the first migrates the database.
    for (let i = 0; i < 2; i++) members.push(await startServerProcess(env));
  });

  after(async () => {
    for (const member of members) {
      member.child.kill('SIGTERM');
      await member.exited;
    }
    await redis?.cleanup();
    await database?.drop();
  });

  it('counts a key\'s requests to either process against one counter', async () => {
    const [a, b] = members as [ServerProcess, ServerProcess];
    const created = await api(a, 'POST', '/v1/keys', { key: adminKey, body: { scope: 'read', rate_limit: { max: 6, window_ms: 60_000 } } });
    assert.equal(created.status, 201);
    const key = created.body.key as string;
    const statuses: number[] = [];
    // Alternating: 3 to each process; each alone would allow 6.
    for (let i = 0; i < 6; i++) statuses.push((await api(i % 2 === 0 ? a : b, 'GET', '/v1/leaderboards', { key })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    const seventh = await api(b, 'GET', '/v1/leaderboards', { key });
    assert.equal(seventh.status, 429);
    assert.equal(seventh.body.error.code, 'rate_limited');
    assert.equal((await api(a, 'GET', '/v1/leaderboards', { key })).status, 429);
    const counters = await redis.keys('rate-limit:');
    assert.ok(counters.includes(`${redis.prefix}rate-limit:key:${hashKey(key)}`), counters.join(', '));
    assert.ok(!counters.some((name) => name.includes(key)), 'the key itself is in Redis');
  });

  it('applies the default to keyless requests per address, across the processes too', async () => {
    const [a, b] = members as [ServerProcess, ServerProcess];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await api(i % 2 === 0 ? a : b, 'GET', '/v1/leaderboards')).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  });
});
