/**
 * The Redis connection of cluster mode: one URL is a single Redis, several
 * comma-separated seeds (or one node of a Redis Cluster) make ioredis'
 * cluster client. Startup fails with a message naming LADDER_REDIS_URL when
 * Redis cannot be reached or is too old.
 *
 * Commands fail fast while the connection is down (no offline queue, one
 * retry), so a request answers 503 at once instead of hanging; ioredis
 * reconnects by itself and the next request goes through.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** XAUTOCLAIM (6.2) and the `lag` of XINFO GROUPS (7.0). */
const MIN_VERSION = [7, 0];

const CONNECTION: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
};

export async function connectRedis(urls: string): Promise<RedisClient> {
  const seeds = urls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (seeds.length === 0) throw new Error('LADDER_REDIS_URL is empty');
  const first = new Redis(seeds[0]!, CONNECTION);
  first.on('error', () => undefined);
  let clusterEnabled: boolean;
  try {
    await first.connect();
    checkVersion(await first.info('server'));
    clusterEnabled = /cluster_enabled:1/.test(await first.info('cluster'));
  } catch (err) {
    first.disconnect();
    throw new Error(`cannot use the Redis of LADDER_REDIS_URL (${redact(seeds[0]!)}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!clusterEnabled && seeds.length === 1) return first;
  first.disconnect();
  // A Redis Cluster has database 0 only; the seeds share one user and password.
  const { password, username } = new URL(seeds[0]!.replace(/^rediss?:/, 'http:'));
  const cluster = new Cluster(
    seeds.map((seed) => {
      const url = new URL(seed.replace(/^rediss?:/, 'http:'));
      return { host: url.hostname, port: Number(url.port || 6379) };
    }),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      redisOptions: { ...CONNECTION, username: decodeURIComponent(username) || undefined, password: decodeURIComponent(password) || undefined },
    },
  );
  cluster.on('error', () => undefined);
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    throw new Error(`cannot join the Redis Cluster of LADDER_REDIS_URL (${seeds.map(redact).join(', ')}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return cluster;
}

function checkVersion(info: string): void {
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  if (version === null) return;
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!)) {
    throw new Error(`Redis ${major}.${minor} is too old: cluster mode needs Redis ${MIN_VERSION.join('.')} or later (streams with XAUTOCLAIM and consumer-group lag)`);
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
