/**
 * The RankIndex conformance suite (DESIGN.md: one suite, many implementations).
 * Every index implementation runs it through its own test file:
 *
 *   indexConformance('MemoryIndex', async () => new MemoryIndex());
 *
 * Each test uses boards with random ids and drops them at the end, so one
 * shared backend (a Redis server) can run the suite alongside other data.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LadderError } from '../../src/core/errors.js';
import { compareKeys, MAX_SCORE, MIN_SCORE } from '../../src/core/ordering.js';
import type { BoardRules, Entry, Operator, RankedEntry, SortOrder, Submission } from '../../src/core/types.js';
import type { RankIndex } from '../../src/index/index.js';

const T0 = 1_700_000_000_000;

function submission(participantId: string, score: number, timestamp: number, metadata: Submission['metadata'] = null): Submission {
  return { participantId, score, timestamp, eventId: null, metadata };
}

function entry(participantId: string, score: number, achievedAt: number, updatedAt = achievedAt): Entry {
  return { participantId, score, achievedAt, updatedAt, metadata: null };
}

/** Participant ids in rank order, with their scores. */
function standings(entries: readonly RankedEntry[]): [string, number, number][] {
  return entries.map((e) => [e.participantId, e.score, e.rank]);
}

function isLadderError(code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof LadderError && err.code === code;
}

