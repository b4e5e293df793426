/**
 * Differential test of the in-process engine: seeded random workloads are
 * applied to a BoardRanking and to a plain reference (a Map of entries,
 * sorted with compareKeys at checkpoints), and the two are compared rank by
 * rank. The workloads mix every operator and sort order, many ties, repeated
 * and out-of-order timestamps, metadata, overflowing increments and rebuilds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LadderError } from '../src/core/errors.js';
import { applySubmission } from '../src/core/operators.js';
import { compareKeys, MAX_SCORE } from '../src/core/ordering.js';
import type { BoardRules, Entry, Metadata, Operator, RankedEntry, SortOrder, Submission } from '../src/core/types.js';
import { BoardRanking } from '../src/index/memory.js';
import { random32, shuffled } from './helpers/random.js';

class ReferenceBoard {
  readonly entries = new Map<string, Entry>();
  version = 0;

  constructor(readonly rules: BoardRules) {}

  submit(submission: Submission): { previous: Entry | null; entry: Entry; changed: boolean } {
    const previous = this.entries.get(submission.participantId) ?? null;
    const { entry, changed } = applySubmission(this.rules, previous, submission);
    this.entries.set(entry.participantId, entry);
    if (changed) this.version++;
    return { previous, entry, changed };
  }

  sorted(): Entry[] {
    return [...this.entries.values()].sort((a, b) => compareKeys(this.rules.sortOrder, a, b));
  }

  /** O(n): only for sampled operations. */
  rankOf(entry: Entry): number {
    let rank = 1;
    for (const other of this.entries.values()) if (compareKeys(this.rules.sortOrder, other, entry) < 0) rank++;
    return rank;
  }
}

interface Workload {
  readonly sortOrder: SortOrder;
  readonly operator: Operator;
  readonly operations: number;
  readonly participants: number;
  /** Draws a score (a delta under increment). */
  readonly score: (random: () => number) => number;
  /** Width of the window of timestamps; a small one repeats them, and any one goes back in time. */
  readonly timeSpread: number;
  readonly longIds?: boolean;
  /** The deltas are large enough that some increments must overflow. */
  readonly overflows?: boolean;
}

const CHECK_EVERY = 2_500;
const RANK_SAMPLE_EVERY = 13;

function participantId(k: number, long: boolean): string {
  // Long ids share a 120-character prefix, so only their tails decide a tie.
  return long ? `${'x'.repeat(120)}${k.toString(36).padStart(8, '0')}` : `p${k}`;
}

function stripRank(entry: RankedEntry): Entry {
  const { rank: _rank, ...rest } = entry;
  return rest;
}

function assertSameRanking(board: BoardRanking, reference: ReferenceBoard, random: () => number, context: string): void {
  const expected = reference.sorted();
  assert.equal(board.total, expected.length, `${context}: total`);
  assert.equal(board.version, reference.version, `${context}: version`);
  const actual = board.range(0, expected.length + 5);
  assert.equal(actual.length, expected.length, `${context}: range length`);
  for (let i = 0; i < expected.length; i++) {
    const entry = actual[i]!;
    assert.equal(entry.rank, i + 1, `${context}: rank field at ${i + 1}`);
    assert.deepEqual(stripRank(entry), expected[i], `${context}: entry at rank ${i + 1}`);
  }
  for (let probe = 0; probe < 50 && expected.length > 0; probe++) {
    const rank = 1 + Math.floor(random() * expected.length);
    const want = expected[rank - 1]!;
    assert.equal(board.rankOf(want.participantId), rank, `${context}: rankOf`);
    assert.deepEqual(board.get(want.participantId), { ...want, rank }, `${context}: get`);
    assert.deepEqual(board.entryAt(rank), { ...want, rank }, `${context}: entryAt`);
    const offset = rank - 1;
    const limit = Math.floor(random() * 40);
    const window = board.range(offset, limit);
    assert.deepEqual(window.map(stripRank), expected.slice(offset, offset + limit), `${context}: range(${offset}, ${limit})`);
  }
}

