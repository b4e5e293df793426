/**
 * Unit tests of the pure domain (src/core): operators and their convergence,
 * rank order, score limits, id rules, submission validation and fingerprints,
 * the window rules, config loading and the error catalogue.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema, loadConfig } from '../src/core/config.js';
import { boardNotFound, ErrorCodes, invalidField, LadderError, participantNotFound } from '../src/core/errors.js';
import { assertParticipantId, EVENT_ID_PATTERN, isBoardId, isParticipantId } from '../src/core/ids.js';
import { applySubmission } from '../src/core/operators.js';
import { compareKeys, isBetterScore, isValidScore, MAX_SCORE, MIN_SCORE } from '../src/core/ordering.js';
import { checkMetadata, checkSubmission, fingerprintOf, MAX_METADATA_BYTES, MAX_METADATA_KEYS, submissionFingerprint, toSubmission, type SubmissionInput } from '../src/core/submission.js';
import type { BoardRules, Entry, Operator, SortOrder, Submission } from '../src/core/types.js';
import { aroundSpan, aroundViewSize, neighborSpan } from '../src/core/windows.js';
import { random32, shuffled } from './helpers/random.js';

const T0 = 1_700_000_000_000;

function rules(operator: Operator, sortOrder: SortOrder = 'desc'): BoardRules {
  return { id: 'core', sortOrder, operator };
}

function sub(score: number, timestamp: number, metadata: Submission['metadata'] = null): Submission {
  return { participantId: 'p', score, timestamp, eventId: null, metadata };
}

function entry(score: number, achievedAt: number, updatedAt = achievedAt, metadata: Entry['metadata'] = null): Entry {
  return { participantId: 'p', score, achievedAt, updatedAt, metadata };
}

function applyAll(boardRules: BoardRules, submissions: readonly Submission[]): Entry {
  let current: Entry | null = null;
  for (const submission of submissions) current = applySubmission(boardRules, current, submission).entry;
  assert.ok(current !== null);
  return current;
}

describe('operators', () => {
  for (const operator of ['best', 'latest', 'increment'] as const) {
    it(`${operator}: a first submission creates the entry`, () => {
      const applied = applySubmission(rules(operator), null, sub(7, T0, { a: 1 }));
      assert.equal(applied.changed, true);
      assert.deepEqual(applied.entry, entry(7, T0, T0, { a: 1 }));
    });
  }

  describe('best', () => {
    it('a better score replaces the entry', () => {
      const current = entry(10, T0, T0 + 5, { old: true });
      const applied = applySubmission(rules('best'), current, sub(12, T0 + 3));
      assert.equal(applied.changed, true);
      assert.deepEqual(applied.entry, entry(12, T0 + 3, T0 + 5, { old: true }));
      assert.deepEqual(applySubmission(rules('best'), current, sub(12, T0 + 9, { new: true })).entry, entry(12, T0 + 9, T0 + 9, { new: true }));
    });

    it('a worse score changes nothing but updatedAt', () => {
      const current = entry(10, T0);
      const later = applySubmission(rules('best'), current, sub(9, T0 + 1));
      assert.equal(later.changed, false);
      assert.deepEqual(later.entry, entry(10, T0, T0 + 1));
      const older = applySubmission(rules('best'), current, sub(9, T0 - 1));
      assert.equal(older.changed, false);
      assert.equal(older.entry, current, 'nothing changed at all: the same object');
    });

    it('on asc boards the lower score is better', () => {
      assert.equal(applySubmission(rules('best', 'asc'), entry(10, T0), sub(9, T0 + 1)).entry.score, 9);
      assert.equal(applySubmission(rules('best', 'asc'), entry(10, T0), sub(11, T0 + 1)).changed, false);
    });

    it('the same score reached earlier moves achievedAt back; reached later changes nothing', () => {
      const current = entry(10, T0, T0 + 8);
      const earlier = applySubmission(rules('best'), current, sub(10, T0 - 4));
      assert.equal(earlier.changed, true);
      assert.deepEqual(earlier.entry, entry(10, T0 - 4, T0 + 8));
      const later = applySubmission(rules('best'), current, sub(10, T0 + 20));
      assert.equal(later.changed, false);
      assert.deepEqual(later.entry, entry(10, T0, T0 + 20));
    });
  });

  describe('latest', () => {
    it('a newer submission wins, even with a worse score', () => {
      const applied = applySubmission(rules('latest'), entry(10, T0), sub(3, T0 + 1, { m: 1 }));
      assert.equal(applied.changed, true);
      assert.deepEqual(applied.entry, entry(3, T0 + 1, T0 + 1, { m: 1 }));
    });

    it('an older submission is stale and changes nothing', () => {
      const current = entry(10, T0, T0 + 5);
      const applied = applySubmission(rules('latest'), current, sub(99, T0 + 4));
      assert.equal(applied.changed, false);
      assert.equal(applied.entry, current);
    });

    it('on the same timestamp the better score wins', () => {
      const current = entry(10, T0);
      assert.equal(applySubmission(rules('latest'), current, sub(11, T0)).entry.score, 11);
      assert.equal(applySubmission(rules('latest'), current, sub(9, T0)).changed, false);
      assert.equal(applySubmission(rules('latest', 'asc'), current, sub(9, T0)).entry.score, 9);
    });

    it('re-submitting the current score moves achievedAt to the newer submission (convergent)', () => {
      const applied = applySubmission(rules('latest'), entry(10, T0), sub(10, T0 + 7));
      assert.equal(applied.changed, true);
      assert.deepEqual(applied.entry, entry(10, T0 + 7, T0 + 7));
    });
  });

  describe('increment', () => {
    it('adds the delta; achievedAt is the latest contributing timestamp', () => {
      const up = applySubmission(rules('increment'), entry(10, T0 + 5), sub(5, T0 + 2));
      assert.equal(up.changed, true);
      assert.deepEqual(up.entry, entry(15, T0 + 5));
      assert.deepEqual(applySubmission(rules('increment'), entry(10, T0), sub(-25, T0 + 9)).entry, entry(-15, T0 + 9));
    });

    it('a zero delta keeps the score and counts towards achievedAt', () => {
      const later = applySubmission(rules('increment'), entry(10, T0), sub(0, T0 + 3));
      assert.equal(later.changed, true);
      assert.deepEqual(later.entry, entry(10, T0 + 3, T0 + 3));
      const earlier = applySubmission(rules('increment'), entry(10, T0 + 5), sub(0, T0 + 3));
      assert.equal(earlier.changed, false);
      assert.deepEqual(earlier.entry, entry(10, T0 + 5, T0 + 5));
    });

    it('reaching ±(2^53−1) exactly is fine; passing it throws score_overflow', () => {
      assert.equal(applySubmission(rules('increment'), entry(MAX_SCORE - 2, T0), sub(2, T0)).entry.score, MAX_SCORE);
      assert.equal(applySubmission(rules('increment'), entry(MIN_SCORE + 2, T0), sub(-2, T0)).entry.score, MIN_SCORE);
      for (const [score, delta] of [
        [MAX_SCORE - 2, 3],
        [MAX_SCORE, MAX_SCORE],
        [MIN_SCORE + 2, -3],
        [MIN_SCORE, MIN_SCORE],
      ] as const) {
        assert.throws(
          () => applySubmission(rules('increment'), entry(score, T0), sub(delta, T0)),
          (err: unknown) => err instanceof LadderError && err.code === 'score_overflow' && err.status === 400 && err.details?.field === 'score',
        );
      }
    });
  });

  describe('convergence: the order of submissions does not change the result', () => {
    function check(operator: Operator, sortOrder: SortOrder, draw: (random: () => number) => Submission, fields: (keyof Entry)[]): void {
      const random = random32(operator.length * 31 + sortOrder.length);
      for (let round = 0; round < 300; round++) {
        const submissions = Array.from({ length: 2 + Math.floor(random() * 8) }, () => draw(random));
        const expected = applyAll(rules(operator, sortOrder), submissions);
        for (let order = 0; order < 5; order++) {
          const actual = applyAll(rules(operator, sortOrder), shuffled(submissions, random));
          for (const field of fields) assert.equal(actual[field], expected[field], `${operator} ${field} round ${round}`);
        }
      }
    }
    // Few distinct scores and timestamps, so that ties are common.
    const score = (random: () => number) => Math.floor(random() * 4);
    const time = (random: () => number) => T0 + Math.floor(random() * 5);

    for (const sortOrder of ['desc', 'asc'] as const) {
      it(`best (${sortOrder}): score, achievedAt and updatedAt`, () => {
        check('best', sortOrder, (random) => sub(score(random), time(random)), ['score', 'achievedAt', 'updatedAt']);
      });
      it(`latest (${sortOrder}): score, achievedAt and updatedAt`, () => {
        check('latest', sortOrder, (random) => sub(score(random), time(random)), ['score', 'achievedAt', 'updatedAt']);
      });
    }

    it('increment with non-zero deltas: score, achievedAt and updatedAt', () => {
      check('increment', 'desc', (random) => sub((Math.floor(random() * 9) - 4) || 1, time(random)), ['score', 'achievedAt', 'updatedAt']);
    });

    it('increment with zero deltas: achievedAt', () => {
      const submissions = [sub(0, T0 + 5), sub(3, T0 + 1)];
      assert.equal(applyAll(rules('increment'), submissions).achievedAt, applyAll(rules('increment'), [...submissions].reverse()).achievedAt);
    });
  });
});

describe('ordering', () => {
  const key = (score: number, achievedAt: number, participantId: string) => ({ score, achievedAt, participantId });

  it('desc puts the higher score first, asc the lower', () => {
    assert.ok(compareKeys('desc', key(5, T0, 'a'), key(4, T0, 'a')) < 0);
    assert.ok(compareKeys('desc', key(4, T0, 'a'), key(5, T0, 'a')) > 0);
    assert.ok(compareKeys('asc', key(4, T0, 'b'), key(5, T0, 'a')) < 0);
    assert.ok(compareKeys('asc', key(5, T0, 'a'), key(4, T0, 'b')) > 0);
  });

  it('on equal scores the earlier achievedAt wins, in both orders', () => {
    for (const order of ['desc', 'asc'] as const) {
      assert.ok(compareKeys(order, key(5, T0, 'z'), key(5, T0 + 1, 'a')) < 0);
      assert.ok(compareKeys(order, key(5, T0 + 1, 'a'), key(5, T0, 'z')) > 0);
    }
  });

  it('then the participant id, in code-unit order; 0 only for the same participant', () => {
    assert.ok(compareKeys('desc', key(5, T0, 'B'), key(5, T0, 'a')) < 0);
    assert.ok(compareKeys('asc', key(5, T0, 'a'), key(5, T0, 'a0')) < 0);
    assert.ok(compareKeys('asc', key(5, T0, 'b'), key(5, T0, 'a')) > 0);
    assert.equal(compareKeys('desc', key(5, T0, 'a'), key(5, T0, 'a')), 0);
  });

  it('is exact at the limits', () => {
    assert.ok(compareKeys('desc', key(MAX_SCORE, T0, 'b'), key(MAX_SCORE - 1, T0, 'a')) < 0);
    assert.ok(compareKeys('asc', key(MIN_SCORE, T0, 'b'), key(MIN_SCORE + 1, T0, 'a')) < 0);
    assert.ok(compareKeys('desc', key(MIN_SCORE + 1, T0, 'b'), key(MIN_SCORE, T0, 'a')) < 0);
  });

  it('isBetterScore follows the sort order and is strict', () => {
    assert.equal(isBetterScore('desc', 2, 1), true);
    assert.equal(isBetterScore('desc', 1, 2), false);
    assert.equal(isBetterScore('asc', 1, 2), true);
    assert.equal(isBetterScore('asc', 2, 2), false);
    assert.equal(isBetterScore('desc', 2, 2), false);
  });

  it('isValidScore accepts exactly the integers within ±(2^53−1)', () => {
    for (const valid of [0, -0, 1, -1, MAX_SCORE, MIN_SCORE, 2 ** 52]) assert.equal(isValidScore(valid), true, String(valid));
    for (const invalid of [2 ** 53, -(2 ** 53), 1.5, -0.1, Number.NaN, Infinity, -Infinity, '1', null, undefined, 1n, [1], {}]) {
      assert.equal(isValidScore(invalid), false, String(invalid));
    }
    assert.equal(MAX_SCORE, 2 ** 53 - 1);
    assert.equal(MIN_SCORE, -(2 ** 53 - 1));
  });
});

describe('ids', () => {
  it('board ids: 1 to 64 URL-safe characters starting with a letter or digit', () => {
    for (const valid of ['a', 'Z9', 'season-1_final.v2~x', 'a'.repeat(64)]) assert.equal(isBoardId(valid), true, valid);
    for (const invalid of ['', '-a', '_a', '.a', 'a'.repeat(65), 'a/b', 'a b', 'é', 'a:b', 42, null]) assert.equal(isBoardId(invalid), false, String(invalid));
  });

  it('participant ids: 1 to 128 characters of A-Z a-z 0-9 _ . ~ : @ -', () => {
    for (const valid of ['a', '-', 'user@example.com', 'steam:7656', '~x_y.z', 'x'.repeat(128)]) assert.equal(isParticipantId(valid), true, valid);
    for (const invalid of ['', 'x'.repeat(129), 'a b', 'a/b', 'ä', 'a\n', 7, undefined]) assert.equal(isParticipantId(invalid), false, String(invalid));
  });

  it('assertParticipantId throws a 400 that names the field', () => {
    assert.doesNotThrow(() => assertParticipantId('ok'));
    assert.throws(
      () => assertParticipantId('not ok'),
      (err: unknown) => err instanceof LadderError && err.code === 'invalid_request' && err.status === 400 && err.details?.field === 'participant_id',
    );
    assert.throws(
      () => assertParticipantId(5, 'around'),
      (err: unknown) => err instanceof LadderError && err.details?.field === 'around' && err.message.startsWith('around '),
    );
  });

  it('event ids: 1 to 128 printable ASCII characters', () => {
    const eventId = new RegExp(EVENT_ID_PATTERN);
    for (const valid of ['a', '!~', 'x'.repeat(128), '{"retry":1}']) assert.equal(eventId.test(valid), true, valid);
    for (const invalid of ['', ' ', 'x'.repeat(129), 'a b', 'é']) assert.equal(eventId.test(invalid), false, invalid);
  });
});

describe('submission', () => {
  function refusal(field: string, code = 'invalid_request'): (err: unknown) => boolean {
    return (err: unknown) => err instanceof LadderError && err.code === code && err.status === 400 && err.details?.field === field;
  }

  it('completes the input: the timestamp defaults to now, no event id, no metadata, no fingerprint', () => {
    assert.deepEqual(toSubmission({ participantId: 'a', score: 5 }, T0), { participantId: 'a', score: 5, timestamp: T0, eventId: null, metadata: null });
    assert.deepEqual(toSubmission({ participantId: 'a', score: -5, timestamp: 0, eventId: null, metadata: { m: 1 } }, T0), {
      participantId: 'a',
      score: -5,
      timestamp: 0,
      eventId: null,
      metadata: { m: 1 },
    });
  });

  it('an event id brings a fingerprint of what a retry must repeat: not the time the server chose', () => {
    const chosen = toSubmission({ participantId: 'a', score: 5, eventId: 'e1' }, T0);
    assert.equal(chosen.fingerprint, fingerprintOf('a', 5, null, null));
    assert.equal(toSubmission({ participantId: 'a', score: 5, eventId: 'e1' }, T0 + 60_000).fingerprint, chosen.fingerprint);
    const given = toSubmission({ participantId: 'a', score: 5, eventId: 'e1', timestamp: T0, metadata: { m: 1 } }, T0);
    assert.equal(given.fingerprint, fingerprintOf('a', 5, T0, { m: 1 }));
    const fingerprints = new Set([
      chosen.fingerprint,
      given.fingerprint,
      fingerprintOf('b', 5, T0, { m: 1 }),
      fingerprintOf('a', 6, T0, { m: 1 }),
      fingerprintOf('a', 5, T0 + 1, { m: 1 }),
      fingerprintOf('a', 5, T0, { m: 2 }),
      fingerprintOf('a', 5, T0, null),
    ]);
    assert.equal(fingerprints.size, 7);
  });

  it("submissionFingerprint takes the submission's own, or one with its timestamp as given", () => {
    assert.equal(submissionFingerprint(toSubmission({ participantId: 'a', score: 5, eventId: 'e' }, T0)), fingerprintOf('a', 5, null, null));
    assert.equal(submissionFingerprint({ participantId: 'a', score: 5, timestamp: T0, eventId: 'e', metadata: null }), fingerprintOf('a', 5, T0, null));
  });

  it('refuses each bad field with its code and name', () => {
    const ok = { participantId: 'a', score: 1 };
    assert.throws(() => toSubmission({ ...ok, participantId: 'a b' }, T0), refusal('participant_id'));
    assert.throws(() => toSubmission({ ...ok, participantId: '..' }, T0), refusal('participant_id'));
    for (const score of [1.5, 2 ** 53, -(2 ** 53), Number.NaN, '1' as unknown as number]) {
      assert.throws(() => toSubmission({ ...ok, score }, T0), refusal('score', 'invalid_score'), String(score));
    }
    for (const timestamp of [-1, 1.5, 2 ** 53, '1' as unknown as number]) {
      assert.throws(() => toSubmission({ ...ok, timestamp }, T0), refusal('timestamp'), String(timestamp));
    }
    assert.equal(toSubmission({ ...ok, timestamp: MAX_SCORE }, T0).timestamp, MAX_SCORE);
    for (const eventId of ['', 'a b', 'x'.repeat(129), 'é']) assert.throws(() => toSubmission({ ...ok, eventId }, T0), refusal('event_id'), eventId);
    assert.throws(() => toSubmission({ ...ok, metadata: [1] as unknown as Submission['metadata'] }, T0), refusal('metadata'));
    assert.throws(() => toSubmission(null as unknown as SubmissionInput, T0), refusal('body'));
  });

  it('prefixes the field of a batch item', () => {
    assert.throws(() => toSubmission({ participantId: 'a', score: 0.5 }, T0, 'scores[3]'), refusal('scores[3].score', 'invalid_score'));
    assert.throws(
      () => toSubmission({ participantId: 'a', score: 1, eventId: ' ' }, T0, 'scores[0]'),
      (err: unknown) => refusal('scores[0].event_id')(err) && (err as Error).message.startsWith('scores[0].event_id '),
    );
    assert.throws(() => toSubmission(7 as unknown as SubmissionInput, T0, 'scores[2]'), refusal('scores[2]'));
  });

  it('checkSubmission refuses what toSubmission refuses, in a completed submission', () => {
    assert.doesNotThrow(() => checkSubmission({ participantId: 'a', score: 1, timestamp: T0, eventId: 'e', metadata: null }));
    assert.throws(() => checkSubmission({ participantId: 'a', score: 1.5, timestamp: T0, eventId: null, metadata: null }), refusal('score', 'invalid_score'));
    assert.throws(() => checkSubmission({ participantId: 'a', score: 1, timestamp: -1, eventId: null, metadata: null }, 'scores[1]'), refusal('scores[1].timestamp'));
  });

  it(`metadata: a JSON object of at most ${MAX_METADATA_KEYS} keys and ${MAX_METADATA_BYTES} bytes of UTF-8`, () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    assert.doesNotThrow(() => checkMetadata(keys(MAX_METADATA_KEYS), 'metadata'));
    assert.throws(() => checkMetadata(keys(MAX_METADATA_KEYS + 1), 'metadata'), refusal('metadata'));
    for (const bad of ['x', 1, [], true]) assert.throws(() => checkMetadata(bad, 'm'), refusal('m'), JSON.stringify(bad));
    assert.doesNotThrow(() => checkMetadata(null, 'metadata'));
    assert.doesNotThrow(() => checkMetadata(undefined, 'metadata'));
    // '{"k":"…"}' is 8 bytes around the text; é is 2 bytes, € 3, 😀 4 (a surrogate pair).
    for (const [char, bytes] of [
      ['a', 1],
      ['é', 2],
      ['€', 3],
      ['😀', 4],
    ] as const) {
      const fits = Math.floor((MAX_METADATA_BYTES - 8) / bytes);
      assert.doesNotThrow(() => checkMetadata({ k: char.repeat(fits) }, 'metadata'), `${fits} × ${char}`);
      assert.throws(() => checkMetadata({ k: char.repeat(fits + 1) }, 'metadata'), refusal('metadata'), `${fits + 1} × ${char}`);
    }
  });

  it('metadata nested deeper than JSON.stringify can go is refused, not a crash', () => {
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 100_000; i++) {
      const child: Record<string, unknown> = {};
      node.a = child;
      node = child;
    }
    assert.throws(() => checkMetadata(root, 'metadata'), refusal('metadata'));
  });
});

describe('windows', () => {
  const ranksOf = ({ offset, limit }: { offset: number; limit: number }, total: number) => {
    const ranks: number[] = [];
    for (let rank = offset + 1; rank <= Math.min(total, offset + limit); rank++) ranks.push(rank);
    return ranks;
  };

  it('around: centred, the extra entry of an even size below, shifted inward at the edges', () => {
    assert.deepEqual(ranksOf(aroundSpan(5, 10, 5), 10), [3, 4, 5, 6, 7]);
    assert.deepEqual(ranksOf(aroundSpan(1, 10, 5), 10), [1, 2, 3, 4, 5]);
    assert.deepEqual(ranksOf(aroundSpan(10, 10, 5), 10), [6, 7, 8, 9, 10]);
    assert.deepEqual(ranksOf(aroundSpan(5, 10, 4), 10), [4, 5, 6, 7]);
    assert.deepEqual(ranksOf(aroundSpan(2, 3, 5), 3), [1, 2, 3]);
    assert.deepEqual(ranksOf(aroundSpan(1, 1, 1), 1), [1]);
  });

  it('around always holds the rank and min(size, total) entries', () => {
    for (let total = 1; total <= 12; total++) {
      for (let size = 1; size <= 14; size++) {
        for (let rank = 1; rank <= total; rank++) {
          const span = aroundSpan(rank, total, size);
          const ranks = ranksOf(span, total);
          const context = `rank ${rank} of ${total}, size ${size}`;
          assert.equal(ranks.length, Math.min(size, total), context);
          assert.ok(ranks.includes(rank), context);
          assert.ok(span.offset >= 0, context);
          const above = Math.floor((size - 1) / 2);
          if (rank - above >= 1 && rank - above + size - 1 <= total) assert.equal(ranks[0], rank - above, `${context}: centred`);
        }
      }
    }
  });

  it('a live view of radius r is 2r + 1 entries, the same as neighbors away from the edges', () => {
    assert.equal(aroundViewSize(0), 1);
    assert.equal(aroundViewSize(3), 7);
    assert.deepEqual(ranksOf(aroundSpan(50, 100, aroundViewSize(3)), 100), ranksOf(neighborSpan(50, 3), 100));
  });

  it('neighbors: cut off at the edges, not shifted', () => {
    assert.deepEqual(ranksOf(neighborSpan(5, 2), 10), [3, 4, 5, 6, 7]);
    assert.deepEqual(ranksOf(neighborSpan(1, 2), 10), [1, 2, 3]);
    assert.deepEqual(ranksOf(neighborSpan(2, 2), 10), [1, 2, 3, 4]);
    assert.deepEqual(ranksOf(neighborSpan(10, 2), 10), [8, 9, 10]);
    assert.deepEqual(ranksOf(neighborSpan(4, 0), 10), [4]);
    assert.deepEqual(neighborSpan(1, 0), { offset: 0, limit: 1 });
  });
});

describe('config', () => {
  it('every option has its default when nothing is set', () => {
    const config = loadConfig({});
    for (const [key, option] of Object.entries(configSchema)) assert.equal(config[key as keyof typeof config], option.default, key);
    assert.equal(config.port, 8080);
    assert.equal(config.adminKey, null);
  });

  it('parses every kind of value', () => {
    const config = loadConfig({
      LADDER_PORT: '9000',
      LADDER_READ_AUTH: 'yes',
      LADDER_ADMIN_KEY: 'secret',
      LADDER_LOG_LEVEL: 'debug',
      LADDER_SQLITE_SYNC: 'normal',
      LADDER_HOST: '0.0.0.0',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.readAuth, true);
    assert.equal(config.adminKey, 'secret');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.sqliteSync, 'normal');
    assert.equal(config.host, '0.0.0.0');
    assert.equal(loadConfig({ LADDER_READ_AUTH: 'OFF' }).readAuth, false);
    assert.equal(loadConfig({ LADDER_ADMIN_KEY: '' }).adminKey, null);
  });

  it('a bad value stops with a message that names the variable', () => {
    for (const [variable, value] of [
      ['LADDER_PORT', 'eighty'],
      ['LADDER_PORT', '65536'],
      ['LADDER_PORT', '80.5'],
      ['LADDER_TICK_MS', '0'],
      ['LADDER_LOG_LEVEL', 'loud'],
      ['LADDER_READ_AUTH', 'maybe'],
      ['LADDER_SQLITE_SYNC', ''],
    ] as const) {
      assert.throws(() => loadConfig({ [variable]: value }), (err: unknown) => err instanceof Error && err.message.includes(variable), `${variable}=${value}`);
    }
  });

  it('is frozen, and overrides win', () => {
    const config = loadConfig({ LADDER_PORT: '1234' }, { port: 0 });
    assert.equal(config.port, 0);
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });
});

describe('errors', () => {
  it('toBody has code and message, and details only when given', () => {
    const plain = new LadderError('shutting_down', 'go elsewhere');
    assert.deepEqual(plain.toBody(), { error: { code: 'shutting_down', message: 'go elsewhere' } });
    assert.ok(!('details' in plain.toBody().error));
    const detailed = new LadderError('invalid_score', 'bad', { field: 'score' });
    assert.deepEqual(detailed.toBody(), { error: { code: 'invalid_score', message: 'bad', details: { field: 'score' } } });
  });

  it('takes its status from the catalogue', () => {
    for (const code of Object.keys(ErrorCodes) as (keyof typeof ErrorCodes)[]) {
      const err = new LadderError(code, 'x');
      assert.equal(err.status, ErrorCodes[code].status, code);
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'LadderError');
    }
  });

  it('helpers build the common errors', () => {
    assert.deepEqual(invalidField('limit', 'must be positive').toBody(), {
      error: { code: 'invalid_request', message: 'limit must be positive', details: { field: 'limit' } },
    });
    const board = boardNotFound('b1');
    assert.equal(board.status, 404);
    assert.deepEqual(board.details, { leaderboard_id: 'b1' });
    const participant = participantNotFound('b1', 'p1');
    assert.equal(participant.code, 'participant_not_found');
    assert.deepEqual(participant.details, { leaderboard_id: 'b1', participant_id: 'p1' });
  });
});
