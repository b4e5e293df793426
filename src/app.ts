/**
 * The composition root: opens the parts of the mode the configuration asks
 * for (embedded: the in-process index over SQLite and the local bus;
 * cluster: Redis, PostgreSQL and the Redis bus, backend/cluster-parts.ts),
 * puts them behind the service, and starts the HTTP server. Boards' entries
 * load lazily, on first use.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { isCluster, type Config } from './core/config.js';
import type { Backend } from './backend/backend.js';
import type { RedisClient } from './backend/redis-client.js';
import type { BackendObserver } from './backend/observer.js';
import { EmbeddedBackend } from './backend/embedded.js';
import type { WindowArchive } from './feed/archive.js';
import { LocalBus, type ChangeBus } from './feed/bus.js';
import { Feed } from './feed/feed.js';
import { httpAuth } from './http/auth.js';
import { Metrics } from './http/metrics.js';
import { buildServer } from './http/server.js';
import { Auth } from './service/auth.js';
import type { Clock } from './service/clock.js';
import { Ladder } from './service/ladder.js';
import { PlayerTokens } from './service/player-tokens.js';
import type { WindowCounters } from './service/window-counters.js';
import { openSqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';

const SHUTDOWN_GRACE_MS = 2000;

export interface RunningLadder {
  readonly ladder: Ladder;
  readonly feed: Feed;
  readonly app: FastifyInstance;
  readonly url: string;
  /** Set when this start generated the admin key (first start without LADDER_ADMIN_KEY). */
  readonly generatedAdminKey: string | null;
  /** Stops accepting requests, drains pending commits and closes the store. */
  close(): Promise<void>;
}

/** The parts behind the service: the store, the bus and the backend of one mode. */
interface Parts {
  readonly store: Store;
  readonly bus: ChangeBus;
  readonly backend: Backend;
  /** Cluster mode: views' windows kept for resumes on other members. */
  readonly archive?: WindowArchive;
  /** Cluster mode: the windows of rate limits and rules, shared by every process (in memory otherwise). */
  readonly counters?: WindowCounters;
  /** Cluster mode: the Redis that members share (rate limit counters). */
  readonly redis?: RedisClient;
  /** Closes what the parts hold beyond the store (connections), after the service closed. */
  readonly close: () => Promise<void>;
}

/** Embedded mode: the in-process index over SQLite and the local bus. */
async function embeddedParts(config: Config, logger: Logger, observer: BackendObserver): Promise<Parts> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = await openSqliteStore({
    dataDir: config.dataDir,
    commitIntervalMs: config.commitIntervalMs,
    sync: config.sqliteSync,
    auditRetentionDays: config.auditRetentionDays,
    onWarning: (message) => logger.warn(message),
    observer: observer.store('sqlite'),
  });
  if (store.recovered) logger.warn('the last run did not stop cleanly: every board starts a new epoch, so viewers resync from a snapshot');
  const bus = new LocalBus((err) => logger.error({ err }, 'a bus listener failed'));
  const backend = new EmbeddedBackend(store, bus, {
    boardIdleMs: config.boardIdleMs,
    checkpointEvents: config.checkpointEvents,
    checkpointIntervalMs: config.checkpointIntervalMs,
    onCommitFailed: (boardIds, err) => logger.error({ err, boardIds }, 'a commit failed: its submissions were refused, and the boards reload from the store with a new epoch'),
    onCheckpointFailed: (boardId, err) => logger.warn({ err, boardId }, 'a checkpoint failed: the board loads from its previous one and a longer log until the next succeeds'),
  });
  return { store, bus, backend, close: async () => undefined };
}

export interface StartOptions {
  /** The service's clock (tests move one by hand); default the system clock shifted by LADDER_CLOCK_OFFSET_MS. */
  readonly clock?: Clock;
}

export async function startLadder(config: Config, logger: Logger = pino({ level: config.logLevel }), options: StartOptions = {}): Promise<RunningLadder> {
  const started = performance.now();
  // Made first, so that the stores and the persister report to it from their start.
  const metrics = new Metrics();
  // Cluster mode's modules (ioredis, pg) load only when it is on, so an embedded start does not pay for them.
  const { store, bus, backend, archive, counters, redis, close: closeParts }: Parts = isCluster(config)
    ? await (await import('./backend/cluster-parts.js')).clusterParts(config, logger, metrics)
    : await embeddedParts(config, logger, metrics);
  const ladder = await Ladder.open({
    config,
    backend,
    store,
    bus,
    counters,
    clock: options.clock,
    warn: (message) => logger.warn(message),
    onLifecycleError: (err, boardId) => logger.warn({ err, boardId }, 'closing a period or a board failed; it is tried again at the next tick'),
    onWebhookFailure: ({ delivery, error, nextAttemptAt }) => {
      const fields = { boardId: delivery.boardId, periodId: delivery.periodId, url: delivery.url, attempts: delivery.attempts, error };
      if (nextAttemptAt === null) logger.error(fields, 'a webhook delivery was given up (GET /v1/leaderboards/{id}/webhooks lists it)');
      else logger.warn({ ...fields, nextAttemptAt }, 'a webhook delivery failed; it is tried again');
    },
    onWebhookError: (err) => logger.warn({ err }, 'the webhook worker failed; the deliveries it held are tried again once their leases run out'),
  });
  logger.info({ boards: ladder.boardCount, ms: Math.round(performance.now() - started) }, 'store opened');

  const keys = new Auth(store, bus, config.adminKey);
  const issued = await keys.ensureAdminKey();
  const source = { rules: (id: string) => ladder.boardRules(id), read: ladder.read.bind(ladder) };
  const feed = new Feed({ source, bus, archive, config, log: logger, observer: metrics });
  metrics.watch(ladder, feed);
  const app = await buildServer({ ladder, config, auth: httpAuth(keys, config, PlayerTokens.fromConfig(config)), feed, metrics, redis: redis ?? null }, logger);
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url }, 'ladder listening');
  ladder.startLifecycle();
  ladder.startWebhooks();

  let closing: Promise<void> | null = null;
  return {
    ladder,
    feed,
    app,
    url,
    generatedAdminKey: issued?.key ?? null,
    close() {
      closing ??= (async () => {
        feed.close();
        ladder.endLongPolls();
        // In-flight requests get a grace period to finish; connections that
        // still linger after it (e.g. half-closed by a client) are cut.
        const grace = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        await app.close();
        clearTimeout(grace);
        keys.close();
        await ladder.close();
        await closeParts();
      })();
      return closing;
    },
  };
}
