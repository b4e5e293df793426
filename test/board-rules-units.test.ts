/**
 * The pure parts of the board rules (test/board-rules.test.ts checks them
 * through the front door): fixed-point parsing and printing, shared ranks
 * along consecutive entries, the live windows' ranks and deltas on boards
 * with shared ranks, and the client's local copy of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { snapshotOf } from '../src/client/poll.js';
import { applyDelta, stateFromSnapshot } from '../src/client/view-state.js';
import { LadderError } from '../src/core/errors.js';
import { scoreFromWire, scoreText, scoreToWire } from '../src/core/fixed-point.js';
import { MAX_SCORE } from '../src/core/ordering.js';
import { SharedRanks, sharedRanksOf } from '../src/core/ties.js';
import { scoreFormatter } from '../src/dashboard/format.js';
import { diffWindows, windowRanks, type ViewWindow } from '../src/feed/window.js';

function refused(value: unknown, decimals: number): LadderError {
  try {
    scoreFromWire(value, decimals, 'scores[2].score');
  } catch (err) {
    assert.ok(err instanceof LadderError);
    assert.equal(err.code, 'invalid_score');
    assert.equal(err.details?.field, 'scores[2].score');
    return err;
  }
  assert.fail(`${String(value)} with ${decimals} decimals was taken`);
}

describe('fixed-point scores', () => {
  it('scales the decimal a number stands for exactly, never by multiplying floats', () => {
    assert.notEqual(1.005 * 1000, 1_005, 'the trap');
    assert.notEqual(4.35 * 100, 435);
    const cases: [number, number, number][] = [
      [83.217, 3, 83_217],
      [1.005, 3, 1_005],
      [4.35, 2, 435],
      [0.001, 3, 1],
      [-1.5, 3, -1_500],
      [1.5, 1, 15],
      [7, 6, 7_000_000],
      [0.000001, 6, 1],
      [-0, 2, 0],
      [0, 0, 0],
      [1e3, 2, 100_000],
      [8.3217e1, 3, 83_217],
      [1.1e-5, 6, 11],
      [999_999_999_999.999, 3, 999_999_999_999_999],
      // 15 significant digits: every such decimal is its own double. (At 16, neighbours share one: 9007199254.740991 reads back as ...992.)
      [9_007_199_254.74099, 6, 9_007_199_254_740_990],
      [-9_007_199_254.74099, 6, -9_007_199_254_740_990],
      [MAX_SCORE, 0, MAX_SCORE],
      [1e14, 1, 1e15],
    ];
    for (const [value, decimals, kept] of cases) assert.equal(scoreFromWire(value, decimals, 'score'), kept, `${value} with ${decimals} decimals`);
  });

  it('refuses more decimals, values beyond ±(2^53−1) once scaled, and what is no number, naming the field', () => {
    for (const [value, decimals] of [
      [83.2171, 3],
      [0.1 + 0.2, 2],
      [1e-7, 6],
      [1.5, 0],
      [9_007_199_254.740992, 6],
      [1e16, 1],
      [1e21, 3],
      [Number.NaN, 2],
      [Number.POSITIVE_INFINITY, 2],
      ['1', 2],
      [null, 2],
      [undefined, 0],
      [2 ** 53, 0],
    ] as [unknown, number][]) {
      refused(value, decimals);
    }
    assert.equal(refused(1.5, 0).message, 'scores[2].score must be an integer within ±(2^53−1)');
    assert.equal(refused(0.25, 1).message, 'scores[2].score must be a number with at most 1 decimal within ±900719925474099.1');
    assert.equal(refused(0.0001, 3).details?.score_decimals, 3);
  });

  it('answers kept scores as numbers with at most that many decimals, and prints them exactly', () => {
    assert.equal(scoreToWire(83_217, 3), 83.217);
    assert.equal(scoreToWire(-1_500, 3), -1.5);
    assert.equal(scoreToWire(5, 2), 0.05);
    assert.equal(scoreToWire(MAX_SCORE, 0), MAX_SCORE);
    for (let kept = -2_000; kept <= 2_000; kept += 7) {
      for (const decimals of [1, 2, 3, 6]) assert.equal(scoreFromWire(scoreToWire(kept, decimals), decimals, 'score'), kept, `${kept} round trips with ${decimals}`);
    }
    assert.deepEqual([scoreText(MAX_SCORE, 3), scoreText(-1_500, 3), scoreText(1, 6), scoreText(0, 2), scoreText(-5, 0)], ['9007199254740.991', '-1.5', '0.000001', '0', '-5']);
  });
});

describe('shared ranks', () => {
  const entries = [100, 90, 90, 90, 80, 80, 70].map((score, i) => ({ score, rank: i + 1 }));

  it('follow from the first entry along consecutive entries', () => {
    assert.deepEqual(sharedRanksOf(entries, 1), [1, 2, 2, 2, 5, 5, 7]);
    assert.deepEqual(sharedRanksOf(entries.slice(3), 2), [2, 5, 5, 7]);
    assert.deepEqual(sharedRanksOf([], 1), []);
  });

  it('number a stream page by page, as an export does', () => {
    const ranks = new SharedRanks();
    assert.deepEqual([...entries.slice(0, 3), ...entries.slice(3)].map((e) => ranks.rankOf(e)), [1, 2, 2, 2, 5, 5, 7]);
    const fromTheMiddle = new SharedRanks(2);
    assert.deepEqual(entries.slice(2).map((e) => fromTheMiddle.rankOf(e)), [2, 2, 5, 5, 7]);
  });
});

describe('live views with shared ranks', () => {
  const entry = (participantId: string, score: number) => ({ participantId, score, achievedAt: 1 });

  it('a window shows shared ranks from its first rank and place; a tie above the window moves only first_rank', () => {
    const before: ViewWindow = { firstRank: 3, firstPlace: 4, entries: [entry('c', 90), entry('d', 90), entry('e', 80)] };
    assert.deepEqual(windowRanks(before), [3, 3, 6]);
    assert.deepEqual(windowRanks({ firstRank: 3, entries: before.entries }), [3, 4, 5], 'unique windows count on from first_rank');
    const after: ViewWindow = { ...before, firstRank: 4 };
    assert.deepEqual(diffWindows(before, after), { removes: [], upserts: [] });
    assert.equal(diffWindows(before, { ...before }), null);
    const scored: ViewWindow = { firstRank: 3, firstPlace: 4, entries: [entry('c', 90), entry('d', 85), entry('e', 80)], scoreDecimals: 1 };
    assert.deepEqual(diffWindows(before, scored)?.upserts, [{ rank: 5, participant_id: 'd', score: 8.5, achieved_at: 1, place: 5 }]);
  });

  it("the client's copy places upserts by place and renumbers shared ranks", () => {
    const state = stateFromSnapshot({
      epoch: 'e',
      version: 1,
      total: 6,
      first_rank: 1,
      first_place: 1,
      entries: [
        { rank: 1, participant_id: 'a', score: 100, achieved_at: 1 },
        { rank: 2, participant_id: 'b', score: 90, achieved_at: 1 },
        { rank: 2, participant_id: 'c', score: 90, achieved_at: 2 },
        { rank: 4, participant_id: 'd', score: 80, achieved_at: 1 },
      ],
    });
    assert.deepEqual(state.entries.map((e) => e.rank), [1, 2, 2, 4]);
    const outcome = applyDelta(state, {
      epoch: 'e',
      from_version: 1,
      to_version: 2,
      total: 6,
      first_rank: 1,
      first_place: 1,
      removes: ['d'],
      upserts: [{ rank: 2, participant_id: 'e', score: 90, achieved_at: 0, place: 2 }],
    });
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.state.entries.map((e) => `${e.participant_id}:${e.rank}`), ['a:1', 'e:2', 'b:2', 'c:2']);
    assert.equal('place' in outcome.state.entries[1]!, false, 'places only travel');

    // b (90, at place 3 above the window) improves to 95 and keeps its place: c and d no longer share its rank.
    const around = stateFromSnapshot({
      epoch: 'e',
      version: 5,
      total: 6,
      first_rank: 3,
      first_place: 4,
      entries: [
        { rank: 3, participant_id: 'c', score: 90, achieved_at: 2 },
        { rank: 3, participant_id: 'd', score: 90, achieved_at: 3 },
        { rank: 6, participant_id: 'e', score: 80, achieved_at: 1 },
      ],
    });
    const split = applyDelta(around, { epoch: 'e', from_version: 5, to_version: 6, total: 6, first_rank: 4, first_place: 4, removes: [], upserts: [] });
    assert.ok(split.ok);
    assert.deepEqual(split.state.entries.map((e) => `${e.participant_id}:${e.rank}`), ['c:4', 'd:4', 'e:6']);
  });

  it('a poll keeps the shared ranks of the rankings answer', () => {
    const snapshot = snapshotOf({
      leaderboard_id: 'x',
      period: null,
      epoch: 'e',
      version: 3,
      total: 5,
      entries: [
        { rank: 2, participant_id: 'b', score: 90, achieved_at: 1 },
        { rank: 2, participant_id: 'c', score: 90, achieved_at: 2 },
        { rank: 5, participant_id: 'd', score: 80, achieved_at: 1 },
      ],
    });
    assert.deepEqual(stateFromSnapshot(snapshot).entries.map((e) => e.rank), [2, 2, 5]);
  });

  it('the dashboard shows scores with the board’s decimals', () => {
    assert.equal(scoreFormatter({ score_decimals: 3 })(83.2), '83.200');
    assert.equal(scoreFormatter({ score_decimals: 0 })(1234), '1,234');
  });
});
