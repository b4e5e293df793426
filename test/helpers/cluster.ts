/**
 * A cluster for the tests: several Ladder members (in this process, each
 * with its own HTTP server) on the machine's Redis, under a key prefix of
 * their own, and a throwaway PostgreSQL database. `url` is a round-robin
 * TCP proxy in front of the members: each new connection goes to the next
 * one, so a suite's requests and sockets spread across the processes the
 * way a load balancer spreads them.
 *
 * Without Redis or PostgreSQL the suites fail on CI and are skipped, loudly,
 * elsewhere (helpers/redis.ts, helpers/postgres.ts).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startLadder, type RunningLadder } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { generateKey } from '../../src/service/auth.js';
import type { Clock } from '../../src/service/clock.js';
import { skipWithoutPostgres, TestDatabase } from './postgres.js';
import { connectTestRedis, testRedisUrl, type TestRedis } from './redis.js';

export interface TestCluster {
  /** The round-robin proxy in front of every member. */
  readonly url: string;
  readonly adminKey: string;
  readonly members: readonly RunningLadder[];
  readonly redis: TestRedis;
  readonly database: TestDatabase;
  /** The configuration every member runs with (start another with it). */
  readonly config: Config;
  /** Starts one more member on the same Redis and database; the proxy includes it. */
  addMember(): Promise<RunningLadder>;
  close(): Promise<void>;
}

/** For `describe(..., { skip })`: false when Redis and PostgreSQL answer (or on CI); otherwise why not, said on stderr. */
export async function skipWithoutCluster(suites: string): Promise<string | false> {
  const postgres = await skipWithoutPostgres(suites);
  if (postgres !== false) return postgres;
  const redis = await connectTestRedis([suites]);
  if (redis === null) return `Redis is unreachable at ${testRedisUrl}`;
  await redis.cleanup();
  return false;
}

export async function startCluster(options: { members?: number; overrides?: Partial<Config>; clock?: Clock } = {}): Promise<TestCluster> {
  const redis = await connectTestRedis(['cluster mode']);
  if (redis === null) throw new Error(`Redis is unreachable at ${testRedisUrl}`);
  const database = await TestDatabase.create();
  const adminKey = options.overrides?.adminKey ?? generateKey();
  const config = loadConfig(
    {},
    { port: 0, logLevel: 'silent', ...options.overrides, adminKey, redisUrl: testRedisUrl, databaseUrl: database.url, redisPrefix: redis.prefix },
  );
  const members: RunningLadder[] = [];
  const ports: number[] = [];
  const addMember = async () => {
    const member = await startLadder(config, undefined, { clock: options.clock });
    members.push(member);
    ports.push(Number(new URL(member.url).port));
    return member;
  };
  // One at a time: the first migrates the database and issues the admin key.
  for (let i = 0; i < (options.members ?? 2); i++) await addMember();
  const proxy = await roundRobinProxy(ports);
  return {
    url: proxy.url,
    adminKey,
    members,
    redis,
    database,
    config,
    addMember,
    async close() {
      // Members first, as behind a load balancer that stays up: their goodbyes (close code 1012, SSE close) reach the clients.
      for (const member of members) await member.close();
      await proxy.close();
      await redis.cleanup();
      await database.drop();
    },
  };
}

/** Each accepted connection is piped to the next port of `ports` (which may grow). */
async function roundRobinProxy(ports: number[]): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(ports[next++ % ports.length]!, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('error', () => upstream.destroy());
    // A member that goes away resets its socket: what it sent before still reaches the client, as through a load balancer.
    upstream.on('error', () => client.end());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // The members closed first: their connections end by themselves, and what they said last (a close frame,
        // an SSE close event) still passes. Whatever lingers is cut after a second.
        const cut = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 1000);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
      }),
  };
}
