/**
 * HTTP benchmark: Ladder's score submissions over a real socket, against the
 * real server (`node dist/cli.js serve`, default configuration, so every 200
 * is committed to SQLite by group commit), and three anchors behind the same
 * route, measured in the same run on the same machine (bench/anchor-server.ts):
 *
 *   bare route        Fastify, one POST route that only validates the same body
 *   Redis route       the same route plus one EVALSHA (ZADD + ZREVRANK + INCR)
 *   (EVALSHA)         on a sorted set of a million members
 *   redis-rank route  the same route doing the same update with the redis-rank
 *                     library, on a sorted set of its own of a million members
 *
 * Single submissions run at each connection count (64 and 256) for Ladder and
 * every anchor; batches on a fresh board and on the filled one; then the
 * filled data directory is used for the restart benchmark (bench/restart.ts).
 * Ladder's figures are printed as ratios to the anchors (bench/http-figures.ts).
 *
 *   npm run build && node --import tsx bench/http.ts [--quick] [--duration=8]
 *     [--connections=64,256] [--generator=wrk|autocannon] [--no-redis] [--cli=dist/cli.js]
 *
 * Figures only: nothing here fails on a timing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { uint32s } from '../test/helpers/random.js';
import { createRequire } from 'node:module';
import { httpFigures } from './http-figures.js';
import { booleanFlag, countFlag, numberFlag, parseFlags, type Flags } from './lib/args.js';
import { pickGenerator, type LoadGenerator, type LoadResult, type LoadSpec } from './lib/load.js';
import { cpuSeconds, freePort, machineBusySeconds, onInterrupt, startServer, type ServerProcess } from './lib/proc.js';
import { openRedisBoard, type RedisBoard } from './lib/redis-board.js';
import { table, type Figure } from './lib/report.js';
import { split, threadTimes, type ThreadTimes } from './lib/threads.js';
import { measureRestart, type RestartResult } from './restart.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface HttpBenchOptions {
  /** Smaller board and shorter runs, for a smoke run. */
  readonly quick?: boolean;
  /** Seconds of each measurement (after its warm-up). Default 8, quick 3. */
  readonly durationS?: number;
  /** Seconds of the warm-up before each measurement. Default 2, quick 1. */
  readonly warmupS?: number;
  /**
   * Connections of the single-submission runs, one series of runs per count.
   * Default 64 and 256. The first count's figures keep the names they had
   * when it was the only one.
   */
  readonly connections?: number | readonly number[];
  /** Connections of the batch run. Default 16: batch clients are few, large game servers. */
  readonly batchConnections?: number;
  /** Participants drawn by the single-submission runs. Default 100,000. */
  readonly participants?: number;
  /** Entries put on the board before measuring (Ladder and the Redis set alike). Default 1,000,000, quick 100,000. */
  readonly boardSize?: number;
  /** Items per batch request. Default 1000 (the API's maximum). */
  readonly batchSize?: number;
  /** The server under test. Default <repo>/dist/cli.js. */
  readonly cli?: string;
  readonly redisUrl?: string;
  /** false skips both Redis anchors (EVALSHA and redis-rank). */
  readonly redis?: boolean;
  /** Restarts measured on the filled data directory. Default 3, quick 2; 0 skips them. */
  readonly restarts?: number;
  readonly generator?: 'wrk' | 'autocannon';
  readonly log?: (line: string) => void;
}

/** The server's CPU over a measured run, split by thread (bench/lib/threads.ts). */
export interface ThreadCpu {
  /** The main thread (tid == pid): the event loop, HTTP, JSON, ranking. */
  readonly mainCores: number;
  readonly mainUsPerRequest: number;
  /** Every other thread: SQLite's writer worker, GC and compiler helpers, libuv's pool. */
  readonly otherCores: number;
  readonly otherUsPerRequest: number;
  /** Whether threads carry names of their own; on Node 20 all are `node`, so the writer has no name. */
  readonly named: boolean;
  /** The busiest other threads (in Ladder the first is, in practice, SQLite's writer). */
  readonly busiest: readonly { readonly tid: number; readonly name: string; readonly usPerRequest: number }[];
}

