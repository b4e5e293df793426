/**
 * The Redis connection of cluster mode: one URL is a single Redis, several
 * comma-separated seeds (or one node of a Redis Cluster) make ioredis'
 * cluster client. The seeds are tried in turn until one answers, so a seed
 * that is down does not stop startup. Startup fails with a message naming
 * LADDER_REDIS_URL when no seed can be reached or Redis is too old.
 *
 * Commands fail fast while the connection is down (no offline queue, one
 * retry), and a command Redis leaves unanswered fails after
 * LADDER_REDIS_COMMAND_TIMEOUT_MS, so a request answers 503 instead of
 * hanging; ioredis reconnects by itself and the next request goes through.
 */
import { Cluster, Redis, type Command, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** XAUTOCLAIM (6.2) and the `lag` of XINFO GROUPS (7.0). */
const MIN_VERSION = [7, 0];

const CONNECTION: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
};

export interface RedisClientOptions {
  /** A command unanswered this long fails (LADDER_REDIS_COMMAND_TIMEOUT_MS). */
  readonly commandTimeoutMs?: number;
  /** Told of every command that failed, but for the replies Ladder expects and handles (the metrics). */
  readonly onCommandFailed?: () => void;
}

export async function connectRedis(urls: string, options: RedisClientOptions = {}): Promise<RedisClient> {
  const client = await connect(urls, { ...CONNECTION, commandTimeout: options.commandTimeoutMs });
  if (options.onCommandFailed !== undefined) countFailures(client, options.onCommandFailed);
  return client;
}

/**
 * Replies that Ladder asks for and handles (a consumer group that exists
 * already or not yet, a stream that is gone): not failures of Redis.
 */
const EXPECTED_REPLY = /^(BUSYGROUP|NOGROUP|ERR no such key)/;

/**
 * Calls `failed` for each command of the client that rejects. Every command
 * goes through sendCommand (a Cluster's too, before it picks a node), so
 * this sees them all but those a pipeline writes straight to its socket.
 */
function countFailures(client: RedisClient, failed: () => void): void {
  const send = client.sendCommand.bind(client) as (command: Command, ...rest: unknown[]) => unknown;
  client.sendCommand = (command: Command, ...rest: unknown[]) => {
    command.promise.catch((err: unknown) => {
      if (!(err instanceof Error && EXPECTED_REPLY.test(err.message))) failed();
    });
    return send(command, ...rest);
  };
}

async function connect(urls: string, connection: RedisOptions): Promise<RedisClient> {
  const seeds = urls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  if (seeds.length === 0) throw new Error('LADDER_REDIS_URL is empty');
  // Any seed of a cluster will do: the first that answers says whether it is one (a dead first seed must not stop startup).
  let first: Redis | null = null;
  let clusterEnabled = false;
  const failures: string[] = [];
  for (const seed of seeds) {
    const node = new Redis(seed, connection);
    // The connection's own error (e.g. ECONNREFUSED) says more than the rejected connect's "Connection is closed".
    let cause: Error | null = null;
    node.on('error', (err: Error) => (cause ??= err));
    try {
      await node.connect();
      checkVersion(await node.info('server'));
      clusterEnabled = /cluster_enabled:1/.test(await node.info('cluster'));
      first = node;
      break;
    } catch (err) {
      node.disconnect();
      if (err instanceof TooOld) throw new Error(`cannot use the Redis of LADDER_REDIS_URL (${redact(seed)}): ${err.message}`, { cause: err });
      const reason: unknown = cause ?? err;
      failures.push(`${redact(seed)}: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
  }
  if (first === null) throw new Error(`cannot use the Redis of LADDER_REDIS_URL (${failures.join('; ')})`);
  if (!clusterEnabled && seeds.length === 1) return first;
  first.disconnect();
  if (!clusterEnabled) throw new Error(`LADDER_REDIS_URL lists ${seeds.length} seeds, but ${first.options.host ?? '?'}:${first.options.port ?? '?'} is no Redis Cluster node (cluster_enabled:0): give one URL for a single Redis`);
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
      redisOptions: { ...connection, username: decodeURIComponent(username) || undefined, password: decodeURIComponent(password) || undefined },
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

/** A Redis that answered, but is too old: no other seed is tried. */
class TooOld extends Error {}

function checkVersion(info: string): void {
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  if (version === null) return;
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!)) {
    throw new TooOld(`Redis ${major}.${minor} is too old: cluster mode needs Redis ${MIN_VERSION.join('.')} or later (streams with XAUTOCLAIM and consumer-group lag)`);
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
