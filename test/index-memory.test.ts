/**
 * The in-process engine: the shared RankIndex conformance suite, then what is
 * specific to its structure (block growth, splits and merges, bulk loads, lazy
 * allocation, the bounded memory of event ids).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LadderError } from '../src/core/errors.js';
import { compareKeys, MAX_SCORE, MIN_SCORE } from '../src/core/ordering.js';
import { fingerprintOf, toSubmission } from '../src/core/submission.js';
import type { Entry, Operator, RankedEntry, SortOrder } from '../src/core/types.js';
import type { BoardState, SubmitOutcome } from '../src/index/index.js';
import { BLOCK_CAPACITY } from '../src/index/memory-order.js';
import { BoardRanking, DEDUP_CAPACITY, MemoryIndex } from '../src/index/memory.js';
import { indexConformance } from './conformance/index.js';

indexConformance('MemoryIndex', async () => new MemoryIndex());

const T0 = 1_700_000_000_000;

/** The state a test load gives a board. */
function loaded(version: number): BoardState {
  return { epoch: 'loaded', version };
}

function newBoard(operator: Operator = 'latest', sortOrder: SortOrder = 'desc'): BoardRanking {
  return new BoardRanking({ id: 'engine', sortOrder, operator });
}

function put(board: BoardRanking, participantId: string, score: number, timestamp = T0): RankedEntry {
  return board.submit({ participantId, score, timestamp, eventId: null, metadata: null }).entry;
}

/** Checks every read path against a full sort of the board's own entries. */
function assertConsistent(board: BoardRanking, expected: readonly Entry[]): void {
  const sorted = [...expected].sort((a, b) => compareKeys(board.rules.sortOrder, a, b));
  const ranking = board.range(0, board.total);
  assert.equal(board.total, sorted.length);
  assert.deepEqual(
    ranking.map(({ rank: _rank, ...entry }) => entry),
    sorted,
  );
  ranking.forEach((entry, i) => {
    assert.equal(entry.rank, i + 1);
    assert.equal(board.rankOf(entry.participantId), i + 1);
    assert.deepEqual(board.entryAt(i + 1), entry);
  });
}

function entries(board: BoardRanking): Entry[] {
  return board.range(0, board.total).map(({ rank: _rank, ...entry }) => entry);
}

describe('MemoryIndex', () => {
  it('hands out the ranking of an open board, the same one on every open', async () => {
    const index = new MemoryIndex();
    const rules = { id: 'b', sortOrder: 'desc' as const, operator: 'best' as const };
    assert.equal(index.ranking('b'), undefined);
    await index.open(rules, { epoch: 'e1', version: 3 });
    const ranking = index.ranking('b')!;
    await index.open(rules, { epoch: 'e2', version: 9 });
    assert.equal(index.ranking('b'), ranking);
    assert.equal(ranking.epoch, 'e1');
    assert.equal(ranking.version, 3);
    await index.drop('b');
    assert.equal(index.ranking('b'), undefined);
  });
});

