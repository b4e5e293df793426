/**
 * Load generators for the HTTP benchmark. wrk (C, with bench/lua/wrk-scores.lua
 * making varied bodies) is preferred because it costs the machine least;
 * autocannon, in its own process (bench/lib/autocannon-load.ts), is the
 * fallback. Both report the same LoadResult, including their own CPU use,
 * because on a small machine the generator competes with the server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { timedCommand } from './proc.js';

export type LoadMode = 'single' | 'batch';

export interface LoadSpec {
  /** Origin, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly path: string;
  readonly mode: LoadMode;
  /** Participant ids are p-0 .. p-<participants - 1>, drawn uniformly. */
  readonly participants: number;
  /** Items per request in batch mode. */
  readonly batchSize: number;
  /** Sent as `Authorization: Bearer <key>`; '' sends none. */
  readonly key: string;
  readonly connections: number;
  readonly durationS: number;
}

export interface LoadResult {
  readonly generator: string;
  readonly requests: number;
  readonly durationS: number;
  readonly requestsPerS: number;
  /** Scores per second: requests per second times the items per request. */
  readonly itemsPerS: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** Connect/read/write errors and timeouts. */
  readonly socketErrors: number;
  /** Answers with a status of 400 or more (wrk) / outside 2xx (autocannon). */
  readonly errorAnswers: number;
  /** CPU seconds the generator used, or null when unknown. */
  readonly cpuSeconds: number | null;
  /** cpuSeconds / wall seconds of the run: 1.0 = one core busy. */
  readonly cpuCores: number | null;
}

export interface LoadGenerator {
  readonly name: string;
  readonly version: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}

export const WRK_PATH = '/usr/bin/wrk';
const wrkScript = fileURLToPath(new URL('../lua/wrk-scores.lua', import.meta.url));
const autocannonWorker = fileURLToPath(new URL('./autocannon-load.ts', import.meta.url));

function resultLine(output: string, mark: string): unknown {
  const line = output.split('\n').find((l) => l.startsWith(mark));
  if (line === undefined) return undefined;
  return JSON.parse(line.slice(mark.length + 1));
}

interface WrkSummary {
  requests: number;
  duration_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; max: number };
}

function wrkGenerator(): LoadGenerator {
  const versionText = spawnSync(WRK_PATH, ['-v'], { encoding: 'utf8' });
  const version = /wrk\s+(\S+)/.exec(`${versionText.stdout}${versionText.stderr}`)?.[1] ?? 'unknown';
  return {
    name: 'wrk',
    version,
    async run(spec) {
      // One thread: 64 connections are no strain for wrk's event loop, and a
      // second thread would take CPU from the server on a 2-core machine.
      const args = [
        '-t1',
        `-c${spec.connections}`,
        `-d${spec.durationS}s`,
        '--timeout',
        '10s',
        '-s',
        wrkScript,
        spec.url,
        '--',
        spec.path,
        spec.mode,
        String(spec.participants),
        String(spec.batchSize),
        spec.key,
      ];
      const run = await timedCommand(WRK_PATH, args);
      const summary = resultLine(run.stdout, 'WRK_RESULT') as WrkSummary | undefined;
      if (run.code !== 0 || summary === undefined) {
        throw new Error(`wrk failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
      }
      const durationS = summary.duration_us / 1e6;
      const requestsPerS = summary.requests / durationS;
      const e = summary.errors;
      return {
        generator: 'wrk',
        requests: summary.requests,
        durationS,
        requestsPerS,
        itemsPerS: requestsPerS * (spec.mode === 'batch' ? spec.batchSize : 1),
        latencyMs: {
          p50: summary.latency_us.p50 / 1000,
          p90: summary.latency_us.p90 / 1000,
          p99: summary.latency_us.p99 / 1000,
          max: summary.latency_us.max / 1000,
        },
        socketErrors: e.connect + e.read + e.write + e.timeout,
        errorAnswers: e.status,
        cpuSeconds: run.cpuSeconds,
        cpuCores: run.cpuSeconds === null ? null : run.cpuSeconds / run.wallSeconds,
      };
    },
  };
}

/** What bench/lib/autocannon-load.ts prints after `AUTOCANNON_RESULT `. */
export interface AutocannonSummary {
  requests: number;
  durationS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  socketErrors: number;
  non2xx: number;
  /** CPU seconds of the worker process during the run itself (startup excluded). */
  cpuSeconds: number;
  wallSeconds: number;
}

function autocannonGenerator(): LoadGenerator {
  let version = 'unknown';
  try {
    version = (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
  } catch {
    // reported as unknown
  }
  return {
    name: 'autocannon',
    version,
    async run(spec) {
      const run = await timedCommand(process.execPath, ['--import', 'tsx', autocannonWorker, JSON.stringify(spec)]);
      const summary = resultLine(run.stdout, 'AUTOCANNON_RESULT') as AutocannonSummary | undefined;
      if (run.code !== 0 || summary === undefined) {
        throw new Error(`autocannon failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
      }
      const requestsPerS = summary.requests / summary.durationS;
      return {
        generator: 'autocannon',
        requests: summary.requests,
        durationS: summary.durationS,
        requestsPerS,
        itemsPerS: requestsPerS * (spec.mode === 'batch' ? spec.batchSize : 1),
        latencyMs: summary.latencyMs,
        socketErrors: summary.socketErrors,
        errorAnswers: summary.non2xx,
        cpuSeconds: summary.cpuSeconds,
        cpuCores: summary.cpuSeconds / summary.wallSeconds,
      };
    },
  };
}

/** wrk when /usr/bin/wrk exists (unless `prefer` says otherwise), else autocannon. */
export function pickGenerator(prefer?: 'wrk' | 'autocannon'): LoadGenerator {
  if (prefer !== 'autocannon' && existsSync(WRK_PATH)) return wrkGenerator();
  if (prefer === 'wrk') process.stdout.write(`  ${WRK_PATH} not found: using autocannon instead\n`);
  return autocannonGenerator();
}