/** One timed run, with the CPU of everything involved. */
export interface Measurement extends LoadResult {
  readonly connections: number;
  /** CPU cores the server used during the run (1.0 = one core busy). */
  readonly serverCpuCores: number | null;
  /** Server CPU microseconds per request. */
  readonly serverCpuUsPerRequest: number | null;
  /** redis-server's CPU cores during the run (Redis anchor only). */
  readonly redisCpuCores?: number | null;
  /**
   * CPU cores that the rest of the machine used during the run (everything
   * but the server, the generator and redis-server). Well above 0.1 means
   * something else competed for the cores and the figure is noisy.
   */
  readonly otherCpuCores: number | null;
  /** Board version gained per request (Ladder): the share of submissions that changed the ranking. */
  readonly changedPerItem?: number;
  /** The server process's CPU split into its main thread and the others; null off Linux. */
  readonly threads: ThreadCpu | null;
}

/** A Redis-backed anchor: its runs per connection count, and its sorted set. */
export interface RedisAnchor {
  readonly redisVersion: string;
  readonly members: number;
  readonly fillSeconds: number;
  readonly keyPrefix: string;
  /** For redis-rank: the installed version. */
  readonly library?: string;
  /** Keyed by connection count. */
  readonly at: Readonly<Record<string, Measurement>>;
}

/** The EVALSHA route at the first connection count, in the shape `anchors.redis` had before the series. */
type RedisAtFirst = Measurement & { readonly redisVersion: string; readonly members: number; readonly fillSeconds: number };

export interface LadderResult {
  readonly prefill: { readonly entries: number; readonly seconds: number; readonly scoresPerS: number };
  /** Single submissions at the first connection count (64). */
  readonly single: Measurement | null;
  /** Batch submissions on the filled board. */
  readonly batch: Measurement | null;
  readonly databaseBytes: number | null;
  /** Single submissions keyed by connection count (the first is `single`). */
  readonly singleAt: Readonly<Record<string, Measurement>>;
  /** Batch submissions on a board that starts empty, before the prefill. */
  readonly batchFresh: Measurement | null;
  /** Restart to first answer on the filled data directory (bench/restart.ts). */
  readonly restart: RestartResult | { readonly failed: string } | { readonly skipped: string };
}

export interface HttpBenchResult {
  readonly generator: { readonly name: string; readonly version: string };
  readonly settings: Settings;
  readonly dataDir: { readonly path: string; readonly filesystem: string };
  readonly ladder: LadderResult | null;
  readonly anchors: {
    /** The bare route's runs at the first connection count: before Ladder's and after the Redis anchors'. */
    readonly bare: readonly Measurement[];
    readonly bareReference: BareReference | null;
    /** The EVALSHA route at the first connection count. */
    readonly redis: RedisAtFirst | { readonly skipped: string } | null;
    /** The bare route's runs and their reference, keyed by connection count. */
    readonly bareAt: Readonly<Record<string, readonly Measurement[]>>;
    readonly bareReferenceAt: Readonly<Record<string, BareReference | null>>;
    /** The EVALSHA route, every connection count. */
    readonly redisAt: RedisAnchor | { readonly skipped: string } | null;
    /** The redis-rank route, every connection count. */
    readonly redisRank: RedisAnchor | { readonly skipped: string } | null;
  };
  readonly errors: readonly string[];
  readonly figures: Figure[];
}

export const BOARD = 'bench';
/** The board of the fresh-board batch run: empty when the run starts. */
const FRESH_BOARD = 'bench-fresh';

