/**
 * Cluster benchmark: Ladder in cluster mode (`node dist/cli.js serve` with
 * LADDER_REDIS_URL + LADDER_DATABASE_URL) on this machine's Redis and
 * PostgreSQL, against the Redis anchors of the HTTP benchmark measured in the
 * same run (bench/anchor-server.ts: the EVALSHA route and the redis-rank
 * route, same route, body and connections, same Redis):
 *
 *   1. single submissions to a board of a million entries (filled through
 *      the batch endpoint), with one and with two Ladder processes (one load
 *      generator per process, at once, the connections split between them);
 *   2. the persister: batches at a fixed rate (20,000 submissions/s), and
 *      how far PostgreSQL trails the board's stream meanwhile
 *      (bench/cluster-persister.ts);
 *   3. `ladder rebuild` of the board from PostgreSQL after its Redis keys
 *      were unlinked (the log the persister wrote: cluster mode writes no
 *      checkpoints, so this replays it);
 *   4. the board's Redis memory per entry against a plain sorted set of the
 *      same ids (the EVALSHA anchor's, right after its fill).
 *
 * Everything runs under a key prefix and in a database of its own
 * (`ladder_bench_<random>`), both removed at the end.
 *
 *   npm run build && node --import tsx bench/cluster.ts [--quick] [--duration=8]
 *     [--connections=64] [--board-size=1000000] [--rate=20000] [--rate-seconds=10]
 *     [--generator=wrk|autocannon] [--no-redis] [--cli=dist/cli.js]
 *
 * Figures only: nothing here fails on a timing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { crossMemberLatency, type LiveLatency } from './cluster-live.js';
import { clusterFigures } from './cluster-figures.js';
import { healthzLag, PersisterProbe, submitAtFixedRate, type FixedRateResult, type PersisterSample } from './cluster-persister.js';
import { BOARD, benchRedisAnchor, guard, nodeEnv, prefill, probe, request, Runner, settingsOf, singleBody, singlePath, singleSpec, type Measurement, type RedisAnchor } from './http.js';
import { booleanFlag, numberFlag, parseFlags } from './lib/args.js';
import { pickGenerator } from './lib/load.js';
import { freePort, onInterrupt, startServer, timedCommand, type ServerProcess } from './lib/proc.js';
import { table, type Figure } from './lib/report.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface ClusterBenchOptions {
  /** 100,000 entries, shorter runs: a smoke run. */
  readonly quick?: boolean;
  /** Seconds of each measured run. Default 8, quick 3. */
  readonly durationS?: number;
  readonly warmupS?: number;
  /** Connections of the single-submission runs, split between the processes. Default 64. */
  readonly connections?: number;
  /** Entries on the board (and members of the anchors' sorted sets). Default 1,000,000, quick 100,000. */
  readonly boardSize?: number;
  /** Submissions per second of the persister run. Default 20,000. */
  readonly rate?: number;
  /** Seconds of the persister run. Default 10, quick 5. */
  readonly rateSeconds?: number;
  /** false skips the Redis anchors. */
  readonly anchors?: boolean;
  readonly generator?: 'wrk' | 'autocannon';
  readonly cli?: string;
  /** Default LADDER_BENCH_REDIS_URL or redis://127.0.0.1:6379. */
  readonly redisUrl?: string;
  /** A database of the server to make the benchmark's own in. Default LADDER_BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres. */
  readonly databaseUrl?: string;
  readonly log?: (line: string) => void;
}

function settingsOfCluster(options: ClusterBenchOptions) {
  const quick = options.quick ?? false;
  const connections = options.connections ?? 64;
  return {
    ...settingsOf({ quick, durationS: options.durationS, warmupS: options.warmupS, connections, boardSize: options.boardSize, cli: options.cli }),
    rate: options.rate ?? 20_000,
    rateSeconds: Math.max(1, Math.round(options.rateSeconds ?? (quick ? 5 : 10))),
    redisUrl: options.redisUrl ?? process.env.LADDER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    databaseUrl: options.databaseUrl ?? process.env.LADDER_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    anchors: options.anchors ?? true,
  };
}

