/**
 * The figures of the cluster benchmark (bench/cluster.ts), each beside its
 * goal and its ratios to the anchors of the same run.
 */
import type { ClusterBenchResult } from './cluster.js';
import { anchorOf, redisUsPerRequest, skipNote, withRedisUsPerRequest } from './http-figures.js';
import type { Measurement } from './http.js';
import { ratios, ratioTo, type Figure } from './lib/report.js';

type Result = Omit<ClusterBenchResult, 'figures'>;

const count = (value: number) => Math.round(value).toLocaleString('en-US');

function latencyNote(m: Measurement): string {
  return `p50 ${m.latencyMs.p50.toFixed(1)} ms, p99 ${m.latencyMs.p99.toFixed(1)} ms`;
}

export function clusterFigures(result: Result): Figure[] {
  const f: Figure[] = [];
  const add = (figure: Omit<Figure, 'bench'>) => f.push({ bench: 'cluster', ...figure });
  const at = String(result.settings.connections);
  const evalsha = anchorOf(result.anchors.redis)?.at[at];
  const redisRank = anchorOf(result.anchors.redisRank)?.at[at];
  const entries = result.prefill?.entries ?? result.settings.boardSize;
  const board = `${count(entries)}-entry board, ${result.settings.connections} connections`;

  const runs = [
    ['1 process', result.ladder.one],
    ['2 processes', result.ladder.two],
  ] as const;
  for (const [processes, m] of runs) {
    if (m === null) continue;
    const two = processes === '2 processes';
    add({
      name: `cluster single submit, ${processes}`,
      value: m.requestsPerS,
      unit: 'req/s',
      ...(two ? { goal: { of: 'ratio' as const, atLeast: 1 } } : {}),
      anchor: ratioTo('EVALSHA route', m.requestsPerS, evalsha?.requestsPerS),
      ...ratios(
        ratioTo('redis-rank route', m.requestsPerS, redisRank?.requestsPerS),
        two ? ratioTo('1 process', m.requestsPerS, result.ladder.one?.requestsPerS) : undefined,
      ),
      note: `${board}${two ? ', one generator per process' : ''}${evalsha === undefined ? `; EVALSHA ${skipNote(result.anchors.redis) ?? 'failed'}` : ''}`,
    });
    for (const q of ['p50', 'p99'] as const) {
      add({
        name: `cluster single submit ${q}, ${processes}`,
        value: m.latencyMs[q],
        unit: 'ms',
        anchor: ratioTo('EVALSHA route', m.latencyMs[q], evalsha?.latencyMs[q]),
        ...ratios(ratioTo('redis-rank route', m.latencyMs[q], redisRank?.latencyMs[q])),
        ...(two && q === 'p99' ? { note: 'the larger of the two generators’ p99' } : {}),
      });
    }
  }
  for (const [name, m] of [
    ['EVALSHA route single submit (anchor)', evalsha],
    ['redis-rank route single submit (anchor)', redisRank],
  ] as const) {
    if (m !== undefined) add({ name, value: m.requestsPerS, unit: 'req/s', note: `${latencyNote(m)}; one process` });
  }

  const two = result.ladder.two;
  const ladderUs = withRedisUsPerRequest(two ?? undefined);
  const ladderRedisUs = redisUsPerRequest(two ?? undefined);
  if (two !== null && ladderUs !== undefined && ladderRedisUs !== undefined) {
    add({
      name: 'cluster CPU per submit (Ladder + redis-server), 2 processes',
      value: ladderUs,
      unit: 'µs',
      anchor: ratioTo('EVALSHA route + redis-server', ladderUs, withRedisUsPerRequest(evalsha)),
      ...ratios(ratioTo('redis-rank route + redis-server', ladderUs, withRedisUsPerRequest(redisRank))),
      note: `Ladder ${(two.serverCpuUsPerRequest ?? NaN).toFixed(1)} µs + redis-server ${ladderRedisUs.toFixed(1)} µs; redis-server is shared, others' commands count in`,
    });
    add({
      name: 'redis-server CPU per submit, 2 processes',
      value: ladderRedisUs,
      unit: 'µs',
      anchor: ratioTo('EVALSHA route', ladderRedisUs, redisUsPerRequest(evalsha)),
      ...ratios(ratioTo('redis-rank route', ladderRedisUs, redisUsPerRequest(redisRank))),
      note: `redis-server at ${(two.redisCpuCores ?? NaN).toFixed(2)} cores`,
    });
  }

  const evalshaOf = (costs: readonly { command: string; usecPerCall: number }[] | null) => costs?.find((c) => c.command === 'evalsha')?.usecPerCall;
  const ladderScript = evalshaOf(result.redisCommands.two);
  if (ladderScript !== undefined) {
    const inner = (result.redisCommands.two ?? []).filter((c) => c.command !== 'evalsha').slice(0, 4);
    add({
      name: 'Redis time per submission script (EVALSHA), 2 processes',
      value: ladderScript,
      unit: 'µs',
      anchor: ratioTo('EVALSHA route script', ladderScript, evalshaOf(result.redisCommands.evalsha)),
      note: `INFO commandstats, whole server; inside it: ${inner.map((c) => `${c.command} ${count(c.calls)} × ${c.usecPerCall.toFixed(1)} µs`).join(', ')}`,
    });
  }
  const drain = result.prefill?.drain;
  if (drain !== null && drain !== undefined) {
    add({
      name: 'server CPU per event, persisting alone',
      value: drain.usPerEvent,
      unit: 'µs',
      note: `after the fill: ${count(drain.events)} events read from the stream and committed to PostgreSQL by one process (Ladder's share; PostgreSQL's own CPU is not in it)`,
    });
  }

  const live = result.live;
  if (live !== null) {
    add({ name: 'cross-member delta p50', value: live.p50Ms, unit: 'ms', note: 'submit through one member, top-10 viewer on the other, 10 submissions/s' });
    add({ name: 'cross-member delta p99', value: live.p99Ms, unit: 'ms', goal: { of: 'value', atMost: 100 }, note: `${live.samples} deltas, max ${live.maxMs.toFixed(1)} ms` });
  }

  const persister = result.persister;
  if (persister !== null) {
    const rate = result.settings.rate;
    add({
      name: `persister at ${count(rate)} submissions/s: into PostgreSQL`,
      value: persister.persistedPerS,
      unit: 'events/s',
      goal: { of: 'value', atLeast: 0.95 * rate },
      note: `${count(persister.load.appliedPerS)}/s applied by Redis over ${result.settings.rateSeconds} s (batches of ${result.settings.batchSize}, both processes); ${persister.load.skipped} batches not sent (in flight)`,
    });
    add({
      name: `persister lag at ${count(rate)}/s, max`,
      value: persister.maxLagMs,
      unit: 'ms',
      goal: { of: 'value', atMost: 1000 },
      note: `p99 ${Math.round(persister.p99LagMs)} ms; at most ${count(persister.maxLagEvents)} events; ${persister.samples} samples of the stream's group, every 100 ms`,
    });
    add({
      name: 'persister: drained after the load stopped',
      value: persister.drainMs ?? NaN,
      unit: 'ms',
      note: persister.drainMs === null ? 'not within 60 s' : 'until PostgreSQL held every event',
    });
    add({
      name: '/healthz persister_lag_ms, most seen',
      value: persister.healthz.ms,
      unit: 'ms',
      note: `persister_lag_events at most ${count(persister.healthz.events)}; ${persister.healthz.polls} polls; the sweep sets it every 2 s`,
    });
  }
  const prefill = result.prefill;
  if (prefill !== null && prefill.persistedPerS !== null) {
    add({
      name: 'persister while backlogged (the fill)',
      value: prefill.persistedPerS,
      unit: 'events/s',
      note:
        `fill of ${count(prefill.entries)} at ${count(prefill.scoresPerS)} scores/s; in PostgreSQL ${prefill.persistedAfterS === null ? 'not within 120 s' : `${prefill.persistedAfterS.toFixed(1)} s after it began`}` +
        `; /healthz said at most ${count(prefill.healthz.ms)} ms / ${count(prefill.healthz.events)} events meanwhile`,
    });
  }

  const rebuild = result.rebuild;
  if (rebuild !== null) {
    add({
      name: `rebuild of a ${count(rebuild.entriesBefore)}-entry board`,
      value: rebuild.seconds,
      unit: 's',
      goal: { of: 'value', atMost: 10 },
      note: `ladder rebuild --board, spawn to exit (it reports ${rebuild.reportedSeconds ?? '?'} s); from the log in PostgreSQL; ${count(rebuild.entriesAfter)} entries after`,
    });
  }

  const { grown, rebuilt, plainBytesPerEntry } = result.memory;
  if (grown !== null) {
    add({
      name: `Redis memory per entry (${count(grown.entries)} entries)`,
      value: grown.bytesPerEntry,
      unit: 'B',
      goal: { of: 'ratio', atMost: 1.5 },
      anchor: ratioTo('plain ZADD', grown.bytesPerEntry, plainBytesPerEntry),
      note:
        `state, ranking, metadata, ${count(grown.keys - 3)} buckets; plain ZADD ${plainBytesPerEntry === null ? '(n/a)' : `${plainBytesPerEntry.toFixed(1)} B`}` +
        (rebuilt === null ? '' : `; after the rebuild ${rebuilt.bytesPerEntry.toFixed(1)} B`),
    });
  }
  return f;
}
