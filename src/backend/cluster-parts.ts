/**
 * Cluster mode's composition (LADDER_REDIS_URL + LADDER_DATABASE_URL): the
 * Redis index, the PostgreSQL store, the Redis bus and this process's
 * persister, behind the cluster backend. Any number of processes may run it
 * at once against the same Redis and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import { RedisWindowArchive } from '../feed/redis-archive.js';
import { RedisBus } from '../feed/redis-bus.js';
import { RedisIndex } from '../index/redis.js';
import { decodeLogEntry } from '../index/redis-log.js';
import { PostgresStore } from '../store/postgres.js';
import { ClusterBackend } from './cluster.js';
import { NO_BACKEND_OBSERVER, type BackendObserver } from './observer.js';
import { Persister } from './persister.js';
import { connectRedis } from './redis-client.js';
import { RedisWindowCounters } from './redis-window-counters.js';

/** A persister lag beyond this is logged as a warning at every sweep. */
const LAG_WARN_MS = 5_000;

export async function clusterParts(config: Config, logger: Logger, observer: BackendObserver = NO_BACKEND_OBSERVER) {
  const store = await PostgresStore.open({
    url: config.databaseUrl!,
    commitIntervalMs: config.commitIntervalMs,
    auditRetentionDays: config.auditRetentionDays,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    onWarning: (message) => logger.warn(message),
    observer: observer.store('postgres'),
  });
  let redis;
  try {
    const redisObserver = observer.store('redis');
    redis = await connectRedis(config.redisUrl!, { commandTimeoutMs: config.redisCommandTimeoutMs, onCommandFailed: () => redisObserver.failed() });
  } catch (err) {
    await store.close();
    throw err;
  }
  const prefix = config.redisPrefix;
  const index = await RedisIndex.create(redis, { prefix });
  const bus = await RedisBus.open(redis, {
    prefix,
    onError: (err) => logger.error({ err }, 'the Redis bus failed to deliver or send a message'),
    onResubscribed: () => logger.warn('the Redis bus reconnected: watched boards are read again'),
  });
  const durable = config.ack === 'durable';
  const persister = new Persister(redis, store, {
    consumer: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    streamKey: (boardId) => index.keys(boardId).log,
    decode: decodeLogEntry,
    boardIds: async () => (await store.listBoards()).map((board) => board.config.id),
    // Only a durable acknowledgement waits for these; other processes need not hear them otherwise.
    onPersisted: durable ? (boardId, ranges) => bus.publish({ kind: 'persisted', boardId, ranges }) : undefined,
    onError: (err, boardId) => logger.warn({ err, boardId }, 'the persister failed to move events to PostgreSQL; it retries on its next sweep'),
    onSwept: (lag) => {
      observer.persisterSwept(lag);
      if (lag.ms > LAG_WARN_MS) logger.warn({ lag_events: lag.events, lag_ms: lag.ms }, 'the persister lags: events wait in Redis streams for PostgreSQL');
      else if (lag.events > 0) logger.debug({ lag_events: lag.events, lag_ms: lag.ms }, 'persister lag');
    },
  });
  const backend = new ClusterBackend(
    { index, store, bus, redis, persister },
    { ack: config.ack, readyMaxLagMs: config.readyMaxLagMs, onError: (err, context) => logger.warn({ err }, context) },
  );
  // Not redis.constructor.name: ioredis mixes EventEmitter into Cluster, whose constructor it then names.
  logger.info({ redis: redis instanceof Cluster ? 'Redis Cluster' : 'Redis', ack: config.ack }, 'cluster mode: live ranks in Redis, durable history in PostgreSQL');
  // Windows of views are kept as long as a view lingers for resumes in its own process.
  const archive = new RedisWindowArchive(redis, prefix, config.viewLingerMs, (err) => logger.warn({ err }, 'keeping a view window for resumes on other members failed'));
  return {
    store,
    bus,
    backend,
    archive,
    counters: new RedisWindowCounters(redis, prefix),
    redis,
    async close() {
      await bus.close();
      redis.disconnect();
    },
  };
}