describe('BoardRanking', () => {
  it('allocates nothing until the first entry', () => {
    const board = newBoard();
    assert.equal(board.rankingBytes, 0);
    assert.equal(board.idTableBytes, 0);
    assert.equal(board.total, 0);
    assert.equal(board.entryAt(1), null);
    assert.equal(board.rankOf('a'), null);
    put(board, 'a', 1);
    assert.ok(board.rankingBytes > 0 && board.rankingBytes < 1_024, `one entry costs ${board.rankingBytes} bytes`);
  });

  for (const count of [1, 7, 8, 9, 255, 256, 511, 512, 513, 1_023, 1_024, 1_025, 3_000]) {
    it(`ranks ${count} entries inserted in ascending, descending and shuffled order`, () => {
      for (const pattern of ['ascending', 'descending', 'shuffled'] as const) {
        const board = newBoard('best');
        const expected: Entry[] = [];
        for (let i = 0; i < count; i++) {
          const k = pattern === 'ascending' ? i : pattern === 'descending' ? count - i : (i * 7_919) % count;
          put(board, `p${k}`, k % 97, T0 + (k % 5));
          expected.push({ participantId: `p${k}`, score: k % 97, achievedAt: T0 + (k % 5), updatedAt: T0 + (k % 5), metadata: null });
        }
        assertConsistent(board, expected);
      }
    });
  }

  it('splits a full block wherever the new entry lands', () => {
    const half = BLOCK_CAPACITY / 2;
    for (const index of [0, 1, half - 1, half, half + 1, half + 2, BLOCK_CAPACITY - 1, BLOCK_CAPACITY]) {
      // Even scores fill one block exactly; an odd one lands between them at `index`.
      const board = newBoard('latest', 'asc');
      const expected: Entry[] = [];
      const add = (pid: string, score: number) => {
        const { entry } = board.submit({ participantId: pid, score, timestamp: T0, eventId: null, metadata: null });
        expected.push({ participantId: pid, score, achievedAt: T0, updatedAt: T0, metadata: null });
        return entry.rank;
      };
      for (let i = 0; i < BLOCK_CAPACITY; i++) add(`p${i}`, 2 * i);
      assert.equal(add('new', 2 * index - 1), index + 1, `lands at index ${index}`);
      assertConsistent(board, expected);
      // Each half takes more entries, and splits again.
      for (let i = 0; i < BLOCK_CAPACITY; i++) add(`q${i}`, (i % 2 === 0 ? 1 : 2 * BLOCK_CAPACITY) + 2 * i + 1);
      assertConsistent(board, expected);
    }
  });

  it('keeps participants apart whose ids hash alike', () => {
    // These pairs collide in the 32-bit hash of memory-ids.ts.
    const board = newBoard('best');
    for (const [i, pid] of ['u58xi3o', 'uzen8te', 'u4hqi3o', 'uy3g8te'].entries()) put(board, pid, i);
    assert.equal(board.total, 4);
    assert.deepEqual(board.range(0, 4).map((e) => e.participantId), ['uy3g8te', 'u4hqi3o', 'uzen8te', 'u58xi3o']);
    assert.equal(board.get('uzen8te')?.score, 1);
    assert.equal(board.get('u58xi3o')?.score, 0);
  });

  it('removes participants whose ids hash alike, one at a time, and finds the others', () => {
    const board = newBoard('best');
    const colliding = ['u58xi3o', 'uzen8te', 'u4hqi3o', 'uy3g8te'];
    for (const [i, pid] of colliding.entries()) put(board, pid, i);
    for (const gone of ['uzen8te', 'u58xi3o']) {
      assert.equal(board.remove(gone).removed?.participantId, gone);
      assert.equal(board.get(gone), null);
    }
    assert.deepEqual(board.range(0, 4).map((e) => e.participantId), ['uy3g8te', 'u4hqi3o']);
    assert.equal(board.get('uy3g8te')?.score, 3);
    put(board, 'uzen8te', 9);
    assert.equal(board.rankOf('uzen8te'), 1);
  });

  it('keeps a board whole through removals, admissions and table growth', () => {
    const board = newBoard('increment');
    const expected = new Map<string, Entry>();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3 * BLOCK_CAPACITY; i++) {
        const pid = `r${round}-${i}`;
        const entry = put(board, pid, (i * 7919) % 1000, T0 + i);
        expected.set(pid, { participantId: pid, score: entry.score, achievedAt: entry.achievedAt, updatedAt: entry.updatedAt, metadata: null });
      }
      for (const pid of [...expected.keys()]) {
        if (pid.length % 2 === round % 2) {
          board.remove(pid);
          expected.delete(pid);
        }
      }
      assertConsistent(board, [...expected.values()]);
    }
  });

  it('forgets the event ids of a removed participant, and only theirs', () => {
    const board = newBoard('increment');
    const mine = toSubmission({ participantId: 'gone', score: 5, eventId: 'e-gone' }, T0);
    const theirs = toSubmission({ participantId: 'kept', score: 5, eventId: 'e-kept' }, T0);
    board.applyMany([mine, theirs]);
    board.remove('gone');
    assert.equal(board.recalls('e-gone'), false);
    assert.equal(board.recalls('e-kept'), true);
    const [again] = board.applyMany([mine]);
    assert.ok(again !== undefined && !(again instanceof LadderError));
    assert.deepEqual([again.duplicate, again.previous, again.entry.score], [false, null, 5], 'a retry after the erasure is a new submission');
  });

  it('stays exact when the middle of a large board moves away and back (splits and merges)', () => {
    const board = newBoard('latest', 'asc');
    const n = 6_000;
    const reference = new Map<string, Entry>();
    const submit = (pid: string, score: number, timestamp: number) => {
      const { entry } = board.submit({ participantId: pid, score, timestamp, eventId: null, metadata: null });
      reference.set(pid, { participantId: entry.participantId, score: entry.score, achievedAt: entry.achievedAt, updatedAt: entry.updatedAt, metadata: null });
    };
    for (let i = 0; i < n; i++) submit(`p${i}`, i, T0);
    const bytesFull = board.rankingBytes;
    // Ranks 1000..4999 go to the bottom: the middle blocks drain and merge.
    for (let i = 1_000; i < 5_000; i++) submit(`p${i}`, 1_000_000 + i, T0 + 1);
    assertConsistent(board, [...reference.values()]);
    // And back to the top, in reverse, all on one score so that achievedAt and ids decide.
    for (let i = 4_999; i >= 1_000; i--) submit(`p${i}`, -1, T0 + 2 + (i % 3));
    assertConsistent(board, [...reference.values()]);
    // Everything onto one score: the ranking is by achievedAt, then id.
    for (let i = 0; i < n; i++) submit(`p${i}`, 7, T0 + 10 + (i % 2));
    assertConsistent(board, [...reference.values()]);
    assert.ok(board.rankingBytes <= bytesFull * 1.5, `${board.rankingBytes} bytes after the moves, ${bytesFull} before`);
  });

  it('climbs past every other entry, one rank per submission', () => {
    const board = newBoard('increment', 'desc');
    for (let i = 0; i < 2_000; i++) put(board, `p${i}`, 2 * i);
    let rank = board.rankOf('p0')!;
    assert.equal(rank, 2_000);
    for (let step = 0; step < 1_999; step++) {
      const moved = put(board, 'p0', 2, T0);
      assert.equal(moved.rank, rank - 1);
      rank = moved.rank;
    }
    assert.equal(board.entryAt(1)?.participantId, 'p0');
    assertConsistent(board, entries(board));
  });

  it('an unchanged submission keeps the rank and the version', () => {
    const board = newBoard('best');
    for (let i = 0; i < 1_000; i++) put(board, `p${i}`, i);
    const version = board.version;
    const outcome = board.submit({ participantId: 'p500', score: 3, timestamp: T0 + 1, eventId: null, metadata: null });
    assert.equal(outcome.changed, false);
    assert.equal(outcome.version, version);
    assert.equal(outcome.entry.rank, 500);
    assert.equal(outcome.previous?.rank, 500);
    assert.equal(outcome.entry.updatedAt, T0 + 1);
  });

  it('hands out copies: changing an answer changes nothing inside', () => {
    const board = newBoard('best');
    put(board, 'a', 5);
    const entry = board.get('a') as { score: number };
    entry.score = 1_000;
    assert.equal(board.get('a')?.score, 5);
  });

  it('places exact entries and removes them (scope rankings): ranks close up, a removed participant comes back, checkpoints and loads leave removed ones out', () => {
    const board = newBoard('best');
    const all: Entry[] = [];
    for (let i = 0; i < 3 * BLOCK_CAPACITY; i++) all.push({ participantId: `p${i}`, score: i % 97, achievedAt: T0 + i, updatedAt: T0 + i + 5, metadata: i % 10 === 0 ? { i } : null });
    for (const entry of all) assert.equal(board.place(entry)?.changed, true);
    assertConsistent(board, all);
    // The same entry again changes nothing; a new updatedAt or metadata is taken without a version.
    const version = board.version;
    assert.equal(board.place(all[7]!), null);
    const touched = { ...all[7]!, updatedAt: T0 + 10_000, metadata: { late: true } };
    assert.equal(board.place(touched)?.changed, false);
    assert.equal(board.version, version);
    all[7] = touched;
    // Remove every third entry, some of them in the middle of blocks.
    const removed = all.filter((_, i) => i % 3 === 0);
    for (const entry of removed) {
      const rank = board.rankOf(entry.participantId)!;
      const version = board.version;
      const outcome = board.remove(entry.participantId);
      assert.deepEqual([outcome.removed?.rank, outcome.version], [rank, version + 1]);
      assert.equal(board.get(entry.participantId), null);
    }
    assert.equal(board.remove(removed[0]!.participantId).removed, null);
    const kept = all.filter((_, i) => i % 3 !== 0);
    assertConsistent(board, kept);
    assert.deepEqual([...board.participantIds()], board.range(0, board.total).map((e) => e.participantId));
    // A checkpoint holds the kept ones; a load of it with a log that removed more leaves those out too.
    const columns = board.rankedColumns();
    assert.equal(columns.ids.length, kept.length);
    const again = newBoard('best');
    again.loadSorted(columns, loaded(1), [], [kept[0]!.participantId, 'nobody']);
    assertConsistent(again, kept.slice(1));
    // Back in, and a submission finds it.
    again.place(kept[0]!);
    board.place(removed[0]!);
    assertConsistent(board, [...kept, removed[0]!]);
    assert.equal(board.submit({ participantId: removed[0]!.participantId, score: 1000, timestamp: T0, eventId: null, metadata: null }).entry.rank, 1);
    assertConsistent(again, kept);
  });

  it('rejects ranks outside 1..total', () => {
    const board = newBoard();
    put(board, 'a', 1);
    assert.equal(board.entryAt(0), null);
    assert.equal(board.entryAt(2), null);
    assert.equal(board.entryAt(1.5), null);
    assert.equal(board.entryAt(1)?.participantId, 'a');
  });

  describe('event ids', () => {
    function outcomeOf(result: SubmitOutcome | LadderError | undefined): SubmitOutcome {
      assert.ok(result !== undefined && !(result instanceof LadderError), String(result));
      return result;
    }

    it('remember answers the retries of an event id that the store knew', () => {
      const board = newBoard('increment');
      put(board, 'a', 5);
      const known: SubmitOutcome = {
        entry: { participantId: 'a', score: 5, achievedAt: T0, updatedAt: T0, metadata: null, rank: 1 },
        previous: null,
        changed: true,
        version: 1,
        duplicate: true,
      };
      assert.equal(board.recalls('e'), false);
      board.remember('e', fingerprintOf('a', 5, null, null), known);
      assert.equal(board.recalls('e'), true);
      const [retry] = board.applyMany([toSubmission({ participantId: 'a', score: 5, eventId: 'e' }, T0 + 1)]);
      assert.deepEqual(retry, known, 'the first outcome, marked duplicate');
      assert.equal(board.get('a')?.score, 5);
      assert.equal(board.version, 1);
    });

    it(`keeps the last ${DEDUP_CAPACITY.toLocaleString('en-US')} event ids, forgetting the oldest first`, () => {
      const board = newBoard('increment');
      const sub = (i: number) => ({ participantId: 'a', score: 1, timestamp: T0, eventId: `e${i}`, metadata: null });
      const first = outcomeOf(board.applyMany([sub(0)])[0]);
      for (let i = 1; i < DEDUP_CAPACITY; i++) board.remember(`e${i}`, 'x', first);
      assert.equal(board.recalls('e0'), true);
      assert.equal(outcomeOf(board.applyMany([sub(0)])[0]).duplicate, true);
      outcomeOf(board.applyMany([sub(DEDUP_CAPACITY)])[0]);
      assert.equal(board.recalls('e0'), false);
      assert.equal(board.recalls('e1'), true);
      assert.equal(board.recalls(`e${DEDUP_CAPACITY}`), true);
      // Forgotten, e0 applies again.
      assert.equal(outcomeOf(board.applyMany([sub(0)])[0]).duplicate, false);
      assert.equal(board.get('a')?.score, 3);
      assert.ok(new MemoryIndex().dedupRetention.includes(DEDUP_CAPACITY.toString()));
    });
  });

  describe('load', () => {
    function generated(n: number, score: (i: number) => number, timeRange: number): Entry[] {
      return Array.from({ length: n }, (_, i) => {
        const achievedAt = T0 + ((i * 104_729) % timeRange);
        return { participantId: `q${(i * 7_919) % (n * 3)}`, score: score(i), achievedAt, updatedAt: achievedAt + 1, metadata: null };
      });
    }

    const scrambled = (range: number) => (i: number) => ((i * 2_654_435_761) % range) - Math.floor(range / 2);
    for (const [label, score, timeRange] of [
      ['distinct scores', scrambled(2 ** 40), 10 ** 9],
      ['heavy ties on score and time', scrambled(4), 3],
      ['scores at the limits', (i: number) => (i % 2 === 0 ? MAX_SCORE - (i % 7) : MIN_SCORE + (i % 5)), 2],
    ] as const) {
      for (const sortOrder of ['desc', 'asc'] as const) {
        it(`rebuilds 5,000 shuffled entries with ${label} (${sortOrder})`, () => {
          const list = generated(5_000, score, timeRange);
          const board = newBoard('best', sortOrder);
          board.load(list, loaded(9));
          assert.equal(board.version, 9);
          assertConsistent(board, list);
          // Loading its own ranking (already sorted) gives the same.
          const copy = newBoard('best', sortOrder);
          copy.load(entries(board), loaded(9));
          assert.deepEqual(copy.range(0, 5_000), board.range(0, 5_000));
        });
      }
    }

    it('orders ties by achievedAt across its whole range', () => {
      const list = generated(5_000, (i) => i % 3, 1).map((e, i) => ({ ...e, achievedAt: ((i * 2_654_435_761) % 2 ** 52) * (i % 2 === 0 ? 1 : -1) }));
      const board = newBoard('best', 'asc');
      board.load(list, loaded(1));
      assertConsistent(board, list);
    });

    it('orders timestamps that are not integers too', () => {
      const list: Entry[] = [
        { participantId: 'a', score: 1, achievedAt: T0 + 0.5, updatedAt: T0, metadata: null },
        { participantId: 'b', score: 1, achievedAt: T0 + 0.25, updatedAt: T0, metadata: null },
        { participantId: 'c', score: 2, achievedAt: T0, updatedAt: T0, metadata: null },
      ];
      const board = newBoard('best');
      board.load(list, loaded(1));
      assert.deepEqual(board.range(0, 3).map((e) => e.participantId), ['c', 'b', 'a']);
    });

    it('a duplicate participant throws and leaves the board as it was', () => {
      const board = newBoard('best');
      put(board, 'keep', 1);
      const duplicated: Entry[] = [
        { participantId: 'x', score: 1, achievedAt: T0, updatedAt: T0, metadata: null },
        { participantId: 'x', score: 2, achievedAt: T0, updatedAt: T0, metadata: null },
      ];
      assert.throws(() => board.load(duplicated, loaded(5)), /appears twice/);
      assert.equal(board.total, 1);
      assert.equal(board.version, 1);
      assert.equal(board.get('keep')?.rank, 1);
    });

    it('keeps growing after a load sized exactly to its entries', () => {
      const list = generated(1_000, scrambled(1_000), 50);
      const board = newBoard('best');
      board.load(list, loaded(0));
      const all = new Map(list.map((e) => [e.participantId, e]));
      for (let i = 0; i < 1_500; i++) {
        const { entry } = board.submit({ participantId: `new${i}`, score: i % 300, timestamp: T0 + i, eventId: null, metadata: null });
        all.set(entry.participantId, { participantId: entry.participantId, score: entry.score, achievedAt: entry.achievedAt, updatedAt: entry.updatedAt, metadata: null });
      }
      assertConsistent(board, [...all.values()]);
    });
  });
});
