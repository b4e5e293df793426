/**
 * The Redis rank engine (src/index/redis.ts) on a real Redis: memory per
 * entry against two anchors measured in the same run, a plain sorted set
 * (ZADD of the participant ids with their scores) and the common scheme (a
 * time-prefixed member plus one hash from participant to member); the time
 * to load a board; and submissions per second, one per call and in batches.
 *
 *   node --import tsx bench/redis-index.ts [--entries=1000000] [--submissions=20000]
 *
 * Redis at LADDER_BENCH_REDIS_URL (default redis://127.0.0.1:6379), under a
 * key prefix of its own that is deleted at the end. Memory is MEMORY USAGE
 * with every element sampled (SAMPLES 0), summed over the board's keys.
 * Figures only: nothing fails on a timing.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Entry, Submission } from '../src/core/types.js';
import { RedisIndex } from '../src/index/redis.js';
import { TIME_BYTES, writeTime } from '../src/index/redis-keys.js';
import { numberFlag, parseFlags } from './lib/args.js';
import { onInterrupt } from './lib/proc.js';
import { ratioTo, ratios, table, type Figure } from './lib/report.js';
import { random32 } from '../test/helpers/random.js';

const flags = parseFlags(process.argv.slice(2));
const entries = numberFlag(flags, 'entries') ?? 1_000_000;
const submissions = numberFlag(flags, 'submissions') ?? 20_000;
const url = process.env.LADDER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const T0 = 1_700_000_000_000;
const CHUNK = 2_000;

const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
await client.connect();
const prefix = `ladder-bench:${randomBytes(6).toString('hex')}:`;

async function keysUnder(pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${pattern}*`, 'COUNT', 5_000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

async function bytesOf(keys: readonly string[]): Promise<number> {
  let bytes = 0;
  for (const key of keys) bytes += (await client.memory('USAGE', key, 'SAMPLES', 0)) ?? 0;
  return bytes;
}

async function cleanup(): Promise<void> {
  const keys = await keysUnder(prefix);
  for (let i = 0; i < keys.length; i += 1_000) await client.unlink(...keys.slice(i, i + 1_000));
}
const forget = onInterrupt(cleanup);

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

// The same ids as the HTTP benchmark's Redis anchor (bench/lua/fillBoard-1.lua): p-0, p-1, …
const random = random32(42);
const board: Entry[] = Array.from({ length: entries }, (_, i) => {
  const achievedAt = T0 + Math.floor(random() * 7 * 86_400_000);
  return { participantId: `p-${i}`, score: Math.floor(random() * 1e9), achievedAt, updatedAt: achievedAt, metadata: null };
});

async function fill(write: (pipeline: ReturnType<Redis['pipeline']>, slice: readonly Entry[]) => void): Promise<void> {
  for (let i = 0; i < board.length; i += 50 * CHUNK) {
    const pipeline = client.pipeline();
    for (let k = i; k < Math.min(board.length, i + 50 * CHUNK); k += CHUNK) write(pipeline, board.slice(k, Math.min(k + CHUNK, i + 50 * CHUNK)));
    await pipeline.exec();
  }
}

try {
  const plainKey = `${prefix}plain`;
  await fill((pipeline, slice) => pipeline.zadd(plainKey, ...slice.flatMap((e) => [e.score, e.participantId])));
  const plain = await bytesOf([plainKey]);
  await client.unlink(plainKey);

  const commonKeys = [`${prefix}common:z`, `${prefix}common:h`];
  await fill((pipeline, slice) => {
    const members = slice.map((e) => {
      const member = Buffer.allocUnsafe(TIME_BYTES + e.participantId.length);
      writeTime(e.achievedAt, member, 0);
      member.write(e.participantId, TIME_BYTES, 'latin1');
      return member;
    });
    pipeline.zadd(commonKeys[0]!, ...slice.flatMap((e, j) => [e.score, members[j]!]));
    pipeline.hset(commonKeys[1]!, ...slice.flatMap((e, j) => [e.participantId, members[j]!]));
  });
  const common = await bytesOf(commonKeys);
  await client.unlink(...commonKeys);

  const index = await RedisIndex.create(client, { prefix });
  await index.open({ id: 'bench', sortOrder: 'desc', operator: 'best' }, { epoch: 'bench', version: 0 });
  const loadStart = process.hrtime.bigint();
  await index.load('bench', board, { epoch: 'bench', version: 1 });
  const loadSeconds = seconds(loadStart);
  const ladder = await bytesOf(await keysUnder(`${prefix}{bench}`));

  const submission = (i: number): Submission => ({
    participantId: `p-${Math.floor(random() * entries * 1.1)}`,
    score: Math.floor(random() * 1e9),
    timestamp: T0 + 8 * 86_400_000 + i,
    eventId: null,
    metadata: null,
  });
  let start = process.hrtime.bigint();
  for (let i = 0; i < submissions; i++) await index.apply('bench', [submission(i)]);
  const single = submissions / seconds(start);
  start = process.hrtime.bigint();
  for (let i = 0; i < submissions; i += 100) await index.apply('bench', Array.from({ length: 100 }, (_, k) => submission(i + k)));
  const batched = submissions / seconds(start);

  const perEntry = (bytes: number) => bytes / entries;
  const figures: Figure[] = [
    {
      bench: 'redis-index',
      name: `memory per entry (${entries.toLocaleString('en-US')} entries)`,
      value: perEntry(ladder),
      unit: 'B',
      goal: { of: 'ratio', atMost: 1.5 },
      anchor: ratioTo('plain ZADD', perEntry(ladder), perEntry(plain)),
      ...ratios(ratioTo('member + hash', perEntry(ladder), perEntry(common))),
      note: `plain ZADD ${perEntry(plain).toFixed(1)} B, member + hash ${perEntry(common).toFixed(1)} B (${(common / plain).toFixed(2)}× plain)`,
    },
    { bench: 'redis-index', name: 'load, per million entries', value: (loadSeconds * 1e6) / entries, unit: 's', goal: { of: 'value', atMost: 10 } },
    { bench: 'redis-index', name: 'apply, one submission per call', value: single, unit: 'scores/s', note: 'sequential calls: one round trip each' },
    { bench: 'redis-index', name: 'apply, 100 submissions per call', value: batched, unit: 'scores/s', note: 'sequential calls' },
  ];
  process.stdout.write(`${table(figures)}\n`);
} finally {
  await cleanup();
  forget();
  await client.quit();
}
