/**
 * Restart to first answer: how long a server that was stopped (SIGTERM) takes,
 * from the moment its process is spawned, to answer the first
 * `GET /v1/leaderboards/<board>/rankings?limit=10` on a data directory that
 * already holds the board. Boards load lazily, on first use, so that first
 * answer includes reading the board from SQLite and building its ranking.
 *
 * Run by bench/http.ts on the data directory its Ladder runs filled (a
 * million entries), after it stopped that server; not a program of its own.
 *
 * Per run: spawn → the port accepts a TCP connection (process start, module
 * loading, opening the store), then → the first 200 of the rankings read (the
 * board's load), and SIGTERM → exit of the stop that follows. Figures only.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, track } from './lib/proc.js';

export interface RestartOptions {
  readonly cli: string;
  readonly cwd: string;
  /** The server's environment, with its data directory and admin key; the port is added per run. */
  readonly env: NodeJS.ProcessEnv;
  readonly key: string;
  readonly board: string;
  readonly runs: number;
  /** Per run: no first answer within this many ms fails the run. */
  readonly timeoutMs?: number;
}

export interface RestartRun {
  /** Spawn → the port accepts connections. */
  readonly listeningMs: number;
  /** Spawn → the first 200 of GET rankings?limit=10. */
  readonly firstAnswerMs: number;
  /** `total` of that answer: the entries the loaded board holds. */
  readonly total: number | null;
  /** SIGTERM → the process exited. */
  readonly stopMs: number;
  /** The server's resident memory right after its first answer. */
  readonly rssMiB: number | null;
}

export interface RestartResult {
  readonly board: string;
  readonly runs: readonly RestartRun[];
  /** Medians over the runs. */
  readonly listeningMs: number;
  readonly firstAnswerMs: number;
  readonly boardLoadMs: number;
  readonly stopMs: number;
  readonly total: number | null;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One GET on a connection of its own: status and body. */
function getJson(url: string, key: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, headers: { authorization: `Bearer ${key}` }, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

function rssMiB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function restartOnce(options: RestartOptions): Promise<RestartRun> {
  const port = await freePort();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  const child = spawn(process.execPath, [options.cli, 'serve'], { cwd: options.cwd, env: { ...options.env, LADDER_PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const deadline = started + timeoutMs;
  try {
    while (!(await accepts(port))) {
      if (gone()) throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before it listened:\n${stderr}`);
      if (performance.now() > deadline) throw new Error(`the server did not listen within ${timeoutMs} ms:\n${stderr}`);
      await sleep(2);
    }
    const listeningMs = performance.now() - started;
    const url = `http://127.0.0.1:${port}/v1/leaderboards/${options.board}/rankings?limit=10`;
    let answer: { status: number; body: string };
    while (true) {
      answer = await getJson(url, options.key, Math.max(1, deadline - performance.now()));
      if (answer.status === 200) break;
      if (performance.now() > deadline) throw new Error(`GET rankings answered ${answer.status} until the ${timeoutMs} ms limit: ${answer.body.slice(0, 300)}`);
      await sleep(5);
    }
    const firstAnswerMs = performance.now() - started;
    const total = (JSON.parse(answer.body) as { total?: unknown }).total;
    const rss = rssMiB(child.pid as number);
    const stopping = performance.now();
    child.kill('SIGTERM');
    const timer = setTimeout(() => !gone() && child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    return { listeningMs, firstAnswerMs, total: typeof total === 'number' ? total : null, stopMs: performance.now() - stopping, rssMiB: rss };
  } finally {
    if (!gone()) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** `runs` restarts one after the other, each stopped with SIGTERM before the next. */
export async function measureRestart(options: RestartOptions, log: (line: string) => void): Promise<RestartResult> {
  const runs: RestartRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    const run = await restartOnce(options);
    runs.push(run);
    log(
      `  restart ${i + 1}/${options.runs}: listening after ${run.listeningMs.toFixed(0)} ms, first rankings answer after ${run.firstAnswerMs.toFixed(0)} ms` +
        ` (${run.total?.toLocaleString('en-US') ?? '?'} entries), stopped in ${run.stopMs.toFixed(0)} ms`,
    );
  }
  return {
    board: options.board,
    runs,
    listeningMs: median(runs.map((r) => r.listeningMs)),
    firstAnswerMs: median(runs.map((r) => r.firstAnswerMs)),
    boardLoadMs: median(runs.map((r) => r.firstAnswerMs - r.listeningMs)),
    stopMs: median(runs.map((r) => r.stopMs)),
    total: runs.at(-1)?.total ?? null,
  };
}
