/**
 * Fan-out benchmark: how fast committed scores reach WebSocket viewers.
 *
 * The real server runs as its own process (`node dist/cli.js serve`, or the
 * sources through tsx when dist/ is missing or older than src/), with the
 * default tick, history and socket bounds. Simulated viewers connect over
 * loopback from child processes (bench/fanout-viewer.ts): 80% watch the top
 * 100, 20% one random participant each. Meanwhile a load process
 * (bench/fanout-load.ts) submits scores at a fixed rate through the batch
 * endpoint, in small batches every few milliseconds over keep-alive
 * connections; every submission raises its participant's score, so each one
 * changes the ranking.
 *
 * Per phase (1,000 viewers, 5,000, then stepping up to find the most one
 * server process holds): submit-to-viewer latency of every changed entry
 * that reaches a viewer (its achieved_at is the load's send time), messages
 * and bytes delivered per second, average delta size against a full top-100
 * snapshot, and the server's CPU and RSS per viewer from /proc (a first
 * phase runs the same load with no viewer: the CPU that ingest alone costs).
 *
 * A phase holds when every viewer connected, none was dropped, p99 stayed
 * within --hold-p99 (500 ms) and the load kept 95% of its rate. Stepping up
 * doubles the viewers past the last phase that held, then halves the gap to
 * the first that did not, at most --step-ups phases, up to 80% of the
 * open-file limit.
 *
 * Anchors, in the same run: the floor (bench/fanout-floor.ts), the loopback
 * write cost of the same bytes at the same rate to as many sockets, with one
 * pre-framed WebSocket frame per broadcast, measured after each of the
 * 1,000, 5,000 and most-held phases; and a naive broadcast server
 * (bench/fanout-naive.ts) that JSON.stringifies every change once per socket.
 *
 *   node --import tsx bench/fanout.ts [--quick] [--viewers=1000,5000] [--max=16000]
 *     [--step-ups=3] [--hold-p99=500] [--rate=10000] [--duration=10] [--warmup=3]
 *     [--naive-viewers=1000] [--cli=dist/cli.js]
 *
 * Everything binds to 127.0.0.1. Figures only: nothing here fails on a timing.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { countFlag, numberFlag, parseFlags } from './lib/args.js';
import { newestMtime } from './lib/files.js';
import { cpuSeconds, freePort, machineBusySeconds, startServer, type ServerProcess } from './lib/proc.js';
import { formatNumber, ratios, ratioTo, type Figure } from './lib/report.js';
import { LatencyHistogram, now, type Command, type FloorPlan, type ViewerReport } from './fanout-stats.js';
import type { LoadReport, LoadSpec } from './fanout-load.js';
import type { FloorReport, FloorSpec } from './fanout-floor.js';
import type { NaiveSpec } from './fanout-naive.js';
import type { ViewerSpec } from './fanout-viewer.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BOARD = 'fanout';
const TOP_N = 100;
const TOP_SHARE = 0.8;

export interface FanoutOptions {
  /** Smaller phases and shorter runs, for a smoke run. */
  readonly quick?: boolean;
  /** The server's CLI. Default dist/cli.js when it is at least as new as src/, else src/cli.ts through tsx. */
  readonly cli?: string;
  /** Measured seconds per phase, after the warm-up. Default 10, quick 4. */
  readonly durationS?: number;
  readonly warmupS?: number;
  /** Viewer counts of the fixed phases. Default 1,000 and 5,000; quick 500 and 2,000. */
  readonly viewers?: readonly number[];
  /** The most viewers a step may try. Default 80% of the open-file limit, which the server's sockets share with everything else it opens. */
  readonly maxViewers?: number;
  /** Phases at most that step up (or down) to the most viewers one process holds. Default 3, quick 1; 0: none. */
  readonly stepUps?: number;
  /** A phase holds only with its p99 at most this (ms). Default 500. */
  readonly holdP99Ms?: number;
  /** Submissions per second. Default 10,000. */
  readonly rate?: number;
  /** Participants on the board. Default 10,000. */
  readonly participants?: number;
  readonly viewersPerProcess?: number;
  /** Viewers of the naive broadcast. Default 1,000, quick 500. */
  readonly naiveViewers?: number;
  readonly log?: (line: string) => void;
}