export type ClusterSettings = ReturnType<typeof settingsOfCluster>;

/** The persister run's readings: what was submitted, and how far PostgreSQL trailed. */
export interface PersisterRun {
  readonly load: FixedRateResult;
  /** Largest unpersisted events and their age seen while the load ran. */
  readonly maxLagEvents: number;
  readonly maxLagMs: number;
  /** 99th percentile of the lag samples (ms). */
  readonly p99LagMs: number;
  readonly samples: number;
  /** Events committed to PostgreSQL per second over the load's window. */
  readonly persistedPerS: number;
  /** After the load stopped: until PostgreSQL held every event (ms), or null when it did not within the limit. */
  readonly drainMs: number | null;
  /** The largest lag /healthz reported meanwhile (its sweep updates it every 2 s). */
  readonly healthz: { readonly events: number; readonly ms: number; readonly polls: number };
}

export interface BoardMemory {
  readonly entries: number;
  readonly keys: number;
  readonly bytes: number;
  readonly bytesPerEntry: number;
}

export interface ClusterBenchResult {
  readonly generator: { readonly name: string; readonly version: string };
  readonly settings: ClusterSettings;
  readonly redisVersion: string;
  readonly prefill: {
    readonly entries: number;
    readonly seconds: number;
    readonly scoresPerS: number;
    /** Until PostgreSQL held the fill's events, from the fill's start (s); null when it did not within the limit. */
    readonly persistedAfterS: number | null;
    /** Events committed per second while the persister had a backlog (during and after the fill). */
    readonly persistedPerS: number | null;
    /** After the fill's last answer, until PostgreSQL held it all: the events persisted and the server's CPU per event (µs), persisting only. */
    readonly drain: { readonly events: number; readonly usPerEvent: number } | null;
    /** The largest lag /healthz reported during the fill and its drain. */
    readonly healthz: { readonly events: number; readonly ms: number; readonly polls: number };
  } | null;
  readonly ladder: { readonly one: Measurement | null; readonly two: Measurement | null };
  readonly anchors: { readonly redis: RedisAnchor | { readonly skipped: string } | null; readonly redisRank: RedisAnchor | { readonly skipped: string } | null };
  readonly persister: PersisterRun | null;
  /** Submit through one member, delta to a viewer on the other, at light load (bench/cluster-live.ts). */
  readonly live: LiveLatency | null;
  /** Redis' busiest commands (INFO commandstats) over each run, warm-up included. */
  readonly redisCommands: { readonly one: CommandCost[] | null; readonly two: CommandCost[] | null; readonly evalsha: CommandCost[] | null };
  readonly rebuild: { readonly seconds: number; readonly reportedSeconds: number | null; readonly entriesBefore: number; readonly entriesAfter: number; readonly cpuSeconds: number | null } | null;
  readonly memory: { readonly grown: BoardMemory | null; readonly rebuilt: BoardMemory | null; readonly plainBytesPerEntry: number | null; readonly plainMembers: number | null };
  readonly errors: readonly string[];
  readonly figures: Figure[];
}

/** Why the benchmark cannot run here (Redis or PostgreSQL unreachable), or null. */
export async function clusterUnavailable(options: ClusterBenchOptions = {}): Promise<string | null> {
  const settings = settingsOfCluster(options);
  const redis = new Redis(settings.redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    return `Redis is not reachable at ${settings.redisUrl} (${(err as Error).message})`;
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: settings.databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    return `PostgreSQL is not reachable at ${settings.databaseUrl} (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
  return null;
}

/** Every key under `pattern*`, by SCAN (the Redis is shared: never KEYS). */
async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${pattern}*`, 'COUNT', 10_000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

async function unlinkAll(redis: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1_000) await redis.unlink(...keys.slice(i, i + 1_000));
}

/** MEMORY USAGE … SAMPLES 0 summed over the keys, pipelined. */
async function memoryOf(redis: Redis, keys: readonly string[]): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < keys.length; i += 1_000) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 1_000)) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [err, used] of (await pipeline.exec()) ?? []) {
      if (err !== null) throw err;
      bytes += Number(used ?? 0);
    }
  }
  return bytes;
}

