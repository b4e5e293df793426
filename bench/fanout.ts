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
 * Per phase (1,000 viewers, 5,000, and the most one server process can hold
 * under the open-file limit): submit-to-viewer latency of every changed entry
 * that reaches a viewer (its achieved_at is the load's send time), messages
 * and bytes delivered per second, average delta size against a full top-100
 * snapshot, and the server's CPU and RSS per viewer from /proc (a first
 * phase runs the same load with no viewer: the CPU that ingest alone costs). For
 * comparison, in the same run, a naive broadcast server
 * (bench/fanout-naive.ts) that JSON.stringifies every change once per socket.
 *
 *   node --import tsx bench/fanout.ts [--quick] [--viewers=1000,5000,16000] [--max=16000]
 *     [--rate=10000] [--duration=10] [--warmup=3] [--naive-viewers=1000] [--cli=dist/cli.js]
 *
 * Everything binds to 127.0.0.1. Figures only: nothing here fails on a timing.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { numberFlag, parseFlags } from './lib/args.js';
import { newestMtime } from './lib/files.js';
import { cpuSeconds, freePort, machineBusySeconds, startServer, type ServerProcess } from './lib/proc.js';
import { formatNumber, type Figure } from './lib/report.js';
import { LatencyHistogram, now, type Command, type ViewerReport } from './fanout-stats.js';
import type { LoadReport, LoadSpec } from './fanout-load.js';
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
  /** Viewer counts of the phases. Default 1,000, 5,000 and `maxViewers`; quick 500 and 2,000. */
  readonly viewers?: readonly number[];
  /** Default 80% of the open-file limit, which the server's sockets share with everything else it opens. */
  readonly maxViewers?: number;
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
}

export interface FanoutResult {
  readonly settings: {
    readonly rate: number;
    readonly participants: number;
    readonly durationS: number;
    readonly warmupS: number;
    readonly viewers: readonly number[];
    readonly viewersPerProcess: number;
    readonly load: string;
    readonly server: string;
    readonly cpus: number;
  };
  /** Server CPU (cores) under the same load with no viewer: what ingest alone costs. */
  readonly baselineServerCpuCores: number | null;
  readonly phases: PhaseResult[];
  readonly naive: PhaseResult | null;
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
  readonly serverPid: number;
  /** Starts the changes for warm-up + measurement; resolves with the load's report, if any. */
  readonly drive: (durationMs: number) => Promise<LoadReport | null>;
  readonly load: Child | null;
}

