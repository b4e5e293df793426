/**
 * HTTP benchmark: Ladder's score submissions over a real socket, against the
 * real server (`node dist/cli.js serve`, default configuration, so every 200
 * is committed to SQLite by group commit), and two anchors measured in the
 * same run on the same machine (bench/anchor-server.ts):
 *
 *   bare route   Fastify, one POST route that only validates the same body
 *   Redis route  the same route plus one EVALSHA (ZADD + ZREVRANK + INCR) on
 *                a sorted set of a million members
 *
 * Ladder's figures are printed as ratios to the anchors.
 *
 *   npm run build && node --import tsx bench/http.ts [--quick] [--duration=8]
 *     [--connections=64] [--generator=wrk|autocannon] [--no-redis] [--cli=dist/cli.js]
 *
 * Figures only: nothing here fails on a timing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { uint32s } from '../test/helpers/random.js';
import { booleanFlag, numberFlag, parseFlags } from './lib/args.js';
import { pickGenerator, type LoadGenerator, type LoadResult, type LoadSpec } from './lib/load.js';
import { cpuSeconds, freePort, machineBusySeconds, onInterrupt, startServer, type ServerProcess } from './lib/proc.js';
import { openRedisBoard, type RedisBoard } from './lib/redis-board.js';
import { ratioTo, table, type Figure } from './lib/report.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface HttpBenchOptions {
  /** Smaller board and shorter runs, for a smoke run. */
  readonly quick?: boolean;
  /** Seconds of each measurement (after its warm-up). Default 8, quick 3. */
  readonly durationS?: number;
  /** Seconds of the warm-up before each measurement. Default 2, quick 1. */
  readonly warmupS?: number;
  /** Connections of the single-submission runs. Default 64. */
  readonly connections?: number;
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
  /** false skips the Redis anchor. */
  readonly redis?: boolean;
  readonly generator?: 'wrk' | 'autocannon';
  readonly log?: (line: string) => void;
}

/** One timed run, with the CPU of everything involved. */
export interface Measurement extends LoadResult {
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
}

export interface HttpBenchResult {
  readonly generator: { readonly name: string; readonly version: string };
  readonly settings: Settings;
  readonly dataDir: { readonly path: string; readonly filesystem: string };
  readonly ladder: {
    readonly prefill: { readonly entries: number; readonly seconds: number; readonly scoresPerS: number };
    readonly single: Measurement | null;
    readonly batch: Measurement | null;
    readonly databaseBytes: number | null;
  } | null;
  readonly anchors: {
    /** The bare route's runs: before Ladder's and after the Redis anchor's. */
    readonly bare: readonly Measurement[];
    readonly bareReference: BareReference | null;
    readonly redis: (Measurement & { readonly redisVersion: string; readonly members: number; readonly fillSeconds: number }) | { readonly skipped: string } | null;
  };
  readonly errors: readonly string[];
  readonly figures: Figure[];
}

const BOARD = 'bench';

function settingsOf(options: HttpBenchOptions) {
  const quick = options.quick ?? false;
  return {
    quick,
    durationS: Math.max(1, Math.round(options.durationS ?? (quick ? 3 : 8))),
    warmupS: Math.max(1, Math.round(options.warmupS ?? (quick ? 1 : 2))),
    connections: options.connections ?? 64,
    batchConnections: options.batchConnections ?? 16,
    participants: options.participants ?? 100_000,
    boardSize: options.boardSize ?? (quick ? 100_000 : 1_000_000),
    batchSize: options.batchSize ?? 1000,
    cli: options.cli ?? join(root, 'dist', 'cli.js'),
  };
}

type Settings = ReturnType<typeof settingsOf>;

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

