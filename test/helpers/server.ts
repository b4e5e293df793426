/**
 * Starts the real server (embedded mode, port 0, a temp data directory) for
 * tests that go through the front door. With LADDER_TEST_CLUSTER=1 (set by
 * the files of test/cluster-suites/) it starts a two-member cluster instead,
 * behind a round-robin proxy (helpers/cluster.ts), so that the same suites
 * check cluster mode, with their requests and sockets spread over both
 * members; `ladder` and `feed` are then the first member's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLadder } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { generateKey } from '../../src/service/auth.js';
import type { Clock } from '../../src/service/clock.js';
import type { Feed } from '../../src/feed/feed.js';
import type { Ladder } from '../../src/service/ladder.js';

export interface TestServer {
  readonly url: string;
  readonly adminKey: string;
  readonly ladder: Ladder;
  readonly feed: Feed;
  readonly dataDir: string;
  /** Closes the server; removes its data directory unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** `clock`: the service's clock (a ManualClock moves time by hand, so no test sleeps through a period). */
export async function startServer(overrides: Partial<Config> = {}, options: { clock?: Clock } = {}): Promise<TestServer> {
  if (process.env.LADDER_TEST_CLUSTER === '1') return startClusterServer(overrides, options.clock);
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'ladder-test-'));
  const adminKey = overrides.adminKey ?? generateKey();
  const config = loadConfig({}, { port: 0, logLevel: 'silent', ...overrides, dataDir, adminKey });
  const running = await startLadder(config, undefined, { clock: options.clock });
  return {
    url: running.url,
    adminKey,
    ladder: running.ladder,
    feed: running.feed,
    dataDir,
    async close(options = {}) {
      await running.close();
      if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startClusterServer(overrides: Partial<Config>, clock: Clock | undefined): Promise<TestServer> {
  const { startCluster } = await import('./cluster.js');
  const cluster = await startCluster({ members: 2, overrides, clock });
  const first = cluster.members[0]!;
  return {
    url: cluster.url,
    adminKey: cluster.adminKey,
    ladder: first.ladder,
    feed: first.feed,
    dataDir: '',
    close: () => cluster.close(),
  };
}

/** fetch with JSON in and out; `key` becomes the Bearer token. */
export async function api(
  server: { url: string },
  method: string,
  path: string,
  options: { body?: unknown; key?: string | null; headers?: Record<string, string>; raw?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into arbitrary JSON answers
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

let counter = 0;
/** A board id unique to this test run. */
export function boardId(prefix = 'b'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
