/**
 * One cluster member whose PostgreSQL and Redis are each behind a TCP proxy
 * (helpers/tcp-proxy.ts) that the test can stop, stall and resume: a
 * throwaway database, and the machine's Redis under a key prefix of its own.
 */
import { pino } from 'pino';
import { startLadder, type RunningLadder } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { generateKey } from '../../src/service/auth.js';
import { TestDatabase } from './postgres.js';
import { connectTestRedis, testRedisUrl } from './redis.js';
import { TcpProxy } from './tcp-proxy.js';

export interface ProxiedMember {
  readonly member: RunningLadder;
  readonly adminKey: string;
  readonly postgres: TcpProxy;
  readonly redis: TcpProxy;
  /** Restores both proxies, closes the member, and removes its keys and database. */
  close(): Promise<void>;
}

export async function startProxiedMember(suite: string, overrides: Partial<Config> = {}): Promise<ProxiedMember> {
  const adminKey = generateKey();
  const redis = (await connectTestRedis([suite]))!;
  const database = await TestDatabase.create();
  const postgresProxy = await TcpProxy.start(new URL(database.url));
  const redisProxy = await TcpProxy.start(new URL(testRedisUrl));
  const config = loadConfig(
    {},
    { port: 0, logLevel: 'silent', adminKey, redisUrl: redisProxy.via(testRedisUrl), databaseUrl: postgresProxy.via(database.url), redisPrefix: redis.prefix, ...overrides },
  );
  const member = await startLadder(config, pino({ level: 'silent' }));
  return {
    member,
    adminKey,
    postgres: postgresProxy,
    redis: redisProxy,
    async close() {
      // Cut (ending a stall) and up again, so that the member closes at once.
      for (const proxy of [postgresProxy, redisProxy]) {
        await proxy.stop();
        await proxy.resume();
      }
      await member.close();
      await postgresProxy.stop();
      await redisProxy.stop();
      await redis.cleanup();
      await database.drop();
    },
  };
}
