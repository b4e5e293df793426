/**
 * `npm run bench`: every benchmark in one run, in this order:
 *
 *   engine   the in-process rank engine (bench/engine.ts, benchEngine)
 *   http     the real server over HTTP against three anchors (bench/http.ts, benchHttp),
 *            then restarts on the data directory it filled (bench/restart.ts)
 *   cluster  cluster mode on Redis + PostgreSQL: one and two processes against the
 *            Redis anchors, the persister's lag, rebuild, Redis memory per entry
 *            (bench/cluster.ts, benchCluster); skipped when either is unreachable
 *   fanout   pushing changes to subscribers, against the loopback write floor
 *            (bench/fanout.ts, benchFanout)
 *
 * A benchmark that is missing or fails prints why, and the others still run.
 * Prints one combined table and writes bench/results/<ISO time>.json and
 * bench/results/latest.json.
 *
 *   npm run bench -- [--only=engine,http,cluster,fanout] [--quick] [--duration=8] [--connections=64,256]
 *                    [--restarts=3] [--step-ups=3] [--hold-p99=500] [--rate=20000] [--rate-seconds=10]
 *                    [--generator=wrk|autocannon] [--no-redis] [--no-build] [--cli=path/to/cli.js]
 *
 * Figures only: nothing here fails on a timing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { booleanFlag, countFlag, numberFlag, parseFlags, type Flags } from './lib/args.js';
import { newestMtime } from './lib/files.js';
import type { HttpBenchOptions } from './http.js';
import { figuresFrom, machineInfo, table, writeResults, type Figure } from './lib/report.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(root, 'bench');
const distCli = join(root, 'dist', 'cli.js');
const BENCHES = ['engine', 'http', 'cluster', 'fanout'] as const;
type BenchName = (typeof BENCHES)[number];

interface BenchOutcome {
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly seconds: number;
  readonly message?: string;
  readonly stack?: string;
  readonly options?: unknown;
  readonly result?: unknown;
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Makes sure dist/cli.js exists and is not older than src/. Builds when it
 * is missing or stale; a failed build over an existing dist/ runs the old
 * build with a warning. Answers null when usable, else why not.
 */
function ensureBuild(): string | null {
  const missing = !existsSync(distCli);
  const stale = !missing && newestMtime(join(root, 'src')) > statSync(distCli).mtimeMs;
  if (!missing && !stale) return null;
  say(`${missing ? 'dist/cli.js is missing' : 'dist/ is older than src/'}: running npm run build`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status === 0 && existsSync(distCli)) return null;
  if (existsSync(distCli)) {
    say('WARNING: npm run build failed; benchmarking the previous build in dist/ (it may not match src/)');
    return null;
  }
  return 'npm run build failed and there is no dist/cli.js';
}

/** Runs `exportName` of `modulePath` in a child process (bench/lib/child.ts) and returns its result. */
async function runInChild(modulePath: string, exportName: string, options: unknown, timeoutS: number): Promise<unknown> {
  const scratch = mkdtempSync(join(tmpdir(), 'ladder-bench-result-'));
  const resultFile = join(scratch, 'result.json');
  try {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(benchDir, 'lib', 'child.ts'), modulePath, exportName, JSON.stringify(options), resultFile],
      { cwd: root, stdio: 'inherit' },
    );
    let timedOut = false;
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) {
        timedOut = true;
        process.kill(child.pid, 'SIGKILL');
      }
    }, timeoutS * 1000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? null : -1)));
    });
    clearTimeout(timer);
    if (timedOut) throw new Error(`no result after ${timeoutS} s: the benchmark process was stopped`);
    if (code !== 0 || !existsSync(resultFile)) throw new Error(`the benchmark process exited with ${code === -1 ? 'a signal' : code}`);
    return JSON.parse(readFileSync(resultFile, 'utf8')) as unknown;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** bench/<name>.ts, or else the first bench/<name>*.ts, that exists. */
function findModule(name: string): string | null {
  const exact = join(benchDir, `${name}.ts`);
  if (existsSync(exact)) return exact;
  const match = readdirSync(benchDir)
    .filter((file) => file.startsWith(name) && file.endsWith('.ts'))
    .sort()[0];
  return match === undefined ? null : join(benchDir, match);
}

interface RunContext {
  readonly flags: Flags;
  readonly quick: boolean;
  readonly cli: string;
  /** Why the server cannot be benchmarked, or null. */
  readonly buildProblem: string | null;
}

async function runEngine(ctx: RunContext): Promise<{ options: unknown; result: unknown }> {
  const module = findModule('engine');
  if (module === null) throw new Skip('bench/engine.ts is not there yet');
  const options = { entries: numberFlag(ctx.flags, 'entries') ?? (ctx.quick ? 100_000 : 1_000_000) };
  return { options, result: await runInChild(module, 'benchEngine', options, ctx.quick ? 300 : 1200) };
}

async function runHttp(ctx: RunContext): Promise<{ options: unknown; result: unknown }> {
  if (ctx.buildProblem !== null) throw new Skip(ctx.buildProblem);
  const { benchHttp, connectionsFlag } = await import('./http.js');
  const generator = ctx.flags.get('generator');
  if (generator !== undefined && generator !== 'wrk' && generator !== 'autocannon') throw new Error('--generator must be wrk or autocannon');
  const options: HttpBenchOptions = {
    quick: ctx.quick,
    durationS: numberFlag(ctx.flags, 'duration'),
    connections: connectionsFlag(ctx.flags),
    batchConnections: numberFlag(ctx.flags, 'batch-connections'),
    boardSize: numberFlag(ctx.flags, 'board-size'),
    restarts: countFlag(ctx.flags, 'restarts'),
    redis: !booleanFlag(ctx.flags, 'no-redis'),
    generator,
    cli: ctx.cli,
  };
  return { options, result: await benchHttp(options) };
}

