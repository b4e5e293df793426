/**
 * The RankIndex conformance suite (DESIGN.md: one suite, many implementations).
 * Every index implementation runs it through its own test file:
 *
 *   indexConformance('MemoryIndex', async () => new MemoryIndex());
 *
 * It speaks only the port (open, drop, load, apply, read, remove), so a networked
 * index (Redis) runs it unchanged: each test uses boards with random ids and
 * drops them at the end, and concurrent calls are checked for atomicity and
 * convergence only, never for the order in which they land.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LadderError } from '../../src/core/errors.js';
import { compareKeys, MAX_SCORE, MIN_SCORE } from '../../src/core/ordering.js';
import { toSubmission, type SubmissionInput } from '../../src/core/submission.js';
import type { BoardRules, Entry, Metadata, Operator, RankedEntry, SortOrder, Submission } from '../../src/core/types.js';
import type { BoardState, RankIndex, RankPage, RankQuery, RankRead, SubmitOutcome } from '../../src/index/index.js';
import { random32, uint32s } from '../helpers/random.js';

const T0 = 1_700_000_000_000;

function submission(participantId: string, score: number, timestamp: number, metadata: Metadata | null = null): Submission {
  return { participantId, score, timestamp, eventId: null, metadata };
}

/** A submission with an event id, completed as the service completes it (with its fingerprint). */
function event(eventId: string, input: Omit<SubmissionInput, 'eventId'>, now = T0): Submission {
  return toSubmission({ ...input, eventId }, now);
}

function entry(participantId: string, score: number, achievedAt: number, updatedAt = achievedAt): Entry {
  return { participantId, score, achievedAt, updatedAt, metadata: null };
}

/** Participant ids in rank order, with their scores and ranks. */
function standings(entries: readonly RankedEntry[]): [string, number, number][] {
  return entries.map((e) => [e.participantId, e.score, e.rank]);
}

function ranks(entries: readonly RankedEntry[]): number[] {
  return entries.map((e) => e.rank);
}

function withoutRank({ rank: _rank, ...rest }: RankedEntry): Entry {
  return rest;
}

function isLadderError(code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof LadderError && err.code === code;
}

function expectOutcome(result: SubmitOutcome | LadderError | undefined): SubmitOutcome {
  if (result instanceof LadderError) assert.fail(`expected an outcome, got ${result.code}: ${result.message}`);
  assert.ok(result !== undefined, 'one outcome per submission');
  return result;
}

function expectError(result: SubmitOutcome | LadderError | undefined, code: string): LadderError {
  assert.ok(result instanceof LadderError, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code);
  return result;
}

function randomId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

