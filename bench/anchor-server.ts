/**
 * Anchor servers of the HTTP benchmark (bench/http.ts starts them as child
 * processes). They answer the same route and body as Ladder's single score
 * submission, and do as little as an honest server could:
 *
 *   bare   Fastify validates the JSON body with a JSON schema and answers a
 *          small JSON of the same shape as Ladder's answer. Nothing else.
 *   redis  The same, plus one EVALSHA of bench/lua/submitScore-2.lua
 *          (ZADD + ZREVRANK + INCR) against a sorted set the caller filled.
 *   redis-rank
 *          The same route doing the same update with the redis-rank library
 *          (a `best`, `high-to-low` Leaderboard over the sorted set the caller
 *          filled): its update, and the entry's rank, in one pipeline, so
 *          one round trip per request as in the redis mode.
 *
 *   ANCHOR_MODE=bare|redis|redis-rank ANCHOR_PORT=<port> [ANCHOR_REDIS_URL=redis://127.0.0.1:6379]
 *   [ANCHOR_KEY_PREFIX=ladder-bench:{x}:] node --import tsx bench/anchor-server.ts
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const mode = process.env.ANCHOR_MODE ?? 'bare';
const port = Number(process.env.ANCHOR_PORT ?? 0);
const redisUrl = process.env.ANCHOR_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = process.env.ANCHOR_KEY_PREFIX ?? 'ladder-bench:{anchor}:';

/** What a submission does to the ranking; returns the 0-based rank and the board's version (null: the anchor keeps none). */
type Apply = (participantId: string, score: number) => Promise<[number, number | null]>;

interface ScoreBody {
  participant_id: string;
  score: number;
}

const scoreBody = {
  type: 'object',
  required: ['participant_id', 'score'],
  additionalProperties: false,
  properties: {
    participant_id: { type: 'string', pattern: '^[A-Za-z0-9_.~:@-]{1,128}$' },
    score: { type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 },
  },
} as const;

async function redisApply(): Promise<{ apply: Apply; close: () => Promise<void> }> {
  // ioredis is loaded lazily, so that the bare anchor runs without it.
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const script = readFileSync(new URL('./lua/submitScore-2.lua', import.meta.url), 'utf8');
  const sha = (await redis.script('LOAD', script)) as string;
  const board = `${keyPrefix}board`;
  const version = `${keyPrefix}version`;
  return {
    apply: async (participantId, score) => (await redis.evalsha(sha, 2, board, version, score, participantId)) as [number, number],
    close: async () => {
      await redis.quit();
    },
  };
}

async function redisRankApply(): Promise<{ apply: Apply; close: () => Promise<void> }> {
  const { Redis } = await import('ioredis');
  const { Leaderboard } = await import('redis-rank');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  // Ladder's board `bench` is `desc` + `best`: the same policies in redis-rank's words.
  const leaderboard = new Leaderboard(redis, `${keyPrefix}board`, { sortPolicy: 'high-to-low', updatePolicy: 'best' });
  return {
    // updateOne() answers the final score, not the rank; updatePipe() puts the same update into a
    // pipeline, so that the rank (ZREVRANK, as rank() sends it) comes back in the same round trip.
    apply: async (participantId, score) => {
      const pipeline = redis.pipeline();
      leaderboard.updatePipe([{ id: participantId, value: score }], pipeline);
      pipeline.zrevrank(leaderboard.redisKey, participantId);
      const [, rank] = await Leaderboard.execPipeline(pipeline);
      return [rank as number, null];
    },
    close: async () => {
      await redis.quit();
    },
  };
}

async function main(): Promise<void> {
  let version = 0;
  let apply: Apply = async () => [0, ++version];
  let close = async () => {};
  if (mode === 'redis') ({ apply, close } = await redisApply());
  else if (mode === 'redis-rank') ({ apply, close } = await redisRankApply());
  else if (mode !== 'bare') throw new Error(`ANCHOR_MODE must be bare, redis or redis-rank, got '${mode}'`);

  // Ladder's server options that matter under load; no logging per request in either.
  const app = Fastify({ logger: false, keepAliveTimeout: 72_000 });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.post<{ Params: { id: string }; Body: ScoreBody }>('/v1/leaderboards/:id/scores', { schema: { body: scoreBody } }, async (request) => {
    const { participant_id, score } = request.body;
    const [rank, boardVersion] = await apply(participant_id, score);
    return { participant_id, score, rank: rank + 1, previous_rank: null, version: boardVersion, changed: true };
  });
  await app.listen({ port, host: '127.0.0.1' });

  const stop = () => {
    app.close().then(close).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`anchor-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