export function indexConformance(name: string, makeIndex: () => Promise<RankIndex>): void {
  describe(`RankIndex conformance: ${name}`, () => {
    let index: RankIndex;
    const opened: string[] = [];

    before(async () => {
      index = await makeIndex();
    });

    after(async () => {
      for (const boardId of opened) await index.drop(boardId);
    });

    async function board(operator: Operator, sortOrder: SortOrder = 'desc'): Promise<string> {
      const rules: BoardRules = { id: `conf-${randomBytes(6).toString('hex')}`, sortOrder, operator };
      await index.open(rules);
      opened.push(rules.id);
      return rules.id;
    }

    async function all(boardId: string): Promise<RankedEntry[]> {
      return index.range(boardId, 0, (await index.total(boardId)) + 1);
    }

    describe('order', () => {
      it('desc: higher score first, then earlier achievedAt, then participant id', async () => {
        const id = await board('best', 'desc');
        await index.submit(id, submission('c', 10, T0 + 5));
        await index.submit(id, submission('a', 20, T0 + 9));
        await index.submit(id, submission('b', 10, T0 + 5));
        await index.submit(id, submission('d', 10, T0 + 1));
        await index.submit(id, submission('e', -3, T0));
        assert.deepEqual(standings(await all(id)), [
          ['a', 20, 1],
          ['d', 10, 2],
          ['b', 10, 3],
          ['c', 10, 4],
          ['e', -3, 5],
        ]);
      });

      it('asc: lower score first, ties still go to the earlier achievedAt, then participant id', async () => {
        const id = await board('best', 'asc');
        await index.submit(id, submission('c', 10, T0 + 5));
        await index.submit(id, submission('a', 20, T0 + 9));
        await index.submit(id, submission('b', 10, T0 + 5));
        await index.submit(id, submission('d', 10, T0 + 1));
        await index.submit(id, submission('e', -3, T0));
        assert.deepEqual(standings(await all(id)), [
          ['e', -3, 1],
          ['d', 10, 2],
          ['b', 10, 3],
          ['c', 10, 4],
          ['a', 20, 5],
        ]);
      });

      it('participant ids break ties in code-unit order', async () => {
        const id = await board('best');
        for (const pid of ['b', 'B', 'a', '_', '0', 'a.b', 'a-b', '~', 'A']) await index.submit(id, submission(pid, 1, T0));
        const expected = ['b', 'B', 'a', '_', '0', 'a.b', 'a-b', '~', 'A'].sort();
        assert.deepEqual((await all(id)).map((e) => e.participantId), expected);
      });

      it('matches compareKeys on many entries', async () => {
        const id = await board('latest', 'asc');
        const expected = new Map<string, Entry>();
        for (let i = 0; i < 1_500; i++) {
          const pid = `p${(i * 7_919) % 1_000}`;
          const outcome = await index.submit(id, submission(pid, (i * 31) % 17, T0 + i));
          expected.set(pid, { ...outcome.entry, metadata: null });
        }
        const sorted = [...expected.values()].sort((a, b) => compareKeys('asc', a, b));
        const ranking = await all(id);
        assert.deepEqual(
          ranking.map((e) => [e.participantId, e.score, e.achievedAt]),
          sorted.map((e) => [e.participantId, e.score, e.achievedAt]),
        );
        assert.deepEqual(
          ranking.map((e) => e.rank),
          sorted.map((_, i) => i + 1),
        );
      });
    });

    describe('submit', () => {
      it('a new participant has no previous entry; the version counts changes', async () => {
        const id = await board('best');
        assert.equal(await index.version(id), 0);
        const first = await index.submit(id, submission('a', 5, T0));
        assert.equal(first.previous, null);
        assert.equal(first.changed, true);
        assert.equal(first.version, 1);
        assert.deepEqual(first.entry, { ...entry('a', 5, T0), rank: 1 });
        const second = await index.submit(id, submission('b', 7, T0 + 1));
        assert.equal(second.entry.rank, 1);
        assert.equal(second.version, 2);
        assert.equal(await index.version(id), 2);
        assert.equal(await index.total(id), 2);
      });

      it('returns the previous entry with its old rank', async () => {
        const id = await board('best');
        await index.submit(id, submission('a', 5, T0));
        await index.submit(id, submission('b', 7, T0 + 1));
        const outcome = await index.submit(id, submission('a', 9, T0 + 2));
        assert.deepEqual(outcome.previous, { ...entry('a', 5, T0), rank: 2 });
        assert.deepEqual(outcome.entry, { ...entry('a', 9, T0 + 2), rank: 1 });
        assert.equal(outcome.changed, true);
        assert.equal(outcome.version, 3);
        assert.deepEqual(await index.get(id, 'b'), { ...entry('b', 7, T0 + 1), rank: 2 });
      });

      it('best keeps the better score and bumps no version otherwise', async () => {
        const id = await board('best');
        await index.submit(id, submission('a', 50, T0 + 10));
        await index.submit(id, submission('b', 40, T0));
        const worse = await index.submit(id, submission('a', 10, T0 + 20));
        assert.equal(worse.changed, false);
        assert.equal(worse.version, 2);
        assert.deepEqual(worse.entry, { ...entry('a', 50, T0 + 10, T0 + 20), rank: 1 });
        assert.equal(worse.previous?.rank, 1);
        assert.equal(await index.version(id), 2);
        // The same score reached earlier (an out-of-order submission) moves achievedAt back.
        const earlier = await index.submit(id, submission('a', 50, T0 + 5));
        assert.equal(earlier.changed, true);
        assert.deepEqual(earlier.entry, { ...entry('a', 50, T0 + 5, T0 + 20), rank: 1 });
        const later = await index.submit(id, submission('a', 50, T0 + 30));
        assert.equal(later.changed, false);
        assert.equal(later.entry.achievedAt, T0 + 5);
      });

      it('best on an asc board keeps the lower score', async () => {
        const id = await board('best', 'asc');
        await index.submit(id, submission('a', 300, T0));
        assert.equal((await index.submit(id, submission('a', 400, T0 + 1))).changed, false);
        const better = await index.submit(id, submission('a', 250, T0 + 2));
        assert.equal(better.changed, true);
        assert.equal(better.entry.score, 250);
        assert.equal((await index.get(id, 'a'))?.score, 250);
      });

      it('best ties: an equal score reached earlier ranks first', async () => {
        const id = await board('best');
        await index.submit(id, submission('early', 10, T0 + 100));
        await index.submit(id, submission('late', 10, T0 + 50));
        assert.deepEqual((await all(id)).map((e) => e.participantId), ['late', 'early']);
        // 'early' reports the same score with an older timestamp: it now was first.
        const outcome = await index.submit(id, submission('early', 10, T0 + 10));
        assert.equal(outcome.previous?.rank, 2);
        assert.equal(outcome.entry.rank, 1);
      });

      it('latest: the newest submission wins, stale ones change nothing', async () => {
        const id = await board('latest');
        await index.submit(id, submission('a', 50, T0 + 10));
        const newer = await index.submit(id, submission('a', 20, T0 + 20));
        assert.equal(newer.changed, true);
        assert.deepEqual(newer.entry, { ...entry('a', 20, T0 + 20), rank: 1 });
        const stale = await index.submit(id, submission('a', 90, T0 + 15));
        assert.equal(stale.changed, false);
        assert.equal(stale.version, 2);
        assert.deepEqual(stale.entry, { ...entry('a', 20, T0 + 20), rank: 1 });
        // Same timestamp: the better score wins.
        const tie = await index.submit(id, submission('a', 30, T0 + 20));
        assert.equal(tie.changed, true);
        assert.equal(tie.entry.score, 30);
        // The same score again: the newest submission's timestamp is achievedAt.
        const repeat = await index.submit(id, submission('a', 30, T0 + 40));
        assert.equal(repeat.changed, true);
        assert.deepEqual(repeat.entry, { ...entry('a', 30, T0 + 40), rank: 1 });
        assert.deepEqual(await index.get(id, 'a'), { ...entry('a', 30, T0 + 40), rank: 1 });
        assert.equal(await index.version(id), 4);
      });

      it('latest can move an entry down', async () => {
        const id = await board('latest');
        await index.submit(id, submission('a', 50, T0));
        await index.submit(id, submission('b', 40, T0));
        const outcome = await index.submit(id, submission('a', 10, T0 + 1));
        assert.equal(outcome.previous?.rank, 1);
        assert.equal(outcome.entry.rank, 2);
        assert.deepEqual((await all(id)).map((e) => e.participantId), ['b', 'a']);
      });

      it('increment adds deltas; achievedAt is the latest contributing timestamp', async () => {
        const id = await board('increment');
        await index.submit(id, submission('a', 10, T0 + 10));
        await index.submit(id, submission('b', 12, T0));
        const up = await index.submit(id, submission('a', 5, T0 + 5));
        assert.deepEqual(up.entry, { ...entry('a', 15, T0 + 10), rank: 1 });
        assert.equal(up.previous?.rank, 2);
        const down = await index.submit(id, submission('a', -20, T0 + 30));
        assert.deepEqual(down.entry, { ...entry('a', -5, T0 + 30), rank: 2 });
        // A zero delta counts towards achievedAt only when it is the latest contribution.
        const staleZero = await index.submit(id, submission('a', 0, T0 + 20));
        assert.equal(staleZero.changed, false);
        assert.equal(staleZero.version, 4);
        const zero = await index.submit(id, submission('a', 0, T0 + 40));
        assert.equal(zero.changed, true);
        assert.equal(zero.version, 5);
        assert.deepEqual(zero.entry, { ...entry('a', -5, T0 + 40, T0 + 40), rank: 2 });
      });

      it('an increment that would overflow throws and changes nothing', async () => {
        const id = await board('increment');
        await index.submit(id, submission('a', MAX_SCORE - 1, T0));
        await index.submit(id, submission('b', MAX_SCORE, T0 + 1));
        await index.submit(id, submission('c', MIN_SCORE, T0 + 2));
        const before = await all(id);
        const version = await index.version(id);
        await assert.rejects(index.submit(id, submission('a', 2, T0 + 3)), isLadderError('score_overflow'));
        await assert.rejects(index.submit(id, submission('c', -1, T0 + 3)), isLadderError('score_overflow'));
        assert.deepEqual(await all(id), before);
        assert.equal(await index.version(id), version);
        assert.equal(await index.total(id), 3);
        // Exactly reaching the bound is fine.
        const edge = await index.submit(id, submission('a', 1, T0 + 4));
        assert.equal(edge.entry.score, MAX_SCORE);
        assert.equal(edge.entry.rank, 2);
      });

      it('keeps metadata', async () => {
        const id = await board('best');
        await index.submit(id, submission('a', 1, T0, { skin: 'red' }));
        await index.submit(id, submission('b', 2, T0));
        assert.deepEqual((await index.get(id, 'a'))?.metadata, { skin: 'red' });
        assert.equal((await index.get(id, 'b'))?.metadata, null);
        await index.submit(id, submission('a', 3, T0 + 1, { skin: 'blue' }));
        assert.deepEqual((await index.get(id, 'a'))?.metadata, { skin: 'blue' });
      });
    });

    describe('exactness', () => {
      for (const sortOrder of ['desc', 'asc'] as const) {
        it(`scores at ±(2^53−1) rank exactly (${sortOrder})`, async () => {
          const id = await board('best', sortOrder);
          const scores = [MAX_SCORE, MAX_SCORE - 1, MIN_SCORE, MIN_SCORE + 1, 0, -1, 1, 2 ** 52 + 1, -(2 ** 52)];
          for (const [i, score] of scores.entries()) await index.submit(id, submission(`p${i}`, score, T0));
          const sorted = [...scores].sort((a, b) => (sortOrder === 'desc' ? b - a : a - b));
          const ranking = await all(id);
          assert.deepEqual(
            ranking.map((e) => e.score),
            sorted,
          );
          for (const e of ranking) assert.equal((await index.get(id, e.participantId))?.score, e.score);
        });
      }

      it('large timestamps break ties exactly', async () => {
        const id = await board('best');
        const t = 8_640_000_000_000_000; // the largest Date
        await index.submit(id, submission('late', 1, t));
        await index.submit(id, submission('early', 1, t - 1));
        assert.deepEqual((await all(id)).map((e) => [e.participantId, e.achievedAt]), [
          ['early', t - 1],
          ['late', t],
        ]);
      });

      it('ids of 128 characters that differ only at the end', async () => {
        const id = await board('best');
        const prefix = 'x'.repeat(127);
        for (const last of ['c', 'a', 'b']) await index.submit(id, submission(prefix + last, 7, T0));
        assert.deepEqual(
          (await all(id)).map((e) => e.participantId),
          [prefix + 'a', prefix + 'b', prefix + 'c'],
        );
        assert.equal((await index.get(id, prefix + 'b'))?.rank, 2);
        assert.equal(await index.get(id, prefix), null);
      });
    });

    describe('reads', () => {
      it('an unknown participant is null', async () => {
        const id = await board('best');
        assert.equal(await index.get(id, 'nobody'), null);
        await index.submit(id, submission('somebody', 1, T0));
        assert.equal(await index.get(id, 'nobody'), null);
      });

      it('an empty board has no entries', async () => {
        const id = await board('best');
        assert.equal(await index.total(id), 0);
        assert.equal(await index.version(id), 0);
        assert.deepEqual(await index.range(id, 0, 10), []);
      });

      it('range honours offset and limit at every edge', async () => {
        const id = await board('best');
        for (let i = 0; i < 10; i++) await index.submit(id, submission(`p${i}`, i, T0));
        const ranks = async (offset: number, limit: number) => (await index.range(id, offset, limit)).map((e) => e.rank);
        assert.deepEqual(await ranks(0, 3), [1, 2, 3]);
        assert.deepEqual(await ranks(0, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await ranks(0, 100), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await ranks(8, 5), [9, 10]);
        assert.deepEqual(await ranks(9, 1), [10]);
        assert.deepEqual(await ranks(10, 1), []);
        assert.deepEqual(await ranks(50, 5), []);
        assert.deepEqual(await ranks(3, 0), []);
        assert.deepEqual(
          (await index.range(id, 4, 2)).map((e) => [e.participantId, e.score]),
          [
            ['p5', 5],
            ['p4', 4],
          ],
        );
      });

      it('a range read is a snapshot: later writes do not change it', async () => {
        const id = await board('latest');
        for (let i = 0; i < 5; i++) await index.submit(id, submission(`p${i}`, i, T0));
        const snapshot = await index.range(id, 0, 5);
        const copy = structuredClone(snapshot);
        await index.submit(id, submission('p0', 100, T0 + 1));
        await index.submit(id, submission('new', 50, T0 + 1));
        assert.deepEqual(snapshot, copy);
      });
    });

    describe('load', () => {
      it('replaces entries and version, from any order', async () => {
        const id = await board('best');
        await index.submit(id, submission('old', 1_000, T0));
        const entries = [entry('c', 5, T0 + 3), entry('a', 9, T0 + 1), entry('d', 5, T0 + 2), entry('b', 9, T0)];
        await index.load(id, entries, 42);
        assert.equal(await index.version(id), 42);
        assert.equal(await index.total(id), 4);
        assert.equal(await index.get(id, 'old'), null);
        assert.deepEqual(await all(id), [
          { ...entries[3]!, rank: 1 },
          { ...entries[1]!, rank: 2 },
          { ...entries[2]!, rank: 3 },
          { ...entries[0]!, rank: 4 },
        ]);
        const outcome = await index.submit(id, submission('c', 10, T0 + 10));
        assert.equal(outcome.version, 43);
        assert.equal(outcome.previous?.rank, 4);
        assert.equal(outcome.entry.rank, 1);
      });

      it('accepts any iterable and keeps metadata', async () => {
        const id = await board('latest', 'asc');
        function* entries(): Generator<Entry> {
          yield { ...entry('a', 3, T0), metadata: { team: 'x' } };
          yield entry('b', 1, T0);
        }
        await index.load(id, entries(), 2);
        assert.deepEqual(standings(await all(id)), [
          ['b', 1, 1],
          ['a', 3, 2],
        ]);
        assert.deepEqual((await index.get(id, 'a'))?.metadata, { team: 'x' });
      });

      it('an empty load clears the board', async () => {
        const id = await board('increment');
        await index.submit(id, submission('a', 1, T0));
        await index.load(id, [], 7);
        assert.equal(await index.total(id), 0);
        assert.equal(await index.version(id), 7);
        assert.deepEqual(await index.range(id, 0, 10), []);
        const outcome = await index.submit(id, submission('a', 1, T0));
        assert.equal(outcome.previous, null);
        assert.equal(outcome.version, 8);
      });

      it('a rebuild equals the ranking it was taken from', async () => {
        const id = await board('increment', 'desc');
        for (let i = 0; i < 600; i++) await index.submit(id, submission(`p${(i * 37) % 211}`, (i % 7) - 2, T0 + (i % 13)));
        const ranking = await all(id);
        const version = await index.version(id);
        const copy = await board('increment', 'desc');
        await index.load(copy, [...ranking].reverse().map(({ rank: _rank, ...rest }) => rest), version);
        assert.deepEqual(await all(copy), ranking);
        assert.equal(await index.version(copy), version);
      });
    });

    describe('boards', () => {
      it('open is idempotent and keeps the entries', async () => {
        const id = await board('best');
        await index.submit(id, submission('a', 1, T0));
        await index.open({ id, sortOrder: 'desc', operator: 'best' });
        assert.equal(await index.total(id), 1);
        assert.equal(await index.version(id), 1);
      });

      it('boards are isolated from each other', async () => {
        const desc = await board('best', 'desc');
        const asc = await board('best', 'asc');
        await index.submit(desc, submission('a', 1, T0));
        await index.submit(desc, submission('b', 2, T0));
        await index.submit(asc, submission('a', 1, T0));
        await index.submit(asc, submission('b', 2, T0));
        await index.submit(asc, submission('c', 3, T0));
        assert.deepEqual((await all(desc)).map((e) => e.participantId), ['b', 'a']);
        assert.deepEqual((await all(asc)).map((e) => e.participantId), ['a', 'b', 'c']);
        assert.equal(await index.version(desc), 2);
        assert.equal(await index.version(asc), 3);
        assert.equal(await index.get(desc, 'c'), null);
      });

      it('drop forgets the board; reopening starts empty; dropping twice is fine', async () => {
        const id = await board('best');
        await index.submit(id, submission('a', 1, T0));
        await index.drop(id);
        await assert.rejects(index.total(id), isLadderError('board_not_found'));
        await index.drop(id);
        await index.open({ id, sortOrder: 'asc', operator: 'latest' });
        assert.equal(await index.total(id), 0);
        assert.equal(await index.version(id), 0);
        assert.equal(await index.get(id, 'a'), null);
      });

      it('every call on an unknown board throws board_not_found', async () => {
        const id = `conf-missing-${randomBytes(6).toString('hex')}`;
        const notFound = (err: unknown) => isLadderError('board_not_found')(err) && (err as LadderError).status === 404;
        await assert.rejects(index.submit(id, submission('a', 1, T0)), notFound);
        await assert.rejects(index.get(id, 'a'), notFound);
        await assert.rejects(index.range(id, 0, 10), notFound);
        await assert.rejects(index.total(id), notFound);
        await assert.rejects(index.version(id), notFound);
        await assert.rejects(index.load(id, [entry('a', 1, T0)], 1), notFound);
      });
    });
  });
}