function freshState(version = 0): BoardState {
  return { epoch: randomId('epoch'), version };
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

    async function board(operator: Operator, sortOrder: SortOrder = 'desc', state: BoardState = freshState()): Promise<string> {
      const rules: BoardRules = { id: randomId('conf'), sortOrder, operator };
      await index.open(rules, state);
      opened.push(rules.id);
      return rules.id;
    }

    /** Applies one submission alone and expects it to be accepted. */
    async function submit(boardId: string, sub: Submission): Promise<SubmitOutcome> {
      const results = await index.apply(boardId, [sub]);
      assert.equal(results.length, 1);
      return expectOutcome(results[0]);
    }

    /** Applies one submission alone and expects it to fail with `code`. */
    async function refuse(boardId: string, sub: Submission, code: string): Promise<LadderError> {
      const results = await index.apply(boardId, [sub]);
      assert.equal(results.length, 1);
      return expectError(results[0], code);
    }

    async function stateOf(boardId: string): Promise<Omit<RankRead, 'pages'>> {
      const { epoch, version, total, pages } = await index.read(boardId, []);
      assert.deepEqual(pages, []);
      return { epoch, version, total };
    }

    async function version(boardId: string): Promise<number> {
      return (await stateOf(boardId)).version;
    }

    async function total(boardId: string): Promise<number> {
      return (await stateOf(boardId)).total;
    }

    async function one(boardId: string, query: RankQuery): Promise<RankPage> {
      const read = await index.read(boardId, [query]);
      assert.equal(read.pages.length, 1);
      return read.pages[0]!;
    }

    async function range(boardId: string, offset: number, limit: number): Promise<readonly RankedEntry[]> {
      const page = await one(boardId, { kind: 'page', offset, limit });
      assert.equal(page.focus, null);
      return page.entries;
    }

    async function all(boardId: string): Promise<readonly RankedEntry[]> {
      const read = await index.read(boardId, [{ kind: 'page', offset: 0, limit: (await total(boardId)) + 1 }]);
      const entries = read.pages[0]!.entries;
      assert.equal(entries.length, read.total);
      return entries;
    }

    async function get(boardId: string, participantId: string): Promise<RankedEntry | null> {
      const { entries } = await one(boardId, { kind: 'participants', participantIds: [participantId] });
      assert.ok(entries.length <= 1);
      return entries[0] ?? null;
    }

    /** Board of p0..p(n−1) with score i for pi: on desc, rank r is p(n−r). */
    async function ladder(n: number): Promise<string> {
      const id = await board('best');
      await index.apply(
        id,
        Array.from({ length: n }, (_, i) => submission(`p${i}`, i, T0)),
      );
      return id;
    }

    describe('order', () => {
      it('desc: higher score first, then earlier achievedAt, then participant id', async () => {
        const id = await board('best', 'desc');
        await submit(id, submission('c', 10, T0 + 5));
        await submit(id, submission('a', 20, T0 + 9));
        await submit(id, submission('b', 10, T0 + 5));
        await submit(id, submission('d', 10, T0 + 1));
        await submit(id, submission('e', -3, T0));
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
        await submit(id, submission('c', 10, T0 + 5));
        await submit(id, submission('a', 20, T0 + 9));
        await submit(id, submission('b', 10, T0 + 5));
        await submit(id, submission('d', 10, T0 + 1));
        await submit(id, submission('e', -3, T0));
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
        const ids = ['b', 'B', 'a', '_', '0', 'a.b', 'a-b', '~', 'A', 'a:b', 'a@b', '__proto__', 'constructor', 'toString'];
        for (const pid of ids) await submit(id, submission(pid, 1, T0));
        assert.deepEqual(
          (await all(id)).map((e) => e.participantId),
          [...ids].sort(),
        );
      });

      it('matches compareKeys on many entries', async () => {
        const id = await board('latest', 'asc');
        const expected = new Map<string, Entry>();
        const subs = Array.from({ length: 1_500 }, (_, i) => submission(`p${(i * 7_919) % 1_000}`, (i * 31) % 17, T0 + i));
        for (let start = 0; start < subs.length; start += 100) {
          for (const result of await index.apply(id, subs.slice(start, start + 100))) {
            const outcome = expectOutcome(result);
            expected.set(outcome.entry.participantId, withoutRank(outcome.entry));
          }
        }
        const sorted = [...expected.values()].sort((a, b) => compareKeys('asc', a, b));
        const ranking = await all(id);
        assert.deepEqual(
          ranking.map((e) => [e.participantId, e.score, e.achievedAt]),
          sorted.map((e) => [e.participantId, e.score, e.achievedAt]),
        );
        assert.deepEqual(
          ranks(ranking),
          sorted.map((_, i) => i + 1),
        );
      });
    });

    describe('apply', () => {
      it('a new participant has no previous entry; the version counts changes', async () => {
        const state = freshState();
        const id = await board('best', 'desc', state);
        assert.equal(await version(id), 0);
        const first = await submit(id, submission('a', 5, T0));
        assert.deepEqual(first, { entry: { ...entry('a', 5, T0), rank: 1 }, previous: null, changed: true, version: 1, duplicate: false });
        const second = await submit(id, submission('b', 7, T0 + 1));
        assert.equal(second.entry.rank, 1);
        assert.equal(second.version, 2);
        assert.deepEqual(await stateOf(id), { epoch: state.epoch, version: 2, total: 2 });
      });

      it('returns the previous entry with its old rank', async () => {
        const id = await board('best');
        await submit(id, submission('a', 5, T0));
        await submit(id, submission('b', 7, T0 + 1));
        const outcome = await submit(id, submission('a', 9, T0 + 2));
        assert.deepEqual(outcome.previous, { ...entry('a', 5, T0), rank: 2 });
        assert.deepEqual(outcome.entry, { ...entry('a', 9, T0 + 2), rank: 1 });
        assert.equal(outcome.changed, true);
        assert.equal(outcome.version, 3);
        assert.deepEqual(await get(id, 'b'), { ...entry('b', 7, T0 + 1), rank: 2 });
      });

      it('best keeps the better score and bumps no version otherwise', async () => {
        const id = await board('best');
        await submit(id, submission('a', 50, T0 + 10));
        await submit(id, submission('b', 40, T0));
        const worse = await submit(id, submission('a', 10, T0 + 20));
        assert.equal(worse.changed, false);
        assert.equal(worse.version, 2);
        assert.deepEqual(worse.entry, { ...entry('a', 50, T0 + 10, T0 + 20), rank: 1 });
        assert.equal(worse.previous?.rank, 1);
        assert.equal(await version(id), 2);
        // The same score reached earlier (an out-of-order submission) moves achievedAt back.
        const earlier = await submit(id, submission('a', 50, T0 + 5));
        assert.equal(earlier.changed, true);
        assert.deepEqual(earlier.entry, { ...entry('a', 50, T0 + 5, T0 + 20), rank: 1 });
        assert.equal((await submit(id, submission('a', 50, T0 + 5))).changed, false, 'the same score at the same time');
        const later = await submit(id, submission('a', 50, T0 + 30));
        assert.equal(later.changed, false);
        assert.equal(later.entry.achievedAt, T0 + 5);
        assert.equal(await version(id), 3);
      });

      it('best on an asc board keeps the lower score', async () => {
        const id = await board('best', 'asc');
        await submit(id, submission('a', 300, T0));
        assert.equal((await submit(id, submission('a', 400, T0 + 1))).changed, false);
        const better = await submit(id, submission('a', 250, T0 + 2));
        assert.equal(better.changed, true);
        assert.equal(better.entry.score, 250);
        assert.equal((await get(id, 'a'))?.score, 250);
      });

      it('best ties: an equal score reached earlier ranks first', async () => {
        const id = await board('best');
        await submit(id, submission('early', 10, T0 + 100));
        await submit(id, submission('late', 10, T0 + 50));
        assert.deepEqual(
          (await all(id)).map((e) => e.participantId),
          ['late', 'early'],
        );
        // 'early' reports the same score with an older timestamp: it now was first.
        const outcome = await submit(id, submission('early', 10, T0 + 10));
        assert.equal(outcome.previous?.rank, 2);
        assert.equal(outcome.entry.rank, 1);
      });

      it('latest: the newest submission wins, stale ones change nothing', async () => {
        const id = await board('latest');
        await submit(id, submission('a', 50, T0 + 10));
        const newer = await submit(id, submission('a', 20, T0 + 20));
        assert.equal(newer.changed, true);
        assert.deepEqual(newer.entry, { ...entry('a', 20, T0 + 20), rank: 1 });
        const stale = await submit(id, submission('a', 90, T0 + 15));
        assert.equal(stale.changed, false);
        assert.equal(stale.version, 2);
        assert.deepEqual(stale.entry, { ...entry('a', 20, T0 + 20), rank: 1 });
        // Same timestamp: the better score wins, a worse or equal one changes nothing.
        assert.equal((await submit(id, submission('a', 10, T0 + 20))).changed, false);
        const tie = await submit(id, submission('a', 30, T0 + 20));
        assert.equal(tie.changed, true);
        assert.equal(tie.entry.score, 30);
        assert.equal((await submit(id, submission('a', 30, T0 + 20))).changed, false);
        // The same score again: the newest submission's timestamp is achievedAt.
        const repeat = await submit(id, submission('a', 30, T0 + 40));
        assert.equal(repeat.changed, true);
        assert.deepEqual(repeat.entry, { ...entry('a', 30, T0 + 40), rank: 1 });
        assert.deepEqual(await get(id, 'a'), { ...entry('a', 30, T0 + 40), rank: 1 });
        assert.equal(await version(id), 4);
      });

      it('latest on an asc board: a tie on timestamp goes to the lower score', async () => {
        const id = await board('latest', 'asc');
        await submit(id, submission('a', 50, T0));
        assert.equal((await submit(id, submission('a', 60, T0))).changed, false);
        assert.equal((await submit(id, submission('a', 40, T0))).entry.score, 40);
        assert.equal((await submit(id, submission('a', 90, T0 + 1))).entry.score, 90);
      });

      it('latest can move an entry down', async () => {
        const id = await board('latest');
        await submit(id, submission('a', 50, T0));
        await submit(id, submission('b', 40, T0));
        const outcome = await submit(id, submission('a', 10, T0 + 1));
        assert.equal(outcome.previous?.rank, 1);
        assert.equal(outcome.entry.rank, 2);
        assert.deepEqual(
          (await all(id)).map((e) => e.participantId),
          ['b', 'a'],
        );
      });

      it('increment adds deltas; achievedAt is the latest contributing timestamp', async () => {
        const id = await board('increment');
        await submit(id, submission('a', 10, T0 + 10));
        await submit(id, submission('b', 12, T0));
        const up = await submit(id, submission('a', 5, T0 + 5));
        assert.deepEqual(up.entry, { ...entry('a', 15, T0 + 10), rank: 1 });
        assert.equal(up.previous?.rank, 2);
        const down = await submit(id, submission('a', -20, T0 + 30));
        assert.deepEqual(down.entry, { ...entry('a', -5, T0 + 30), rank: 2 });
        // A zero delta counts towards achievedAt only when it is the latest contribution.
        const staleZero = await submit(id, submission('a', 0, T0 + 20));
        assert.equal(staleZero.changed, false);
        assert.equal(staleZero.version, 4);
        const zero = await submit(id, submission('a', 0, T0 + 40));
        assert.equal(zero.changed, true);
        assert.equal(zero.version, 5);
        assert.deepEqual(zero.entry, { ...entry('a', -5, T0 + 40, T0 + 40), rank: 2 });
      });

      it('increment on an asc board: the lower total ranks first', async () => {
        const id = await board('increment', 'asc');
        await submit(id, submission('a', 10, T0));
        await submit(id, submission('b', 5, T0));
        assert.equal((await submit(id, submission('a', -6, T0 + 1))).entry.rank, 1);
        assert.deepEqual(standings(await all(id)), [
          ['a', 4, 1],
          ['b', 5, 2],
        ]);
      });

      it('an increment that would overflow fails alone and changes nothing', async () => {
        const id = await board('increment');
        await submit(id, submission('a', MAX_SCORE - 1, T0));
        await submit(id, submission('b', MAX_SCORE, T0 + 1));
        await submit(id, submission('c', MIN_SCORE, T0 + 2));
        const before = await all(id);
        const versionBefore = await version(id);
        const overflow = await refuse(id, submission('a', 2, T0 + 3), 'score_overflow');
        assert.equal(overflow.status, 400);
        await refuse(id, submission('c', -1, T0 + 3), 'score_overflow');
        await refuse(id, submission('b', MAX_SCORE, T0 + 3), 'score_overflow');
        assert.deepEqual(await all(id), before);
        assert.equal(await version(id), versionBefore);
        // In a batch, the items around it apply.
        const results = await index.apply(id, [submission('d', 1, T0 + 4), submission('b', 1, T0 + 4), submission('c', 1, T0 + 4)]);
        assert.equal(expectOutcome(results[0]).version, versionBefore + 1);
        expectError(results[1], 'score_overflow');
        assert.equal(expectOutcome(results[2]).version, versionBefore + 2);
        assert.equal((await get(id, 'b'))?.score, MAX_SCORE);
        // Exactly reaching the bound is fine.
        const edge = await submit(id, submission('a', 1, T0 + 5));
        assert.equal(edge.entry.score, MAX_SCORE);
        assert.equal(edge.entry.rank, 2);
      });

      it('keeps metadata; a submission without any keeps the old', async () => {
        const id = await board('best');
        await submit(id, submission('a', 1, T0, { skin: 'red' }));
        await submit(id, submission('b', 2, T0));
        assert.deepEqual((await get(id, 'a'))?.metadata, { skin: 'red' });
        assert.equal((await get(id, 'b'))?.metadata, null);
        await submit(id, submission('a', 3, T0 + 1, { skin: 'blue', level: { n: 3 } }));
        assert.deepEqual((await get(id, 'a'))?.metadata, { skin: 'blue', level: { n: 3 } });
        // A worse score brings no metadata; a better one without metadata keeps it.
        await submit(id, submission('a', 0, T0 + 2, { skin: 'worse' }));
        await submit(id, submission('a', 4, T0 + 3));
        assert.deepEqual((await get(id, 'a'))?.metadata, { skin: 'blue', level: { n: 3 } });
        const page = await range(id, 0, 2);
        assert.deepEqual(
          page.map((e) => e.metadata),
          [{ skin: 'blue', level: { n: 3 } }, null],
        );
      });

      it('a batch applies in order, one version per change', async () => {
        const id = await board('latest', 'desc', freshState(10));
        const results = await index.apply(id, [
          submission('a', 1, T0),
          submission('b', 2, T0),
          submission('a', 3, T0 + 1),
          submission('a', 0, T0), // stale
          submission('b', 2, T0 + 2),
        ]);
        const outcomes = results.map(expectOutcome);
        assert.deepEqual(
          outcomes.map((o) => [o.entry.participantId, o.entry.score, o.entry.rank, o.previous?.rank ?? null, o.changed, o.version]),
          [
            ['a', 1, 1, null, true, 11],
            ['b', 2, 1, null, true, 12],
            ['a', 3, 1, 2, true, 13],
            ['a', 3, 1, 1, false, 13],
            ['b', 2, 2, 2, true, 14],
          ],
        );
        assert.equal(await version(id), 14);
        assert.deepEqual(await index.apply(id, []), []);
        assert.equal(await version(id), 14);
      });
    });

    describe('exactness', () => {
      for (const sortOrder of ['desc', 'asc'] as const) {
        it(`scores at ±(2^53−1) rank exactly (${sortOrder})`, async () => {
          const id = await board('best', sortOrder);
          const scores = [MAX_SCORE, MAX_SCORE - 1, MIN_SCORE, MIN_SCORE + 1, 0, -1, 1, 2 ** 52 + 1, -(2 ** 52)];
          await index.apply(
            id,
            scores.map((score, i) => submission(`p${i}`, score, T0)),
          );
          const sorted = [...scores].sort((a, b) => (sortOrder === 'desc' ? b - a : a - b));
          const ranking = await all(id);
          assert.deepEqual(
            ranking.map((e) => e.score),
            sorted,
          );
          for (const e of ranking) assert.equal((await get(id, e.participantId))?.score, e.score);
        });
      }

      it('increments near ±(2^53−1) stay exact', async () => {
        const id = await board('increment');
        await submit(id, submission('a', MAX_SCORE - 10, T0));
        await submit(id, submission('a', 7, T0));
        await submit(id, submission('a', 2, T0));
        assert.equal((await get(id, 'a'))?.score, MAX_SCORE - 1);
        await submit(id, submission('z', MIN_SCORE + 3, T0));
        await submit(id, submission('z', -2, T0));
        assert.equal((await get(id, 'z'))?.score, MIN_SCORE + 1);
      });

      it('large timestamps break ties exactly', async () => {
        const id = await board('best');
        const t = 8_640_000_000_000_000; // the largest Date
        await submit(id, submission('late', 1, t));
        await submit(id, submission('early', 1, t - 1));
        assert.deepEqual(
          (await all(id)).map((e) => [e.participantId, e.achievedAt]),
          [
            ['early', t - 1],
            ['late', t],
          ],
        );
      });

      it('ids of 128 characters that differ only at the end', async () => {
        const id = await board('best');
        const prefix = 'x'.repeat(127);
        for (const last of ['c', 'a', 'b']) await submit(id, submission(prefix + last, 7, T0));
        assert.deepEqual(
          (await all(id)).map((e) => e.participantId),
          [prefix + 'a', prefix + 'b', prefix + 'c'],
        );
        assert.equal((await get(id, prefix + 'b'))?.rank, 2);
        assert.equal(await get(id, prefix), null);
      });
    });

    describe('read', () => {
      it('an empty board answers every query with nothing', async () => {
        const id = await board('best');
        const read = await index.read(id, [
          { kind: 'page', offset: 0, limit: 10 },
          { kind: 'around', participantId: 'a', size: 5 },
          { kind: 'neighbors', participantId: 'a', radius: 2 },
          { kind: 'participants', participantIds: ['a', 'b'] },
        ]);
        assert.equal(read.total, 0);
        assert.equal(read.version, 0);
        assert.deepEqual(read.pages, [
          { entries: [], focus: null },
          { entries: [], focus: null },
          { entries: [], focus: null },
          { entries: [], focus: null },
        ]);
      });

      it('page honours offset and limit at every edge', async () => {
        const id = await ladder(10);
        const at = async (offset: number, limit: number) => ranks(await range(id, offset, limit));
        assert.deepEqual(await at(0, 3), [1, 2, 3]);
        assert.deepEqual(await at(0, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await at(0, 100), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await at(8, 5), [9, 10]);
        assert.deepEqual(await at(9, 1), [10]);
        assert.deepEqual(await at(10, 1), []);
        assert.deepEqual(await at(50, 5), []);
        assert.deepEqual(await at(3, 0), []);
        assert.deepEqual(
          (await range(id, 4, 2)).map((e) => [e.participantId, e.score]),
          [
            ['p5', 5],
            ['p4', 4],
          ],
        );
      });

      it('around: `size` entries centred on the participant, shifted inward at the edges', async () => {
        const id = await ladder(10);
        const around = async (rank: number, size: number) => {
          const participantId = `p${10 - rank}`;
          const page = await one(id, { kind: 'around', participantId, size });
          assert.deepEqual(page.focus, { ...entry(participantId, 10 - rank, T0), rank });
          assert.ok(page.entries.some((e) => e.participantId === participantId), 'the window holds the participant');
          return ranks(page.entries);
        };
        assert.deepEqual(await around(5, 5), [3, 4, 5, 6, 7]);
        assert.deepEqual(await around(1, 5), [1, 2, 3, 4, 5]);
        assert.deepEqual(await around(2, 5), [1, 2, 3, 4, 5]);
        assert.deepEqual(await around(3, 5), [1, 2, 3, 4, 5]);
        assert.deepEqual(await around(4, 5), [2, 3, 4, 5, 6]);
        assert.deepEqual(await around(9, 5), [6, 7, 8, 9, 10]);
        assert.deepEqual(await around(10, 5), [6, 7, 8, 9, 10]);
        // An even size puts the extra entry below.
        assert.deepEqual(await around(5, 4), [4, 5, 6, 7]);
        assert.deepEqual(await around(10, 4), [7, 8, 9, 10]);
        assert.deepEqual(await around(7, 1), [7]);
        // A board smaller than the window shows all of it, wherever the participant is.
        assert.deepEqual(await around(1, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        for (const rank of [1, 4, 10]) assert.deepEqual(await around(rank, 25), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await one(id, { kind: 'around', participantId: 'nobody', size: 5 }), { entries: [], focus: null });
      });

      it('around on a board of one', async () => {
        const id = await ladder(1);
        const page = await one(id, { kind: 'around', participantId: 'p0', size: 11 });
        assert.deepEqual(standings(page.entries), [['p0', 0, 1]]);
        assert.equal(page.focus?.rank, 1);
      });

      it('neighbors: up to `radius` above and below, cut off at the edges', async () => {
        const id = await ladder(10);
        const neighbors = async (rank: number, radius: number) => {
          const participantId = `p${10 - rank}`;
          const page = await one(id, { kind: 'neighbors', participantId, radius });
          assert.deepEqual(page.focus, { ...entry(participantId, 10 - rank, T0), rank });
          return ranks(page.entries);
        };
        assert.deepEqual(await neighbors(5, 2), [3, 4, 5, 6, 7]);
        assert.deepEqual(await neighbors(1, 2), [1, 2, 3]);
        assert.deepEqual(await neighbors(2, 2), [1, 2, 3, 4]);
        assert.deepEqual(await neighbors(9, 2), [7, 8, 9, 10]);
        assert.deepEqual(await neighbors(10, 2), [8, 9, 10]);
        assert.deepEqual(await neighbors(6, 0), [6]);
        assert.deepEqual(await neighbors(4, 20), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await one(id, { kind: 'neighbors', participantId: 'nobody', radius: 2 }), { entries: [], focus: null });
      });

      it('participants: their entries in rank order, absent ones left out, duplicates once', async () => {
        const id = await ladder(10);
        const participants = async (...participantIds: string[]) => {
          const page = await one(id, { kind: 'participants', participantIds });
          assert.equal(page.focus, null);
          return standings(page.entries);
        };
        assert.deepEqual(await participants('p3', 'nobody', 'p7', 'p3', 'p0', 'p9'), [
          ['p9', 9, 1],
          ['p7', 7, 3],
          ['p3', 3, 7],
          ['p0', 0, 10],
        ]);
        assert.deepEqual(await participants('p5'), [['p5', 5, 5]]);
        assert.deepEqual(await participants(), []);
        assert.deepEqual(await participants('nobody', 'p'), []);
        const page = await one(id, { kind: 'participants', participantIds: ['p2'] });
        assert.deepEqual(page.entries, [{ ...entry('p2', 2, T0), rank: 8 }]);
      });

      it('one read answers every query, in the order asked, from one version', async () => {
        const id = await ladder(10);
        await submit(id, submission('p0', 100, T0 + 1));
        const read = await index.read(id, [
          { kind: 'participants', participantIds: ['p5', 'p0'] },
          { kind: 'page', offset: 0, limit: 3 },
          { kind: 'neighbors', participantId: 'p0', radius: 1 },
          { kind: 'around', participantId: 'p1', size: 3 },
          { kind: 'page', offset: 0, limit: 20 },
        ]);
        assert.equal(read.version, 11);
        assert.equal(read.total, 10);
        const [participants, top, neighbors, around, whole] = read.pages as [RankPage, RankPage, RankPage, RankPage, RankPage];
        assert.equal(whole.entries[0]?.participantId, 'p0');
        assert.deepEqual(top.entries, whole.entries.slice(0, 3));
        assert.deepEqual(participants.entries, [whole.entries[0], whole.entries[5]]);
        assert.deepEqual(neighbors.entries, whole.entries.slice(0, 2));
        assert.deepEqual(neighbors.focus, whole.entries[0]);
        assert.deepEqual(around.entries, whole.entries.slice(7, 10));
        assert.deepEqual(around.focus, whole.entries[9]);
      });

      it('a read is a copy: later writes do not change it', async () => {
        const id = await board('latest');
        for (let i = 0; i < 5; i++) await submit(id, submission(`p${i}`, i, T0, { i }));
        const read = await index.read(id, [
          { kind: 'page', offset: 0, limit: 5 },
          { kind: 'around', participantId: 'p2', size: 3 },
          { kind: 'participants', participantIds: ['p1'] },
        ]);
        const copy = structuredClone(read);
        await submit(id, submission('p0', 100, T0 + 1, { i: 'changed' }));
        await submit(id, submission('new', 50, T0 + 1));
        await submit(id, submission('p1', 70, T0 + 1));
        assert.deepEqual(read, copy);
      });
    });

    describe('shared ranks', () => {
      const shared = { ties: 'shared' } as const;

      /** a 100, b 90, c 90, d 80, e 80, f 70 (on asc boards the scores negated): unique ranks 1..6, shared 1 2 2 4 4 6. */
      async function tied(sortOrder: SortOrder): Promise<string> {
        const id = await board('best', sortOrder);
        const sign = sortOrder === 'desc' ? 1 : -1;
        const scores: [string, number][] = [['a', 100], ['b', 90], ['c', 90], ['d', 80], ['e', 80], ['f', 70]];
        await index.apply(id, scores.map(([pid, score], i) => submission(pid, sign * score, T0 + i)));
        return id;
      }

      async function sharedOne(boardId: string, query: RankQuery): Promise<[string, number, number][]> {
        const { pages } = await index.read(boardId, [query], shared);
        const page = pages[0]!;
        assert.equal(page.sharedRanks?.length, page.entries.length, 'one shared rank per entry');
        return page.entries.map((e, i) => [e.participantId, e.rank, page.sharedRanks![i]!]);
      }

      for (const sortOrder of ['desc', 'asc'] as const) {
        it(`every kind of query carries 1 + the entries with a strictly better score (${sortOrder})`, async () => {
          const id = await tied(sortOrder);
          assert.deepEqual(await sharedOne(id, { kind: 'page', offset: 0, limit: 10 }), [
            ['a', 1, 1],
            ['b', 2, 2],
            ['c', 3, 2],
            ['d', 4, 4],
            ['e', 5, 4],
            ['f', 6, 6],
          ]);
          // A page that starts inside a tie: its first entry shares the rank of the ones above the page.
          assert.deepEqual(await sharedOne(id, { kind: 'page', offset: 4, limit: 5 }), [
            ['e', 5, 4],
            ['f', 6, 6],
          ]);
          assert.deepEqual(await sharedOne(id, { kind: 'page', offset: 2, limit: 2 }), [
            ['c', 3, 2],
            ['d', 4, 4],
          ]);
          assert.deepEqual(await sharedOne(id, { kind: 'page', offset: 6, limit: 5 }), []);
          assert.deepEqual(await sharedOne(id, { kind: 'around', participantId: 'c', size: 3 }), [
            ['b', 2, 2],
            ['c', 3, 2],
            ['d', 4, 4],
          ]);
          assert.deepEqual(await sharedOne(id, { kind: 'neighbors', participantId: 'e', radius: 1 }), [
            ['d', 4, 4],
            ['e', 5, 4],
            ['f', 6, 6],
          ]);
          assert.deepEqual(await sharedOne(id, { kind: 'participants', participantIds: ['f', 'nobody', 'c', 'e', 'a'] }), [
            ['a', 1, 1],
            ['c', 3, 2],
            ['e', 5, 4],
            ['f', 6, 6],
          ]);
          assert.deepEqual(await sharedOne(id, { kind: 'around', participantId: 'nobody', size: 3 }), []);
          // Unique reads are what they always were: no shared ranks.
          assert.equal((await one(id, { kind: 'page', offset: 0, limit: 3 })).sharedRanks, undefined);
          assert.equal((await index.read(id, [{ kind: 'page', offset: 0, limit: 3 }], { ties: 'unique' })).pages[0]!.sharedRanks, undefined);
        });
      }

      it('an empty board and an empty page have no shared ranks to give', async () => {
        const id = await board('best');
        const read = await index.read(id, [{ kind: 'page', offset: 0, limit: 5 }, { kind: 'participants', participantIds: ['a'] }], shared);
        assert.deepEqual(read.pages, [
          { entries: [], focus: null, sharedRanks: [] },
          { entries: [], focus: null, sharedRanks: [] },
        ]);
      });

      it('scores at ±(2^53−1) share ranks exactly', async () => {
        const id = await board('best');
        await index.apply(id, [
          submission('max1', MAX_SCORE, T0),
          submission('max2', MAX_SCORE, T0 + 1),
          submission('below', MAX_SCORE - 1, T0),
          submission('min1', MIN_SCORE, T0),
          submission('min2', MIN_SCORE, T0 + 1),
          submission('above', MIN_SCORE + 1, T0),
        ]);
        assert.deepEqual(
          (await sharedOne(id, { kind: 'page', offset: 0, limit: 10 })).map(([pid, , rank]) => [pid, rank]),
          [['max1', 1], ['max2', 1], ['below', 3], ['above', 4], ['min1', 5], ['min2', 5]],
        );
        assert.deepEqual(await sharedOne(id, { kind: 'page', offset: 5, limit: 1 }), [['min2', 6, 5]]);
      });

      it('matches a plain count on a board whose ties span many entries, after inserts, moves and a load', async () => {
        const id = await board('latest');
        const random = random32(7);
        const n = 1500;
        const scoreOf = () => Math.floor(random() * 12) - 4;
        const check = async (when: string) => {
          const everyone = await all(id);
          const expected = everyone.map((e) => 1 + everyone.filter((other) => other.score > e.score).length);
          const { pages } = await index.read(
            id,
            [
              { kind: 'page', offset: 0, limit: n },
              ...[1, 300, 511, 512, 513, 1024, 1400].map((offset): RankQuery => ({ kind: 'page', offset, limit: 90 })),
              { kind: 'participants', participantIds: everyone.filter((_, i) => i % 37 === 0).map((e) => e.participantId) },
              { kind: 'around', participantId: everyone[700]!.participantId, size: 25 },
            ],
            shared,
          );
          for (const page of pages) {
            page.entries.forEach((e, i) => assert.equal(page.sharedRanks![i], expected[e.rank - 1], `${when}: ${e.participantId} at ${e.rank}`));
          }
        };
        await index.apply(id, Array.from({ length: n }, (_, i) => submission(`p${i}`, scoreOf(), T0 + Math.floor(random() * 3))));
        await check('after inserts');
        await index.apply(id, Array.from({ length: n }, () => submission(`p${Math.floor(random() * n)}`, scoreOf(), T0 + 10 + Math.floor(random() * 3))));
        await check('after moves');
        await index.load(id, (await all(id)).map(withoutRank), freshState(9));
        await check('after a load');
      });

      it('apply answers shared ranks: the new one, and the previous one as it was before', async () => {
        const id = await board('best');
        const apply = async (sub: Submission) => expectOutcome((await index.apply(id, [sub], shared))[0]);
        const a = await apply(submission('a', 100, T0));
        assert.deepEqual([a.entry.rank, a.previous], [1, null]);
        assert.equal((await apply(submission('b', 90, T0 + 1))).entry.rank, 2);
        const c = await apply(submission('c', 90, T0 + 2));
        assert.deepEqual([c.entry.rank, c.previous], [2, null], 'ties with b');
        assert.equal((await apply(submission('d', 100, T0 + 3))).entry.rank, 1, 'ties with a');
        const up = await apply(submission('c', 100, T0 + 4));
        assert.deepEqual([up.previous?.rank, up.entry.rank, up.changed], [3, 1, true], 'a and d had more before');
        const worse = await apply(submission('b', 10, T0 + 5));
        assert.deepEqual([worse.previous?.rank, worse.entry.rank, worse.changed], [4, 4, false]);
        // The same board read with unique ranks: a, d, c (who reached 100 last) share rank 1, b is 4th.
        assert.deepEqual(standings(await all(id)), [['a', 100, 1], ['d', 100, 2], ['c', 100, 3], ['b', 90, 4]]);
        const unique = expectOutcome((await index.apply(id, [submission('e', 100, T0 + 6)]))[0]);
        assert.equal(unique.entry.rank, 4, 'an apply without the option answers unique ranks');
      });

      it('a batch answers each submission with the ranks of its moment; a retry gets the first answer', async () => {
        const id = await board('increment', 'asc');
        const results = (
          await index.apply(
            id,
            [
              submission('a', 5, T0),
              submission('b', 5, T0 + 1),
              submission('c', 3, T0 + 2),
              event('e1', { participantId: 'b', score: -2, timestamp: T0 + 3 }),
            ],
            shared,
          )
        ).map(expectOutcome);
        assert.deepEqual(
          results.map((r) => [r.entry.participantId, r.entry.score, r.previous?.rank ?? null, r.entry.rank]),
          [
            ['a', 5, null, 1],
            ['b', 5, null, 1],
            ['c', 3, null, 1],
            ['b', 3, 2, 1],
          ],
        );
        await index.apply(id, [submission('c', -1, T0 + 4)], shared);
        const retry = expectOutcome((await index.apply(id, [event('e1', { participantId: 'b', score: -2, timestamp: T0 + 3 })], shared))[0]);
        assert.deepEqual([retry.duplicate, retry.previous?.rank, retry.entry.rank], [true, 2, 1]);
      });
    });

    describe('versions and epochs', () => {
      it('open sets the epoch and the version; read reports them', async () => {
        const state = freshState(41);
        const id = await board('best', 'desc', state);
        assert.deepEqual(await stateOf(id), { epoch: state.epoch, version: 41, total: 0 });
        const first = await submit(id, submission('a', 1, T0));
        assert.equal(first.version, 42);
        assert.deepEqual(await stateOf(id), { epoch: state.epoch, version: 42, total: 1 });
      });

      it('open of a known board changes nothing: not its entries, state, rules or event ids', async () => {
        const state = freshState(7);
        const id = await board('best', 'desc', state);
        const applied = await submit(id, event('e1', { participantId: 'a', score: 10, timestamp: T0 }));
        await index.open({ id, sortOrder: 'asc', operator: 'increment' }, freshState(1_000));
        assert.deepEqual(await stateOf(id), { epoch: state.epoch, version: 8, total: 1 });
        // Still best on desc: a higher score replaces, it does not add.
        const higher = await submit(id, submission('a', 20, T0 + 1));
        assert.equal(higher.entry.score, 20);
        assert.equal(higher.version, 9);
        assert.deepEqual(await submit(id, event('e1', { participantId: 'a', score: 10, timestamp: T0 })), { ...applied, duplicate: true });
      });

      it('load sets the epoch and the version; the next change counts from it', async () => {
        const id = await board('best', 'desc', freshState(3));
        await submit(id, submission('a', 1, T0));
        const state = freshState(2);
        await index.load(id, [entry('a', 5, T0)], state);
        assert.deepEqual(await stateOf(id), { epoch: state.epoch, version: 2, total: 1 });
        assert.equal((await submit(id, submission('b', 9, T0))).version, 3);
        const read = await index.read(id, [{ kind: 'page', offset: 0, limit: 1 }]);
        assert.equal(read.epoch, state.epoch);
        assert.equal(read.version, 3);
      });

      it('only changes bump the version: not unchanged submissions, errors or duplicates', async () => {
        const id = await board('increment', 'desc', freshState(100));
        await submit(id, submission('a', MAX_SCORE, T0 + 5));
        await submit(id, event('e', { participantId: 'b', score: 1, timestamp: T0 }));
        assert.equal(await version(id), 102);
        const results = await index.apply(id, [
          submission('a', 0, T0), // a stale zero delta: nothing changes
          submission('a', 1, T0 + 6), // overflow
          event('e', { participantId: 'b', score: 1, timestamp: T0 }), // duplicate
          event('e', { participantId: 'b', score: 2, timestamp: T0 }), // conflict
        ]);
        assert.equal(expectOutcome(results[0]).changed, false);
        assert.equal(expectOutcome(results[0]).version, 102);
        expectError(results[1], 'score_overflow');
        assert.equal(expectOutcome(results[2]).duplicate, true);
        expectError(results[3], 'event_id_conflict');
        assert.equal(await version(id), 102);
        assert.equal((await submit(id, submission('b', 1, T0 + 1))).version, 103);
      });
    });

    describe('event ids', () => {
      it('a repeated event id returns the first outcome, marked duplicate, and changes nothing', async () => {
        for (const operator of ['best', 'latest', 'increment'] as const) {
          const id = await board(operator);
          const first = await submit(id, event('match-1', { participantId: 'a', score: 10, timestamp: T0, metadata: { m: 1 } }));
          assert.equal(first.duplicate, false);
          await submit(id, submission('b', 20, T0 + 1));
          const before = await all(id);
          const versionBefore = await version(id);
          const retry = await submit(id, event('match-1', { participantId: 'a', score: 10, timestamp: T0, metadata: { m: 1 } }));
          assert.deepEqual(retry, { ...first, duplicate: true }, operator);
          assert.deepEqual(await all(id), before, operator);
          assert.equal(await version(id), versionBefore, operator);
        }
      });

      it('an unchanged submission is remembered too', async () => {
        const id = await board('best');
        await submit(id, submission('a', 50, T0));
        const worse = await submit(id, event('w', { participantId: 'a', score: 10, timestamp: T0 + 1 }));
        assert.equal(worse.changed, false);
        assert.deepEqual(await submit(id, event('w', { participantId: 'a', score: 10, timestamp: T0 + 1 })), { ...worse, duplicate: true });
      });

      it('the same event id with another participant, score, timestamp or metadata is event_id_conflict and changes nothing', async () => {
        const id = await board('increment');
        const original = { participantId: 'a', score: 10, timestamp: T0, metadata: { m: 1 } };
        const first = await submit(id, event('e', original));
        const before = await all(id);
        for (const changed of [
          { ...original, participantId: 'b' },
          { ...original, score: 11 },
          { ...original, timestamp: T0 + 1 },
          { ...original, timestamp: null },
          { ...original, metadata: { m: 2 } },
          { ...original, metadata: null },
        ]) {
          const err = await refuse(id, event('e', changed), 'event_id_conflict');
          assert.equal(err.status, 409);
        }
        assert.deepEqual(await all(id), before);
        assert.equal(await version(id), 1);
        // The original still answers as a duplicate.
        assert.deepEqual(await submit(id, event('e', original)), { ...first, duplicate: true });
      });

      it('a retry without its own timestamp is a duplicate, although the server clock moved', async () => {
        const id = await board('increment');
        const input = { participantId: 'a', score: 3 };
        const first = await submit(id, event('no-ts', input, T0));
        const retry = await submit(id, event('no-ts', input, T0 + 60_000));
        assert.deepEqual(retry, { ...first, duplicate: true });
        assert.equal((await get(id, 'a'))?.score, 3);
        // A retry that names a timestamp now is another submission.
        await refuse(id, event('no-ts', { ...input, timestamp: T0 }, T0), 'event_id_conflict');
      });

      it('a repeat inside the same apply call', async () => {
        const id = await board('increment');
        const sub = event('twice', { participantId: 'a', score: 5, timestamp: T0 });
        const results = await index.apply(id, [sub, submission('b', 1, T0), sub, event('twice', { participantId: 'a', score: 6, timestamp: T0 })]);
        const first = expectOutcome(results[0]);
        assert.equal(first.version, 1);
        assert.equal(expectOutcome(results[1]).version, 2);
        assert.deepEqual(expectOutcome(results[2]), { ...first, duplicate: true });
        expectError(results[3], 'event_id_conflict');
        assert.equal((await get(id, 'a'))?.score, 5);
        assert.equal(await version(id), 2);
      });

      it('an overflow is not remembered: a retry that no longer overflows applies', async () => {
        const id = await board('increment');
        await submit(id, submission('a', MAX_SCORE - 1, T0));
        const sub = event('late', { participantId: 'a', score: 2, timestamp: T0 + 1 });
        await refuse(id, sub, 'score_overflow');
        await refuse(id, sub, 'score_overflow');
        await submit(id, submission('a', -10, T0 + 2));
        const retry = await submit(id, sub);
        assert.equal(retry.duplicate, false);
        assert.equal(retry.changed, true);
        assert.equal(retry.entry.score, MAX_SCORE - 9);
        assert.deepEqual(await submit(id, sub), { ...retry, duplicate: true });
      });

      it('load forgets event ids', async () => {
        const id = await board('increment');
        const sub = event('e', { participantId: 'a', score: 5, timestamp: T0 });
        await submit(id, sub);
        await index.load(id, [entry('a', 5, T0)], freshState(1));
        const again = await submit(id, sub);
        assert.equal(again.duplicate, false);
        assert.equal(again.entry.score, 10);
        assert.equal(again.version, 2);
        // Another submission under the forgotten id is no conflict either.
        await index.load(id, [], freshState(0));
        assert.equal((await submit(id, event('e', { participantId: 'b', score: 1, timestamp: T0 }))).duplicate, false);
      });

      it('event ids belong to one board', async () => {
        const first = await board('increment');
        const second = await board('increment');
        const sub = event('shared', { participantId: 'a', score: 5, timestamp: T0 });
        assert.equal((await submit(first, sub)).duplicate, false);
        assert.equal((await submit(second, sub)).duplicate, false);
        assert.equal((await submit(second, sub)).duplicate, true);
        await refuse(first, event('shared', { participantId: 'b', score: 1, timestamp: T0 }), 'event_id_conflict');
        assert.equal(await get(second, 'b'), null);
      });

      it('any event id is only a string: __proto__ and constructor too', async () => {
        const id = await board('increment');
        for (const eventId of ['__proto__', 'constructor', 'hasOwnProperty']) {
          const sub = event(eventId, { participantId: 'a', score: 1, timestamp: T0 });
          assert.equal((await submit(id, sub)).duplicate, false, eventId);
          assert.equal((await submit(id, sub)).duplicate, true, eventId);
        }
        assert.equal((await get(id, 'a'))?.score, 3);
      });

      it('says how long it remembers', () => {
        assert.equal(typeof index.dedupRetention, 'string');
        assert.ok(index.dedupRetention.length > 0);
      });
    });

    describe('concurrent calls', () => {
      /** What the operator makes of these submissions to one participant, in any order (README "operator"). */
      function converged(operator: Operator, sortOrder: SortOrder, subs: readonly Submission[]): Entry {
        const timestamps = subs.map((s) => s.timestamp);
        const updatedAt = Math.max(...timestamps);
        const better = (a: number, b: number) => (sortOrder === 'desc' ? a > b : a < b);
        const bestOf = (scores: number[]) => scores.reduce((a, b) => (better(b, a) ? b : a));
        switch (operator) {
          case 'best': {
            const score = bestOf(subs.map((s) => s.score));
            const achievedAt = Math.min(...subs.filter((s) => s.score === score).map((s) => s.timestamp));
            return { participantId: 'p', score, achievedAt, updatedAt, metadata: null };
          }
          case 'latest': {
            const score = bestOf(subs.filter((s) => s.timestamp === updatedAt).map((s) => s.score));
            return { participantId: 'p', score, achievedAt: updatedAt, updatedAt, metadata: null };
          }
          case 'increment':
            return { participantId: 'p', score: subs.reduce((sum, s) => sum + s.score, 0), achievedAt: updatedAt, updatedAt, metadata: null };
        }
      }

      const cases: [Operator, SortOrder][] = [
        ['best', 'desc'],
        ['best', 'asc'],
        ['latest', 'desc'],
        ['latest', 'asc'],
        ['increment', 'desc'],
        ['increment', 'asc'],
      ];
      for (const existing of [false, true]) {
        cases.forEach(([operator, sortOrder], n) => {
          const who = existing ? 'one participant' : 'a new participant';
          it(`${operator} (${sortOrder}): concurrent submissions to ${who} converge, one version per change`, async () => {
            const random = random32(7_000 + n + (existing ? 100 : 0));
            const base = 50;
            const id = await board(operator, sortOrder);
            const rivals = [entry('rival-0', -1, T0 + 4), entry('rival-1', 3, T0 + 4), entry('rival-2', 2 ** 50, T0 + 4)];
            // An entry that every submission below beats (best), outdates (latest) or adds to (increment).
            const initial = entry('p', operator === 'increment' ? 0 : sortOrder === 'desc' ? -10 : 10, T0 - 1);
            await index.load(id, existing ? [...rivals, initial] : rivals, freshState(base));
            // Few distinct scores and timestamps, so that ties are common; increments are
            // large and odd, so that a lost or repeated one shows in the low bits.
            const subs = Array.from({ length: 40 }, () =>
              submission(
                'p',
                operator === 'increment' ? (random() < 0.5 ? -1 : 1) * (2 ** 46 + 2 * Math.floor(random() * 2 ** 20) + 1) : Math.floor(random() * 6),
                T0 + Math.floor(random() * 8),
              ),
            );
            const outcomes = (await Promise.all(subs.map((sub) => index.apply(id, [sub])))).map((results) => {
              assert.equal(results.length, 1);
              return expectOutcome(results[0]);
            });

            const expected = converged(operator, sortOrder, subs);
            const final = [...rivals, expected].sort((a, b) => compareKeys(sortOrder, a, b)).map((e, i) => ({ ...e, rank: i + 1 }));
            const read = await index.read(id, [
              { kind: 'page', offset: 0, limit: 10 },
              { kind: 'participants', participantIds: ['p'] },
            ]);
            assert.deepEqual(read.pages[0]!.entries, final);
            assert.deepEqual(read.pages[1]!.entries, final.filter((e) => e.participantId === 'p'));

            // The changes form one chain: versions base+1 .. base+c, each starting where the one before ended.
            for (const o of outcomes) {
              assert.equal(o.entry.participantId, 'p');
              assert.equal(o.duplicate, false);
            }
            const chain = outcomes.filter((o) => o.changed).sort((a, b) => a.version - b.version);
            assert.deepEqual(
              chain.map((o) => o.version),
              chain.map((_, i) => base + 1 + i),
              'distinct, consecutive versions',
            );
            assert.equal(read.version, base + chain.length);
            const key = (e: Entry | null) => (e === null ? null : [e.score, e.achievedAt]);
            assert.equal(outcomes.filter((o) => o.previous === null).length, existing ? 0 : 1, 'one call created the entry');
            assert.deepEqual(key(chain[0]!.previous), existing ? key(initial) : null);
            for (let i = 1; i < chain.length; i++) assert.deepEqual(key(chain[i]!.previous), key(chain[i - 1]!.entry), `change ${chain[i]!.version}`);
            assert.deepEqual(key(chain.at(-1)!.entry), key(expected));
            // An unchanged outcome saw the entry as the change of its version left it.
            for (const o of outcomes.filter((o) => !o.changed)) {
              const at = chain[o.version - base - 1];
              assert.ok(at !== undefined, `version ${o.version} of an unchanged outcome was issued`);
              assert.deepEqual(key(o.entry), key(at.entry));
              assert.deepEqual(key(o.previous), key(at.entry));
            }
            if (operator === 'increment') assert.equal(chain.length, subs.length, 'every non-zero delta is a change');
          });
        });
      }

      it('concurrent retries of one event id apply it once', async () => {
        const id = await board('increment');
        const random = random32(7_100);
        const subs = Array.from({ length: 30 }, (_, i) => event(`e${i}`, { participantId: `p${i % 3}`, score: 2 ** 40 + i, timestamp: T0 + (i % 4) }));
        // Each submission goes out twice, in separate calls, in a random order.
        const calls = [...subs, ...subs].map((sub) => ({ sub, key: random() })).sort((a, b) => a.key - b.key);
        const results = await Promise.all(calls.map(({ sub }) => index.apply(id, [sub])));
        const byEvent = new Map<string, SubmitOutcome[]>();
        results.forEach((result, i) => {
          const eventId = calls[i]!.sub.eventId!;
          byEvent.set(eventId, [...(byEvent.get(eventId) ?? []), expectOutcome(result[0])]);
        });
        const firsts: SubmitOutcome[] = [];
        for (const [eventId, pair] of byEvent) {
          const applied = pair.filter((o) => !o.duplicate);
          assert.equal(applied.length, 1, `${eventId} applied once`);
          assert.deepEqual(pair.find((o) => o.duplicate), { ...applied[0]!, duplicate: true }, eventId);
          firsts.push(applied[0]!);
        }
        assert.deepEqual(
          firsts.map((o) => o.version).sort((a, b) => a - b),
          subs.map((_, i) => i + 1),
        );
        const read = await index.read(id, [{ kind: 'participants', participantIds: ['p0', 'p1', 'p2'] }]);
        assert.equal(read.version, subs.length);
        const totals = new Map(read.pages[0]!.entries.map((e) => [e.participantId, e.score]));
        for (let k = 0; k < 3; k++) {
          const sum = subs.filter((s) => s.participantId === `p${k}`).reduce((acc, s) => acc + s.score, 0);
          assert.equal(totals.get(`p${k}`), sum, `p${k}`);
        }
      });

      it('a batch is atomic, and every read is one state, while calls run concurrently', async () => {
        // Every submission adds 1, so a state at version v holds a sum of v, and a
        // read that saw part of a batch would show a version that is no multiple of it.
        const id = await board('increment');
        const random = random32(7_200);
        const batch = 5;
        const ids = Array.from({ length: 8 }, (_, i) => `p${i}`);
        const writes = Array.from({ length: 30 }, () =>
          Array.from({ length: batch }, () => submission(ids[Math.floor(random() * ids.length)]!, 1, T0 + Math.floor(random() * 100))),
        );
        const queries: RankQuery[] = [
          { kind: 'page', offset: 0, limit: 100 },
          { kind: 'participants', participantIds: ids },
          { kind: 'neighbors', participantId: 'p0', radius: 2 },
          { kind: 'around', participantId: 'p1', size: 3 },
        ];
        const calls: Promise<unknown>[] = [];
        const reads: Promise<RankRead>[] = [];
        for (const write of writes) {
          calls.push(index.apply(id, write));
          const read = index.read(id, queries);
          reads.push(read);
          calls.push(read);
        }
        const results = (await Promise.all(calls)).filter((result): result is (SubmitOutcome | LadderError)[] => Array.isArray(result));
        for (const outcomes of results.map((r) => r.map(expectOutcome))) {
          assert.deepEqual(
            outcomes.map((o) => o.version),
            outcomes.map((_, i) => outcomes[0]!.version + i),
            'one call, consecutive versions',
          );
        }
        assert.deepEqual(
          results.flatMap((r) => r.map((o) => expectOutcome(o).version)).sort((a, b) => a - b),
          writes.flat().map((_, i) => i + 1),
        );
        for (const read of await Promise.all(reads)) {
          const [page, participants, neighbors, around] = read.pages as [RankPage, RankPage, RankPage, RankPage];
          assert.equal(read.version % batch, 0, `read at version ${read.version} saw a whole number of batches`);
          assert.equal(
            page.entries.reduce((sum, e) => sum + e.score, 0),
            read.version,
            'the page is at the read version',
          );
          assert.equal(page.entries.length, read.total);
          assert.deepEqual(participants.entries, page.entries, 'participants at the read version');
          const byId = new Map(page.entries.map((e) => [e.participantId, e]));
          assert.deepEqual(neighbors.focus, byId.get('p0') ?? null);
          assert.deepEqual(around.focus, byId.get('p1') ?? null);
          if (neighbors.focus !== null) {
            const r = neighbors.focus.rank;
            assert.deepEqual(neighbors.entries, page.entries.slice(Math.max(0, r - 3), r + 2), 'neighbors at the read version');
          }
          if (around.focus !== null) {
            const offset = Math.max(0, Math.min(around.focus.rank - 2, read.total - 3));
            assert.deepEqual(around.entries, page.entries.slice(offset, offset + 3), 'around at the read version');
          }
        }
        const end = await index.read(id, [{ kind: 'page', offset: 0, limit: 100 }]);
        assert.equal(end.version, writes.length * batch);
        assert.equal(
          end.pages[0]!.entries.reduce((sum, e) => sum + e.score, 0),
          writes.length * batch,
        );
      });
    });

    describe('load', () => {
      it('replaces entries and state, from any order', async () => {
        const id = await board('best');
        await submit(id, submission('old', 1_000, T0));
        const entries = [entry('c', 5, T0 + 3), entry('a', 9, T0 + 1), entry('d', 5, T0 + 2), entry('b', 9, T0)];
        await index.load(id, entries, freshState(42));
        assert.equal(await version(id), 42);
        assert.equal(await total(id), 4);
        assert.equal(await get(id, 'old'), null);
        assert.deepEqual(await all(id), [
          { ...entries[3]!, rank: 1 },
          { ...entries[1]!, rank: 2 },
          { ...entries[2]!, rank: 3 },
          { ...entries[0]!, rank: 4 },
        ]);
        const outcome = await submit(id, submission('c', 10, T0 + 10));
        assert.equal(outcome.version, 43);
        assert.equal(outcome.previous?.rank, 4);
        assert.equal(outcome.entry.rank, 1);
      });

      it('accepts any iterable and keeps metadata and updatedAt', async () => {
        const id = await board('latest', 'asc');
        function* entries(): Generator<Entry> {
          yield { ...entry('a', 3, T0, T0 + 9), metadata: { team: 'x' } };
          yield entry('b', 1, T0);
        }
        await index.load(id, entries(), freshState(2));
        assert.deepEqual(standings(await all(id)), [
          ['b', 1, 1],
          ['a', 3, 2],
        ]);
        assert.deepEqual(await get(id, 'a'), { ...entry('a', 3, T0, T0 + 9), metadata: { team: 'x' }, rank: 2 });
        // latest compares with the loaded updatedAt: T0 + 5 is stale.
        assert.equal((await submit(id, submission('a', 0, T0 + 5))).changed, false);
      });

      it('an empty load clears the board', async () => {
        const id = await board('increment');
        await submit(id, submission('a', 1, T0));
        await index.load(id, [], freshState(7));
        assert.equal(await total(id), 0);
        assert.equal(await version(id), 7);
        assert.deepEqual(await range(id, 0, 10), []);
        const outcome = await submit(id, submission('a', 1, T0));
        assert.equal(outcome.previous, null);
        assert.equal(outcome.version, 8);
      });

      it('a rebuild equals the ranking it was taken from', async () => {
        const id = await board('increment', 'desc');
        await index.apply(
          id,
          Array.from({ length: 600 }, (_, i) => submission(`p${(i * 37) % 211}`, (i % 7) - 2, T0 + (i % 13))),
        );
        const ranking = await all(id);
        const { epoch, version: at } = await stateOf(id);
        const copy = await board('increment', 'desc');
        await index.load(copy, [...ranking].reverse().map(withoutRank), { epoch, version: at });
        assert.deepEqual(await all(copy), ranking);
        assert.deepEqual(await stateOf(copy), await stateOf(id));
      });
    });

    describe('remove', () => {
      it('takes the entry out; the entries below move up one rank; the version goes up by one', async () => {
        const id = await board('best');
        await index.apply(id, [0, 1, 2, 3, 4].map((i) => submission(`p${i}`, i, T0, i === 2 ? { skin: 'red' } : null)));
        const before = await all(id);
        const outcome = await index.remove(id, 'p3');
        assert.deepEqual(outcome, { removed: before[1], version: 6 });
        assert.deepEqual(standings(await all(id)), [
          ['p4', 4, 1],
          ['p2', 2, 2],
          ['p1', 1, 3],
          ['p0', 0, 4],
        ]);
        const state = await stateOf(id);
        assert.deepEqual([state.version, state.total], [6, 4]);
        assert.equal(await get(id, 'p3'), null);
        const around = await one(id, { kind: 'around', participantId: 'p3', size: 3 });
        assert.deepEqual(around, { entries: [], focus: null });
        assert.deepEqual((await index.remove(id, 'p2')).removed, { ...entry('p2', 2, T0), metadata: { skin: 'red' }, rank: 2 });
        assert.deepEqual(standings(await all(id)), [
          ['p4', 4, 1],
          ['p1', 1, 2],
          ['p0', 0, 3],
        ]);
      });

      it('a participant without an entry changes nothing', async () => {
        const id = await ladder(3);
        const state = await stateOf(id);
        assert.deepEqual(await index.remove(id, 'nobody'), { removed: null, version: state.version });
        assert.deepEqual(await index.remove(id, 'p1'), { removed: { ...entry('p1', 1, T0), rank: 2 }, version: state.version + 1 });
        assert.deepEqual(await index.remove(id, 'p1'), { removed: null, version: state.version + 1 }, 'a second removal finds nothing');
        assert.deepEqual(await stateOf(id), { ...state, version: state.version + 1, total: 2 });
      });

      it('a later submission makes a new entry, without the old metadata', async () => {
        const id = await board('increment');
        await submit(id, submission('a', 10, T0, { team: 'x' }));
        await submit(id, submission('b', 5, T0));
        await index.remove(id, 'a');
        const again = await submit(id, submission('a', 1, T0 + 5));
        assert.equal(again.previous, null);
        assert.deepEqual(again.entry, { ...entry('a', 1, T0 + 5), rank: 2 });
        assert.equal(again.version, 4);
        assert.deepEqual(standings(await all(id)), [
          ['b', 5, 1],
          ['a', 1, 2],
        ]);
      });

      it('removing the last entry leaves an empty board that takes new ones', async () => {
        const id = await board('best', 'asc');
        await submit(id, submission('only', 3, T0));
        assert.equal((await index.remove(id, 'only')).removed?.rank, 1);
        assert.deepEqual(await range(id, 0, 10), []);
        assert.equal(await total(id), 0);
        assert.equal((await submit(id, submission('next', 4, T0))).entry.rank, 1);
      });

      it('many removals and admissions across a large board match a plain sorted list, rank by rank', async () => {
        const id = await board('best', 'desc');
        const next = uint32s(7);
        const expected = new Map<string, Entry>();
        const batch: Submission[] = [];
        for (let i = 0; i < 2_500; i++) {
          const sub = submission(`p${i}`, next() % 500, T0 + (next() % 50));
          batch.push(sub);
          expected.set(sub.participantId, entry(sub.participantId, sub.score, sub.timestamp));
        }
        await index.apply(id, batch);
        let versionNow = await version(id);
        for (let round = 0; round < 3; round++) {
          for (const participantId of [...expected.keys()]) {
            if (next() % 3 !== 0) continue;
            const outcome = await index.remove(id, participantId);
            assert.equal(outcome.removed?.participantId, participantId);
            assert.equal(outcome.version, ++versionNow);
            expected.delete(participantId);
          }
          const admitted = Array.from({ length: 700 }, (_, i) => submission(`r${round}-${i}`, next() % 500, T0 + (next() % 50)));
          await index.apply(id, admitted);
          for (const sub of admitted) expected.set(sub.participantId, entry(sub.participantId, sub.score, sub.timestamp));
          versionNow = await version(id);
          const sorted = [...expected.values()].sort((a, b) => compareKeys('desc', a, b));
          assert.deepEqual(
            (await all(id)).map((e) => [e.participantId, e.rank]),
            sorted.map((e, i) => [e.participantId, i + 1]),
          );
          const probe = sorted[Math.floor(sorted.length / 2)]!;
          assert.equal((await get(id, probe.participantId))?.rank, Math.floor(sorted.length / 2) + 1);
        }
      });

      it('a board rebuilt from a ranking with removals equals it', async () => {
        const id = await ladder(40);
        for (let i = 0; i < 40; i += 3) await index.remove(id, `p${i}`);
        const ranking = await all(id);
        const copy = await board('best');
        const { epoch, version: at } = await stateOf(id);
        await index.load(copy, ranking.map(withoutRank), { epoch, version: at });
        assert.deepEqual(await all(copy), ranking);
      });
    });

    describe('boards', () => {
      it('boards are isolated from each other', async () => {
        const desc = await board('best', 'desc');
        const asc = await board('best', 'asc');
        await submit(desc, submission('a', 1, T0));
        await submit(desc, submission('b', 2, T0));
        await submit(asc, submission('a', 1, T0));
        await submit(asc, submission('b', 2, T0));
        await submit(asc, submission('c', 3, T0));
        assert.deepEqual(
          (await all(desc)).map((e) => e.participantId),
          ['b', 'a'],
        );
        assert.deepEqual(
          (await all(asc)).map((e) => e.participantId),
          ['a', 'b', 'c'],
        );
        assert.equal(await version(desc), 2);
        assert.equal(await version(asc), 3);
        assert.equal(await get(desc, 'c'), null);
      });

      it('drop forgets the board, its entries and event ids; reopening starts afresh; dropping twice is fine', async () => {
        const id = await board('increment');
        const sub = event('e', { participantId: 'a', score: 1, timestamp: T0 });
        await submit(id, sub);
        await index.drop(id);
        await assert.rejects(index.read(id, []), isLadderError('board_not_found'));
        await index.drop(id);
        const state = freshState(0);
        await index.open({ id, sortOrder: 'asc', operator: 'increment' }, state);
        assert.deepEqual(await stateOf(id), { epoch: state.epoch, version: 0, total: 0 });
        assert.equal(await get(id, 'a'), null);
        const again = await submit(id, sub);
        assert.equal(again.duplicate, false);
        assert.equal(again.previous, null);
      });

      it('dropping a board that never existed is fine', async () => {
        await index.drop(randomId('conf-missing'));
      });

      it('every call on an unknown board rejects with board_not_found', async () => {
        const id = randomId('conf-missing');
        const notFound = (err: unknown) => isLadderError('board_not_found')(err) && (err as LadderError).status === 404;
        await assert.rejects(index.apply(id, [submission('a', 1, T0)]), notFound);
        await assert.rejects(index.read(id, []), notFound);
        await assert.rejects(index.read(id, [{ kind: 'page', offset: 0, limit: 10 }]), notFound);
        await assert.rejects(index.load(id, [entry('a', 1, T0)], freshState(1)), notFound);
        await assert.rejects(index.remove(id, 'a'), notFound);
        // None of them made the board known.
        await assert.rejects(index.read(id, []), notFound);
      });
    });

    describe('derived rankings (applyDerived, index/derived.ts)', () => {
      const spec = { scopes: ['region'], allTime: false };

      /** A board and derived rankings of it (suffixes as core/derived.ts: 'all', 'region=eu'), all open. */
      async function family(operator: Operator, suffixes: readonly string[], sortOrder: SortOrder = 'desc'): Promise<{ id: string; of: (suffix: string) => string }> {
        const id = await board(operator, sortOrder);
        const of = (suffix: string) => `${id}#${suffix}`;
        for (const suffix of suffixes) {
          await index.open({ id: of(suffix), sortOrder, operator }, freshState());
          opened.push(of(suffix));
        }
        return { id, of };
      }

      function scoped(participantId: string, score: number, timestamp: number, region?: string, metadata: Metadata | null = null): Submission {
        return { ...submission(participantId, score, timestamp, metadata), ...(region === undefined ? {} : { scope: { region } }) };
      }

      it('keeps each scope value\'s ranking of the board\'s own entries, and moves a participant whose value changes', async () => {
        const { id, of } = await family('best', ['region=eu', 'region=us']);
        const applied = await index.applyDerived(
          id,
          [scoped('a', 100, T0, 'eu', { team: 'red' }), scoped('b', 90, T0 + 1, 'us'), scoped('c', 80, T0 + 2, 'eu'), scoped('d', 70, T0 + 3)],
          spec,
        );
        assert.equal(applied.outcomes.length, 4);
        applied.outcomes.forEach(expectOutcome);
        assert.deepEqual(
          applied.derived.map((d) => [d.boardId, d.version, d.changed]).sort(),
          [[of('region=eu'), 2, true], [of('region=us'), 1, true]],
        );
        assert.deepEqual(standings(await all(id)), [['a', 100, 1], ['b', 90, 2], ['c', 80, 3], ['d', 70, 4]]);
        assert.deepEqual(standings(await all(of('region=eu'))), [['a', 100, 1], ['c', 80, 2]]);
        assert.deepEqual(standings(await all(of('region=us'))), [['b', 90, 1]]);
        // The same entries, times and metadata included.
        assert.deepEqual((await all(of('region=eu'))).map(withoutRank), [(await all(id))[0]!, (await all(id))[2]!].map(withoutRank));

        // c moves to us: eu closes up, us gains c with the board's entry; d names no value and stays in none.
        const before = await version(of('region=eu'));
        await index.applyDerived(id, [scoped('c', 95, T0 + 4, 'us'), scoped('d', 75, T0 + 5)], spec);
        assert.deepEqual(standings(await all(of('region=eu'))), [['a', 100, 1]]);
        assert.equal(await version(of('region=eu')), before + 1);
        assert.deepEqual(standings(await all(of('region=us'))), [['c', 95, 1], ['b', 90, 2]]);
        // Without a scope, c's new best lands in the value c is in; back in eu, c leaves us again.
        await index.applyDerived(id, [scoped('c', 99, T0 + 6)], spec);
        assert.deepEqual(standings(await all(of('region=us'))), [['c', 99, 1], ['b', 90, 2]]);
        await index.applyDerived(id, [scoped('c', 1, T0 + 7, 'eu')], spec);
        assert.deepEqual(standings(await all(of('region=eu'))), [['a', 100, 1], ['c', 99, 2]]);
        assert.deepEqual(standings(await all(of('region=us'))), [['b', 90, 1]]);
        assert.deepEqual(withoutRank((await all(of('region=eu')))[1]!), withoutRank((await all(id))[1]!));
      });

      it('changes nothing for a duplicate event id, and nothing at all when a derived ranking it must write is not open', async () => {
        const { id, of } = await family('increment', ['region=eu']);
        const first = event('e1', { participantId: 'a', score: 5, timestamp: T0, scope: { region: 'eu' } });
        expectOutcome((await index.applyDerived(id, [first], spec)).outcomes[0]);
        const eu = await stateOf(of('region=eu'));
        const again = await index.applyDerived(id, [first], spec);
        assert.equal(expectOutcome(again.outcomes[0]).duplicate, true);
        assert.deepEqual(again.derived, []);
        assert.deepEqual(await stateOf(of('region=eu')), eu);

        const boardBefore = await stateOf(id);
        await assert.rejects(index.applyDerived(id, [scoped('b', 1, T0, 'eu'), scoped('a', 1, T0, 'apac')], spec), (err: unknown) => {
          assert.ok(err instanceof Error && 'boardIds' in err, String(err));
          assert.deepEqual((err as { boardIds: string[] }).boardIds, [of('region=apac')]);
          return true;
        });
        assert.deepEqual(await stateOf(id), boardBefore);
        assert.deepEqual(await stateOf(of('region=eu')), eu);
      });

      it('applies every submission to the all-time ranking with the board\'s operator, and refuses one that would overflow its total', async () => {
        const { id, of } = await family('increment', ['all']);
        const both = { scopes: [], allTime: true };
        await index.load(of('all'), [entry('a', MAX_SCORE - 1, T0)], freshState(1));
        const applied = await index.applyDerived(id, [submission('a', 1, T0 + 1), submission('b', 3, T0 + 2), submission('a', 1, T0 + 3), submission('b', 4, T0 + 4)], both);
        assert.equal(expectOutcome(applied.outcomes[0]).entry.score, 1);
        assert.equal(expectError(applied.outcomes[2], 'score_overflow').code, 'score_overflow');
        assert.deepEqual(standings(await all(id)), [['b', 7, 1], ['a', 1, 2]]);
        assert.deepEqual(standings(await all(of('all'))), [['a', MAX_SCORE, 1], ['b', 7, 2]]);
        // A negative delta brings it back within range.
        expectOutcome((await index.applyDerived(id, [submission('a', -5, T0 + 5)], both)).outcomes[0]);
        assert.deepEqual(standings(await all(of('all'))), [['a', MAX_SCORE - 5, 1], ['b', 7, 2]]);
      });

      it('counts a loaded scope ranking\'s entries as its members, and forgets a dropped one\'s', async () => {
        const { id, of } = await family('best', ['region=eu', 'region=us']);
        await index.load(id, [entry('a', 10, T0), entry('b', 20, T0)], freshState(2));
        await index.load(of('region=eu'), [entry('a', 10, T0), entry('b', 20, T0)], freshState(2));
        // a is in eu (by the load), so naming us moves a out of eu.
        await index.applyDerived(id, [scoped('a', 30, T0 + 1, 'us')], spec);
        assert.deepEqual(standings(await all(of('region=eu'))), [['b', 20, 1]]);
        assert.deepEqual(standings(await all(of('region=us'))), [['a', 30, 1]]);
        // us dropped: a is in no value; a submission of a needs no us.
        await index.drop(of('region=us'));
        expectOutcome((await index.applyDerived(id, [scoped('a', 40, T0 + 2)], spec)).outcomes[0]);
        assert.deepEqual(standings(await all(of('region=eu'))), [['b', 20, 1]]);
        // A reload of eu with nothing in it: b is in no value either.
        await index.load(of('region=eu'), [], freshState(0));
        await index.applyDerived(id, [scoped('b', 50, T0 + 3)], spec);
        assert.deepEqual(await all(of('region=eu')), []);
        await index.applyDerived(id, [scoped('b', 1, T0 + 4, 'eu')], spec);
        assert.deepEqual(standings(await all(of('region=eu'))), [['b', 50, 1]]);
      });
    });
  });
}
