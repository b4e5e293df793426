/**
 * The view flood of the review (issue "Ports that a cluster can plug into"),
 * as a program that prints figures: a hostile client opens a WebSocket, sends
 * 100 `around` subscriptions with distinct participants and radius 50–100,
 * drops the socket, and repeats, while scores arrive at about 50/s. The
 * server runs in its own process (`node dist/cli.js serve`, defaults except
 * the port and data directory), the flood in another, and this process
 * submits scores and times `GET /healthz`.
 *
 *   node --import tsx bench/flood.ts [--rounds=500] [--round-ms=42]
 *
 * Before the fix, 500 rounds (about 21 s, 50,000 views) took /healthz from
 * 4 ms to over 5 s and the server's RSS from 182 MB to 3.1 GB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { numberFlag, parseFlags } from './lib/args.js';
import { freePort, startServer } from './lib/proc.js';

const ENTRIES = 2_000;
const SUBSCRIPTIONS = 100;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** The flood itself, run as a child process: `bench/flood.ts --client <url> <rounds> <roundMs>`. */
async function flood(url: string, rounds: number, roundMs: number): Promise<void> {
  let answers = 0;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.on('message', () => (answers += 1));
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const participant = `p${(round * SUBSCRIPTIONS + i) % ENTRIES}`;
      ws.send(JSON.stringify({ type: 'subscribe', sub: `s${i}`, view: { around: participant, radius: 50 + ((round + i) % 51) } }));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (round + 1) * roundMs - performance.now())));
    ws.terminate();
  }
  process.stdout.write(`${JSON.stringify({ answers, seconds: (performance.now() - started) / 1000 })}\n`);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const rounds = numberFlag(flags, 'rounds') ?? 500;
  const roundMs = numberFlag(flags, 'round-ms') ?? 42;
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-flood-'));
  const key = 'ldr_flood_bench_key_0123456789abcdef';
  const server = await startServer({
    name: 'ladder',
    command: process.execPath,
    args: [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'serve'],
    env: { ...process.env, LADDER_PORT: String(port), LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_LOG_LEVEL: 'warn' },
    port,
    readyPath: '/healthz',
  });
  const post = (path: string, body: unknown) =>
    fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  try {
    await post('/v1/leaderboards', { id: 'flood', sort_order: 'desc', operator: 'best' });
    for (let i = 0; i < ENTRIES; i += 1000) {
      await post('/v1/leaderboards/flood/scores/batch', { scores: Array.from({ length: 1000 }, (_, k) => ({ participant_id: `p${i + k}`, score: i + k })) });
    }
    const rssBefore = rssBytes(server.pid);
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', `${server.url.replace('http', 'ws')}/v1/leaderboards/flood/subscribe`, String(rounds), String(roundMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let running = true;
    void done.then(() => (running = false));

    const latencies: number[] = [];
    let submitted = 0;
    let peakRss = rssBefore;
    // About 50 scores/s, paced by the clock so that slow answers do not lower the rate.
    const scoresStarted = performance.now();
    const scores = (async () => {
      const pending: Promise<unknown>[] = [];
      while (running) {
        pending.push(post('/v1/leaderboards/flood/scores', { participant_id: `p${submitted % ENTRIES}`, score: 10_000 + submitted }));
        submitted += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, scoresStarted + submitted * 20 - performance.now())));
      }
      await Promise.all(pending);
    })();
    const probes = (async () => {
      while (running) {
        const t0 = performance.now();
        await (await fetch(`${server.url}/healthz`)).arrayBuffer();
        latencies.push(performance.now() - t0);
        peakRss = Math.max(peakRss, rssBytes(server.pid));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await Promise.all([done, scores, probes]);
    const { answers, seconds } = JSON.parse(output) as { answers: number; seconds: number };
    const sorted = [...latencies].sort((a, b) => a - b);
    const result = {
      rounds,
      views_requested: rounds * SUBSCRIPTIONS,
      answers,
      seconds: Math.round(seconds * 10) / 10,
      scores_per_second: Math.round(submitted / seconds),
      healthz_ms: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1), polls: sorted.length },
      server_rss_mb: { before: Math.round(rssBefore / 2 ** 20), peak: Math.round(peakRss / 2 ** 20), after: Math.round(rssBytes(server.pid) / 2 ** 20) },
    };
    process.stdout.write(`${JSON.stringify(result, (_key, value: unknown) => (typeof value === 'number' ? Math.round(value * 10) / 10 : value), 2)}\n`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--client') {
  await flood(process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
