/**
 * BoardRanking.loadSorted and rankedColumns: a board rebuilt from its columns
 * in rank order, with changed entries on top (one by one, or merged and
 * sorted when there are many), is the board that BoardRanking.load builds
 * from the same entries in any order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BoardRules, Entry, Metadata, SortOrder } from '../src/core/types.js';
import { BoardRanking } from '../src/index/memory.js';
import { uint32s } from './helpers/random.js';

const STATE = { epoch: 'e1', version: 42 };

/** Few distinct scores and times, so that ties on score and achievedAt are common. */
function entries(seed: number, count: number, prefix = 'p'): Entry[] {
  const next = uint32s(seed);
  return Array.from({ length: count }, (_, i) => {
    const achievedAt = 1_000 + (next() % 20);
    const metadata: Metadata | null = next() % 3 === 0 ? { i, tag: `t${next() % 5}` } : null;
    return { participantId: `${prefix}${i}`, score: (next() % 30) - 10, achievedAt, updatedAt: achievedAt + (next() % 5), metadata };
  });
}

function loaded(rules: BoardRules, list: readonly Entry[]): BoardRanking {
  const ranking = new BoardRanking(rules);
  ranking.load(list, STATE);
  return ranking;
}

describe('BoardRanking.loadSorted', () => {
  for (const sortOrder of ['desc', 'asc'] as const satisfies readonly SortOrder[]) {
    const rules: BoardRules = { id: 'b', sortOrder, operator: 'best' };

    it(`rebuilds a ${sortOrder} board from its rankedColumns exactly`, () => {
      const original = loaded(rules, entries(1, 3000));
      const rebuilt = new BoardRanking(rules);
      rebuilt.loadSorted(original.rankedColumns(), STATE);
      assert.deepEqual(rebuilt.range(0, 4000), original.range(0, 4000));
      assert.deepEqual([rebuilt.version, rebuilt.epoch, rebuilt.total], [42, 'e1', 3000]);
      // Still a working board: a submission lands where it belongs.
      const outcome = rebuilt.submit({ participantId: 'new', score: 100, timestamp: 1, eventId: null, metadata: null });
      assert.equal(outcome.entry.rank, sortOrder === 'desc' ? 1 : 3001);
    });

    for (const [name, changes] of [
      ['a few changed entries one by one', 200],
      ['many changed entries merged and sorted', 1500],
    ] as const) {
      it(`applies ${name} on top of a ${sortOrder} board`, () => {
        const base = entries(2, 3000);
        const next = uint32s(3);
        // Existing participants with new scores, times and metadata (some dropping theirs), and new ones.
        const changed: Entry[] = Array.from({ length: changes }, (_, i) => {
          const participantId = i % 4 === 0 ? `new${i}` : `p${next() % 3000}`;
          const metadata: Metadata | null = i % 3 === 0 ? { changed: i } : null;
          return { participantId, score: (next() % 40) - 20, achievedAt: 2_000 + (next() % 10), updatedAt: 3_000 + i, metadata };
        });
        const unique = [...new Map(changed.map((entry) => [entry.participantId, entry])).values()];
        const merged = new Map(base.map((entry) => [entry.participantId, entry]));
        for (const entry of unique) merged.set(entry.participantId, entry);

        const rebuilt = new BoardRanking(rules);
        rebuilt.loadSorted(loaded(rules, base).rankedColumns(), STATE, unique);
        const expected = loaded(rules, [...merged.values()]);
        assert.deepEqual(rebuilt.range(0, 5000), expected.range(0, 5000));
        for (const entry of unique.slice(0, 50)) assert.deepEqual(rebuilt.get(entry.participantId), expected.get(entry.participantId));
      });
    }
  }

  it('builds a board from changed entries alone (no checkpoint), and an empty one from nothing', () => {
    const rules: BoardRules = { id: 'b', sortOrder: 'desc', operator: 'increment' };
    const list = entries(4, 500);
    const empty = { ids: [], scores: new Float64Array(0), achievedAt: new Float64Array(0), updatedAt: new Float64Array(0), metadata: new Map<number, Metadata>() };
    const rebuilt = new BoardRanking(rules);
    rebuilt.loadSorted(empty, STATE, list);
    assert.deepEqual(rebuilt.range(0, 600), loaded(rules, list).range(0, 600));
    const none = new BoardRanking(rules);
    none.loadSorted({ ...empty, metadata: new Map() }, STATE);
    assert.deepEqual([none.total, none.range(0, 10)], [0, []]);
  });

  it('exports fresh columns: changing the board afterwards leaves them as they were', () => {
    const rules: BoardRules = { id: 'b', sortOrder: 'asc', operator: 'latest' };
    const ranking = loaded(rules, entries(5, 100));
    const columns = ranking.rankedColumns();
    const ids = [...columns.ids];
    const scores = Float64Array.from(columns.scores);
    ranking.submit({ participantId: 'p0', score: -1000, timestamp: 9_999, eventId: null, metadata: { moved: true } });
    assert.deepEqual(columns.ids, ids);
    assert.deepEqual(columns.scores, scores);
    assert.equal(columns.ids.length, 100);
  });
});
