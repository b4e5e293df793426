/**
 * The service over the embedded backend: validation whoever calls, event-id
 * deduplication and conflicts, one consistent state per read, lazy loading
 * and release of boards, the registry on the bus, and a real failed commit
 * (a full disk) that fails only its own submissions.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedBackend } from '../src/backend/embedded.js';
import { loadConfig } from '../src/core/config.js';
import { LadderError } from '../src/core/errors.js';
import type { SubmissionInput } from '../src/core/submission.js';
import { LocalBus } from '../src/feed/bus.js';
import { Ladder } from '../src/service/ladder.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Opened {
  readonly ladder: Ladder;
  readonly backend: EmbeddedBackend;
  readonly bus: LocalBus;
  readonly dataDir: string;
}

async function open(dataDir = mkdtempSync(join(tmpdir(), 'ladder-service-')), boardIdleMs = 0): Promise<Opened> {
  dirs.push(dataDir);
  const store = await openSqliteStore({ dataDir, commitIntervalMs: 0, sync: 'normal' });
  const bus = new LocalBus();
  const backend = new EmbeddedBackend(store, bus, { boardIdleMs });
  const ladder = await Ladder.open({ config: loadConfig({}), backend, store, bus });
  return { ladder, backend, bus, dataDir };
}

const score = (participantId: string, value: number, extra: Partial<SubmissionInput> = {}): SubmissionInput => ({ participantId, score: value, ...extra });

function isCode(code: string): (err: unknown) => boolean {
  return (err) => err instanceof LadderError && err.code === code;
}

describe('validation in the service and the port', () => {
  it('refuses a fractional or out-of-range score, a bad id and oversized metadata with the HTTP codes, and keeps accepting writes', async () => {
    const { ladder, backend } = await open();
    await ladder.createBoard({ id: 'b', sortOrder: 'desc', operator: 'best' });
    await assert.rejects(ladder.submit('b', score('p', 1.5)), isCode('invalid_score'));
    await assert.rejects(ladder.submit('b', score('p', 2 ** 53)), isCode('invalid_score'));
    await assert.rejects(ladder.submit('b', score('..', 1)), isCode('invalid_request'));
    await assert.rejects(ladder.submit('b', score('p', 1, { metadata: { blob: 'x'.repeat(5000) } })), isCode('invalid_request'));
    await assert.rejects(ladder.submit('b', score('p', 1, { timestamp: -1 })), isCode('invalid_request'));
    // The port checks too, for callers that build Submissions themselves.
    const rules = ladder.boardRules('b')!;
    const { outcomes } = await backend.submit(rules, [{ participantId: 'p', score: 0.5, timestamp: 1, eventId: null, metadata: null }]);
    assert.ok(isCode('invalid_score')(outcomes[0]));
    // Nothing latched: the next write is accepted and committed.
    assert.equal((await ladder.submit('b', score('p', 7))).version, 1);
    const results = await ladder.submitMany('b', [score('q', 1), score('q', 1.25), score('r', 2)], ['scores[0]', 'scores[1]', 'scores[2]']);
    assert.equal((results[1] as LadderError).details?.field, 'scores[1].score');
    assert.deepEqual(results.map((r) => (r instanceof LadderError ? r.code : r.version)), [2, 'invalid_score', 3]);
    await ladder.close();
  });
});

describe('event ids', () => {
  it('answers a retry with the first answer, and a reused id with another submission with event_id_conflict', async () => {
    const { ladder, dataDir } = await open();
    await ladder.createBoard({ id: 'b', sortOrder: 'desc', operator: 'increment' });
    const first = await ladder.submit('b', score('p', 5, { eventId: 'e1' }));
    assert.deepEqual(await ladder.submit('b', score('p', 5, { eventId: 'e1' })), first);
    await assert.rejects(ladder.submit('b', score('p', 6, { eventId: 'e1' })), isCode('event_id_conflict'));
    await assert.rejects(ladder.submit('b', score('q', 5, { eventId: 'e1' })), isCode('event_id_conflict'));
    await assert.rejects(ladder.submit('b', score('p', 5, { eventId: 'e1', timestamp: 123 })), isCode('event_id_conflict'));
    // Within one batch, the repeat is the first's answer.
    const batch = await ladder.submitMany('b', [score('p', 1, { eventId: 'e2' }), score('p', 1, { eventId: 'e2' })]);
    assert.deepEqual(batch[1], batch[0]);
    assert.equal((await ladder.participant('b', 'p', 0)).entry.score, 6);
    await ladder.close();

    // After a restart the store answers for the ranking, which has forgotten the ids.
    const again = await open(dataDir);
    const retried = await again.ladder.submit('b', score('p', 5, { eventId: 'e1' }));
    assert.equal(retried.score, first.score);
    assert.equal(retried.version, first.version);
    await assert.rejects(again.ladder.submit('b', score('p', 9, { eventId: 'e1' })), isCode('event_id_conflict'));
    assert.equal((await again.ladder.participant('b', 'p', 0)).entry.score, 6);
    await again.ladder.close();
  });

  it('answers concurrent retries of one event id once, applied once', async () => {
    const { ladder } = await open();
    await ladder.createBoard({ id: 'b', sortOrder: 'desc', operator: 'increment' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => ladder.submit('b', score('p', 3, { eventId: 'same' }))));
    for (const answer of answers) assert.deepEqual(answer, answers[0]);
    assert.equal((await ladder.participant('b', 'p', 0)).entry.score, 3);
    await ladder.close();
  });
});

describe('reads', () => {
  it('answers every page from one state while a batch of 1,000 is applied', async () => {
    const { ladder } = await open();
    await ladder.createBoard({ id: 'b', sortOrder: 'desc', operator: 'best' });
    // Each submission brings a new participant, so a page read at version v holds exactly v entries.
    const batch = ladder.submitMany('b', Array.from({ length: 1000 }, (_, i) => score(`p${i}`, i)));
    const pages = [];
    for (let i = 0; i < 200; i++) {
      pages.push(ladder.rankings('b', { limit: 1000, offset: 0 }));
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await batch;
    pages.push(ladder.rankings('b', { limit: 1000, offset: 0 }));
    for (const page of await Promise.all(pages)) {
      assert.equal(page.entries.length, page.version);
      assert.equal(page.total, page.version);
    }
    const standing = await ladder.participant('b', 'p500', 2);
    assert.equal(standing.entry.rank, 500);
    assert.deepEqual([...standing.above, ...standing.below].map((e) => e.rank), [498, 499, 501, 502]);
    await ladder.close();
  });
});

describe('boards in memory', () => {
  it('loads a board on first use and releases it when idle, with the same answers after', async () => {
    const { ladder, dataDir } = await open();
    await ladder.createBoard({ id: 'b', sortOrder: 'desc', operator: 'best' });
    await ladder.submitMany('b', [score('a', 3), score('b', 2)]);
    const before = await ladder.rankings('b', { limit: 10, offset: 0 });
    await ladder.close();

    const again = await open(dataDir, 100);
    assert.equal(again.backend.loadedBoards, 0, 'open loads no entries');
    assert.equal((await again.ladder.getBoard('b')).total, 2, 'the count comes from the store');
    assert.equal(again.backend.loadedBoards, 0);
    assert.deepEqual(await again.ladder.rankings('b', { limit: 10, offset: 0 }), before);
    assert.equal(again.backend.loadedBoards, 1);
    while (again.backend.loadedBoards > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await again.ladder.rankings('b', { limit: 10, offset: 0 }), before);
    await again.ladder.close();
  });
});

describe('registry', () => {
  it('applies board changes heard on the bus, as from another process', async () => {
    const { ladder, bus } = await open();
    const config = { ...BOARD_DEFAULTS, id: 'elsewhere', name: 'elsewhere', sortOrder: 'desc' as const, operator: 'best' as const, metadata: null, createdAt: 1 };
    bus.publish({ kind: 'board_created', config });
    assert.equal(ladder.boardRules('elsewhere')?.name, 'elsewhere');
    bus.publish({ kind: 'board_changed', config: { ...config, name: 'renamed' } });
    assert.equal(ladder.boardRules('elsewhere')?.name, 'renamed');
    bus.publish({ kind: 'board_deleted', boardId: 'elsewhere' });
    assert.equal(ladder.boardRules('elsewhere'), undefined);
    await ladder.close();
  });
});

/**
 * A real full disk: the data directory is a tiny tmpfs. Mounting needs root,
 * which CI has; elsewhere the test says why it is skipped.
 */
