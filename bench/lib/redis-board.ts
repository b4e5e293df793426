/**
 * The Redis side of the HTTP benchmark's Redis anchor: a sorted set filled
 * with a million members under a key prefix of its own, and its removal.
 * ioredis is imported lazily, so that everything else runs without it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { onInterrupt } from './proc.js';

/** The few ioredis calls used here. */
interface RedisClient {
  connect(): Promise<void>;
  ping(): Promise<string>;
  info(section: string): Promise<string>;
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  unlink(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export interface RedisBoard {
  readonly url: string;
  /** Ends with ':'; the anchor's keys are <prefix>board and <prefix>version. */
  readonly keyPrefix: string;
  readonly redisVersion: string;
  /** redis-server's pid when Redis runs on this machine (for its CPU), else null. */
  readonly serverPid: number | null;
  readonly members: number;
  readonly fillSeconds: number;
  /** Deletes the anchor's keys and disconnects. */
  drop(): Promise<void>;
}

/** Members added per script call: about 50 ms of Redis time, so that other clients are not held up. */
const FILL_SLICE = 50_000;

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Connects to Redis and fills the anchor's sorted set under a key prefix of
 * its own, `<name>:{<random>}:`; answers a reason instead when ioredis is
 * missing or Redis is not reachable.
 */
export async function openRedisBoard(url: string, members: number, name = 'ladder-bench'): Promise<RedisBoard | { skipped: string }> {
  let Redis: new (url: string, options: Record<string, unknown>) => RedisClient;
  try {
    const moduleName = 'ioredis';
    Redis = ((await import(moduleName)) as { Redis: typeof Redis }).Redis;
  } catch {
    return { skipped: 'ioredis is not installed (npm install ioredis)' };
  }
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    return { skipped: `Redis is not reachable at ${url} (${(err as Error).message})` };
  }
  const info = await redis.info('server');
  const redisVersion = infoField(info, 'redis_version') ?? 'unknown';
  const pid = Number(infoField(info, 'process_id'));
  const local = /^redis:\/\/(127\.0\.0\.1|localhost)(:|\/|$)/.test(url);

  // A hash tag keeps both keys in one slot, as Ladder's cluster keys will be.
  const keyPrefix = `${name}:{${randomBytes(6).toString('hex')}}:`;
  const board = `${keyPrefix}board`;
  const forget = onInterrupt(() => redis.unlink(board, `${keyPrefix}version`));
  const fill = readFileSync(new URL('../lua/fillBoard-1.lua', import.meta.url), 'utf8');
  const sha = (await redis.script('LOAD', fill)) as string;
  const started = performance.now();
  let card = 0;
  try {
    for (let first = 0; first < members; first += FILL_SLICE) {
      card = Number(await redis.evalsha(sha, 1, board, first, Math.min(FILL_SLICE, members - first)));
    }
  } catch (err) {
    await redis.unlink(board).catch(() => 0);
    forget();
    redis.disconnect();
    throw err;
  }
  const fillSeconds = (performance.now() - started) / 1000;
  return {
    url,
    keyPrefix,
    redisVersion,
    serverPid: local && Number.isInteger(pid) && pid > 0 ? pid : null,
    members: card,
    fillSeconds,
    async drop() {
      forget();
      try {
        await redis.unlink(board, `${keyPrefix}version`);
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
