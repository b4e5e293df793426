/**
 * The composition root: opens the store and the index, rebuilds the index
 * from the store, and starts the HTTP server. Embedded mode: SQLite and the
 * in-process engine.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './core/config.js';
import { LocalBus } from './feed/bus.js';
import { Feed } from './feed/feed.js';
import { httpAuth } from './http/auth.js';
import { buildServer } from './http/server.js';
import { MemoryIndex } from './index/memory.js';
import { Auth } from './service/auth.js';
import { Ladder } from './service/ladder.js';
import { openSqliteStore } from './store/sqlite.js';

const SHUTDOWN_GRACE_MS = 2000;

export interface RunningLadder {
  readonly ladder: Ladder;
  readonly app: FastifyInstance;
  readonly url: string;
  /** Set when this start generated the admin key (first start without LADDER_ADMIN_KEY). */
  readonly generatedAdminKey: string | null;
  /** Stops accepting requests, drains pending commits and closes the store. */
  close(): Promise<void>;
}

export async function startLadder(config: Config, logger: Logger = pino({ level: config.logLevel })): Promise<RunningLadder> {
  mkdirSync(config.dataDir, { recursive: true });
  const started = performance.now();
  const store = await openSqliteStore({ dataDir: config.dataDir, commitIntervalMs: config.commitIntervalMs, sync: config.sqliteSync });
  const ladder = await Ladder.open({ config, index: new MemoryIndex(), store, bus: new LocalBus() });
  logger.info({ boards: ladder.boardCount, ms: Math.round(performance.now() - started) }, 'index rebuilt from the store');

  const keys = new Auth(store, config.adminKey);
  const issued = await keys.ensureAdminKey();
  const feed = new Feed({ index: ladder.index, bus: ladder.bus, config, boardRules: (id: string) => ladder.boardRules(id), log: logger });
  const app = buildServer({ ladder, config, auth: httpAuth(keys, config), feed }, logger);
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url }, 'ladder listening');

  let closing: Promise<void> | null = null;
  return {
    ladder,
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
        await ladder.close();
      })();
      return closing;
    },
  };
}
