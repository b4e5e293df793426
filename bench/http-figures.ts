/**
 * The figures of the HTTP benchmark (bench/http.ts) and of the restarts it
 * runs (bench/restart.ts): each beside its goal and its ratios to the
 * anchors of the same run.
 *
 * Figures of the first connection count (64) keep the names they had when it
 * was the only one, so that a result compares with older ones by name; those
 * of the other counts end in `@ <n> conn`.
 */
import type { BareReference, HttpBenchResult, Measurement, RedisAnchor } from './http.js';
import { ratios, ratioTo, type Figure } from './lib/report.js';

type Result = Omit<HttpBenchResult, 'figures'>;

export function anchorOf(anchor: RedisAnchor | { skipped: string } | null): RedisAnchor | null {
  return anchor === null || 'skipped' in anchor ? null : anchor;
}

/** redis-server's CPU per request of a Redis anchor's run (µs), or undefined. */
export function redisUsPerRequest(m: Measurement | undefined): number | undefined {
  if (m === undefined || m.redisCpuCores === undefined || m.redisCpuCores === null || !(m.requestsPerS > 0)) return undefined;
  return (m.redisCpuCores / m.requestsPerS) * 1e6;
}

/** The route's own CPU plus redis-server's, per request (µs): what one submission costs that anchor. */
export function withRedisUsPerRequest(m: Measurement | undefined): number | undefined {
  const redis = redisUsPerRequest(m);
  return m?.serverCpuUsPerRequest === null || m?.serverCpuUsPerRequest === undefined || redis === undefined ? undefined : m.serverCpuUsPerRequest + redis;
}

export function skipNote(anchor: RedisAnchor | { skipped: string } | null): string | undefined {
  return anchor !== null && 'skipped' in anchor ? `skipped: ${anchor.skipped}` : undefined;
}

