/**
 * The service when the durable store fails: a failed commit is never
 * acknowledged, and no later write (a retry above all) builds on it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { LadderError } from '../src/core/errors.js';
import type { Submission } from '../src/core/types.js';
import { LocalBus } from '../src/feed/bus.js';
import { MemoryIndex } from '../src/index/memory.js';
import { Ladder } from '../src/service/ladder.js';
import { openSqliteStore } from '../src/store/sqlite.js';

const submission = (score: number, eventId: string): Submission => ({ participantId: 'p', score, timestamp: 1, eventId, metadata: null });

it('refuses every write after a failed commit, so a retry cannot apply twice', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ladder-service-'));
  try {
    const store = await openSqliteStore({ dataDir, commitIntervalMs: 0, sync: 'normal' });
    // Fault injection: the disk "fails" once, as SQLITE_FULL or an I/O error would.
    const appendEvents = store.appendEvents.bind(store);
    let failNext = false;
    store.appendEvents = (events) => (failNext ? ((failNext = false), Promise.reject(new Error('disk I/O error'))) : appendEvents(events));

    const ladder = await Ladder.open({ config: loadConfig({}), index: new MemoryIndex(), store, bus: new LocalBus() });
    await ladder.createBoard({ id: 'points', sortOrder: 'desc', operator: 'increment' });
    await ladder.submit('points', submission(1, 'e1'));
    failNext = true;
    await assert.rejects(ladder.submit('points', submission(10, 'e2')), (err: LadderError) => err.code === 'storage_failed' && err.status === 503);
    await assert.rejects(ladder.submit('points', submission(10, 'e2')), (err: LadderError) => err.code === 'storage_failed');
    await ladder.close();

    const reopened = await openSqliteStore({ dataDir, commitIntervalMs: 0, sync: 'normal' });
    const restarted = await Ladder.open({ config: loadConfig({}), index: new MemoryIndex(), store: reopened, bus: new LocalBus() });
    assert.equal((await restarted.participant('points', 'p', 0)).entry.score, 1);
    assert.equal((await restarted.submit('points', submission(10, 'e2'))).score, 11);
    await restarted.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
