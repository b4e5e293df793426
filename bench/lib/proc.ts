/**
 * Child processes for the benchmarks: free ports, servers that are started,
 * awaited and stopped by pid, and CPU time read from /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every common Linux). */
export const clockTicks: number = (() => {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces. */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

/**
 * CPU seconds (user + system, all threads) that a live process has used so
 * far, or null when /proc cannot tell (not Linux, process gone).
 */
export function cpuSeconds(pid: number): number | null {
  try {
    const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    // After the name: state is field 3 of stat(5), so utime (14) and stime (15) sit at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/**
 * CPU seconds of the waited-for children of a process (cutime + cstime),
 * which is how a finished load generator's CPU is read: see `timedCommand`.
 */
export function childrenCpuSecondsFromStat(statText: string): number | null {
  const fields = statFields(statText);
  const value = (Number(fields[13]) + Number(fields[14])) / clockTicks;
  return Number.isFinite(value) ? value : null;
}

const STAT_MARK = '@@children-stat@@';

export interface TimedResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
  /** user + system CPU seconds of the command and its descendants; null when unknown. */
  readonly cpuSeconds: number | null;
}

/**
 * Runs a command to its end and measures its CPU. The command runs under
 * `sh`, which prints its own /proc stat after waiting for it: the stat's
 * cutime/cstime then hold exactly the command's CPU, with no sampling.
 */
export function timedCommand(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<TimedResult> {
  const script = `"$@"; status=$?; printf '\\n${STAT_MARK}%s\\n' "$(cat /proc/$$/stat 2>/dev/null)" >&2; exit $status`;
  const started = performance.now();
  // Its own process group, so that an interrupt stops the command too, not only its `sh`.
  const child = spawn('sh', ['-c', script, 'sh', command, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(child, true);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      const at = stderr.lastIndexOf(STAT_MARK);
      let cpu: number | null = null;
      if (at >= 0) {
        const line = stderr.slice(at + STAT_MARK.length).split('\n')[0] ?? '';
        cpu = line === '' ? null : childrenCpuSecondsFromStat(line);
        stderr = stderr.slice(0, at).trimEnd();
      }
      resolve({ code, stdout, stderr, wallSeconds, cpuSeconds: cpu });
    });
  });
}

/** Children still running; `true` when the child leads a process group of its own. */
const live = new Map<ChildProcess, boolean>();
const cleanups = new Set<() => Promise<unknown> | void>();
let exitHookInstalled = false;

function killChildren(): void {
  for (const [c, group] of live) {
    if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) continue;
    try {
      process.kill(group ? -c.pid : c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      // Cleanups (temporary keys, directories) get a bounded moment, then the process ends.
      const pending = [...cleanups].map(async (cleanup) => cleanup());
      const bound = new Promise((resolve) => setTimeout(resolve, 3000).unref());
      void Promise.race([Promise.allSettled(pending), bound]).then(() => process.exit(130));
    });
  }
}

/**
 * Registers work to undo if the benchmark is interrupted (Ctrl-C, SIGTERM)
 * before it undoes it itself; returns the function that unregisters it.
 */
export function onInterrupt(cleanup: () => Promise<unknown> | void): () => void {
  installExitHook();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Children are killed (by their own pid) if this process exits before stopping them. */
export function track(child: ChildProcess, group = false): void {
  installExitHook();
  live.set(child, group);
  child.on('exit', () => live.delete(child));
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** CPU seconds used so far (all threads), or null when unknown. */
  cpuSeconds(): number | null;
  /** The last lines the server wrote, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServerOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly port: number;
  /** Path answered with 2xx once the server is ready. */
  readonly readyPath: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** Starts a server as a child process and resolves once `readyPath` answers 2xx. */
export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const child = spawn(options.command, options.args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail}`);
    }
    try {
      const response = await fetch(url + options.readyPath, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      throw new Error(`${options.name} was not ready within ${options.timeoutMs ?? 30_000} ms:\n${tail}`);
    }
    await sleep(50);
  }
  const pid = child.pid as number;
  return {
    name: options.name,
    pid,
    url,
    cpuSeconds: () => cpuSeconds(pid),
    output: () => tail,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * CPU seconds the whole machine has spent busy (user, nice, system, irq and
 * softirq, summed over all cores) since boot, or null off Linux. Minus what
 * the benchmark's own processes used, it tells whether something else was
 * running during a measurement.
 */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: user + nice + system + irq + softirq
    // (guest time is already inside user; steal is the hypervisor's, not this machine's work).
    const busy = [0, 1, 2, 5, 6].reduce((sum, i) => sum + (ticks[i] ?? 0), 0);
    return busy / clockTicks;
  } catch {
    return null;
  }
}