async function request(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; json: unknown }> {
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
async function probe(url: string, path: string, key: string, body: unknown, expect: (json: unknown) => boolean): Promise<void> {
  const answer = await request('POST', url + path, key, body);
  if (answer.status !== 200 || !expect(answer.json)) {
    throw new Error(`probe POST ${path} answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
  }
}

class Runner {
  constructor(
    private readonly generator: LoadGenerator,
    private readonly settings: Settings,
    private readonly log: (line: string) => void,
  ) {}

  /** Warm-up, then the measured run, with the CPU of the server (and of redis-server) over the measured run. */
  async measure(label: string, server: ServerProcess, spec: Omit<LoadSpec, 'durationS' | 'url'>, redisPid: number | null = null): Promise<Measurement> {
    await this.generator.run({ ...spec, url: server.url, durationS: this.settings.warmupS });
    const serverBefore = server.cpuSeconds();
    const redisBefore = redisPid === null ? null : cpuSeconds(redisPid);
    const machineBefore = machineBusySeconds();
    const started = performance.now();
    const load = await this.generator.run({ ...spec, url: server.url, durationS: this.settings.durationS });
    const wall = (performance.now() - started) / 1000;
    const serverAfter = server.cpuSeconds();
    const redisAfter = redisPid === null ? null : cpuSeconds(redisPid);
    const machineAfter = machineBusySeconds();
    const serverCpu = serverBefore === null || serverAfter === null ? null : serverAfter - serverBefore;
    const redisCpu = redisBefore === null || redisAfter === null ? null : redisAfter - redisBefore;
    const ours = serverCpu === null || load.cpuSeconds === null || (redisPid !== null && redisCpu === null) ? null : serverCpu + load.cpuSeconds + (redisCpu ?? 0);
    const otherCpu = machineBefore === null || machineAfter === null || ours === null ? null : Math.max(0, machineAfter - machineBefore - ours);
    const measurement: Measurement = {
      ...load,
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
  return (
    `  ${label}: ${rate}, p50 ${m.latencyMs.p50.toFixed(2)} ms, p99 ${m.latencyMs.p99.toFixed(2)} ms` +
    ` | CPU cores: server ${cores(m.serverCpuCores)}${redis}, ${m.generator} ${cores(m.cpuCores)}, others ${cores(m.otherCpuCores)}`
  );
}

function nodeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // The default configuration: LADDER_* variables of the caller's shell do not leak in.
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('LADDER_') && !name.startsWith('ANCHOR_')) env[name] = value;
  return { ...env, NODE_ENV: 'production', ...extra };
}

async function startAnchor(mode: 'bare' | 'redis', redis?: RedisBoard): Promise<ServerProcess> {
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

const singleBody = { participant_id: 'p-1', score: 12345 };

async function benchBare(runner: Runner, settings: Settings, label: string): Promise<Measurement> {
  const server = await startAnchor('bare');
  try {
    const path = `/v1/leaderboards/${BOARD}/scores`;
    await probe(server.url, path, '', singleBody, (json) => (json as { rank?: unknown }).rank !== undefined);
    return await runner.measure(label, server, {
      path,
      mode: 'single',
      participants: settings.participants,
      batchSize: 1,
      key: '',
      connections: settings.connections,
    });
  } finally {
    await server.stop();
  }
}

async function boardState(url: string, key: string): Promise<{ version: number; total: number }> {
  const answer = await request('GET', `${url}/v1/leaderboards/${BOARD}`, key);
  if (answer.status !== 200) throw new Error(`GET /v1/leaderboards/${BOARD} answered ${answer.status}`);
  return answer.json as { version: number; total: number };
}

/** Puts `size` entries on the board through the batch endpoint, a few requests in flight, within `deadlineS`. */
async function prefill(url: string, key: string, size: number, batchSize: number, deadlineS: number) {
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
      const answer = await request('POST', `${url}/v1/leaderboards/${BOARD}/scores/batch`, key, { scores });
      if (answer.status !== 200) throw new Error(`prefill batch answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
      done += count;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const seconds = (performance.now() - started) / 1000;
  return { entries: done, seconds, scoresPerS: done / seconds };
}

async function benchLadder(runner: Runner, settings: Settings, log: (line: string) => void, errors: string[]) {
  if (!existsSync(settings.cli)) throw new Error(`${settings.cli} does not exist: run npm run build first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-bench-'));
  const forget = onInterrupt(() => rmSync(dataDir, { recursive: true, force: true }));
  try {
    const measured = await measureLadder(runner, settings, log, errors, dataDir);
    return { ...measured, databaseBytes: directoryBytes(dataDir), dataDir: { path: tmpdir(), filesystem: fsType(dataDir) } };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    forget();
  }
}

/** Starts the server on `dataDir`, fills the board, then measures single and batch submissions. */
async function measureLadder(runner: Runner, settings: Settings, log: (line: string) => void, errors: string[], dataDir: string) {
  const key = `ldr_bench_${randomBytes(16).toString('hex')}`;
  const port = await freePort();
  const server = await startServer({
    name: 'ladder',
    command: process.execPath,
    args: [settings.cli, 'serve'],
    cwd: root,
    env: nodeEnv({ LADDER_PORT: String(port), LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_LOG_LEVEL: 'warn' }),
    port,
    readyPath: '/healthz',
  });
  let single: Measurement | null = null;
  let batch: Measurement | null = null;
  let filled: { entries: number; seconds: number; scoresPerS: number };
  try {
    const created = await request('POST', `${server.url}/v1/leaderboards`, key, { id: BOARD, sort_order: 'desc', operator: 'best' });
    if (created.status !== 201 && created.status !== 200) {
      throw new Error(`creating the board answered ${created.status}: ${JSON.stringify(created.json).slice(0, 300)}`);
    }
    const deadlineS = settings.quick ? 20 : 60;
    filled = await prefill(server.url, key, settings.boardSize, settings.batchSize, deadlineS);
    log(
      `  prefill: ${filled.entries.toLocaleString('en-US')} entries in ${filled.seconds.toFixed(1)} s` +
        ` (${Math.round(filled.scoresPerS).toLocaleString('en-US')} scores/s, 4 requests in flight from Node)` +
        (filled.entries < settings.boardSize ? ` — stopped at the ${deadlineS} s limit` : ''),
    );

    const singlePath = `/v1/leaderboards/${BOARD}/scores`;
    await probe(server.url, singlePath, key, singleBody, (json) => typeof (json as { rank?: unknown }).rank === 'number');
    try {
      const before = await boardState(server.url, key);
      const measured = await runner.measure('Ladder single submit', server, {
        path: singlePath,
        mode: 'single',
        participants: Math.min(settings.participants, Math.max(filled.entries, 1)),
        batchSize: 1,
        key,
        connections: settings.connections,
      });
      const after = await boardState(server.url, key);
      // The version also counts the warm-up's changes; the share is an upper bound, close enough to read.
      single = { ...measured, changedPerItem: (after.version - before.version) / measured.requests };
    } catch (err) {
      errors.push(`Ladder single submit: ${(err as Error).message}`);
      log(`  Ladder single submit FAILED: ${(err as Error).message}`);
    }

    const batchPath = `/v1/leaderboards/${BOARD}/scores/batch`;
    try {
      await probe(server.url, batchPath, key, { scores: [singleBody] }, (json) => Array.isArray((json as { results?: unknown }).results));
      const before = await boardState(server.url, key);
      const measured = await runner.measure('Ladder batch submit', server, {
        path: batchPath,
        mode: 'batch',
        participants: Math.max(settings.boardSize, 1),
        batchSize: settings.batchSize,
        key,
        connections: settings.batchConnections,
      });
      const after = await boardState(server.url, key);
      batch = { ...measured, changedPerItem: (after.version - before.version) / (measured.requests * settings.batchSize) };
    } catch (err) {
      errors.push(`Ladder batch submit: ${(err as Error).message}`);
      log(`  Ladder batch submit FAILED: ${(err as Error).message}`);
    }
  } finally {
    await server.stop();
  }
  return { prefill: filled, single, batch };
}

async function benchRedis(runner: Runner, settings: Settings, url: string, log: (line: string) => void) {
  const board = await openRedisBoard(url, settings.boardSize);
  if ('skipped' in board) {
    log(`  Redis anchor skipped: ${board.skipped}`);
    return board;
  }
  log(`  Redis ${board.redisVersion}: ${board.members.toLocaleString('en-US')} members filled in ${board.fillSeconds.toFixed(1)} s under ${board.keyPrefix}`);
  try {
    const server = await startAnchor('redis', board);
    try {
      const path = `/v1/leaderboards/${BOARD}/scores`;
      await probe(server.url, path, '', singleBody, (json) => typeof (json as { rank?: unknown }).rank === 'number');
      const measured = await runner.measure(
        'Redis route (anchor)',
        server,
        { path, mode: 'single', participants: settings.participants, batchSize: 1, key: '', connections: settings.connections },
        board.serverPid,
      );
      return { ...measured, redisVersion: board.redisVersion, members: board.members, fillSeconds: board.fillSeconds };
    } finally {
      await server.stop();
    }
  } finally {
    await board.drop();
  }
}

/** What Ladder's figures are divided by: the mean of the bare route's runs (before and after Ladder's). */
export interface BareReference {
  readonly runs: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuUsPerRequest: number | undefined;
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
  const requestsPerS = mean(rates);
  return {
    runs: runs.length,
    requestsPerS,
    p50Ms: mean(runs.map((m) => m.latencyMs.p50)),
    p99Ms: mean(runs.map((m) => m.latencyMs.p99)),
    serverCpuUsPerRequest: cpu.every((v) => v !== null) ? mean(cpu as number[]) : undefined,
    spread: (Math.max(...rates) - Math.min(...rates)) / requestsPerS,
  };
}

function httpFigures(result: Omit<HttpBenchResult, 'figures'>, generator: string): Figure[] {
  const bare = result.anchors.bareReference;
  const redis = result.anchors.redis !== null && !('skipped' in result.anchors.redis) ? result.anchors.redis : null;
  const single = result.ladder?.single ?? null;
  const batch = result.ladder?.batch ?? null;
  const f: Figure[] = [];
  const add = (figure: Omit<Figure, 'bench'>) => f.push({ bench: 'http', ...figure });
  if (single !== null) {
    add({
      name: 'Ladder single submit',
      value: single.requestsPerS,
      unit: 'req/s',
      goal: { of: 'ratio', atLeast: 0.9 },
      anchor: ratioTo('bare route', single.requestsPerS, bare?.requestsPerS),
    });
    if (redis !== null) add({ name: 'Ladder single submit vs Redis route', value: single.requestsPerS, unit: 'req/s', anchor: ratioTo('Redis route', single.requestsPerS, redis.requestsPerS) });
    add({ name: 'Ladder single submit p50', value: single.latencyMs.p50, unit: 'ms', anchor: ratioTo('bare route', single.latencyMs.p50, bare?.p50Ms) });
    add({ name: 'Ladder single submit p99', value: single.latencyMs.p99, unit: 'ms', anchor: ratioTo('bare route', single.latencyMs.p99, bare?.p99Ms) });
    if (single.serverCpuUsPerRequest !== null) {
      add({
        name: 'Ladder server CPU per submit',
        value: single.serverCpuUsPerRequest,
        unit: 'µs',
        anchor: ratioTo('bare route', single.serverCpuUsPerRequest, bare?.serverCpuUsPerRequest),
      });
    }
    if (single.serverCpuCores !== null) add({ name: 'Ladder server CPU (single)', value: single.serverCpuCores, unit: 'cores' });
    if (single.cpuCores !== null) add({ name: `${generator} CPU (Ladder single)`, value: single.cpuCores, unit: 'cores' });
    if (single.changedPerItem !== undefined) add({ name: 'single submits that changed the ranking', value: Math.min(1, single.changedPerItem), unit: '' });
  }
  if (batch !== null) {
    add({
      name: 'Ladder batch submit',
      value: batch.itemsPerS,
      unit: 'scores/s',
      goal: { of: 'value', atLeast: 500_000 },
      anchor: ratioTo('bare route req/s', batch.itemsPerS, bare?.requestsPerS),
    });
    add({ name: `Ladder batch p99 (${result.settings.batchSize}/request)`, value: batch.latencyMs.p99, unit: 'ms' });
    if (batch.serverCpuCores !== null) add({ name: 'Ladder server CPU (batch)', value: batch.serverCpuCores, unit: 'cores' });
  }
  if (bare !== null) {
    add({ name: `bare route (anchor, mean of ${bare.runs})`, value: bare.requestsPerS, unit: 'req/s' });
    if (bare.runs > 1) add({ name: 'bare route spread between runs', value: bare.spread * 100, unit: '%' });
    add({ name: 'bare route p99', value: bare.p99Ms, unit: 'ms' });
    const cpu = result.anchors.bare[0]?.serverCpuCores ?? null;
    if (cpu !== null) add({ name: 'bare route server CPU', value: cpu, unit: 'cores' });
  }
  if (redis !== null) {
    add({ name: 'Redis route (anchor)', value: redis.requestsPerS, unit: 'req/s', anchor: ratioTo('bare route', redis.requestsPerS, bare?.requestsPerS) });
    add({ name: 'Redis route p99', value: redis.latencyMs.p99, unit: 'ms' });
    if (redis.redisCpuCores !== undefined && redis.redisCpuCores !== null) add({ name: 'redis-server CPU (Redis route)', value: redis.redisCpuCores, unit: 'cores' });
  }
  const noisy = [...result.anchors.bare, single, batch, redis].filter((m) => m !== null && m.otherCpuCores !== null && m.otherCpuCores > 0.15);
  if (noisy.length > 0) {
    add({ name: 'runs disturbed by other processes', value: noisy.length, unit: '', note: 'other processes used > 0.15 cores during these runs' });
  }
  return f;
}

/**
 * Runs the anchors and Ladder one after the other (never at the same time),
 * each in a fresh process. A failing part is reported in `errors` and the
 * others still run. Takes about 6 × (warm-up + duration) plus the prefill
 * and process starts.
 */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const settings = settingsOf(options);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const generator = pickGenerator(options.generator);
  log(
    `  load generator: ${generator.name} ${generator.version}; ${settings.connections} connections` +
      ` (batch: ${settings.batchConnections}), ${settings.warmupS} s warm-up + ${settings.durationS} s per run`,
  );
  const runner = new Runner(generator, settings, log);
  const errors: string[] = [];
  const guarded = async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
      log(`  ${name} FAILED: ${(err as Error).message}`);
      return null;
    }
  };

  // The bare route runs first and last, so that a machine whose speed drifts shows as spread.
  const bare: Measurement[] = [];
  const first = await guarded('bare route anchor', () => benchBare(runner, settings, 'bare route (anchor)'));
  if (first !== null) bare.push(first);
  const ladder = await guarded('Ladder', () => benchLadder(runner, settings, log, errors));
  const redisUrl = options.redisUrl ?? process.env.LADDER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis =
    options.redis === false
      ? { skipped: 'disabled (--no-redis)' }
      : await guarded('Redis anchor', () => benchRedis(runner, settings, redisUrl, log));
  const last = await guarded('bare route anchor', () => benchBare(runner, settings, 'bare route (anchor, again)'));
  if (last !== null) bare.push(last);

  const partial = {
    generator: { name: generator.name, version: generator.version },
    settings,
    dataDir: ladder?.dataDir ?? { path: tmpdir(), filesystem: fsType(tmpdir()) },
    ladder: ladder === null ? null : { prefill: ladder.prefill, single: ladder.single, batch: ladder.batch, databaseBytes: ladder.databaseBytes },
    anchors: { bare, bareReference: bareReference(bare), redis },
    errors,
  };
  return { ...partial, figures: httpFigures(partial, generator.name) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flags = parseFlags(process.argv.slice(2));
  const generatorFlag = flags.get('generator');
  if (generatorFlag !== undefined && generatorFlag !== 'wrk' && generatorFlag !== 'autocannon') throw new Error('--generator must be wrk or autocannon');
  const result = await benchHttp({
    quick: booleanFlag(flags, 'quick'),
    durationS: numberFlag(flags, 'duration'),
    connections: numberFlag(flags, 'connections'),
    batchConnections: numberFlag(flags, 'batch-connections'),
    boardSize: numberFlag(flags, 'board-size'),
    cli: flags.get('cli'),
    redis: !booleanFlag(flags, 'no-redis'),
    generator: generatorFlag,
  });
  process.stdout.write(`\n${table(result.figures)}\n`);
  if (result.errors.length > 0) process.exitCode = 1;
}
