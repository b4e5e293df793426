/**
 * The score load of the fan-out benchmark (bench/fanout.ts): an open-loop
 * stream of submissions at a fixed rate, sent as small batches
 * (`POST /v1/leaderboards/{id}/scores/batch`) every few milliseconds over
 * keep-alive connections. Every submission raises its participant's score,
 * so each one changes the ranking, and its `timestamp` (the moment it was
 * sent) comes back to viewers as `achieved_at`: the start of the
 * submit-to-viewer latency.
 *
 *   forked with one argument: the LoadSpec as JSON; talks over IPC.
 */
import { Agent, request } from 'node:http';
import { random32 } from '../test/helpers/random.js';
import { LatencyHistogram, now, type Command } from './fanout-stats.js';

export interface LoadSpec {
  /** http:// origin of the server. */
  readonly url: string;
  readonly board: string;
  readonly adminKey: string;
  /** Participants player-0 .. player-<participants − 1>; all get an entry before the first run. */
  readonly participants: number;
  readonly batchSize: number;
  readonly intervalMs: number;
  /** Requests in flight at most; a batch due beyond it waits (and the rate achieved says so). */
  readonly maxInFlight: number;
  readonly seed: number;
}

export interface LoadReport {
  readonly submitted: number;
  readonly failedRequests: number;
  readonly durationS: number;
  readonly scoresPerS: number;
  readonly requestMs: { readonly p50: number | null; readonly p99: number | null; readonly max: number };
}

const spec = JSON.parse(process.argv[2] as string) as LoadSpec;
const rand = random32(spec.seed);
const agent = new Agent({ keepAlive: true, maxSockets: spec.maxInFlight });
const scores = Array.from({ length: spec.participants }, () => Math.floor(rand() * 1_000_000));
const path = `/v1/leaderboards/${spec.board}/scores/batch`;

function post(body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${spec.url}${path}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.adminKey}`, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Each participant's score goes up by 1..1000: an improvement under `best`, so every submission changes the ranking. */
function batch(size: number): string {
  const timestamp = Math.floor(now());
  const items = new Array<string>(size);
  for (let i = 0; i < size; i++) {
    const p = Math.floor(rand() * spec.participants);
    scores[p] = (scores[p] as number) + 1 + Math.floor(rand() * 1000);
    items[i] = `{"participant_id":"player-${p}","score":${scores[p]},"timestamp":${timestamp}}`;
  }
  return `{"scores":[${items.join(',')}]}`;
}

async function populate(): Promise<void> {
  const timestamp = Math.floor(now());
  for (let start = 0; start < spec.participants; start += 1000) {
    const items = scores.slice(start, start + 1000).map((score, i) => `{"participant_id":"player-${start + i}","score":${score},"timestamp":${timestamp}}`);
    const status = await post(`{"scores":[${items.join(',')}]}`);
    if (status !== 200) throw new Error(`populating the board answered ${status}`);
  }
}

async function run(rate: number, durationMs: number): Promise<LoadReport> {
  const total = Math.round((rate * durationMs) / 1000);
  const latency = new LatencyHistogram();
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let failed = 0;
  const started = now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((now() - started) * rate) / 1000));
      while (sent < due && pending.size < spec.maxInFlight) {
        const size = Math.min(spec.batchSize, due - sent);
        sent += size;
        const at = now();
        const done = post(batch(size)).then(
          (status) => {
            if (status !== 200) failed += 1;
            latency.record(now() - at);
          },
          () => {
            failed += 1;
          },
        );
        pending.add(done);
        void done.then(() => pending.delete(done));
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, spec.intervalMs);
  });
  await Promise.all(pending);
  const durationS = (now() - started) / 1000;
  return {
    submitted: sent,
    failedRequests: failed,
    durationS,
    scoresPerS: sent / durationS,
    requestMs: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max },
  };
}

process.on('message', (command: Command) => {
  if (command.type === 'run') void run(command.rate, command.durationMs).then((report) => process.send?.({ type: 'done', report }));
  else if (command.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
await populate();
process.send?.({ type: 'ready' });