async function runPhase(input: PhaseInput, options: Required<Pick<FanoutOptions, 'durationS' | 'warmupS' | 'participants' | 'viewersPerProcess'>>, log: (line: string) => void): Promise<PhaseResult> {
  const processes = Math.ceil(input.viewers / options.viewersPerProcess);
  const rssBefore = rssMiB(input.serverPid);
  log(`  ${input.viewers} ${input.mode} viewers in ${processes} processes: connecting`);
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

export async function benchFanout(options: FanoutOptions = {}): Promise<FanoutResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const quick = options.quick ?? false;
  const rate = options.rate ?? 10_000;
  const participants = options.participants ?? 10_000;
  const durationS = options.durationS ?? (quick ? 4 : 10);
  const warmupS = options.warmupS ?? (quick ? 2 : 3);
  const viewersPerProcess = options.viewersPerProcess ?? 4_000;
  const maxViewers = options.maxViewers ?? Math.floor(openFileLimit() * 0.8);
  const counts = options.viewers ?? (quick ? [500, 2_000] : [1_000, 5_000, maxViewers]);
  const naiveViewers = options.naiveViewers ?? (quick ? 500 : 1_000);
  const phaseOptions = { durationS, warmupS, participants, viewersPerProcess };

  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-fanout-'));
  const adminKey = `lk_${randomBytes(24).toString('base64url')}`;
  const port = await freePort();
  const command = serverCommand(options.cli);
  log(`fan-out: ${command.label}, ${rate.toLocaleString('en-US')} scores/s on ${participants.toLocaleString('en-US')} participants, phases of ${counts.join(', ')} viewers`);
  let server: ServerProcess | null = null;
  let load: Child | null = null;
  let naive: Child | null = null;
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

    const baseline = await measureBaseline(server.pid, loadChild, rate, warmupS, durationS, log);
    const phases: PhaseResult[] = [];
    for (const viewers of counts) {
      const serverPid = server.pid;
      const drive = async (durationMs: number) => {
        loadChild.send({ type: 'run', rate, durationMs });
        return (await loadChild.reply<{ report: LoadReport }>('done', durationMs + 120_000)).report;
      };
      const url = `${server.url.replace(/^http/, 'ws')}/v1/leaderboards/${BOARD}/subscribe`;
      phases.push(await runPhase({ viewers, url, mode: 'ladder', serverPid, drive, load: loadChild }, phaseOptions, log));
      // Lets the views of the phase's viewers expire (LADDER_VIEW_LINGER_MS) before the next phase.
      await sleep(1_500);
    }

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

    const result: FanoutResult = {
      settings: {
        rate,
        participants,
        durationS,
        warmupS,
        viewers: counts,
        viewersPerProcess,
        load: 'POST /scores/batch, 50 scores every 5 ms, keep-alive, ≤ 64 requests in flight; each score an improvement (changes the ranking)',
        server: command.label,
        cpus: (await import('node:os')).cpus().length,
      },
      baselineServerCpuCores: baseline,
      phases,
      naive: naiveResult,
      figures: figuresOf(baseline, phases, naiveResult),
    };
    log(`\n${phaseTable(phases, naiveResult)}`);
    return result;
  } finally {
    await naive?.stop();
    await load?.stop();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function figuresOf(baseline: number | null, phases: readonly PhaseResult[], naive: PhaseResult | null): Figure[] {
  const figures: Figure[] = [];
  if (baseline !== null) figures.push({ bench: 'fanout', name: 'server CPU with no viewer (ingest only)', value: baseline, unit: 'cores' });
  const largest = phases.reduce<PhaseResult | null>((a, b) => (a === null || b.viewers > a.viewers ? b : a), null);
  for (const phase of phases) {
    const at = `${phase.viewers} viewers`;
    const p99Goal = phase.viewers === 5_000 ? { of: 'value' as const, atMost: 100 } : phase === largest && phase.viewers > 5_000 ? { of: 'value' as const, atMost: 500 } : undefined;
    const naiveRatio = naive !== null && naive.latencyMs.p99 !== null && phase.latencyMs.p99 !== null ? { name: `naive @ ${naive.viewers}`, value: naive.latencyMs.p99, ratio: phase.latencyMs.p99 / naive.latencyMs.p99 } : undefined;
    figures.push({ bench: 'fanout', name: `latency p50 @ ${at}`, value: phase.latencyMs.p50 ?? NaN, unit: 'ms' });
    figures.push({ bench: 'fanout', name: `latency p99 @ ${at}`, value: phase.latencyMs.p99 ?? NaN, unit: 'ms', ...(p99Goal ? { goal: p99Goal } : {}), ...(naiveRatio ? { anchor: naiveRatio } : {}) });
    figures.push({ bench: 'fanout', name: `latency max @ ${at}`, value: phase.latencyMs.max, unit: 'ms' });
    figures.push({ bench: 'fanout', name: `messages delivered @ ${at}`, value: phase.messagesPerS, unit: '/s' });
    figures.push({ bench: 'fanout', name: `bytes delivered @ ${at}`, value: phase.bytesPerS, unit: 'B/s' });
    figures.push({ bench: 'fanout', name: `scores submitted @ ${at}`, value: phase.scoresPerS, unit: '/s' });
    if (phase.serverCpuCores !== null) figures.push({ bench: 'fanout', name: `server CPU @ ${at}`, value: phase.serverCpuCores, unit: 'cores' });
    if (phase.serverRssPerViewerKiB !== null) figures.push({ bench: 'fanout', name: `server RSS per viewer @ ${at}`, value: phase.serverRssPerViewerKiB, unit: 'KiB' });
  }
  const ratios = phases.map((p) => p.deltaToSnapshot).filter((r): r is number => r !== null);
  if (ratios.length > 0) {
    const phase = phases.find((p) => p.deltaToSnapshot !== null) as PhaseResult;
    figures.push({
      bench: 'fanout',
      name: 'avg top-100 delta / top-100 snapshot',
      value: ratios.reduce((a, b) => a + b, 0) / ratios.length,
      unit: '×',
      goal: { of: 'value', atMost: 0.2 },
      note: `${Math.round(phase.topDeltaAvgBytes ?? 0)} B vs ${phase.topSnapshotBytes} B`,
    });
  }
  if (naive !== null) {
    figures.push({ bench: 'fanout', name: `naive latency p99 @ ${naive.viewers} viewers`, value: naive.latencyMs.p99 ?? NaN, unit: 'ms' });
    figures.push({ bench: 'fanout', name: `naive messages delivered @ ${naive.viewers} viewers`, value: naive.messagesPerS, unit: '/s' });
    if (naive.serverCpuCores !== null) figures.push({ bench: 'fanout', name: `naive server CPU @ ${naive.viewers} viewers`, value: naive.serverCpuCores, unit: 'cores' });
  }
  return figures;
}

/** One row per phase, the naive broadcast last. */
export function phaseTable(phases: readonly PhaseResult[], naive: PhaseResult | null): string {
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
  const rows = [header, ...phases.map((p) => row('ladder', p)), ...(naive ? [row('naive', naive)] : [])];
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
    rate: numberFlag(flags, 'rate'),
    participants: numberFlag(flags, 'participants'),
    naiveViewers: numberFlag(flags, 'naive-viewers'),
  });
  process.exit(0);
}