function tinyDisk(): { dir: string; unmount(): void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'ladder-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.CI === 'true') throw err;
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); run as root to test a full disk`;
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('a failed commit', () => {
  const disk = tinyDisk();
  it('refuses only its own submissions; the board reloads from the disk with a new epoch and a retry applies once', { skip: typeof disk === 'string' ? disk : false }, async () => {
    const { dir, unmount } = disk as Exclude<typeof disk, string>;
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const { ladder } = await open(dataDir);
    try {
      await ladder.createBoard({ id: 'points', sortOrder: 'desc', operator: 'increment' });
      const committed = await ladder.submit('points', score('p', 1, { eventId: 'e1' }));
      // Fill what is left of the disk, so that the next commit fails with SQLITE_FULL.
      const ballast = join(dir, 'ballast');
      try {
        writeFileSync(ballast, Buffer.alloc(4 * 1024 * 1024));
      } catch {
        // ENOSPC: the disk is full, as wanted.
      }
      const big = { blob: 'x'.repeat(4000) };
      const failed = await ladder.submitMany(
        'points',
        Array.from({ length: 200 }, (_, i) => score('p', 10, { eventId: `e2-${i}`, metadata: big })),
      );
      assert.ok(failed.every(isCode('storage_failed')), JSON.stringify(failed.slice(0, 2)));
      rmSync(ballast, { force: true });

      // Writes go on, on a board reloaded from what is durable, in a new epoch.
      const retried = await ladder.submit('points', score('p', 10, { eventId: 'e2-0' }));
      assert.equal(retried.score, 11);
      assert.notEqual(retried.epoch, committed.epoch);
      assert.equal((await ladder.submit('points', score('p', 10, { eventId: 'e2-0' }))).score, 11, 'the retry of the retry changes nothing');
      assert.equal((await ladder.participant('points', 'p', 0)).entry.score, 11);
    } finally {
      await ladder.close();
      unmount();
    }
  });
});