async function runCluster(ctx: RunContext): Promise<{ options: unknown; result: unknown }> {
  if (ctx.buildProblem !== null) throw new Skip(ctx.buildProblem);
  const { benchCluster, clusterUnavailable } = await import('./cluster.js');
  const generator = ctx.flags.get('generator');
  if (generator !== undefined && generator !== 'wrk' && generator !== 'autocannon') throw new Error('--generator must be wrk or autocannon');
  const connections = ctx.flags.get('connections')?.split(',')[0];
  const options = {
    quick: ctx.quick,
    durationS: numberFlag(ctx.flags, 'duration'),
    connections: connections === undefined ? undefined : numberFlag(new Map([['connections', connections]]), 'connections'),
    boardSize: numberFlag(ctx.flags, 'board-size'),
    rate: numberFlag(ctx.flags, 'rate'),
    rateSeconds: numberFlag(ctx.flags, 'rate-seconds'),
    anchors: !booleanFlag(ctx.flags, 'no-redis'),
    generator,
    cli: ctx.cli,
  } as const;
  const unavailable = await clusterUnavailable(options);
  if (unavailable !== null) throw new Skip(unavailable);
  return { options, result: await benchCluster(options) };
}

async function runFanout(ctx: RunContext): Promise<{ options: unknown; result: unknown }> {
  const module = findModule('fanout');
  if (module === null) throw new Skip('bench/fanout.ts is not there yet');
  if (ctx.buildProblem !== null) throw new Skip(ctx.buildProblem);
  const options = {
    quick: ctx.quick,
    cli: ctx.cli,
    durationS: numberFlag(ctx.flags, 'duration'),
    stepUps: countFlag(ctx.flags, 'step-ups'),
    holdP99Ms: numberFlag(ctx.flags, 'hold-p99'),
  };
  return { options, result: await runInChild(module, 'benchFanout', options, ctx.quick ? 300 : 1200) };
}

class Skip extends Error {}

const runners: Record<BenchName, (ctx: RunContext) => Promise<{ options: unknown; result: unknown }>> = {
  engine: runEngine,
  http: runHttp,
  cluster: runCluster,
  fanout: runFanout,
};

function selected(flags: Flags): BenchName[] {
  const only = flags.get('only');
  if (only === undefined) return [...BENCHES];
  const names = only.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!(BENCHES as readonly string[]).includes(name)) throw new Error(`--only takes ${BENCHES.join(', ')}; got '${name}'`);
  }
  return BENCHES.filter((name) => names.includes(name));
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const startedAt = new Date();
  const quick = booleanFlag(flags, 'quick');
  const names = selected(flags);
  const machine = machineInfo();
  say(`Ladder benchmarks${quick ? ' (quick)' : ''}: ${names.join(', ')} on ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}`);

  const cli = flags.get('cli') ?? distCli;
  let buildProblem: string | null = null;
  if (names.some((name) => name !== 'engine')) {
    if (flags.has('cli') || booleanFlag(flags, 'no-build')) buildProblem = existsSync(cli) ? null : `${cli} does not exist`;
    else buildProblem = ensureBuild();
  }
  const ctx: RunContext = { flags, quick, cli, buildProblem };

  const outcomes: Partial<Record<BenchName, BenchOutcome>> = {};
  const figures: Figure[] = [];
  for (const name of names) {
    say(`\n== ${name}`);
    const started = performance.now();
    const seconds = () => Math.round((performance.now() - started) / 100) / 10;
    try {
      const { options, result } = await runners[name](ctx);
      const own = figuresFrom(name, result);
      figures.push(...own);
      outcomes[name] = { status: 'ok', seconds: seconds(), options, result };
      say(`\n${table(own)}`);
    } catch (err) {
      const skipped = err instanceof Skip;
      const message = err instanceof Error ? err.message : String(err);
      const stack = !skipped && err instanceof Error ? err.stack : undefined;
      outcomes[name] = { status: skipped ? 'skipped' : 'failed', seconds: seconds(), message, ...(stack === undefined ? {} : { stack }) };
      say(`  ${name} ${skipped ? 'skipped' : 'FAILED'}: ${message}`);
    }
  }

  const http = outcomes.http?.result as { generator?: unknown; dataDir?: unknown; anchors?: { redis?: { redisVersion?: string } | null } } | undefined;
  const cluster = outcomes.cluster?.result as { generator?: unknown; redisVersion?: string } | undefined;
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick,
    argv: process.argv.slice(2),
    machine: {
      ...machine,
      loadGenerator: http?.generator ?? cluster?.generator ?? null,
      redisVersion: http?.anchors?.redis?.redisVersion ?? cluster?.redisVersion ?? null,
      dataDir: http?.dataDir ?? null,
    },
    benches: outcomes,
    figures,
  };
  const file = writeResults(join(benchDir, 'results'), startedAt, report);

  say('\n== all figures');
  say(table(figures));
  for (const name of names) {
    const outcome = outcomes[name];
    if (outcome !== undefined && outcome.status !== 'ok') say(`${name}: ${outcome.status} (${outcome.message})`);
  }
  say(`\nwritten: ${file.slice(root.length)} and bench/results/latest.json`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
