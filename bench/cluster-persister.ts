/**
 * The persister's side of the cluster benchmark (bench/cluster.ts): how far
 * PostgreSQL trails the board's Redis stream, read straight from Redis, and
 * batch submissions at a fixed rate to measure that trail under load.
 *
 * Unpersisted events are exact: the persister acknowledges a stream entry
 * only after PostgreSQL committed it, so `lag` (entries no consumer read yet)
 * plus `pending` (read, not acknowledged) of the group `ladder-persister`
 * (XINFO GROUPS) are the events PostgreSQL does not hold yet. Their age is
 * that of the oldest of them, from its `received_at` field (the writer's
 * clock, which is this machine's).
 */
import type { Redis } from 'ioredis';
import { uint32s } from '../test/helpers/random.js';
import { batchPath, request } from './http.js';

const GROUP = 'ladder-persister';

export interface PersisterSample {
  /** ms since the probe started. */
  readonly atMs: number;
  /** Events in the stream that PostgreSQL does not hold yet. */
  readonly unpersisted: number;
  /** Age of the oldest of them (ms); 0 when none. */
  readonly lagMs: number;
  /** Events committed to PostgreSQL since the group was made (entries read − pending). */
  readonly persisted: number;
}

/** Field `name` of a flat [name, value, …] reply. */
function field(reply: readonly unknown[], name: string): unknown {
  for (let i = 0; i + 1 < reply.length; i += 2) if (reply[i] === name) return reply[i + 1];
  return undefined;
}

export class PersisterProbe {
  readonly #redis: Redis;
  readonly #stream: string;
  readonly #started = performance.now();

  constructor(redis: Redis, stream: string) {
    this.#redis = redis;
    this.#stream = stream;
  }

  /** One reading: two round trips (XINFO GROUPS + XPENDING, then the oldest entry). */
  async sample(): Promise<PersisterSample> {
    const atMs = performance.now() - this.#started;
    const none = { atMs, unpersisted: 0, lagMs: 0, persisted: 0 };
    const results = (await this.#redis.pipeline().xinfo('GROUPS', this.#stream).xpending(this.#stream, GROUP).exec()) ?? [];
    for (const [err] of results) {
      // No stream yet (no submission so far), or no group yet (the persister has not read it yet).
      if (err !== null && /no such key|NOGROUP/i.test(err.message)) return none;
      if (err !== null) throw err;
    }
    const groups = results[0]?.[1] as unknown[][];
    const pendingSummary = results[1]?.[1] as [number, string | null, ...unknown[]];
    const group = groups.find((fields) => field(fields, 'name') === GROUP);
    if (group === undefined) return none;
    const [pending, smallest] = pendingSummary;
    const unread = Number(field(group, 'lag') ?? 0);
    const persisted = Number(field(group, 'entries-read') ?? 0) - pending;
    const unpersisted = pending + unread;
    if (unpersisted === 0) return { atMs, unpersisted, lagMs: 0, persisted };
    const from = pending > 0 && smallest !== null ? smallest : `(${String(field(group, 'last-delivered-id'))}`;
    const oldest = (await this.#redis.xrange(this.#stream, from, '+', 'COUNT', 1))[0];
    const receivedAt = oldest === undefined ? NaN : Number(field(oldest[1], 'received_at'));
    return { atMs, unpersisted, lagMs: Number.isFinite(receivedAt) ? Math.max(0, Date.now() - receivedAt) : 0, persisted };
  }

  /** Samples every `everyMs` until `stop` resolves; answers the samples. */
  async watch(everyMs: number, stop: Promise<unknown>): Promise<PersisterSample[]> {
    const samples: PersisterSample[] = [];
    let stopped = false;
    let failure: unknown = null;
    void stop.finally(() => (stopped = true));
    while (!stopped) {
      const next = performance.now() + everyMs;
      // Read on after a failed sample; the first failure is thrown once the watch ends, not while nobody awaits it.
      await this.sample().then((sample) => samples.push(sample), (err: unknown) => (failure ??= err));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
    if (failure !== null) throw failure;
    samples.push(await this.sample());
    return samples;
  }

  /** Waits until PostgreSQL holds every event of the stream, at most `timeoutMs`; answers the ms waited, or null on the timeout. */
  async caughtUp(timeoutMs: number): Promise<number | null> {
    const started = performance.now();
    while (performance.now() - started < timeoutMs) {
      if ((await this.sample()).unpersisted === 0) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return null;
  }
}

export interface FixedRateResult {
  readonly targetPerS: number;
  readonly seconds: number;
  /** Batches sent and answered 200. */
  readonly batches: number;
  /** Batches not sent because `maxInFlight` were still unanswered when they were due. */
  readonly skipped: number;
  readonly failed: number;
  /** Submissions answered per second over the window. */
  readonly appliedPerS: number;
  /** Slowest batch answer (ms). */
  readonly maxAnswerMs: number;
}

/**
 * POSTs batches of `batchSize` random submissions (participants p-0 ..
 * p-<participants − 1>) at `perS` submissions per second for `seconds`,
 * open loop, round robin over `urls`: a batch is due every batchSize / perS
 * seconds whether or not the previous ones were answered, up to
 * `maxInFlight` unanswered.
 */
export async function submitAtFixedRate(options: {
  readonly urls: readonly string[];
  readonly key: string;
  readonly board: string;
  readonly perS: number;
  readonly seconds: number;
  readonly batchSize: number;
  readonly participants: number;
  readonly maxInFlight?: number;
}): Promise<FixedRateResult> {
  const next = uint32s(11);
  const intervalMs = (options.batchSize / options.perS) * 1000;
  const due = Math.round((options.seconds * 1000) / intervalMs);
  const maxInFlight = options.maxInFlight ?? 32;
  const inFlight = new Set<Promise<void>>();
  let batches = 0;
  let skipped = 0;
  let failed = 0;
  let maxAnswerMs = 0;
  const started = performance.now();
  for (let k = 0; k < due; k++) {
    const wait = started + k * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight.size >= maxInFlight) {
      skipped++;
      continue;
    }
    const scores = new Array(options.batchSize);
    for (let i = 0; i < options.batchSize; i++) scores[i] = { participant_id: `p-${next() % options.participants}`, score: next() % 1_000_000_000 };
    const sent = performance.now();
    const url = options.urls[k % options.urls.length] as string;
    const call = request('POST', `${url}${batchPath(options.board)}`, options.key, { scores }).then(
      (answer) => {
        if (answer.status === 200) batches++;
        else failed++;
        maxAnswerMs = Math.max(maxAnswerMs, performance.now() - sent);
      },
      () => {
        failed++;
      },
    );
    const tracked = call.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  return {
    targetPerS: options.perS,
    seconds,
    batches,
    skipped,
    failed,
    appliedPerS: (batches * options.batchSize) / seconds,
    maxAnswerMs,
  };
}

/** Polls GET /healthz of each server every `everyMs` until `stop` resolves: the largest persister lag any of them reported. */
export async function healthzLag(urls: readonly string[], everyMs: number, stop: Promise<unknown>): Promise<{ events: number; ms: number; polls: number }> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const most = { events: 0, ms: 0, polls: 0 };
  while (!stopped) {
    for (const url of urls) {
      try {
        const answer = await request('GET', `${url}/healthz`, '');
        const health = answer.json as { persister_lag_events?: number; persister_lag_ms?: number };
        most.events = Math.max(most.events, health.persister_lag_events ?? 0);
        most.ms = Math.max(most.ms, health.persister_lag_ms ?? 0);
        most.polls++;
      } catch {
        // a poll that fails is not a lag
      }
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return most;
}