/** The board's keys but its log and event ids: state, ranking, metadata and every bucket (2^level + split of them, index/redis-keys.ts). */
async function boardMemory(redis: Redis, base: string): Promise<BoardMemory> {
  const state = await redis.hgetall(`${base}s`);
  const buckets = 2 ** Number(state.bucket_level ?? 0) + Number(state.bucket_split ?? 0);
  const keys = [`${base}s`, `${base}z`, `${base}m`, ...Array.from({ length: buckets }, (_, i) => `${base}h:${i}`)];
  const bytes = await memoryOf(redis, keys);
  const entries = await redis.zcard(`${base}z`);
  return { entries, keys: keys.length, bytes, bytesPerEntry: entries === 0 ? NaN : bytes / entries };
}

/** Calls and µs per command from INFO commandstats (the whole server's: the Redis is shared). */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match !== null) stats.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

export interface CommandCost {
  readonly command: string;
  readonly calls: number;
  readonly usec: number;
  readonly usecPerCall: number;
}

/** The commands that took most of Redis' time between two readings, busiest first. */
function commandCosts(before: Map<string, { calls: number; usec: number }>, after: Map<string, { calls: number; usec: number }>): CommandCost[] {
  const costs: CommandCost[] = [];
  for (const [command, now] of after) {
    const then = before.get(command) ?? { calls: 0, usec: 0 };
    const calls = now.calls - then.calls;
    if (calls > 0) costs.push({ command, calls, usec: now.usec - then.usec, usecPerCall: (now.usec - then.usec) / calls });
  }
  return costs.sort((a, b) => b.usec - a.usec).slice(0, 10);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Persisted events per second between the first sample with a backlog and the first after it with none. */
function backlogRate(samples: readonly PersisterSample[]): number | null {
  const first = samples.findIndex((s) => s.unpersisted > 0);
  if (first < 0) return null;
  const last = samples.findIndex((s, i) => i > first && s.unpersisted === 0);
  const end = samples[last < 0 ? samples.length - 1 : last] as PersisterSample;
  const start = samples[first] as PersisterSample;
  return end.atMs > start.atMs ? ((end.persisted - start.persisted) * 1000) / (end.atMs - start.atMs) : null;
}

const SAMPLE_MS = 100;

/** A promise and the function that resolves it (Promise.withResolvers is Node 22). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export async function benchCluster(options: ClusterBenchOptions = {}): Promise<ClusterBenchResult> {
  const settings = settingsOfCluster(options);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!existsSync(settings.cli)) throw new Error(`${settings.cli} does not exist: run npm run build first`);
  const generator = pickGenerator(options.generator);
  const runner = new Runner(generator, settings, log);
  const errors: string[] = [];
  const attempt = guard(errors, log);
  log(
    `  load generator: ${generator.name} ${generator.version}; ${settings.connections} connections (split over the processes),` +
      ` ${settings.warmupS} s warm-up + ${settings.durationS} s per run; board of ${settings.boardSize.toLocaleString('en-US')} entries`,
  );

  const redis = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const info = await redis.info('server');
  const redisVersion = /^redis_version:(.*)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
  const redisPidField = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  const redisPid = /^redis:\/\/(127\.0\.0\.1|localhost)(:|\/|$)/.test(settings.redisUrl) && redisPidField > 0 ? redisPidField : null;

  const token = randomBytes(6).toString('hex');
  const prefix = `ladder-bench-cluster:${token}:`;
  const database = `ladder_bench_${token}`;
  const databaseUrl = new URL(settings.databaseUrl);
  databaseUrl.pathname = `/${database}`;
  const admin = new pg.Client({ connectionString: settings.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-bench-cluster-'));
  const cleanup = async () => {
    await unlinkAll(redis, await keysMatching(redis, prefix)).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const forget = onInterrupt(cleanup);
  log(`  Redis ${redisVersion} under ${prefix}; PostgreSQL database ${database}`);

  const plain: { value: { bytesPerEntry: number; members: number } | null } = { value: null };
  let evalshaCommands: CommandCost[] | null = null;
  const anchor = async (mode: 'redis' | 'redis-rank') => {
    if (!settings.anchors) return { skipped: 'disabled (--no-redis)' };
    let before: Map<string, { calls: number; usec: number }> | null = null;
    const measured = await attempt(`${mode} anchor`, () =>
      benchRedisAnchor(mode, runner, settings, settings.redisUrl, log, async (board) => {
        if (mode !== 'redis') return;
        const bytes = await memoryOf(redis, [`${board.keyPrefix}board`]);
        plain.value = { bytesPerEntry: bytes / board.members, members: board.members };
        log(`  plain sorted set (ZADD of p-0 … p-${board.members - 1}): ${(bytes / board.members).toFixed(1)} B per member`);
        before = await commandStats(redis);
      }),
    );
    if (before !== null) evalshaCommands = commandCosts(before, await commandStats(redis));
    return measured;
  };
  /** A run, with Redis' busiest commands over it. */
  const withCommands = async <T>(run: () => Promise<T>): Promise<{ value: T; commands: CommandCost[] }> => {
    const before = await commandStats(redis);
    const value = await run();
    return { value, commands: commandCosts(before, await commandStats(redis)) };
  };

  const key = `ldr_bench_${randomBytes(16).toString('hex')}`;
  const env = nodeEnv({
    LADDER_REDIS_URL: settings.redisUrl,
    LADDER_DATABASE_URL: databaseUrl.toString(),
    LADDER_REDIS_PREFIX: prefix,
    LADDER_ADMIN_KEY: key,
    LADDER_DATA_DIR: dataDir,
    LADDER_LOG_LEVEL: 'warn',
  });
  const startLadder = async (name: string): Promise<ServerProcess> => {
    const port = await freePort();
    return startServer({ name, command: process.execPath, args: [settings.cli, 'serve'], cwd: root, env: { ...env, LADDER_PORT: String(port) }, port, readyPath: '/healthz' });
  };
  const base = `${prefix}{${BOARD}}:`;
  const probeOf = new PersisterProbe(redis, `${base}log`);

  const servers: ServerProcess[] = [];
  try {
    const redisAnchor = await anchor('redis');
    const redisRank = await anchor('redis-rank');

    const first = await startLadder('ladder (cluster, 1)');
    servers.push(first);
    const created = await request('POST', `${first.url}/v1/leaderboards`, key, { id: BOARD, sort_order: 'desc', operator: 'best' });
    if (created.status !== 201) throw new Error(`creating the board answered ${created.status}: ${JSON.stringify(created.json).slice(0, 300)}`);

    // The fill goes through the batch endpoint, so the persister writes a million events: the log the rebuild reads.
    const fillDone = deferred();
    const fillSamples = probeOf.watch(SAMPLE_MS, fillDone.promise);
    const fillHealth = healthzLag([first.url], 500, fillDone.promise);
    const fillStarted = performance.now();
    const filled = await prefill(first.url, key, settings.boardSize, settings.batchSize, settings.quick ? 30 : 90);
    const drainFrom = { sample: await probeOf.sample(), cpu: first.cpuSeconds() };
    const caughtUp = await probeOf.caughtUp(120_000);
    const drainTo = { sample: await probeOf.sample(), cpu: first.cpuSeconds() };
    fillDone.resolve();
    const persistedAfterS = caughtUp === null ? null : (performance.now() - fillStarted) / 1000;
    const drainEvents = drainTo.sample.persisted - drainFrom.sample.persisted;
    const prefillResult = {
      ...filled,
      persistedAfterS,
      persistedPerS: backlogRate(await fillSamples),
      drain: drainEvents < 1000 || drainFrom.cpu === null || drainTo.cpu === null ? null : { events: drainEvents, usPerEvent: ((drainTo.cpu - drainFrom.cpu) / drainEvents) * 1e6 },
      healthz: await fillHealth,
    };
    log(
      `  prefill: ${filled.entries.toLocaleString('en-US')} entries in ${filled.seconds.toFixed(1)} s (${Math.round(filled.scoresPerS).toLocaleString('en-US')} scores/s);` +
        ` in PostgreSQL ${persistedAfterS === null ? 'not within 120 s' : `${persistedAfterS.toFixed(1)} s after the fill began`}` +
        (prefillResult.persistedPerS === null ? '' : ` (${Math.round(prefillResult.persistedPerS).toLocaleString('en-US')} events/s while backlogged)`) +
        (prefillResult.drain === null ? '' : `; persisting alone cost ${prefillResult.drain.usPerEvent.toFixed(1)} µs of server CPU per event`) +
        `; /healthz showed at most ${prefillResult.healthz.ms} ms / ${prefillResult.healthz.events} events meanwhile`,
    );

    await probe(first.url, singlePath(BOARD), key, singleBody, (json) => typeof (json as { rank?: unknown }).rank === 'number');
    const spec = singleSpec(settings, settings.connections, key, Math.min(settings.participants, settings.boardSize));
    const one = await attempt('Ladder cluster, 1 process', () => withCommands(() => runner.measure('Ladder cluster single submit, 1 process', first, spec, redisPid)));
    const second = await startLadder('ladder (cluster, 2)');
    servers.push(second);
    await probe(second.url, singlePath(BOARD), key, singleBody, (json) => typeof (json as { rank?: unknown }).rank === 'number');
    const two = await attempt('Ladder cluster, 2 processes', () => withCommands(() => runner.measure('Ladder cluster single submit, 2 processes', servers, spec, redisPid)));

    const live = await attempt('cross-member latency', async () => {
      const measured = await crossMemberLatency(first.url, second.url, key, settings.quick ? 20 : 100, 10);
      log(`  cross-member real time, 10 submissions/s through one member, a viewer on the other: p50 ${measured.p50Ms.toFixed(1)} ms, p99 ${measured.p99Ms.toFixed(1)} ms, max ${measured.maxMs.toFixed(1)} ms (${measured.samples} deltas)`);
      return measured;
    });

    const persister = await attempt('persister', async () => {
      if ((await probeOf.caughtUp(60_000)) === null) throw new Error('PostgreSQL did not catch up with the single submissions within 60 s');
      const done = deferred();
      const samples = probeOf.watch(SAMPLE_MS, done.promise);
      const health = healthzLag(servers.map((s) => s.url), 500, done.promise);
      const load = await submitAtFixedRate({
        urls: servers.map((s) => s.url),
        key,
        board: BOARD,
        perS: settings.rate,
        seconds: settings.rateSeconds,
        batchSize: settings.batchSize,
        participants: settings.boardSize,
      }).finally(() => done.resolve());
      const during = await samples;
      const drainMs = await probeOf.caughtUp(60_000);
      const firstSample = during[0] as PersisterSample;
      const lastSample = during[during.length - 1] as PersisterSample;
      const run: PersisterRun = {
        load,
        maxLagEvents: Math.max(...during.map((s) => s.unpersisted)),
        maxLagMs: Math.max(...during.map((s) => s.lagMs)),
        p99LagMs: percentile(
          during.map((s) => s.lagMs),
          99,
        ),
        samples: during.length,
        persistedPerS: ((lastSample.persisted - firstSample.persisted) * 1000) / (lastSample.atMs - firstSample.atMs),
        drainMs,
        healthz: await health,
      };
      log(
        `  persister at ${settings.rate.toLocaleString('en-US')} submissions/s for ${settings.rateSeconds} s: ${Math.round(load.appliedPerS).toLocaleString('en-US')}/s applied` +
          ` (${load.skipped} batches not sent, ${load.failed} failed), ${Math.round(run.persistedPerS).toLocaleString('en-US')} events/s into PostgreSQL;` +
          ` lag max ${Math.round(run.maxLagMs)} ms / ${run.maxLagEvents.toLocaleString('en-US')} events (p99 ${Math.round(run.p99LagMs)} ms);` +
          ` drained ${drainMs === null ? 'not within 60 s' : `${Math.round(drainMs)} ms`} after; /healthz showed at most ${run.healthz.ms} ms / ${run.healthz.events} events`,
      );
      return run;
    });

    const grown = await attempt('memory', () => boardMemory(redis, base));
    if (grown !== null) log(`  Ladder's board: ${grown.entries.toLocaleString('en-US')} entries in ${grown.keys.toLocaleString('en-US')} keys, ${grown.bytesPerEntry.toFixed(1)} B per entry`);

    const rebuild = await attempt('rebuild', async () => {
      if ((await probeOf.caughtUp(60_000)) === null) throw new Error('PostgreSQL did not catch up within 60 s: a rebuild would lose events');
      for (const server of servers.splice(0)) await server.stop();
      const entriesBefore = await redis.zcard(`${base}z`);
      await unlinkAll(redis, await keysMatching(redis, base));
      const run = await timedCommand(process.execPath, [settings.cli, 'rebuild', '--board', BOARD], { env, cwd: root });
      if (run.code !== 0) throw new Error(`ladder rebuild exited with ${run.code}: ${run.stderr.slice(-500)}`);
      const reported = /rebuilt .* in ([\d.]+) s/.exec(run.stderr + run.stdout)?.[1];
      const entriesAfter = await redis.zcard(`${base}z`);
      log(`  rebuild: ${entriesAfter.toLocaleString('en-US')} of ${entriesBefore.toLocaleString('en-US')} entries in ${run.wallSeconds.toFixed(1)} s (spawn to exit; the command reports ${reported ?? '?'} s)`);
      return { seconds: run.wallSeconds, reportedSeconds: reported === undefined ? null : Number(reported), entriesBefore, entriesAfter, cpuSeconds: run.cpuSeconds };
    });
    const rebuilt = rebuild === null ? null : await attempt('memory after the rebuild', () => boardMemory(redis, base));

    const result: Omit<ClusterBenchResult, 'figures'> = {
      generator: { name: generator.name, version: generator.version },
      settings,
      redisVersion,
      prefill: prefillResult,
      ladder: { one: one?.value ?? null, two: two?.value ?? null },
      redisCommands: { one: one?.commands ?? null, two: two?.commands ?? null, evalsha: evalshaCommands },
      anchors: { redis: redisAnchor, redisRank },
      persister,
      live,
      rebuild,
      memory: { grown, rebuilt, plainBytesPerEntry: plain.value?.bytesPerEntry ?? null, plainMembers: plain.value?.members ?? null },
      errors,
    };
    return { ...result, figures: clusterFigures(result) };
  } finally {
    for (const server of servers) await server.stop();
    await cleanup();
    forget();
    await admin.end().catch(() => undefined);
    redis.disconnect();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flags = parseFlags(process.argv.slice(2));
  const generatorFlag = flags.get('generator');
  if (generatorFlag !== undefined && generatorFlag !== 'wrk' && generatorFlag !== 'autocannon') throw new Error('--generator must be wrk or autocannon');
  const options: ClusterBenchOptions = {
    quick: booleanFlag(flags, 'quick'),
    durationS: numberFlag(flags, 'duration'),
    connections: numberFlag(flags, 'connections'),
    boardSize: numberFlag(flags, 'board-size'),
    rate: numberFlag(flags, 'rate'),
    rateSeconds: numberFlag(flags, 'rate-seconds'),
    anchors: !booleanFlag(flags, 'no-redis'),
    generator: generatorFlag,
    cli: flags.get('cli'),
  };
  const unavailable = await clusterUnavailable(options);
  if (unavailable !== null) {
    process.stdout.write(`cluster benchmark skipped: ${unavailable}\n`);
  } else {
    const result = await benchCluster(options);
    process.stdout.write(`\n${table(result.figures)}\n`);
    if (result.errors.length > 0) process.exitCode = 1;
  }
  process.exit();
}
