/**
 * The differential test of a RankIndex (STYLE.md "Tests"): seeded random
 * workloads go through the index's port (apply in batches, read, load) and
 * through a plain model (test/helpers/reference-board.ts) that shares no code
 * with the engine. Every apply outcome is compared with the model's, and at
 * checkpoints every rank, by reads of pages, windows and participants.
 *
 *   indexDifferential('MemoryIndex', async () => new MemoryIndex());
 *
 * Boards get random ids and are dropped at the end. The workloads reuse event
 * ids a few thousand apart at most, so any index that remembers the last
 * 10,000 event ids of a board (dedupRetention) gives the model's answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LadderError } from '../../src/core/errors.js';
import type { Metadata, Operator, SortOrder, Submission } from '../../src/core/types.js';
import type { RankIndex, RankPage, RankQuery, SubmitOutcome } from '../../src/index/index.js';
import { random32, shuffled } from '../helpers/random.js';
import { ReferenceBoard, type ModelResult } from '../helpers/reference-board.js';

const MAX = Number.MAX_SAFE_INTEGER;

export interface Workload {
  readonly sortOrder: SortOrder;
  readonly operator: Operator;
  readonly submissions: number;
  readonly participants: number;
  /** Draws a score (a delta under increment). */
  readonly score: (random: () => number) => number;
  /** Width of the window of timestamps; a small one repeats them, and any one goes back in time. */
  readonly timeSpread: number;
  readonly longIds?: boolean;
  /** The deltas are large enough that some increments must overflow. */
  readonly overflows?: boolean;
}

const smallScore = (range: number) => (random: () => number) => Math.floor(random() * range);
const wideScore = (random: () => number) => Math.floor((random() * 2 - 1) * MAX);
const smallDelta = (random: () => number) => Math.floor(random() * 11) - 5;
const hugeDelta = (random: () => number) => Math.floor((random() * 2 - 1) * 2 ** 52) || 1;

export const WORKLOADS: readonly [string, Workload][] = [
  ['desc best, heavy ties', { sortOrder: 'desc', operator: 'best', submissions: 20_000, participants: 3_000, score: smallScore(40), timeSpread: 50 }],
  ['asc best, scores across ±(2^53−1)', { sortOrder: 'asc', operator: 'best', submissions: 15_000, participants: 2_000, score: wideScore, timeSpread: 1_000 }],
  ['desc latest, ties and stale submissions', { sortOrder: 'desc', operator: 'latest', submissions: 20_000, participants: 1_500, score: smallScore(8), timeSpread: 30 }],
  ['asc latest, long ids', { sortOrder: 'asc', operator: 'latest', submissions: 10_000, participants: 1_000, score: smallScore(5), timeSpread: 5, longIds: true }],
  ['desc increment, small deltas', { sortOrder: 'desc', operator: 'increment', submissions: 20_000, participants: 2_500, score: smallDelta, timeSpread: 20 }],
  ['asc increment, overflowing deltas', { sortOrder: 'asc', operator: 'increment', submissions: 10_000, participants: 300, score: hugeDelta, timeSpread: 100, overflows: true }],
  ['desc best, many blocks', { sortOrder: 'desc', operator: 'best', submissions: 25_000, participants: 12_000, score: smallScore(1_000_000), timeSpread: 1 }],
];

/** Submissions between two full comparisons; every fourth one rebuilds the board with load. */
const CHECK_EVERY = 2_500;
/** A full comparison reads the board in pages of this many entries, all in one read. */
const PAGE = 1_000;
const MAX_BATCH = 64;
/** Share of submissions with an event id, and of those that reuse an earlier one. */
const WITH_EVENT_ID = 0.3;
const RETRY = 0.04;
const CONFLICT = 0.01;
/** A retry reuses one of the last this many event ids. */
const RECENT_EVENTS = 2_000;