export interface PhaseResult {
  readonly viewers: number;
  readonly connected: number;
  readonly failedToConnect: number;
  readonly closedDuringRun: number;
  readonly scoresPerS: number;
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null; readonly max: number; readonly samples: number };
  readonly messagesPerS: number;
  readonly bytesPerS: number;
  readonly topDeltaAvgBytes: number | null;
  readonly participantDeltaAvgBytes: number | null;
  readonly topSnapshotBytes: number | null;
  /** Average top-100 delta / full top-100 snapshot. */
  readonly deltaToSnapshot: number | null;
  /** Snapshots after the initial ones (slow-consumer resyncs) and error messages, during the window. */
  readonly resyncSnapshots: number;
  readonly errorMessages: number;
  readonly serverCpuCores: number | null;
  readonly viewerCpuCores: number | null;
  readonly loadCpuCores: number | null;
  /** CPU of everything else on the machine (1.0 = one core). */
  readonly otherCpuCores: number | null;
  readonly serverRssMiB: number | null;
  readonly serverRssPerViewerKiB: number | null;
  readonly submitRequestMs: LoadReport['requestMs'] | null;
  /** Sockets that watch the top 100; the others watch one participant each. */
  readonly topSockets: number;
  /** Deltas per second that the top and the participant viewers received, all sockets together. */
  readonly topDeltasPerS: number;
  readonly participantDeltasPerS: number;
}

/** Whether a Ladder phase held its viewers, and if not, why. */
export interface Hold {
  readonly held: boolean;
  readonly reason: string | null;
}

/** A Ladder phase: the figures, and whether it held. */
export type LadderPhase = PhaseResult & { readonly hold: Hold; readonly stepUp: boolean };

/** The floor measured for one Ladder phase: what it sent, and what the viewers saw. */
export interface FloorResult extends PhaseResult {
  readonly plan: FloorPlan;
  readonly sent: FloorReport | null;
}

export interface FanoutResult {
  readonly settings: {
    readonly rate: number;
    readonly participants: number;
    readonly durationS: number;
    readonly warmupS: number;
    readonly viewers: readonly number[];
    readonly viewersPerProcess: number;
    readonly maxViewers: number;
    readonly stepUps: number;
    readonly holdP99Ms: number;
    readonly load: string;
    readonly server: string;
    readonly cpus: number;
  };
  /** Server CPU (cores) under the same load with no viewer: what ingest alone costs. */
  readonly baselineServerCpuCores: number | null;
  /** Every Ladder phase, the fixed ones and the steps, in the order they ran. */
  readonly phases: LadderPhase[];
  readonly naive: PhaseResult | null;
  /** The floor at the 1,000, 5,000 and most-held viewer counts, keyed by viewers. */
  readonly floors: Readonly<Record<string, FloorResult>>;
  /** The most viewers a phase held, the least that did not (null: none tried), and the rule. */
  readonly mostHeld: { readonly viewers: number | null; readonly notHeld: number | null; readonly rule: string };
  readonly figures: Figure[];
}

function openFileLimit(): number {
  const result = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const limit = Number(result.stdout.trim());
  return Number.isInteger(limit) && limit > 0 ? limit : 1024;
}

