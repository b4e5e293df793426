/**
 * The Redis rank engine against a real Redis (test/helpers/redis.ts): the
 * shared RankIndex conformance and differential suites, unchanged, then
 * what is specific to Redis: the change log, the encoding at the limits,
 * memory against a plain sorted set, loads, event-id retention by day and
 * script loading. Every key lives under the file's own prefix and is
 * deleted after it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { eventOf } from '../src/backend/embedded.js';
import { LadderError } from '../src/core/errors.js';
import { MAX_SCORE, MIN_SCORE } from '../src/core/ordering.js';
import { toSubmission, type SubmissionInput } from '../src/core/submission.js';
import type { BoardRules, Entry, Metadata, RankedEntry, Submission } from '../src/core/types.js';
import type { SubmitOutcome } from '../src/index/index.js';
import { RedisIndex } from '../src/index/redis.js';
import { BUCKET_FILL, boardIdOfKey, bucketCount, bucketShape } from '../src/index/redis-keys.js';
import { decodeLogEntry, logCursor } from '../src/index/redis-log.js';
import { assertRedisVersion, LuaScript, scripts } from '../src/index/redis-scripts.js';
import type { ScoreEvent } from '../src/store/store.js';
import { indexConformance } from './conformance/index.js';
import { indexDifferential } from './conformance/index-differential.js';
import { connectTestRedis } from './helpers/redis.js';
import { random32, shuffled } from './helpers/random.js';

const SUITES = ['RankIndex conformance: RedisIndex', 'RankIndex differential: RedisIndex', 'RedisIndex'];
const redis = await connectTestRedis(SUITES);

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

function submission(participantId: string, score: number, timestamp: number, metadata: Metadata | null = null): Submission {
  return { participantId, score, timestamp, eventId: null, metadata };
}

function event(eventId: string, input: Omit<SubmissionInput, 'eventId'>): Submission {
  return toSubmission({ ...input, eventId }, T0);
}

function outcome(result: SubmitOutcome | LadderError | undefined): SubmitOutcome {
  assert.ok(result !== undefined && !(result instanceof LadderError), String(result));
  return result;
}

/** The ScoreEvent that the embedded backend logs for the outcome, its entry without the rank. */
function expectedEvent(boardId: string, seq: number, sub: Submission, result: SubmitOutcome, receivedAt: number): ScoreEvent {
  const logged = eventOf(boardId, seq, sub, result, receivedAt);
  const { rank: _rank, ...entry } = logged.entry as RankedEntry;
  return { ...logged, entry };
}