function run(seed: number, workload: Workload): void {
  const random = random32(seed);
  const rules: BoardRules = { id: `diff-${seed}`, sortOrder: workload.sortOrder, operator: workload.operator };
  let board = new BoardRanking(rules);
  const reference = new ReferenceBoard(rules);
  let clock = 1_700_000_000_000;
  let overflows = 0;
  for (let op = 1; op <= workload.operations; op++) {
    clock += Math.floor(random() * 3);
    const metadata: Metadata | null = random() < 0.05 ? { op } : null;
    const submission: Submission = {
      participantId: participantId(Math.floor(random() * workload.participants), workload.longIds === true),
      score: workload.score(random),
      timestamp: clock - Math.floor(random() * workload.timeSpread),
      eventId: null,
      metadata,
    };
    let expected: ReturnType<ReferenceBoard['submit']>;
    try {
      expected = reference.submit(submission);
    } catch (err) {
      assert.ok(err instanceof LadderError && err.code === 'score_overflow', `op ${op}: reference threw ${String(err)}`);
      assert.throws(() => board.submit(submission), (thrown: unknown) => thrown instanceof LadderError && thrown.code === 'score_overflow');
      overflows++;
      continue;
    }
    const outcome = board.submit(submission);
    const context = `seed ${seed} op ${op}`;
    assert.equal(outcome.changed, expected.changed, `${context}: changed`);
    assert.equal(outcome.version, reference.version, `${context}: version`);
    assert.deepEqual(stripRank(outcome.entry), expected.entry, `${context}: entry`);
    if (expected.previous === null) assert.equal(outcome.previous, null, `${context}: previous`);
    else assert.deepEqual(outcome.previous === null ? null : stripRank(outcome.previous), expected.previous, `${context}: previous`);
    if (!outcome.changed) assert.equal(outcome.entry.rank, outcome.previous?.rank, `${context}: an unchanged entry keeps its rank`);
    if (op % RANK_SAMPLE_EVERY === 0) assert.equal(outcome.entry.rank, reference.rankOf(expected.entry), `${context}: rank`);

    if (op % CHECK_EVERY === 0) {
      assertSameRanking(board, reference, random, context);
      if (op % (4 * CHECK_EVERY) === 0) {
        // Rebuild from the reference's entries in a random order, as a restart would.
        const entries = shuffled([...reference.entries.values()], random);
        board = new BoardRanking(rules);
        board.load(entries, reference.version);
        assertSameRanking(board, reference, random, `${context} after load`);
      }
    }
  }
  assertSameRanking(board, reference, random, `seed ${seed} end`);
  if (workload.overflows === true) assert.ok(overflows > 0, 'some increments overflowed');
}

const smallScore = (range: number) => (random: () => number) => Math.floor(random() * range);
const wideScore = (random: () => number) => Math.floor((random() * 2 - 1) * MAX_SCORE);
const smallDelta = (random: () => number) => Math.floor(random() * 11) - 5;
const hugeDelta = (random: () => number) => Math.floor((random() * 2 - 1) * 2 ** 52) || 1;

describe('differential: BoardRanking against a sorted reference', () => {
  const workloads: [string, Workload][] = [
    ['desc best, heavy ties', { sortOrder: 'desc', operator: 'best', operations: 20_000, participants: 3_000, score: smallScore(40), timeSpread: 50 }],
    ['asc best, scores across ±(2^53−1)', { sortOrder: 'asc', operator: 'best', operations: 15_000, participants: 2_000, score: wideScore, timeSpread: 1_000 }],
    ['desc latest, ties and stale submissions', { sortOrder: 'desc', operator: 'latest', operations: 20_000, participants: 1_500, score: smallScore(8), timeSpread: 30 }],
    ['asc latest, long ids', { sortOrder: 'asc', operator: 'latest', operations: 10_000, participants: 1_000, score: smallScore(5), timeSpread: 5, longIds: true }],
    ['desc increment, small deltas', { sortOrder: 'desc', operator: 'increment', operations: 20_000, participants: 2_500, score: smallDelta, timeSpread: 20 }],
    ['asc increment, overflowing deltas', { sortOrder: 'asc', operator: 'increment', operations: 10_000, participants: 300, score: hugeDelta, timeSpread: 100, overflows: true }],
    ['desc best, many blocks', { sortOrder: 'desc', operator: 'best', operations: 25_000, participants: 12_000, score: smallScore(1_000_000), timeSpread: 1 }],
  ];
  workloads.forEach(([name, workload], i) => {
    it(`${name} (${workload.operations.toLocaleString('en-US')} operations)`, () => run(1_000 + i, workload));
  });
});