/** How to start the server: the build when it is current, else the sources, so that the figures are of this tree. */
function serverCommand(cli: string | undefined): { args: string[]; label: string } {
  if (cli !== undefined) return { args: [cli, 'serve'], label: cli };
  const dist = join(root, 'dist', 'cli.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(root, 'src'))) return { args: [dist, 'serve'], label: 'dist/cli.js' };
  return { args: ['--import', 'tsx', join(root, 'src', 'cli.ts'), 'serve'], label: 'src/cli.ts through tsx (dist/ is missing or older than src/)' };
}

function rssMiB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** A forked TypeScript child with typed replies. */
class Child {
  readonly process: ChildProcess;
  private readonly replies: { type: string; [key: string]: unknown }[] = [];
  private waiting: (() => void)[] = [];

  constructor(module: string, argument: unknown) {
    this.process = fork(join(root, 'bench', module), [JSON.stringify(argument)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process.on('message', (message: { type: string }) => {
      this.replies.push(message);
      for (const wake of this.waiting.splice(0)) wake();
    });
    this.process.on('exit', () => {
      for (const wake of this.waiting.splice(0)) wake();
    });
  }

  send(command: Command): void {
    if (this.process.connected) this.process.send(command);
  }

  /** The next reply of this type (consumed), waiting up to `timeoutMs`. */
  async reply<T>(type: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.replies.findIndex((r) => r.type === type);
      if (index >= 0) return this.replies.splice(index, 1)[0] as T;
      if (this.process.exitCode !== null || this.process.signalCode !== null) throw new Error(`${type}: the child process exited (${this.process.exitCode ?? this.process.signalCode})`);
      if (Date.now() > deadline) throw new Error(`no '${type}' from the child process within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  cpuSeconds(): number | null {
    return this.process.pid === undefined ? null : cpuSeconds(this.process.pid);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.process.pid !== undefined && this.process.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sum(children: readonly Child[], read: (child: Child) => number | null): number | null {
  let total = 0;
  for (const child of children) {
    const value = read(child);
    if (value === null) return null;
    total += value;
  }
  return total;
}

interface PhaseInput {
  readonly viewers: number;
  readonly url: string;
  readonly mode: ViewerSpec['mode'];
  /** What the log calls the viewers; default the mode. */
  readonly label?: string;
  readonly serverPid: number;
  /** Starts the changes for warm-up + measurement; resolves with the load's report, if any. */
  readonly drive: (durationMs: number) => Promise<LoadReport | null>;
  readonly load: Child | null;
}

async function runPhase(input: PhaseInput, options: Required<Pick<FanoutOptions, 'durationS' | 'warmupS' | 'participants' | 'viewersPerProcess'>>, log: (line: string) => void): Promise<PhaseResult> {
  const processes = Math.ceil(input.viewers / options.viewersPerProcess);
  const rssBefore = rssMiB(input.serverPid);
  log(`  ${input.viewers} ${input.label ?? input.mode} viewers in ${processes} processes: connecting`);
  const viewers = Array.from({ length: processes }, (_, i) => {
    const count = Math.floor(input.viewers / processes) + (i < input.viewers % processes ? 1 : 0);
    const spec: ViewerSpec = { url: input.url, count, mode: input.mode, topShare: TOP_SHARE, topN: TOP_N, participants: options.participants, seed: 1000 + i, concurrency: 64 };
    return new Child('fanout-viewer.ts', spec);
  });
  try {
    const ready = await Promise.all(viewers.map((v) => v.reply<{ connected: number; failed: number }>('ready', 180_000)));
    const connected = ready.reduce((n, r) => n + r.connected, 0);
    const failedToConnect = ready.reduce((n, r) => n + r.failed, 0);
    const rssConnected = rssMiB(input.serverPid);
    log(`  ${connected} connected${failedToConnect > 0 ? `, ${failedToConnect} failed` : ''}; ${options.warmupS} s warm-up, ${options.durationS} s measured`);

    const driven = input.drive((options.warmupS + options.durationS) * 1000);
    // Awaited after the window; a failure before then must not end the process as an unhandled rejection.
    driven.catch(() => undefined);
    await sleep(options.warmupS * 1000);
    for (const v of viewers) v.send({ type: 'measure' });
    const started = now();
    const cpu = { server: cpuSeconds(input.serverPid), viewers: sum(viewers, (v) => v.cpuSeconds()), load: input.load?.cpuSeconds() ?? null, machine: machineBusySeconds() };
    await sleep(options.durationS * 1000);
    for (const v of viewers) v.send({ type: 'report' });
    const elapsed = (now() - started) / 1000;
    const cores = (before: number | null, after: number | null) => (before === null || after === null ? null : (after - before) / elapsed);
    const serverCpuCores = cores(cpu.server, cpuSeconds(input.serverPid));
    const viewerCpuCores = cores(cpu.viewers, sum(viewers, (v) => v.cpuSeconds()));
    const loadCpuCores = input.load === null ? null : cores(cpu.load, input.load.cpuSeconds());
    const machineCores = cores(cpu.machine, machineBusySeconds());
    const rssLoaded = rssMiB(input.serverPid);
    const reports = (await Promise.all(viewers.map((v) => v.reply<{ report: ViewerReport }>('report', 60_000)))).map((r) => r.report);
    const load = await driven;
    if (load !== null && input.load !== null) {
      log(`  load: ${formatNumber(load.scoresPerS)} scores/s, request p50 ${formatNumber(load.requestMs.p50 ?? NaN, 'ms')} ms, p99 ${formatNumber(load.requestMs.p99 ?? NaN, 'ms')} ms, ${load.failedRequests} failed`);
    }

    const latency = new LatencyHistogram();
    for (const report of reports) latency.add(report.latency);
    const total = (key: keyof ViewerReport) => reports.reduce((n, r) => n + (r[key] as number), 0);
    const windowS = Math.max(...reports.map((r) => r.windowS));
    const topDeltas = total('topDeltas');
    const participantDeltas = total('participantDeltas');
    const topDeltaAvgBytes = topDeltas > 0 ? total('topDeltaBytes') / topDeltas : null;
    const topSnapshotBytes = reports.find((r) => r.topSnapshotBytes > 0)?.topSnapshotBytes ?? null;
    const known = (values: (number | null)[]) => (values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a + b, 0) : null);
    return {
      viewers: input.viewers,
      connected,
      failedToConnect,
      closedDuringRun: total('closed'),
      scoresPerS: load?.scoresPerS ?? 0,
      latencyMs: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max, samples: latency.count },
      messagesPerS: total('messages') / windowS,
      bytesPerS: total('bytes') / windowS,
      topDeltaAvgBytes,
      participantDeltaAvgBytes: participantDeltas > 0 ? total('participantDeltaBytes') / participantDeltas : null,
      topSnapshotBytes,
      deltaToSnapshot: topDeltaAvgBytes !== null && topSnapshotBytes !== null ? topDeltaAvgBytes / topSnapshotBytes : null,
      resyncSnapshots: total('snapshots'),
      errorMessages: total('errors'),
      serverCpuCores,
      viewerCpuCores,
      loadCpuCores,
      otherCpuCores: machineCores === null ? null : Math.max(0, machineCores - (known([serverCpuCores, viewerCpuCores, loadCpuCores ?? 0]) ?? 0)),
      serverRssMiB: rssLoaded,
      // Below a thousand viewers the garbage collector's swings drown the figure.
      serverRssPerViewerKiB: rssBefore !== null && rssConnected !== null && connected >= 1_000 ? ((rssConnected - rssBefore) * 1024) / connected : null,
      submitRequestMs: load?.requestMs ?? null,
      topSockets: total('topSockets'),
      topDeltasPerS: topDeltas / windowS,
      participantDeltasPerS: participantDeltas / windowS,
    };
  } finally {
    await Promise.all(viewers.map((v) => v.stop()));
  }
}

/** The server's CPU (cores) under the load alone: what the fan-out figures are net of. */
async function measureBaseline(serverPid: number, load: Child, rate: number, warmupS: number, durationS: number, log: (line: string) => void): Promise<number | null> {
  load.send({ type: 'run', rate, durationMs: (warmupS + durationS) * 1000 });
  await sleep(warmupS * 1000);
  const before = cpuSeconds(serverPid);
  const started = now();
  await sleep(durationS * 1000);
  const after = cpuSeconds(serverPid);
  const cores = before === null || after === null ? null : (after - before) / ((now() - started) / 1000);
  const report = (await load.reply<{ report: LoadReport }>('done', 120_000)).report;
  log(`  baseline, no viewers: ${formatNumber(report.scoresPerS)} scores/s, server ${cores === null ? '?' : cores.toFixed(2)} cores`);
  return cores;
}

/** A step's viewer count: rounded to 100 below 2,000, else to 500. */
function roundViewers(n: number): number {
  const unit = n < 2_000 ? 100 : 500;
  return Math.max(unit, Math.round(n / unit) * unit);
}

/** Whether a Ladder phase held its viewers at the benchmark's rate, and if not, why. */
export function holds(phase: PhaseResult, rate: number, holdP99Ms: number): Hold {
  if (phase.connected < phase.viewers) return { held: false, reason: `${phase.viewers - phase.connected} viewers could not connect` };
  if (phase.closedDuringRun > 0) return { held: false, reason: `${phase.closedDuringRun} sockets closed during the run` };
  if (phase.latencyMs.p99 === null) return { held: false, reason: 'no change reached a viewer' };
  if (phase.latencyMs.p99 > holdP99Ms) return { held: false, reason: `p99 ${formatNumber(phase.latencyMs.p99, 'ms')} ms > ${holdP99Ms} ms` };
  if (phase.scoresPerS < 0.95 * rate) return { held: false, reason: `the load got only ${formatNumber(phase.scoresPerS)} of ${formatNumber(rate)} scores/s through` };
  return { held: true, reason: null };
}

/**
 * The next viewer count to try, or null to stop: double past `held` (the most
 * that held, 0 for none) while nothing failed above it, else halve the gap to
 * `notHeld`, until the gap is within 20% (and 200 viewers) or the cap is reached.
 */
export function nextStep(held: number, notHeld: number | null, cap: number): number | null {
  if (notHeld === null) return held >= cap ? null : Math.min(cap, roundViewers(held * 2));
  if (notHeld - held <= Math.max(200, held * 0.2)) return null;
  const next = roundViewers((held + notHeld) / 2);
  return next > held && next < notHeld ? next : null;
}

/** The floor's plan for a Ladder phase: its sockets' split, its message sizes, its messages per socket per second. */
export function floorPlan(phase: PhaseResult, tickMs: number): FloorPlan | null {
  const topSockets = Math.min(phase.topSockets, phase.connected);
  const participantSockets = phase.connected - topSockets;
  const topRate = topSockets > 0 ? phase.topDeltasPerS / topSockets : 0;
  const participantRate = participantSockets > 0 ? phase.participantDeltasPerS / participantSockets : 0;
  if (!(topRate > 0) && !(participantRate > 0)) return null;
  // One top message per top socket per broadcast, as Ladder sends one delta per view per tick.
  const interval = topRate > 0 ? 1000 / topRate : tickMs;
  return {
    topShare: phase.connected > 0 ? topSockets / phase.connected : 0,
    tickMs: interval,
    topBytes: Math.round(phase.topDeltaAvgBytes ?? 0),
    participantBytes: Math.round(phase.participantDeltaAvgBytes ?? 0),
    participantPerTick: (participantRate * interval) / 1000,
  };
}

/** Ladder's fan-out tick (LADDER_TICK_MS): the floor's interval when no viewer watches the top. */
const TICK_MS = 50;

export async function benchFanout(options: FanoutOptions = {}): Promise<FanoutResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const quick = options.quick ?? false;
  const rate = options.rate ?? 10_000;
  const participants = options.participants ?? 10_000;
  const durationS = options.durationS ?? (quick ? 3 : 10);
  const warmupS = options.warmupS ?? (quick ? 1 : 3);
  const viewersPerProcess = options.viewersPerProcess ?? 4_000;
  const maxViewers = options.maxViewers ?? Math.floor(openFileLimit() * 0.8);
  const counts = options.viewers ?? (quick ? [500, 2_000] : [1_000, 5_000]);
  const stepUps = Math.max(0, Math.round(options.stepUps ?? (quick ? 1 : 3)));
  const holdP99Ms = options.holdP99Ms ?? 500;
  const naiveViewers = options.naiveViewers ?? (quick ? 500 : 1_000);
  const phaseOptions = { durationS, warmupS, participants, viewersPerProcess };
  const rule = `all connected, none dropped, p99 ≤ ${holdP99Ms} ms, ≥ 95% of ${formatNumber(rate)} scores/s`;

  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-fanout-'));
  const adminKey = `lk_${randomBytes(24).toString('base64url')}`;
  const port = await freePort();
  const command = serverCommand(options.cli);
  log(
    `fan-out: ${command.label}, ${rate.toLocaleString('en-US')} scores/s on ${participants.toLocaleString('en-US')} participants, phases of ${counts.join(', ')} viewers` +
      (stepUps > 0 ? `, then up to ${stepUps} steps (≤ ${maxViewers.toLocaleString('en-US')}) to the most one process holds (${rule})` : ''),
  );
  let server: ServerProcess | null = null;
  let load: Child | null = null;
  let naive: Child | null = null;
  let floor: Child | null = null;
  try {
    server = await startServer({
      name: 'ladder',
      command: process.execPath,
      args: command.args,
      cwd: root,
      port,
      readyPath: '/healthz',
      env: {
        ...process.env,
        LADDER_HOST: '127.0.0.1',
        LADDER_PORT: String(port),
        LADDER_DATA_DIR: dataDir,
        LADDER_ADMIN_KEY: adminKey,
        LADDER_LOG_LEVEL: 'warn',
        // Views of the previous phase's viewers must not linger into the next one.
        LADDER_VIEW_LINGER_MS: '1000',
      },
    });
    const created = await fetch(`${server.url}/v1/leaderboards`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ id: BOARD, sort_order: 'desc', operator: 'best' }),
    });
    if (created.status !== 201) throw new Error(`creating the board answered ${created.status}: ${await created.text()}`);
    const loadSpec: LoadSpec = { url: server.url, board: BOARD, adminKey, participants, batchSize: 50, intervalMs: 5, maxInFlight: 64, seed: 7 };
    const loadChild = new Child('fanout-load.ts', loadSpec);
    load = loadChild;
    await loadChild.reply('ready', 120_000);

    const floorPort = await freePort();
    const floorSpec: FloorSpec = { port: floorPort };
    const floorChild = new Child('fanout-floor.ts', floorSpec);
    floor = floorChild;
    await floorChild.reply('ready', 30_000);

    const baseline = await measureBaseline(server.pid, loadChild, rate, warmupS, durationS, log);
    const ladderServer = server;
    const phases: LadderPhase[] = [];
    const floors: Record<string, FloorResult> = {};

    const ladderPhase = async (viewers: number, stepUp: boolean): Promise<LadderPhase> => {
      const drive = async (durationMs: number) => {
        loadChild.send({ type: 'run', rate, durationMs });
        return (await loadChild.reply<{ report: LoadReport }>('done', durationMs + 120_000)).report;
      };
      const url = `${ladderServer.url.replace(/^http/, 'ws')}/v1/leaderboards/${BOARD}/subscribe`;
      if (stepUp) log(`  step: ${viewers.toLocaleString('en-US')} viewers`);
      const measured = await runPhase({ viewers, url, mode: 'ladder', serverPid: ladderServer.pid, drive, load: loadChild }, phaseOptions, log);
      const phase: LadderPhase = { ...measured, hold: holds(measured, rate, holdP99Ms), stepUp };
      phases.push(phase);
      log(
        `  ladder @ ${viewers}: p50 ${formatNumber(phase.latencyMs.p50 ?? NaN, 'ms')} ms, p99 ${formatNumber(phase.latencyMs.p99 ?? NaN, 'ms')} ms,` +
          ` ${formatNumber(phase.messagesPerS)} msgs/s, ${formatNumber(phase.bytesPerS / 1e6)} MB/s; ${phase.hold.held ? 'held' : `did not hold: ${phase.hold.reason}`}`,
      );
      // Lets the views of the phase's viewers expire (LADDER_VIEW_LINGER_MS) before the next phase.
      await sleep(1_500);
      return phase;
    };

    const floorPhase = async (phase: LadderPhase): Promise<void> => {
      try {
        await measureFloor(phase);
      } catch (err) {
        // The Ladder figures stand without their floor; the table then shows (n/a).
        log(`  floor @ ${phase.viewers} FAILED: ${(err as Error).message}`);
      }
    };
    const measureFloor = async (phase: LadderPhase): Promise<void> => {
      const plan = floorPlan(phase, TICK_MS);
      if (plan === null) {
        log(`  floor @ ${phase.viewers}: skipped, the Ladder phase delivered no delta to copy`);
        return;
      }
      log(
        `  floor @ ${phase.viewers}: one pre-framed frame per broadcast every ${plan.tickMs.toFixed(1)} ms,` +
          ` ${plan.topBytes} B to ${Math.round(plan.topShare * 100)}% of the sockets, ${plan.participantBytes} B to ${(plan.participantPerTick * 100).toFixed(1)}% of the others`,
      );
      floorChild.send({ type: 'deal', topShare: plan.topShare });
      let sent: FloorReport | null = null;
      const measured = await runPhase(
        {
          viewers: phase.viewers,
          url: `ws://127.0.0.1:${floorPort}`,
          mode: 'naive',
          label: 'floor',
          serverPid: floorChild.process.pid as number,
          drive: async (durationMs) => {
            floorChild.send({ type: 'broadcast', plan, durationMs });
            sent = (await floorChild.reply<{ report: FloorReport }>('done', durationMs + 120_000)).report;
            return { submitted: 0, failedRequests: 0, durationS: durationMs / 1000, scoresPerS: 0, requestMs: { p50: null, p99: null, max: 0 } };
          },
          load: null,
        },
        phaseOptions,
        log,
      );
      floors[String(phase.viewers)] = { ...measured, plan, sent };
      log(
        `  floor @ ${phase.viewers}: p50 ${formatNumber(measured.latencyMs.p50 ?? NaN, 'ms')} ms, p99 ${formatNumber(measured.latencyMs.p99 ?? NaN, 'ms')} ms,` +
          ` ${formatNumber(measured.messagesPerS)} msgs/s (Ladder ${formatNumber(phase.messagesPerS)}), ${formatNumber(measured.bytesPerS / 1e6)} MB/s (Ladder ${formatNumber(phase.bytesPerS / 1e6)})`,
      );
    };

    for (const viewers of counts) await floorPhase(await ladderPhase(viewers, false));

    let held = Math.max(0, ...phases.filter((p) => p.hold.held).map((p) => p.viewers));
    const above = phases.filter((p) => !p.hold.held && p.viewers > held).map((p) => p.viewers);
    let notHeld: number | null = above.length > 0 ? Math.min(...above) : null;
    for (let step = 0; step < stepUps; step++) {
      const next = nextStep(held, notHeld, maxViewers);
      if (next === null) break;
      const phase = await ladderPhase(next, true);
      if (phase.hold.held) held = next;
      else notHeld = next;
    }
    const mostHeld = held > 0 ? held : null;
    const most = phases.find((p) => p.viewers === mostHeld);
    if (most !== undefined && floors[String(most.viewers)] === undefined) await floorPhase(most);

    log(`  naive broadcast: JSON.stringify and send per socket per change`);
    const naivePort = await freePort();
    const naiveSpec: NaiveSpec = { port: naivePort, participants };
    const naiveChild = new Child('fanout-naive.ts', naiveSpec);
    naive = naiveChild;
    await naiveChild.reply('ready', 30_000);
    const naiveResult = await runPhase(
      {
        viewers: naiveViewers,
        url: `ws://127.0.0.1:${naivePort}`,
        mode: 'naive',
        serverPid: naiveChild.process.pid as number,
        drive: async (durationMs) => {
          naiveChild.send({ type: 'run', rate, durationMs });
          return { submitted: 0, failedRequests: 0, durationS: durationMs / 1000, scoresPerS: rate, requestMs: { p50: null, p99: null, max: 0 } };
        },
        load: null,
      },
      phaseOptions,
      log,
    );

    const mostHeldResult = { viewers: mostHeld, notHeld, rule };
    const result: FanoutResult = {
      settings: {
        rate,
        participants,
        durationS,
        warmupS,
        viewers: counts,
        viewersPerProcess,
        maxViewers,
        stepUps,
        holdP99Ms,
        load: 'POST /scores/batch, 50 scores every 5 ms, keep-alive, ≤ 64 requests in flight; each score an improvement (changes the ranking)',
        server: command.label,
        cpus: (await import('node:os')).cpus().length,
      },
      baselineServerCpuCores: baseline,
      phases,
      naive: naiveResult,
      floors,
      mostHeld: mostHeldResult,
      figures: figuresOf(baseline, phases, naiveResult, floors, mostHeldResult),
    };
    log(`\n${phaseTable(phases, naiveResult, floors)}`);
    return result;
  } finally {
    await floor?.stop();
    await naive?.stop();
    await load?.stop();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function figuresOf(baseline: number | null, phases: readonly LadderPhase[], naive: PhaseResult | null, floors: Readonly<Record<string, FloorResult>>, mostHeld: FanoutResult['mostHeld']): Figure[] {
  const figures: Figure[] = [];
  const add = (figure: Omit<Figure, 'bench'>) => figures.push({ bench: 'fanout', ...figure });
  if (baseline !== null) add({ name: 'server CPU with no viewer (ingest only)', value: baseline, unit: 'cores' });
  const most = phases.find((p) => p.viewers === mostHeld.viewers) ?? null;
  const byViewers = [...phases].sort((a, b) => a.viewers - b.viewers);
  const naiveP99 = naive?.latencyMs.p99 ?? undefined;
  const latencyRatios = (phase: PhaseResult, q: 'p50' | 'p99') => {
    const floor = floors[String(phase.viewers)];
    const value = phase.latencyMs[q] ?? NaN;
    return {
      anchor: ratioTo(`floor @ ${phase.viewers}`, value, floor?.latencyMs[q]),
      ...ratios(q === 'p99' && naive !== null ? ratioTo(`naive @ ${naive.viewers}`, value, naiveP99) : undefined),
    };
  };
  for (const phase of byViewers) {
    const at = `${phase.viewers} viewers`;
    const holdNote = phase.hold.held ? 'held' : `did not hold: ${phase.hold.reason}`;
    if (phase.stepUp && phase !== most) {
      add({ name: `latency p99 @ ${at}`, value: phase.latencyMs.p99 ?? NaN, unit: 'ms', ...latencyRatios(phase, 'p99'), note: `step: ${holdNote}` });
      continue;
    }
    const floor = floors[String(phase.viewers)];
    // The issue's goal: at 5,000 viewers, within 1.5× the loopback write floor of the same bytes.
    const p99Goal = phase.viewers === 5_000 ? { goal: { of: 'ratio' as const, atMost: 1.5 } } : {};
    add({ name: `latency p50 @ ${at}`, value: phase.latencyMs.p50 ?? NaN, unit: 'ms', ...latencyRatios(phase, 'p50') });
    add({ name: `latency p99 @ ${at}`, value: phase.latencyMs.p99 ?? NaN, unit: 'ms', ...p99Goal, ...latencyRatios(phase, 'p99'), note: holdNote });
    add({ name: `latency max @ ${at}`, value: phase.latencyMs.max, unit: 'ms' });
    add({ name: `messages delivered @ ${at}`, value: phase.messagesPerS, unit: '/s' });
    add({ name: `bytes delivered @ ${at}`, value: phase.bytesPerS, unit: 'B/s' });
    add({ name: `scores submitted @ ${at}`, value: phase.scoresPerS, unit: '/s' });
    if (phase.serverCpuCores !== null) {
      add({ name: `server CPU @ ${at}`, value: phase.serverCpuCores, unit: 'cores', anchor: ratioTo(`floor @ ${phase.viewers}`, phase.serverCpuCores, floor?.serverCpuCores) });
    }
    if (phase.serverRssPerViewerKiB !== null) add({ name: `server RSS per viewer @ ${at}`, value: phase.serverRssPerViewerKiB, unit: 'KiB' });
  }
  const notHeldPhase = phases.find((p) => p.viewers === mostHeld.notHeld);
  add({
    name: 'most viewers one process holds',
    value: mostHeld.viewers ?? NaN,
    unit: 'viewers',
    note: `${mostHeld.rule}${notHeldPhase === undefined ? '' : `; ${notHeldPhase.viewers} did not (${notHeldPhase.hold.reason})`}`,
  });
  if (most !== null) {
    add({ name: 'latency p50 @ most viewers held', value: most.latencyMs.p50 ?? NaN, unit: 'ms', ...latencyRatios(most, 'p50'), note: `${most.viewers} viewers` });
    add({ name: 'latency p99 @ most viewers held', value: most.latencyMs.p99 ?? NaN, unit: 'ms', ...latencyRatios(most, 'p99'), note: `${most.viewers} viewers` });
  }
  for (const floor of Object.values(floors).sort((a, b) => a.viewers - b.viewers)) {
    const at = `${floor.viewers} viewers`;
    const ladder = phases.find((p) => p.viewers === floor.viewers && (!p.stepUp || p === most));
    add({ name: `floor latency p50 @ ${at}`, value: floor.latencyMs.p50 ?? NaN, unit: 'ms', note: 'pre-framed ws write of the same bytes' });
    add({ name: `floor latency p99 @ ${at}`, value: floor.latencyMs.p99 ?? NaN, unit: 'ms' });
    add({ name: `floor messages delivered @ ${at}`, value: floor.messagesPerS, unit: '/s', anchor: ratioTo('Ladder', floor.messagesPerS, ladder?.messagesPerS), note: 'should be ~1.00× Ladder: the same load' });
    if (floor.serverCpuCores !== null) add({ name: `floor server CPU @ ${at}`, value: floor.serverCpuCores, unit: 'cores' });
  }
  const deltaRatios = phases.map((p) => p.deltaToSnapshot).filter((r): r is number => r !== null);
  if (deltaRatios.length > 0) {
    const phase = phases.find((p) => p.deltaToSnapshot !== null) as PhaseResult;
    add({
      name: 'avg top-100 delta / top-100 snapshot',
      value: deltaRatios.reduce((a, b) => a + b, 0) / deltaRatios.length,
      unit: '×',
      goal: { of: 'value', atMost: 0.2 },
      note: `${Math.round(phase.topDeltaAvgBytes ?? 0)} B vs ${phase.topSnapshotBytes} B`,
    });
  }
  if (naive !== null) {
    add({ name: `naive latency p99 @ ${naive.viewers} viewers`, value: naive.latencyMs.p99 ?? NaN, unit: 'ms' });
    add({ name: `naive messages delivered @ ${naive.viewers} viewers`, value: naive.messagesPerS, unit: '/s' });
    if (naive.serverCpuCores !== null) add({ name: `naive server CPU @ ${naive.viewers} viewers`, value: naive.serverCpuCores, unit: 'cores' });
  }
  return figures;
}

/** One row per Ladder phase, each followed by its floor, the naive broadcast last. */
export function phaseTable(phases: readonly PhaseResult[], naive: PhaseResult | null, floors: Readonly<Record<string, FloorResult>> = {}): string {
  const header = ['server', 'viewers', 'scores/s', 'p50 ms', 'p99 ms', 'max ms', 'msgs/s', 'MB/s', 'delta B', 'snap B', 'delta/snap', 'srv CPU', 'viewers CPU', 'other CPU', 'RSS MiB', 'KiB/viewer', 'resyncs', 'closed'];
  const value = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '-' : formatNumber(v, unit));
  const row = (name: string, p: PhaseResult) => [
    name,
    `${p.connected}/${p.viewers}`,
    value(p.scoresPerS),
    value(p.latencyMs.p50, 'ms'),
    value(p.latencyMs.p99, 'ms'),
    value(p.latencyMs.max, 'ms'),
    value(p.messagesPerS),
    value(p.bytesPerS / 1e6),
    value(p.topDeltaAvgBytes ?? p.participantDeltaAvgBytes),
    value(p.topSnapshotBytes),
    p.deltaToSnapshot === null ? '-' : `1/${(1 / p.deltaToSnapshot).toFixed(1)}`,
    value(p.serverCpuCores, 'cores'),
    value(p.viewerCpuCores, 'cores'),
    value(p.otherCpuCores, 'cores'),
    value(p.serverRssMiB),
    value(p.serverRssPerViewerKiB),
    String(p.resyncSnapshots),
    String(p.closedDuringRun),
  ];
  const floorRows = (p: PhaseResult) => {
    const floor = floors[String(p.viewers)];
    return floor === undefined || (phases.find((q) => q.viewers === p.viewers) ?? p) !== p ? [] : [row('floor', floor)];
  };
  const rows = [header, ...phases.flatMap((p) => [row('ladder', p), ...floorRows(p)]), ...(naive ? [row('naive', naive)] : [])];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => r.map((cell, c) => (c < 1 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ') + (i === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flags = parseFlags(process.argv.slice(2));
  const list = flags.get('viewers');
  await benchFanout({
    quick: flags.has('quick'),
    cli: flags.get('cli'),
    durationS: numberFlag(flags, 'duration'),
    warmupS: numberFlag(flags, 'warmup'),
    viewers: list === undefined ? undefined : list.split(',').map(Number),
    maxViewers: numberFlag(flags, 'max'),
    stepUps: countFlag(flags, 'step-ups'),
    holdP99Ms: numberFlag(flags, 'hold-p99'),
    rate: numberFlag(flags, 'rate'),
    participants: numberFlag(flags, 'participants'),
    naiveViewers: numberFlag(flags, 'naive-viewers'),
  });
  process.exit(0);
}