export function httpFigures(result: Result, generator: string): Figure[] {
  const f: Figure[] = [];
  const add = (figure: Omit<Figure, 'bench'> & { bench?: string }) => f.push({ bench: 'http', ...figure });
  const evalsha = anchorOf(result.anchors.redisAt);
  const redisRank = anchorOf(result.anchors.redisRank);
  const series = result.settings.connectionSeries;

  series.forEach((connections, i) => {
    const at = String(connections);
    const suffix = i === 0 ? '' : ` @ ${connections} conn`;
    const bare: BareReference | null = result.anchors.bareReferenceAt[at] ?? null;
    const single = result.ladder?.singleAt[at];
    const viaEvalsha = evalsha?.at[at];
    const viaRank = redisRank?.at[at];
    if (single === undefined) return;
    add({
      name: `Ladder single submit${suffix}`,
      value: single.requestsPerS,
      unit: 'req/s',
      goal: { of: 'ratio', atLeast: 0.9 },
      anchor: ratioTo('bare route', single.requestsPerS, bare?.requestsPerS),
      ...ratios(ratioTo('EVALSHA route', single.requestsPerS, viaEvalsha?.requestsPerS), ratioTo('redis-rank route', single.requestsPerS, viaRank?.requestsPerS)),
      note: `${connections} connections`,
    });
    if (i === 0 && viaEvalsha !== undefined) {
      add({ name: 'Ladder single submit vs Redis route', value: single.requestsPerS, unit: 'req/s', anchor: ratioTo('Redis route', single.requestsPerS, viaEvalsha.requestsPerS) });
    }
    for (const q of ['p50', 'p99'] as const) {
      add({
        name: `Ladder single submit ${q}${suffix}`,
        value: single.latencyMs[q],
        unit: 'ms',
        anchor: ratioTo('bare route', single.latencyMs[q], q === 'p50' ? bare?.p50Ms : bare?.p99Ms),
        ...ratios(ratioTo('EVALSHA route', single.latencyMs[q], viaEvalsha?.latencyMs[q]), ratioTo('redis-rank route', single.latencyMs[q], viaRank?.latencyMs[q])),
      });
    }
    if (single.serverCpuUsPerRequest !== null) {
      add({
        name: `Ladder server CPU per submit${suffix}`,
        value: single.serverCpuUsPerRequest,
        unit: 'µs',
        anchor: ratioTo('bare route', single.serverCpuUsPerRequest, bare?.serverCpuUsPerRequest),
        ...ratios(
          ratioTo('EVALSHA route + redis-server', single.serverCpuUsPerRequest, withRedisUsPerRequest(viaEvalsha)),
          ratioTo('redis-rank route + redis-server', single.serverCpuUsPerRequest, withRedisUsPerRequest(viaRank)),
        ),
      });
    }
    if (single.threads !== null) {
      add({
        name: `Ladder main-thread CPU per submit${suffix}`,
        value: single.threads.mainUsPerRequest,
        unit: 'µs',
        anchor: ratioTo('bare route main thread', single.threads.mainUsPerRequest, bare?.mainUsPerRequest),
        note: 'event loop: HTTP, JSON, validation, ranking',
      });
      const busiest = single.threads.busiest[0];
      add({
        name: `Ladder other-thread CPU per submit${suffix}`,
        value: single.threads.otherUsPerRequest,
        unit: 'µs',
        anchor: ratioTo('bare route other threads', single.threads.otherUsPerRequest, bare?.otherUsPerRequest),
        note:
          `SQLite writer + GC/compiler threads${single.threads.named ? '' : ' (this Node names none)'}` +
          (busiest === undefined ? '' : `; busiest one ${busiest.usPerRequest.toFixed(0)} µs`),
      });
    }
    if (single.serverCpuCores !== null) add({ name: `Ladder server CPU (single)${suffix}`, value: single.serverCpuCores, unit: 'cores' });
    if (i === 0) {
      if (single.cpuCores !== null) add({ name: `${generator} CPU (Ladder single)`, value: single.cpuCores, unit: 'cores' });
      if (single.changedPerItem !== undefined) add({ name: 'single submits that changed the ranking', value: Math.min(1, single.changedPerItem), unit: '' });
    }
  });

  const firstBare = result.anchors.bareReference;
  const batch = result.ladder?.batch ?? null;
  const fresh = result.ladder?.batchFresh ?? null;
  const batchSize = result.settings.batchSize;
  const perScore = (m: Measurement) => (m.serverCpuCores === null || !(m.itemsPerS > 0) ? null : (m.serverCpuCores / m.itemsPerS) * 1e6);
  const entries = result.ladder?.prefill.entries;
  if (batch !== null) {
    add({
      name: 'Ladder batch submit',
      value: batch.itemsPerS,
      unit: 'scores/s',
      goal: { of: 'value', atLeast: 500_000 },
      anchor: ratioTo('bare route req/s', batch.itemsPerS, firstBare?.requestsPerS),
      note: `board of ${entries?.toLocaleString('en-US') ?? '?'} entries`,
    });
    add({ name: `Ladder batch p99 (${batchSize}/request)`, value: batch.latencyMs.p99, unit: 'ms' });
    if (batch.serverCpuCores !== null) add({ name: 'Ladder server CPU (batch)', value: batch.serverCpuCores, unit: 'cores' });
    const cpu = perScore(batch);
    if (cpu !== null) add({ name: 'Ladder server CPU per batched score', value: cpu, unit: 'µs', anchor: ratioTo('bare route per request', cpu, firstBare?.serverCpuUsPerRequest) });
  }
  if (fresh !== null) {
    add({
      name: 'Ladder batch submit (fresh board)',
      value: fresh.itemsPerS,
      unit: 'scores/s',
      goal: { of: 'value', atLeast: 500_000 },
      anchor: ratioTo('bare route req/s', fresh.itemsPerS, firstBare?.requestsPerS),
      ...ratios(ratioTo('filled board', fresh.itemsPerS, batch?.itemsPerS)),
      note: 'board starts empty; nearly every score is a new entry',
    });
    add({ name: `Ladder batch p99 (fresh board, ${batchSize}/request)`, value: fresh.latencyMs.p99, unit: 'ms' });
    const cpu = perScore(fresh);
    if (cpu !== null) add({ name: 'Ladder server CPU per batched score (fresh board)', value: cpu, unit: 'µs' });
  }

  series.forEach((connections, i) => {
    const at = String(connections);
    const suffix = i === 0 ? '' : ` @ ${connections} conn`;
    const bare = result.anchors.bareReferenceAt[at] ?? null;
    const bareRuns = result.anchors.bareAt[at] ?? [];
    if (bare !== null) {
      add({ name: `bare route (anchor, mean of ${bare.runs})${suffix}`, value: bare.requestsPerS, unit: 'req/s', note: `${connections} connections` });
      if (bare.runs > 1) add({ name: `bare route spread between runs${suffix}`, value: bare.spread * 100, unit: '%' });
      add({ name: `bare route p99${suffix}`, value: bare.p99Ms, unit: 'ms' });
      const cpu = bareRuns[0]?.serverCpuCores ?? null;
      if (cpu !== null) add({ name: `bare route server CPU${suffix}`, value: cpu, unit: 'cores' });
      if (bare.serverCpuUsPerRequest !== undefined) {
        add({
          name: `bare route CPU per request${suffix}`,
          value: bare.serverCpuUsPerRequest,
          unit: 'µs',
          ...(bare.mainUsPerRequest === undefined ? {} : { note: `main thread ${bare.mainUsPerRequest.toFixed(0)} µs, other threads ${bare.otherUsPerRequest?.toFixed(0) ?? '?'} µs` }),
        });
      }
    }
    const viaEvalsha = evalsha?.at[at];
    if (viaEvalsha !== undefined) {
      add({ name: `Redis route (anchor)${suffix}`, value: viaEvalsha.requestsPerS, unit: 'req/s', anchor: ratioTo('bare route', viaEvalsha.requestsPerS, bare?.requestsPerS), note: 'Fastify + ioredis EVALSHA' });
      add({ name: `Redis route p99${suffix}`, value: viaEvalsha.latencyMs.p99, unit: 'ms' });
      if (viaEvalsha.redisCpuCores !== undefined && viaEvalsha.redisCpuCores !== null) add({ name: `redis-server CPU (Redis route)${suffix}`, value: viaEvalsha.redisCpuCores, unit: 'cores' });
    } else if (i === 0 && skipNote(result.anchors.redisAt) !== undefined) {
      add({ name: 'Redis route (anchor)', value: NaN, unit: 'req/s', note: skipNote(result.anchors.redisAt) });
    }
    const viaRank = redisRank?.at[at];
    if (viaRank !== undefined) {
      add({
        name: `redis-rank route (anchor)${suffix}`,
        value: viaRank.requestsPerS,
        unit: 'req/s',
        anchor: ratioTo('bare route', viaRank.requestsPerS, bare?.requestsPerS),
        ...ratios(ratioTo('EVALSHA route', viaRank.requestsPerS, viaEvalsha?.requestsPerS)),
        note: `redis-rank ${redisRank?.library ?? '?'}: updatePipe + ZREVRANK, one round trip`,
      });
      add({ name: `redis-rank route p99${suffix}`, value: viaRank.latencyMs.p99, unit: 'ms' });
      if (viaRank.redisCpuCores !== undefined && viaRank.redisCpuCores !== null) add({ name: `redis-server CPU (redis-rank route)${suffix}`, value: viaRank.redisCpuCores, unit: 'cores' });
    } else if (i === 0 && skipNote(result.anchors.redisRank) !== undefined) {
      add({ name: 'redis-rank route (anchor)', value: NaN, unit: 'req/s', note: skipNote(result.anchors.redisRank) });
    }
  });

  const restart = result.ladder?.restart;
  if (restart !== undefined) {
    if ('runs' in restart) {
      const note = `${restart.total?.toLocaleString('en-US') ?? '?'} entries, median of ${restart.runs.length}`;
      add({ bench: 'restart', name: 'restart to first answer', value: restart.firstAnswerMs, unit: 'ms', goal: { of: 'value', atMost: 1000 }, note: `${note}; spawn → first 200 of GET rankings?limit=10` });
      add({ bench: 'restart', name: 'restart: spawn to listening', value: restart.listeningMs, unit: 'ms' });
      add({ bench: 'restart', name: 'restart: board load on first read', value: restart.boardLoadMs, unit: 'ms', note: 'listening → first answer' });
      add({ bench: 'restart', name: 'restart: stop (SIGTERM to exit)', value: restart.stopMs, unit: 'ms' });
    } else {
      add({ bench: 'restart', name: 'restart to first answer', value: NaN, unit: 'ms', goal: { of: 'value', atMost: 1000 }, note: 'failed' in restart ? `failed: ${restart.failed.split('\n')[0]}` : `skipped: ${restart.skipped}` });
    }
  }

  const runs: (Measurement | null | undefined)[] = [
    ...Object.values(result.anchors.bareAt).flat(),
    ...Object.values(result.ladder?.singleAt ?? {}),
    batch,
    fresh,
    ...Object.values(evalsha?.at ?? {}),
    ...Object.values(redisRank?.at ?? {}),
  ];
  const noisy = runs.filter((m) => m !== null && m !== undefined && m.otherCpuCores !== null && m.otherCpuCores > 0.15);
  if (noisy.length > 0) {
    add({ name: 'runs disturbed by other processes', value: noisy.length, unit: '', note: 'other processes used > 0.15 cores during these runs' });
  }
  return f;
}
