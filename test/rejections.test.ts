/**
 * The recorder of refused submissions (service/rejections.ts) over a real
 * SQLite store: which refusals the participants' histories keep, what of a
 * malformed submission they keep, and that recording never fails a caller.
 * The HTTP path (every cause, both modes) is test/history.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newEpoch } from '../src/core/epoch.js';
import { LadderError } from '../src/core/errors.js';
import { MAX_PENDING_REJECTIONS, RejectionRecorder } from '../src/service/rejections.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import type { StoredRejection } from '../src/store/store.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

async function withStore(test: (store: SqliteStore, boardId: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-rejections-'));
  const store = await openSqliteStore({ dataDir, commitIntervalMs: 1, sync: 'normal' });
  try {
    await store.createBoard({ ...BOARD_DEFAULTS, id: 'b', name: 'b', sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1 }, newEpoch());
    await test(store, 'b');
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function rejectionsOf(store: SqliteStore, boardId: string, participantId: string): Promise<Omit<StoredRejection, 'id'>[]> {
  const page = await store.participantHistory(boardId, participantId, null, 100);
  return (page?.items ?? []).map((item) => {
    assert.equal(item.outcome, 'rejected');
    const { id: _, ...rejection } = (item as { rejection: StoredRejection }).rejection;
    return rejection;
  });
}

const invalidScore = new LadderError('invalid_score', 'score must be an integer within ±(2^53−1)', { field: 'score' });

describe('RejectionRecorder', () => {
  it('keeps the 4xx refusals of a valid participant, with what of the submission was well-formed', () =>
    withStore(async (store, boardId) => {
      const warnings: string[] = [];
      const recorder = new RejectionRecorder(store, (message) => warnings.push(message));
      await recorder.record(
        boardId,
        [
          { input: { participantId: 'alice', score: 1.5, timestamp: 42, eventId: 'e-1' }, error: invalidScore },
          { input: { participantId: 'alice', score: 'lots', timestamp: 'soon', eventId: 'has space' }, error: invalidScore },
          { input: { participantId: 'alice', score: Infinity }, error: new LadderError('score_overflow', 'too much') },
          // Not kept: the server could not take it (5xx), or the participant is not a valid one.
          { input: { participantId: 'alice', score: 1 }, error: new LadderError('storage_failed', 'disk full') },
          { input: { participantId: 'alice', score: 1 }, error: new LadderError('not_durable_yet', 'late') },
          { input: { participantId: 'no spaces allowed', score: 1 }, error: invalidScore },
          { input: { participantId: 7, score: 1 }, error: invalidScore },
          { input: {}, error: invalidScore },
        ],
        1_000,
      );
      assert.deepEqual(await rejectionsOf(store, boardId, 'alice'), [
        { boardId, participantId: 'alice', code: 'score_overflow', message: 'too much', submitted: null, timestamp: 1_000, eventId: null, receivedAt: 1_000 },
        { boardId, participantId: 'alice', code: 'invalid_score', message: invalidScore.message, submitted: null, timestamp: null, eventId: null, receivedAt: 1_000 },
        { boardId, participantId: 'alice', code: 'invalid_score', message: invalidScore.message, submitted: 1.5, timestamp: 42, eventId: 'e-1', receivedAt: 1_000 },
      ]);
      assert.equal(recorder.pending, 0);
      assert.deepEqual(warnings, []);
    }));

  it('resolves and warns when the store cannot take the rejections, and when too many wait', () =>
    withStore(async (store, boardId) => {
      const warnings: string[] = [];
      const recorder = new RejectionRecorder(store, (message) => warnings.push(message));
      const many = Array.from({ length: MAX_PENDING_REJECTIONS + 1 }, () => ({ input: { participantId: 'bob', score: 0.5 }, error: invalidScore }));
      await recorder.record(boardId, many);
      assert.deepEqual(await rejectionsOf(store, boardId, 'bob'), [], 'dropped, not queued');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`^${MAX_PENDING_REJECTIONS + 1} refused submission\\(s\\) were not recorded .*more than ${MAX_PENDING_REJECTIONS} were waiting`));

      await store.close();
      await recorder.record(boardId, [{ input: { participantId: 'bob', score: 0.5 }, error: invalidScore }]);
      assert.equal(recorder.pending, 0);
      assert.equal(warnings.length, 1, 'one warning a minute: the next loss is counted for it');
    }));
});