export function settingsOf(options: HttpBenchOptions) {
  const quick = options.quick ?? false;
  const series = options.connections === undefined ? [64, 256] : typeof options.connections === 'number' ? [options.connections] : [...options.connections];
  if (series.length === 0 || series.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('connections must be positive integers');
  return {
    quick,
    durationS: Math.max(1, Math.round(options.durationS ?? (quick ? 3 : 8))),
    warmupS: Math.max(1, Math.round(options.warmupS ?? (quick ? 1 : 2))),
    /** The first connection count: the figures that had no count in their name before the series. */
    connections: series[0] as number,
    connectionSeries: series,
    restarts: Math.max(0, Math.round(options.restarts ?? (quick ? 2 : 3))),
    batchConnections: options.batchConnections ?? 16,
    participants: options.participants ?? 100_000,
    boardSize: options.boardSize ?? (quick ? 100_000 : 1_000_000),
    batchSize: options.batchSize ?? 1000,
    cli: options.cli ?? join(root, 'dist', 'cli.js'),
  };
}

export type Settings = ReturnType<typeof settingsOf>;

/** The filesystem type of the mount that holds `path` (ext4, tmpfs, ...), from /proc/mounts. */
function fsType(path: string): string {
  try {
    const real = realpathSync(path);
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (mount === undefined || type === undefined) continue;
      const inside = real === mount || real.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (inside && mount.length >= best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

function directoryBytes(path: string): number | null {
  try {
    return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
  } catch {
    return null;
  }
}

/** Submissions as JSON, with a fast deterministic generator so that the client costs little. */
function randomScores(seed: number): () => number {
  const next = uint32s(seed);
  return () => next() % 1_000_000_000;
}

export async function request(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: response.status, json };
}

/** One request of each kind before any load: a wrong route or key fails here, not after a minute. */
export async function probe(url: string, path: string, key: string, body: unknown, expect: (json: unknown) => boolean): Promise<void> {
  const answer = await request('POST', url + path, key, body);
  if (answer.status !== 200 || !expect(answer.json)) {
    throw new Error(`probe POST ${path} answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
  }
}

/**
 * Load results of generators that ran at the same time against different
 * servers, as one: rates and counts add up; p50 and p90 are the means of the
 * generators' weighted by their requests, p99 and max the largest (the
 * generators report percentiles, not their histograms).
 */
export function combinedLoad(loads: readonly LoadResult[]): LoadResult {
  if (loads.length === 1) return loads[0] as LoadResult;
  const sum = (pick: (load: LoadResult) => number) => loads.reduce((total, load) => total + pick(load), 0);
  const requests = sum((load) => load.requests);
  const weighted = (pick: (load: LoadResult) => number) => (requests === 0 ? NaN : sum((load) => pick(load) * load.requests) / requests);
  const cpu = loads.every((load) => load.cpuSeconds !== null) ? sum((load) => load.cpuSeconds as number) : null;
  return {
    generator: `${loads.length} × ${loads[0]?.generator ?? '?'}`,
    requests,
    durationS: Math.max(...loads.map((load) => load.durationS)),
    requestsPerS: sum((load) => load.requestsPerS),
    itemsPerS: sum((load) => load.itemsPerS),
    latencyMs: {
      p50: weighted((load) => load.latencyMs.p50),
      p90: weighted((load) => load.latencyMs.p90),
      p99: Math.max(...loads.map((load) => load.latencyMs.p99)),
      max: Math.max(...loads.map((load) => load.latencyMs.max)),
    },
    socketErrors: sum((load) => load.socketErrors),
    errorAnswers: sum((load) => load.errorAnswers),
    cpuSeconds: cpu,
    cpuCores: loads.every((load) => load.cpuCores !== null) ? sum((load) => load.cpuCores as number) : null,
  };
}

export class Runner {
  constructor(
    private readonly generator: LoadGenerator,
    private readonly settings: { readonly warmupS: number; readonly durationS: number },
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Warm-up, then the measured run, with the CPU of the server (and of
   * redis-server) over the measured run. Given several servers, the
   * connections are spread over them, one generator per server, all at
   * once (wrk targets one host per run), and their CPU is summed.
   */
  async measure(
    label: string,
    target: ServerProcess | readonly ServerProcess[],
    spec: Omit<LoadSpec, 'durationS' | 'url'>,
    redisPid: number | null = null,
  ): Promise<Measurement> {
    const servers: readonly ServerProcess[] = Array.isArray(target) ? target : [target as ServerProcess];
    const run = (durationS: number) =>
      Promise.all(
        servers.map((server, i) =>
          this.generator.run({ ...spec, url: server.url, durationS, connections: Math.floor(spec.connections / servers.length) + (i < spec.connections % servers.length ? 1 : 0) }),
        ),
      );
    const serversCpu = () => {
      const each = servers.map((server) => server.cpuSeconds());
      return each.every((v) => v !== null) ? (each as number[]).reduce((a, b) => a + b, 0) : null;
    };
    await run(this.settings.warmupS);
    const serverBefore = serversCpu();
    const threadsBefore = servers.map((server) => threadTimes(server.pid));
    const redisBefore = redisPid === null ? null : cpuSeconds(redisPid);
    const machineBefore = machineBusySeconds();
    const started = performance.now();
    const load = combinedLoad(await run(this.settings.durationS));
    const wall = (performance.now() - started) / 1000;
    const serverAfter = serversCpu();
    const threadsAfter = servers.map((server) => threadTimes(server.pid));
    const redisAfter = redisPid === null ? null : cpuSeconds(redisPid);
    const machineAfter = machineBusySeconds();
    const serverCpu = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
    const redisCpu = redisBefore === null || redisAfter === null ? null : redisAfter - redisBefore;
    const ours = serverCpu === null || load.cpuSeconds === null || (redisPid !== null && redisCpu === null) ? null : serverCpu + load.cpuSeconds + (redisCpu ?? 0);
    const otherCpu = machineBefore === null || machineAfter === null || ours === null ? null : Math.max(0, machineAfter - machineBefore - ours);
    const perRequest = (seconds: number) => (load.requests === 0 ? NaN : (seconds / load.requests) * 1e6);
    let threads: ThreadCpu | null = null;
    if (threadsBefore.every((t) => t !== null) && threadsAfter.every((t) => t !== null)) {
      const used = servers.map((_, i) => split(threadsBefore[i] as ThreadTimes, threadsAfter[i] as ThreadTimes));
      const mainSeconds = used.reduce((total, u) => total + u.mainSeconds, 0);
      const otherSeconds = used.reduce((total, u) => total + u.otherSeconds, 0);
      threads = {
        mainCores: mainSeconds / wall,
        mainUsPerRequest: perRequest(mainSeconds),
        otherCores: otherSeconds / wall,
        otherUsPerRequest: perRequest(otherSeconds),
        named: used.some((u) => u.named),
        busiest: used
          .flatMap((u) => u.others)
          .sort((a, b) => b.seconds - a.seconds)
          .slice(0, 3)
          .map((t) => ({ tid: t.tid, name: t.name, usPerRequest: perRequest(t.seconds) })),
      };
    }
    const measurement: Measurement = {
      ...load,
      connections: spec.connections,
      threads,
      serverCpuCores: serverCpu === null ? null : serverCpu / wall,
      serverCpuUsPerRequest: serverCpu === null || load.requests === 0 ? null : (serverCpu / load.requests) * 1e6,
      otherCpuCores: otherCpu === null ? null : otherCpu / wall,
      ...(redisPid === null ? {} : { redisCpuCores: redisCpu === null ? null : redisCpu / wall }),
    };
    this.log(describe(label, measurement, spec.mode === 'batch'));
    if (measurement.otherCpuCores !== null && measurement.otherCpuCores > 0.15) {
      this.log(`    WARNING: other processes used ${measurement.otherCpuCores.toFixed(2)} cores during this run: its figures are noisy`);
    }
    if (load.errorAnswers > 0 || load.socketErrors > 0) {
      this.log(`    WARNING: ${load.errorAnswers} error answers and ${load.socketErrors} socket errors in ${load.requests} requests`);
    }
    return measurement;
  }
}

function cores(value: number | null | undefined): string {
  return value === null || value === undefined ? '?' : value.toFixed(2);
}

function describe(label: string, m: Measurement, batch: boolean): string {
  const rate = batch
    ? `${Math.round(m.itemsPerS).toLocaleString('en-US')} scores/s (${Math.round(m.requestsPerS).toLocaleString('en-US')} req/s)`
    : `${Math.round(m.requestsPerS).toLocaleString('en-US')} req/s`;
  const redis = m.redisCpuCores === undefined ? '' : `, redis-server ${cores(m.redisCpuCores)}`;
  const threads = m.threads === null ? '' : ` (main thread ${cores(m.threads.mainCores)}, other threads ${cores(m.threads.otherCores)})`;
  return (
    `  ${label} @ ${m.connections} conn: ${rate}, p50 ${m.latencyMs.p50.toFixed(2)} ms, p99 ${m.latencyMs.p99.toFixed(2)} ms` +
    ` | CPU cores: server ${cores(m.serverCpuCores)}${threads}${redis}, ${m.generator} ${cores(m.cpuCores)}, others ${cores(m.otherCpuCores)}`
  );
}

export function nodeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // The default configuration: LADDER_* variables of the caller's shell do not leak in.
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('LADDER_') && !name.startsWith('ANCHOR_')) env[name] = value;
  return { ...env, NODE_ENV: 'production', ...extra };
}


type AnchorMode = 'bare' | 'redis' | 'redis-rank';

async function startAnchor(mode: AnchorMode, redis?: RedisBoard): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name: `${mode} anchor`,
    command: process.execPath,
    args: ['--import', 'tsx', join(root, 'bench', 'anchor-server.ts')],
    cwd: root,
    env: nodeEnv({
      ANCHOR_MODE: mode,
      ANCHOR_PORT: String(port),
      ...(redis === undefined ? {} : { ANCHOR_REDIS_URL: redis.url, ANCHOR_KEY_PREFIX: redis.keyPrefix }),
    }),
    port,
    readyPath: '/healthz',
  });
}

export const singleBody = { participant_id: 'p-1', score: 12345 };
export const singlePath = (board: string) => `/v1/leaderboards/${board}/scores`;
export const batchPath = (board: string) => `/v1/leaderboards/${board}/scores/batch`;

export function singleSpec(settings: Settings, connections: number, key = '', participants = settings.participants): Omit<LoadSpec, 'durationS' | 'url'> {
  return { path: singlePath(BOARD), mode: 'single', participants, batchSize: 1, key, connections };
}

/** One bare-route process, measured at every connection count. */
async function benchBare(runner: Runner, settings: Settings, label: string): Promise<Measurement[]> {
  const server = await startAnchor('bare');
  try {
    await probe(server.url, singlePath(BOARD), '', singleBody, (json) => (json as { rank?: unknown }).rank !== undefined);
    const runs: Measurement[] = [];
    for (const connections of settings.connectionSeries) runs.push(await runner.measure(label, server, singleSpec(settings, connections)));
    return runs;
  } finally {
    await server.stop();
  }
}

export async function boardState(url: string, key: string, board = BOARD): Promise<{ version: number; total: number }> {
  const answer = await request('GET', `${url}/v1/leaderboards/${board}`, key);
  if (answer.status !== 200) throw new Error(`GET /v1/leaderboards/${board} answered ${answer.status}`);
  return answer.json as { version: number; total: number };
}

/** Puts `size` entries on the board through the batch endpoint, a few requests in flight, within `deadlineS`. */
export async function prefill(url: string, key: string, size: number, batchSize: number, deadlineS: number) {
  const random = randomScores(7);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + deadlineS * 1000;
  const worker = async () => {
    while (next < size && performance.now() < deadline) {
      const first = next;
      const count = Math.min(batchSize, size - first);
      next += count;
      const scores = new Array(count);
      for (let i = 0; i < count; i++) scores[i] = { participant_id: `p-${first + i}`, score: random() };
      const answer = await request('POST', `${url}${batchPath(BOARD)}`, key, { scores });
      if (answer.status !== 200) throw new Error(`prefill batch answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
      done += count;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const seconds = (performance.now() - started) / 1000;
  return { entries: done, seconds, scoresPerS: done / seconds };
}

/**
 * Ladder on a fresh data directory: its runs, then restarts on the directory
 * they filled (the restart benchmark needs a million entries; filling them
 * twice would cost half a minute).
 */
async function benchLadder(runner: Runner, settings: Settings, log: (line: string) => void, errors: string[]) {
  if (!existsSync(settings.cli)) throw new Error(`${settings.cli} does not exist: run npm run build first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-bench-'));
  const forget = onInterrupt(() => rmSync(dataDir, { recursive: true, force: true }));
  const key = `ldr_bench_${randomBytes(16).toString('hex')}`;
  const env = nodeEnv({ LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_LOG_LEVEL: 'warn' });
  try {
    const measured = await measureLadder(runner, settings, log, errors, env, key);
    const databaseBytes = directoryBytes(dataDir);
    let restart: LadderResult['restart'];
    if (settings.restarts === 0) restart = { skipped: 'no restarts asked for' };
    else {
      log(`  restart: ${settings.restarts} × (spawn, first GET rankings?limit=10 of the ${measured.prefill.entries.toLocaleString('en-US')}-entry board, SIGTERM)`);
      try {
        restart = await measureRestart({ cli: settings.cli, cwd: root, env, key, board: BOARD, runs: settings.restarts }, log);
      } catch (err) {
        errors.push(`restart: ${(err as Error).message}`);
        log(`  restart FAILED: ${(err as Error).message}`);
        restart = { failed: (err as Error).message };
      }
    }
    return { ...measured, restart, databaseBytes, dataDir: { path: tmpdir(), filesystem: fsType(dataDir) } };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    forget();
  }
}

/**
 * Starts the server, measures batches on a fresh board, fills the board,
 * then measures single submissions at each connection count and batches on
 * the filled board; stops the server with SIGTERM.
 */
async function measureLadder(runner: Runner, settings: Settings, log: (line: string) => void, errors: string[], env: NodeJS.ProcessEnv, key: string) {
  const port = await freePort();
  const server = await startServer({
    name: 'ladder',
    command: process.execPath,
    args: [settings.cli, 'serve'],
    cwd: root,
    env: { ...env, LADDER_PORT: String(port) },
    port,
    readyPath: '/healthz',
  });
  const singleAt: Record<string, Measurement> = {};
  let batch: Measurement | null = null;
  let batchFresh: Measurement | null = null;
  let filled: { entries: number; seconds: number; scoresPerS: number };
  const attempt = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
      log(`  ${name} FAILED: ${(err as Error).message}`);
    }
  };
  const batchRun = async (label: string, board: string): Promise<Measurement> => {
    await probe(server.url, batchPath(board), key, { scores: [singleBody] }, (json) => Array.isArray((json as { results?: unknown }).results));
    const before = await boardState(server.url, key, board);
    const measured = await runner.measure(label, server, {
      path: batchPath(board),
      mode: 'batch',
      participants: Math.max(settings.boardSize, 1),
      batchSize: settings.batchSize,
      key,
      connections: settings.batchConnections,
    });
    const after = await boardState(server.url, key, board);
    return { ...measured, changedPerItem: (after.version - before.version) / (measured.requests * settings.batchSize) };
  };
  try {
    for (const board of [BOARD, FRESH_BOARD]) {
      const created = await request('POST', `${server.url}/v1/leaderboards`, key, { id: board, sort_order: 'desc', operator: 'best' });
      if (created.status !== 201 && created.status !== 200) {
        throw new Error(`creating the board ${board} answered ${created.status}: ${JSON.stringify(created.json).slice(0, 300)}`);
      }
    }
    // First, while the data directory is empty: a board that starts with no entry and grows during the run.
    await attempt('Ladder batch submit (fresh board)', async () => {
      batchFresh = await batchRun('Ladder batch submit (fresh board)', FRESH_BOARD);
      const total = (await boardState(server.url, key, FRESH_BOARD)).total;
      log(`    the fresh board ended the run with ${total.toLocaleString('en-US')} entries`);
    });

    const deadlineS = settings.quick ? 20 : 60;
    filled = await prefill(server.url, key, settings.boardSize, settings.batchSize, deadlineS);
    log(
      `  prefill: ${filled.entries.toLocaleString('en-US')} entries in ${filled.seconds.toFixed(1)} s` +
        ` (${Math.round(filled.scoresPerS).toLocaleString('en-US')} scores/s, 4 requests in flight from Node)` +
        (filled.entries < settings.boardSize ? ` — stopped at the ${deadlineS} s limit` : ''),
    );

    await probe(server.url, singlePath(BOARD), key, singleBody, (json) => typeof (json as { rank?: unknown }).rank === 'number');
    for (const connections of settings.connectionSeries) {
      await attempt(`Ladder single submit @ ${connections} conn`, async () => {
        const before = await boardState(server.url, key);
        const measured = await runner.measure('Ladder single submit', server, singleSpec(settings, connections, key, Math.min(settings.participants, Math.max(filled.entries, 1))));
        const after = await boardState(server.url, key);
        // The version also counts the warm-up's changes; the share is an upper bound, close enough to read.
        singleAt[String(connections)] = { ...measured, changedPerItem: (after.version - before.version) / measured.requests };
      });
    }

    await attempt('Ladder batch submit', async () => {
      batch = await batchRun('Ladder batch submit', BOARD);
    });
  } finally {
    // SIGTERM: the stop the restart benchmark then starts from.
    await server.stop();
  }
  return { prefill: filled, single: singleAt[String(settings.connections)] ?? null, batch: batch as Measurement | null, singleAt, batchFresh: batchFresh as Measurement | null };
}

/** The installed redis-rank's version, or null when it is not installed. */
function redisRankVersion(): string | null {
  try {
    return (createRequire(import.meta.url)('redis-rank/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

/** A Redis-backed anchor (EVALSHA or redis-rank) on a sorted set of its own, at every connection count. */
export async function benchRedisAnchor(
  mode: 'redis' | 'redis-rank',
  runner: Runner,
  settings: Settings,
  url: string,
  log: (line: string) => void,
  /** Runs on the filled sorted set before the load (the cluster benchmark measures its memory). */
  onFilled?: (board: RedisBoard) => Promise<void>,
): Promise<RedisAnchor | { skipped: string }> {
  const label = mode === 'redis' ? 'Redis route (EVALSHA)' : 'redis-rank route';
  const library = mode === 'redis-rank' ? redisRankVersion() : null;
  if (mode === 'redis-rank' && library === null) {
    const skipped = 'redis-rank is not installed (npm install --save-dev redis-rank)';
    log(`  ${label} skipped: ${skipped}`);
    return { skipped };
  }
  const board = await openRedisBoard(url, settings.boardSize, mode === 'redis' ? 'ladder-bench' : 'ladder-bench-rank');
  if ('skipped' in board) {
    log(`  ${label} skipped: ${board.skipped}`);
    return board;
  }
  log(`  ${label}: Redis ${board.redisVersion}, ${board.members.toLocaleString('en-US')} members filled in ${board.fillSeconds.toFixed(1)} s under ${board.keyPrefix}${library === null ? '' : `; redis-rank ${library}`}`);
  try {
    await onFilled?.(board);
    const server = await startAnchor(mode, board);
    try {
      await probe(server.url, singlePath(BOARD), '', singleBody, (json) => typeof (json as { rank?: unknown }).rank === 'number');
      const at: Record<string, Measurement> = {};
      for (const connections of settings.connectionSeries) {
        at[String(connections)] = await runner.measure(label, server, singleSpec(settings, connections), board.serverPid);
      }
      return {
        redisVersion: board.redisVersion,
        members: board.members,
        fillSeconds: board.fillSeconds,
        keyPrefix: board.keyPrefix,
        ...(library === null ? {} : { library }),
        at,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await board.drop();
  }
}

/** Runs a part of a benchmark; a failure is logged and kept in `errors`, answers null, and the other parts still run. */
export function guard(errors: string[], log: (line: string) => void) {
  return async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
      log(`  ${name} FAILED: ${(err as Error).message}`);
      return null;
    }
  };
}

/** What Ladder's figures are divided by: the mean of the bare route's runs (before and after Ladder's). */
export interface BareReference {
  readonly runs: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuUsPerRequest: number | undefined;
  readonly mainUsPerRequest?: number;
  readonly otherUsPerRequest?: number;
  /** (highest - lowest) / mean of the runs' requests per second: how steady the machine was. */
  readonly spread: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

export function bareReference(runs: readonly Measurement[]): BareReference | null {
  if (runs.length === 0) return null;
  const rates = runs.map((m) => m.requestsPerS);
  const cpu = runs.map((m) => m.serverCpuUsPerRequest);
  const threads = runs.map((m) => m.threads);
  const requestsPerS = mean(rates);
  const split = threads.every((t) => t !== null) ? (threads as ThreadCpu[]) : null;
  return {
    runs: runs.length,
    requestsPerS,
    p50Ms: mean(runs.map((m) => m.latencyMs.p50)),
    p99Ms: mean(runs.map((m) => m.latencyMs.p99)),
    serverCpuUsPerRequest: cpu.every((v) => v !== null) ? mean(cpu as number[]) : undefined,
    ...(split === null ? {} : { mainUsPerRequest: mean(split.map((t) => t.mainUsPerRequest)), otherUsPerRequest: mean(split.map((t) => t.otherUsPerRequest)) }),
    spread: (Math.max(...rates) - Math.min(...rates)) / requestsPerS,
  };
}

/** The EVALSHA route at the first connection count, in the shape `anchors.redis` had before the series. */
function redisAtFirst(anchor: RedisAnchor | { skipped: string } | null, connections: number): RedisAtFirst | { skipped: string } | null {
  if (anchor === null || 'skipped' in anchor) return anchor;
  const first = anchor.at[String(connections)];
  return first === undefined ? null : { ...first, redisVersion: anchor.redisVersion, members: anchor.members, fillSeconds: anchor.fillSeconds };
}

/**
 * Runs the anchors and Ladder one after the other (never at the same time),
 * each in a fresh process. A failing part is reported in `errors` and the
 * others still run. Takes about (4 + 2 + 2 + 2) × connection counts + 2 runs of
 * (warm-up + duration), plus the prefill, the Redis fills, the restarts and
 * the process starts.
 */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const settings = settingsOf(options);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const generator = pickGenerator(options.generator);
  log(
    `  load generator: ${generator.name} ${generator.version}; ${settings.connectionSeries.join(' and ')} connections` +
      ` (batch: ${settings.batchConnections}), ${settings.warmupS} s warm-up + ${settings.durationS} s per run`,
  );
  const runner = new Runner(generator, settings, log);
  const errors: string[] = [];
  const guarded = guard(errors, log);

  // The bare route runs first and last, so that a machine whose speed drifts shows as spread.
  const bareAt: Record<string, Measurement[]> = Object.fromEntries(settings.connectionSeries.map((c) => [String(c), [] as Measurement[]]));
  const bareRuns = async (label: string) => {
    const runs = await guarded('bare route anchor', () => benchBare(runner, settings, label));
    for (const run of runs ?? []) bareAt[String(run.connections)]?.push(run);
  };
  await bareRuns('bare route (anchor)');
  const ladder = await guarded('Ladder', () => benchLadder(runner, settings, log, errors));
  const redisUrl = options.redisUrl ?? process.env.LADDER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisAnchor = async (mode: 'redis' | 'redis-rank', name: string): Promise<RedisAnchor | { skipped: string } | null> => {
    if (options.redis === false) return { skipped: 'disabled (--no-redis)' };
    if (mode === 'redis') return guarded(name, () => benchRedisAnchor(mode, runner, settings, redisUrl, log));
    try {
      return await benchRedisAnchor(mode, runner, settings, redisUrl, log);
    } catch (err) {
      // A library that does not work here is reported as such, with the reason, in the table too.
      const reason = (err as Error).message;
      errors.push(`${name}: ${reason}`);
      log(`  ${name} FAILED: ${reason}`);
      return { skipped: `does not work here: ${reason.replace(/\s+/g, ' ').slice(0, 240)}` };
    }
  };
  const redisAt = await redisAnchor('redis', 'Redis anchor');
  const redisRank = await redisAnchor('redis-rank', 'redis-rank anchor');
  await bareRuns('bare route (anchor, again)');

  const bareReferenceAt = Object.fromEntries(Object.entries(bareAt).map(([c, runs]) => [c, bareReference(runs)]));
  const first = String(settings.connections);
  const partial = {
    generator: { name: generator.name, version: generator.version },
    settings,
    dataDir: ladder?.dataDir ?? { path: tmpdir(), filesystem: fsType(tmpdir()) },
    ladder:
      ladder === null
        ? null
        : {
            prefill: ladder.prefill,
            single: ladder.single,
            batch: ladder.batch,
            databaseBytes: ladder.databaseBytes,
            singleAt: ladder.singleAt,
            batchFresh: ladder.batchFresh,
            restart: ladder.restart,
          },
    anchors: {
      bare: bareAt[first] ?? [],
      bareReference: bareReferenceAt[first] ?? null,
      redis: redisAtFirst(redisAt, settings.connections),
      bareAt,
      bareReferenceAt,
      redisAt,
      redisRank,
    },
    errors,
  };
  return { ...partial, figures: httpFigures(partial, generator.name) };
}

/** `--connections=64,256`: the connection counts of the single-submission series. */
export function connectionsFlag(flags: Flags): number[] | undefined {
  const raw = flags.get('connections');
  if (raw === undefined) return undefined;
  const counts = raw.split(',').map((c) => Number(c.trim()));
  if (counts.length === 0 || counts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--connections takes positive integers separated by commas, got '${raw}'`);
  return counts;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flags = parseFlags(process.argv.slice(2));
  const generatorFlag = flags.get('generator');
  if (generatorFlag !== undefined && generatorFlag !== 'wrk' && generatorFlag !== 'autocannon') throw new Error('--generator must be wrk or autocannon');
  const result = await benchHttp({
    quick: booleanFlag(flags, 'quick'),
    durationS: numberFlag(flags, 'duration'),
    connections: connectionsFlag(flags),
    batchConnections: numberFlag(flags, 'batch-connections'),
    boardSize: numberFlag(flags, 'board-size'),
    restarts: countFlag(flags, 'restarts'),
    cli: flags.get('cli'),
    redis: !booleanFlag(flags, 'no-redis'),
    generator: generatorFlag,
  });
  process.stdout.write(`\n${table(result.figures)}\n`);
  if (result.errors.length > 0) process.exitCode = 1;
}
