/**
 * The autocannon fallback of bench/lib/load.ts, run in its own process so
 * that its CPU is not the orchestrator's:
 *
 *   node --import tsx bench/lib/autocannon-load.ts '<LoadSpec as JSON>'
 *
 * Prints one line `AUTOCANNON_RESULT {json}` (an AutocannonSummary).
 */
import type { AutocannonSummary, LoadSpec } from './load.js';

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
}

interface RawRequest {
  body?: string;
}

type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

function randomInt(below: number): number {
  return Math.floor(Math.random() * below);
}

function item(participants: number): string {
  return `{"participant_id":"p-${randomInt(participants)}","score":${randomInt(1_000_000_000)}}`;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  // autocannon ships no types; it is only ever called here, with the options below.
  const moduleName = 'autocannon';
  const autocannon = ((await import(moduleName)) as { default: Autocannon }).default;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.key !== '') headers.authorization = `Bearer ${spec.key}`;
  const items = new Array<string>(spec.batchSize);
  const body =
    spec.mode === 'batch'
      ? () => {
          for (let i = 0; i < spec.batchSize; i++) items[i] = item(spec.participants);
          return `{"scores":[${items.join(',')}]}`;
        }
      : () => item(spec.participants);

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: spec.path,
        headers,
        setupRequest: (request: RawRequest) => {
          request.body = body();
          return request;
        },
      },
    ],
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const summary: AutocannonSummary = {
    requests: result.requests.total,
    durationS: result.duration,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    socketErrors: result.errors,
    non2xx: result.non2xx,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds,
  };
  process.stdout.write(`AUTOCANNON_RESULT ${JSON.stringify(summary)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`autocannon-load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