function participantId(k: number, long: boolean): string {
  // Long ids share a 120-character prefix, so only their tails decide a tie.
  return long ? `${'x'.repeat(120)}${k.toString(36).padStart(8, '0')}` : `p${k}`;
}

function plain(result: SubmitOutcome | LadderError): ModelResult {
  if (result instanceof LadderError) {
    assert.ok(result.code === 'score_overflow' || result.code === 'event_id_conflict', `unexpected ${result.code}: ${result.message}`);
    return { error: result.code };
  }
  return { entry: result.entry, previous: result.previous, changed: result.changed, version: result.version, duplicate: result.duplicate };
}

/** One run's draws: submissions, some of them retries of earlier event ids or conflicting reuses. */
class Draws {
  readonly #random: () => number;
  readonly #workload: Workload;
  readonly #recent: Submission[] = [];
  #clock = 1_700_000_000_000;
  #events = 0;

  constructor(random: () => number, workload: Workload) {
    this.#random = random;
    this.#workload = workload;
  }

  next(n: number): Submission {
    const random = this.#random;
    const reuse = random();
    if (this.#recent.length > 0 && reuse < RETRY + CONFLICT) {
      const earlier = this.#recent[Math.floor(random() * this.#recent.length)]!;
      // A retry is the same submission; a conflict changes one of its fields.
      if (reuse < RETRY) return earlier;
      const field = Math.floor(random() * 3);
      if (field === 0) return { ...earlier, score: earlier.score + 1 };
      if (field === 1) return { ...earlier, timestamp: earlier.timestamp + 1 };
      return { ...earlier, metadata: { conflict: n } };
    }
    this.#clock += Math.floor(random() * 3);
    const metadata: Metadata | null = random() < 0.05 ? { n, tag: n % 3 === 0 ? 'even' : 'odd' } : null;
    const submission: Submission = {
      participantId: participantId(Math.floor(random() * this.#workload.participants), this.#workload.longIds === true),
      score: this.#workload.score(random),
      timestamp: this.#clock - Math.floor(random() * this.#workload.timeSpread),
      eventId: random() < WITH_EVENT_ID ? `ev-${this.#events++}` : null,
      metadata,
    };
    if (submission.eventId !== null) {
      this.#recent.push(submission);
      if (this.#recent.length > RECENT_EVENTS) this.#recent.shift();
    }
    return submission;
  }
}

export function indexDifferential(name: string, makeIndex: () => Promise<RankIndex>, workloads: readonly [string, Workload][] = WORKLOADS): void {
  describe(`RankIndex differential: ${name} against a sorted-array model`, () => {
    let index: RankIndex;
    const opened: string[] = [];

    before(async () => {
      index = await makeIndex();
    });

    after(async () => {
      for (const boardId of opened) await index.drop(boardId);
    });

    /** Compares every rank, and windows around sampled participants, in reads of many queries each. */
    async function assertSameRanking(boardId: string, model: ReferenceBoard, random: () => number, context: string): Promise<void> {
      const pages: RankQuery[] = [];
      for (let offset = 0; offset <= model.total; offset += PAGE) pages.push({ kind: 'page', offset, limit: PAGE });
      const read = await index.read(boardId, pages);
      assert.equal(read.epoch, model.epoch, `${context}: epoch`);
      assert.equal(read.version, model.version, `${context}: version`);
      assert.equal(read.total, model.total, `${context}: total`);
      const actual = read.pages.flatMap((page) => page.entries);
      const expected = model.ranking();
      assert.equal(actual.length, expected.length, `${context}: entries read`);
      for (let i = 0; i < expected.length; i++) assert.deepEqual(actual[i], expected[i], `${context}: rank ${i + 1}`);

      const ids = model.entries().map((e) => e.participantId);
      const pick = () => (ids.length === 0 || random() < 0.1 ? 'absent' : ids[Math.floor(random() * ids.length)]!);
      const probes: { query: RankQuery; want: RankPage }[] = [];
      for (let i = 0; i < 40; i++) {
        const kind = i % 4;
        if (kind === 0) {
          const size = 1 + Math.floor(random() * 30);
          const participantId = pick();
          probes.push({ query: { kind: 'around', participantId, size }, want: model.around(participantId, size) });
        } else if (kind === 1) {
          const radius = Math.floor(random() * 6);
          const participantId = pick();
          probes.push({ query: { kind: 'neighbors', participantId, radius }, want: model.neighbors(participantId, radius) });
        } else if (kind === 2) {
          const participantIds = Array.from({ length: Math.floor(random() * 12) }, pick);
          probes.push({ query: { kind: 'participants', participantIds }, want: { entries: model.participants(participantIds), focus: null } });
        } else {
          const offset = Math.floor(random() * (model.total + 10));
          const limit = Math.floor(random() * 50);
          probes.push({ query: { kind: 'page', offset, limit }, want: { entries: model.ranks(offset + 1, offset + limit), focus: null } });
        }
      }
      const probed = await index.read(
        boardId,
        probes.map((p) => p.query),
      );
      assert.equal(probed.version, model.version, `${context}: version of the probes`);
      probes.forEach((probe, i) => assert.deepEqual(probed.pages[i], probe.want, `${context}: ${JSON.stringify(probe.query)}`));
    }

    async function run(seed: number, workload: Workload): Promise<void> {
      const random = random32(seed);
      const boardId = `diff-${randomBytes(6).toString('hex')}`;
      const initial = { epoch: `epoch-${seed}`, version: Math.floor(random() * 1_000) };
      await index.open({ id: boardId, sortOrder: workload.sortOrder, operator: workload.operator }, initial);
      opened.push(boardId);
      const model = new ReferenceBoard(workload.sortOrder, workload.operator, initial);
      const draws = new Draws(random, workload);
      const seen = { score_overflow: 0, event_id_conflict: 0, duplicate: 0 };
      let rebuilds = 0;
      let done = 0;
      while (done < workload.submissions) {
        // Batches end at checkpoints, so that a checkpoint falls between two calls.
        const untilCheck = CHECK_EVERY - (done % CHECK_EVERY);
        const size = Math.min(untilCheck, workload.submissions - done, 1 + Math.floor(random() * MAX_BATCH));
        const batch = Array.from({ length: size }, (_, i) => draws.next(done + i));
        const results = await index.apply(boardId, batch);
        assert.equal(results.length, batch.length);
        for (let i = 0; i < batch.length; i++) {
          const expected = model.apply(batch[i]!);
          const actual = plain(results[i]!);
          assert.deepEqual(actual, expected, `seed ${seed}, submission ${done + i + 1}: ${JSON.stringify(batch[i])}`);
          if ('error' in expected) seen[expected.error]++;
          else if (expected.duplicate) seen.duplicate++;
        }
        done += size;

        if (done % CHECK_EVERY === 0) {
          const context = `seed ${seed} after ${done}`;
          await assertSameRanking(boardId, model, random, context);
          if (done % (4 * CHECK_EVERY) === 0) {
            // A rebuild from the durable store, in a random order, with a new epoch.
            rebuilds++;
            const state = { epoch: `epoch-${seed}-${rebuilds}`, version: model.version + Math.floor(random() * 3) };
            const entries = shuffled(model.entries(), random);
            await index.load(boardId, entries, state);
            model.load(entries, state);
            await assertSameRanking(boardId, model, random, `${context}, rebuilt`);
          }
        }
      }
      await assertSameRanking(boardId, model, random, `seed ${seed} end`);
      assert.ok(seen.duplicate > 0, 'some retries were duplicates');
      assert.ok(seen.event_id_conflict > 0, 'some reused event ids conflicted');
      if (workload.overflows === true) assert.ok(seen.score_overflow > 0, 'some increments overflowed');
    }

    workloads.forEach(([label, workload], i) => {
      it(`${label} (${workload.submissions.toLocaleString('en-US')} submissions)`, () => run(1_000 + i, workload));
    });
  });
}