if (redis !== null) {
  const { client, prefix } = redis;
  after(() => redis.cleanup());

  indexConformance('RedisIndex', async () => RedisIndex.create(client, { prefix }));
  indexDifferential('RedisIndex', async () => new RedisIndex(client, { prefix }));

  describe('RedisIndex', () => {
    const index = new RedisIndex(client, { prefix });

    async function board(operator: BoardRules['operator'], sortOrder: BoardRules['sortOrder'] = 'desc', version = 0, seq = 0): Promise<string> {
      const id = `redis-${randomBytes(6).toString('hex')}`;
      await index.open({ id, sortOrder, operator }, { epoch: `epoch-${id}`, version }, seq);
      return id;
    }

    /** Bytes of every key of the board (MEMORY USAGE, all elements sampled), without the change log and event ids. */
    async function entryBytes(boardId: string): Promise<{ bytes: number; keys: string[] }> {
      const keys = (await redis!.keys(`{${boardId}}`)).filter((key) => !key.endsWith(':log') && !key.includes(':e:'));
      let bytes = 0;
      for (const key of keys) bytes += (await client.memory('USAGE', key, 'SAMPLES', 0)) ?? 0;
      return { bytes, keys };
    }

    it('logs every applied submission as its ScoreEvent, under the stream id <version>-<n>', async () => {
      const id = await board('best', 'desc', 5, 40);
      const subs = [
        event('e1', { participantId: 'a', score: 10, timestamp: T0, metadata: { skin: 'Zoë 🎮' } }), // new: version 6
        submission('a', 5, T0 + 1, { skin: 'worse' }), // changes nothing, keeps the entry's metadata
        submission('a', 5, T0 + 2), // nothing again
        submission('b', 20, T0 + 3), // new: version 7
        event('e1', { participantId: 'a', score: 10, timestamp: T0, metadata: { skin: 'Zoë 🎮' } }), // a duplicate is not logged
        submission('a', MAX_SCORE, T0 + 4), // better, without metadata: keeps the old; version 8
      ];
      const receivedAt = T0 + 60_000;
      const results = (await index.apply(id, subs, { receivedAt })).map(outcome);
      assert.equal(results[4]!.duplicate, true);
      const log = await client.xrange(index.keys(id).log, '-', '+');
      assert.deepEqual(
        log.map(([logId]) => logId),
        ['6-0', '6-1', '6-2', '7-0', '8-0'],
      );
      const logged = [0, 1, 2, 3, 5];
      assert.deepEqual(
        log.map(([logId, fields]) => decodeLogEntry(id, logId, fields)),
        logged.map((k, i) => expectedEvent(id, 41 + i, subs[k]!, results[k]!, receivedAt)),
      );
      // The entry's metadata is a reference to the event's own, or a copy when the event's did not apply.
      const field = (i: number, name: string) => log[i]![1][log[i]![1].indexOf(name) + 1];
      assert.deepEqual([0, 1, 3, 4].map((i) => field(i, 'entry_metadata')), ['=', '{"skin":"Zoë 🎮"}', '', '{"skin":"Zoë 🎮"}']);
      assert.equal(field(4, 'new_score'), '9007199254740991');

      const events = log.map(([logId, fields]) => decodeLogEntry(id, logId, fields));
      assert.deepEqual(
        events.map((event) => (event.changed ? event.version : null)),
        [6, null, null, 7, 8],
      );
      // A viewer at version 6 reads on from there.
      const after6 = await client.xread('STREAMS', index.keys(id).log, logCursor(6));
      assert.deepEqual(
        after6?.[0]?.[1].map(([logId]) => logId),
        ['7-0', '8-0'],
      );
      assert.equal(boardIdOfKey(prefix, index.keys(id).log), id);
      // seq goes on across calls; a load starts the log afresh and may set seq.
      const [next] = (await index.apply(id, [submission('c', 1, T0)], { receivedAt })).map(outcome);
      const [[lastId, lastFields]] = (await client.xrevrange(index.keys(id).log, '+', '-', 'COUNT', 1)) as [[string, string[]]];
      assert.equal(decodeLogEntry(id, lastId, lastFields).seq, 46);
      assert.equal(lastId, `${next!.version}-0`);
      await index.load(id, [], { epoch: 'rebuilt', version: 3 }, 100);
      assert.equal(await client.exists(index.keys(id).log), 0);
      await index.apply(id, [submission('a', 1, T0), submission('a', 0, T0)], { receivedAt });
      const rebuilt = await client.xrange(index.keys(id).log, '-', '+');
      assert.deepEqual(
        rebuilt.map(([logId, fields]) => [logId, decodeLogEntry(id, logId, fields).seq]),
        [
          ['4-0', 101],
          ['4-1', 102],
        ],
      );
    });

    for (const sortOrder of ['desc', 'asc'] as const) {
      it(`keeps scores at ±(2^53−1) and the largest times exact, and breaks ties by id (${sortOrder})`, async () => {
        const id = await board('best', sortOrder);
        const T = MAX_SCORE; // the largest timestamp
        const subs = [
          submission('max', MAX_SCORE, T0),
          submission('min', MIN_SCORE, T0),
          submission('zero', 0, T0),
          submission('ab', 7, T),
          submission('b', 7, T),
          submission('a', 7, T),
          submission('a-early', 7, T - 1),
        ];
        await index.apply(id, subs);
        const want = sortOrder === 'desc' ? ['max', 'a-early', 'a', 'ab', 'b', 'zero', 'min'] : ['min', 'zero', 'a-early', 'a', 'ab', 'b', 'max'];
        const read = await index.read(id, [{ kind: 'page', offset: 0, limit: 10 }]);
        const ranking = read.pages[0]!.entries;
        assert.deepEqual(
          ranking.map((e) => e.participantId),
          want,
        );
        assert.deepEqual(ranking.find((e) => e.participantId === 'max')?.score, MAX_SCORE);
        assert.deepEqual(ranking.find((e) => e.participantId === 'min')?.score, MIN_SCORE);
        assert.deepEqual(ranking.find((e) => e.participantId === 'a')?.achievedAt, T);
        // Stored ascending: negated on desc boards, and never "-0".
        const stored = new Map<string, string>();
        const raw = await client.zrangeBuffer(index.keys(id).ranking, '0', '-1', 'WITHSCORES');
        for (let i = 0; i < raw.length; i += 2) stored.set(raw[i]!.subarray(7).toString(), raw[i + 1]!.toString());
        assert.equal(stored.get('max'), sortOrder === 'desc' ? '-9007199254740991' : '9007199254740991');
        assert.equal(stored.get('zero'), '0');
        // A rebuild of the same entries, shuffled, reads the same.
        const entries: Entry[] = ranking.map(({ rank: _rank, ...entry }) => entry);
        await index.load(id, shuffled(entries, random32(5)), { epoch: 'rebuilt', version: 9 });
        assert.deepEqual((await index.read(id, [{ kind: 'page', offset: 0, limit: 10 }])).pages[0]!.entries, ranking);
      });
    }

    it('costs at most 2× a plain sorted set per entry, loaded or grown one submission at a time', async () => {
      const n = 20_000;
      const random = random32(11);
      const entries: Entry[] = Array.from({ length: n }, (_, i) => {
        const achievedAt = T0 + Math.floor(random() * 1e9);
        return { participantId: `p${i}`, score: Math.floor(random() * 1e9), achievedAt, updatedAt: achievedAt + (i % 10 === 0 ? 5_000 : 0), metadata: null };
      });
      const plainKey = `${prefix}plain`;
      for (let i = 0; i < n; i += 1_000) await client.zadd(plainKey, ...entries.slice(i, i + 1_000).flatMap((e) => [e.score, e.participantId]));
      const plain = (await client.memory('USAGE', plainKey, 'SAMPLES', 0))!;

      const loaded = await board('best');
      await index.load(loaded, entries, { epoch: 'loaded', version: 1 });
      const grown = await board('best');
      for (let i = 0; i < n; i += 500) {
        await index.apply(
          grown,
          entries.slice(i, i + 500).map((e) => submission(e.participantId, e.score, e.achievedAt)),
        );
      }
      const shape = bucketShape(n, BUCKET_FILL);
      for (const id of [loaded, grown]) {
        const { bytes, keys } = await entryBytes(id);
        assert.equal(keys.filter((key) => key.includes(':h:')).length, bucketCount(shape), 'the buckets that a load of n entries makes');
        for (const key of keys.filter((k) => k.includes(':h:'))) assert.equal(await client.object('ENCODING', key), 'listpack', key);
        const ratio = bytes / plain;
        console.log(
          `RedisIndex memory (${id === loaded ? 'loaded' : 'grown by apply'}), ${n} entries: ${(bytes / n).toFixed(1)} B/entry against ${(plain / n).toFixed(1)} B/entry for a plain ZADD of the ids: ${ratio.toFixed(2)}×`,
        );
        assert.ok(ratio <= 2, `${ratio.toFixed(2)}× a plain sorted set`);
      }
      assert.deepEqual(
        await index.read(grown, [{ kind: 'page', offset: 0, limit: 50 }]).then((r) => r.pages[0]!.entries.map((e) => [e.participantId, e.score, e.achievedAt])),
        await index.read(loaded, [{ kind: 'page', offset: 0, limit: 50 }]).then((r) => r.pages[0]!.entries.map((e) => [e.participantId, e.score, e.achievedAt])),
      );
      await client.unlink(plainKey);
    });

    it('load swaps the entries in at once: concurrent reads see the board before or after, and nothing is left behind', async () => {
      const id = await board('increment', 'asc', 10);
      await index.apply(id, [submission('x', 1, T0), submission('y', 2, T0), submission('z', 3, T0)]);
      const entries: Entry[] = Array.from({ length: 10_000 }, (_, i) => ({ participantId: `q${i}`, score: i % 97, achievedAt: T0 + i, updatedAt: T0 + i, metadata: i % 50 === 0 ? { i } : null }));
      const loading = index.load(id, entries, { epoch: 'rebuilt', version: 50 });
      const seen = new Set<string>();
      let done = false;
      void loading.then(() => (done = true));
      while (!done) {
        const read = await index.read(id, [{ kind: 'page', offset: 0, limit: 3 }]);
        seen.add(`${read.epoch}@${read.version}:${read.total}`);
      }
      await loading;
      assert.ok([...seen].every((state) => state === `epoch-${id}@13:3` || state === 'rebuilt@50:10000'), [...seen].join(', '));
      assert.deepEqual(await redis!.keys(`{${id}}:load:`), [], 'no temporary keys');
      const read = await index.read(id, [{ kind: 'participants', participantIds: ['q0', 'q50', 'x'] }]);
      assert.deepEqual(
        read.pages[0]!.entries.map((e) => [e.participantId, e.metadata]),
        [
          ['q0', { i: 0 }],
          ['q50', { i: 50 }],
        ],
      );
      // A load with a participant twice throws before it writes anything.
      await assert.rejects(index.load(id, [entries[0]!, entries[0]!], { epoch: 'again', version: 1 }), /appears twice/);
      assert.equal((await index.read(id, [])).epoch, 'rebuilt');
      await index.drop(id);
      assert.deepEqual(await redis!.keys(`{${id}}`), [], 'drop leaves no key of the board');
    });

    it('remembers an event id through the next day of the caller clock, and forgets it after', async () => {
      const id = await board('increment');
      const now = Date.now();
      const day = Math.floor(now / DAY);
      const sub = event('once', { participantId: 'a', score: 1, timestamp: T0 });
      assert.equal(outcome((await index.apply(id, [sub], { receivedAt: now }))[0]).duplicate, false);
      const ttl = await client.pttl(`${index.keys(id).events}${day}`);
      assert.ok(ttl > DAY - 60_000 && ttl <= 2 * DAY, `expires in ${ttl} ms`);
      assert.equal(outcome((await index.apply(id, [sub], { receivedAt: now + DAY }))[0]).duplicate, true, 'the next day');
      // A caller whose clock lags still finds it: lookups go by the board's latest day.
      assert.equal(outcome((await index.apply(id, [sub], { receivedAt: now }))[0]).duplicate, true, 'a lagging clock');
      const later = outcome((await index.apply(id, [sub], { receivedAt: now + 2 * DAY }))[0]);
      assert.equal(later.duplicate, false, 'two days on');
      assert.equal(later.entry.score, 2);
      assert.match(index.dedupRetention, /24 hours/);
    });

    it('runs a script that the server does not know yet (NOSCRIPT), which it knows afterwards', async () => {
      const id = await board('best');
      const nonce = randomBytes(8).toString('hex');
      const fresh = new LuaScript(`ladder_applyScores_test${nonce}`, 6, `${scripts.applyScores.source}\n-- ${nonce}`);
      assert.deepEqual(await client.script('EXISTS', fresh.sha), [0]);
      const keys = index.keys(id);
      const run = (score: number) => fresh.run(client, [keys.state, keys.ranking, keys.metadata, keys.log, keys.buckets, keys.events], [String(T0), '', 'unique', 'a', String(score), String(T0), '', '', '']);
      assert.deepEqual(((await run(5)) as unknown[])[0], 0);
      assert.deepEqual(await client.script('EXISTS', fresh.sha), [1]);
      await run(9);
      assert.equal((await index.read(id, [{ kind: 'participants', participantIds: ['a'] }])).pages[0]!.entries[0]?.score, 9);
    });

    it('refuses a Redis older than 5.0', async () => {
      await assertRedisVersion(client);
      const old = { info: async () => '# Server\r\nredis_version:4.0.14\r\n', options: { host: 'old', port: 1 } };
      await assert.rejects(assertRedisVersion(old as never), /Redis 4\.0\.14 is too old/);
    });
  });
} else {
  for (const suite of SUITES) describe(suite, { skip: 'Redis is unreachable (LADDER_TEST_REDIS_URL)' }, () => {});
}
