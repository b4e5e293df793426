/**
 * Restarts from a checkpoint plus the log, through the embedded backend on a
 * real SQLite store: for every operator and sort order, a board restarted
 * (cleanly, several times, with checkpoints taken along the way) answers
 * exactly the ranking it had before, entry by entry with its times and
 * metadata, and exactly what a fresh ranking fed every submission answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedBackend } from '../src/backend/embedded.js';
import { newEpoch } from '../src/core/epoch.js';
import type { BoardRules, Metadata, Operator, RankedEntry, SortOrder, Submission } from '../src/core/types.js';
import { LocalBus } from '../src/feed/bus.js';
import { BoardRanking } from '../src/index/memory.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import { uint32s } from './helpers/random.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const T0 = 1_700_000_000_000;
const PARTICIPANTS = 150;

interface Opened {
  readonly store: SqliteStore;
  readonly backend: EmbeddedBackend;
  readonly warnings: string[];
  close(): Promise<void>;
}

async function open(dataDir: string, checkpointEvents: number, checkpointIntervalMs = 0): Promise<Opened> {
  const warnings: string[] = [];
  const store = await openSqliteStore({ dataDir, commitIntervalMs: 0, sync: 'normal', onWarning: (message) => warnings.push(message) });
  const failures: Error[] = [];
  const backend = new EmbeddedBackend(store, new LocalBus(), { boardIdleMs: 0, checkpointEvents, checkpointIntervalMs, onCheckpointFailed: (_, err) => failures.push(err) });
  return {
    store,
    backend,
    warnings,
    async close() {
      await backend.close();
      await store.close();
      assert.deepEqual(failures, [], 'no checkpoint failed');
    },
  };
}

/**
 * Submissions that exercise every branch of the operators: repeats, stale
 * and equal timestamps, better and worse scores, zero and negative deltas,
 * metadata given, omitted and replaced, event ids now and then.
 */
function workload(seed: number, count: number, operator: Operator): Submission[] {
  const next = uint32s(seed);
  return Array.from({ length: count }, (_, i): Submission => {
    const participantId = `p${next() % PARTICIPANTS}`;
    const score = operator === 'increment' ? (next() % 21) - 5 : next() % 1000;
    const timestamp = T0 + (next() % 5000);
    const roll = next() % 6;
    const metadata: Metadata | null = roll === 0 ? { skin: `s${next() % 4}`, level: next() % 100 } : roll === 1 ? { note: 'Zoë "q" \\ 🚀' } : null;
    return { participantId, score, timestamp, eventId: next() % 4 === 0 ? `e${seed}-${i}` : null, metadata };
  });
}

async function submitAll(backend: EmbeddedBackend, rules: BoardRules, submissions: readonly Submission[], seed: number): Promise<void> {
  const next = uint32s(seed);
  for (let i = 0; i < submissions.length; ) {
    // Some batches at once, so that several are on their way to the disk when a checkpoint is taken.
    const calls = [];
    for (let c = 0; c < 1 + (next() % 4) && i < submissions.length; c++) {
      const size = 1 + (next() % 12);
      calls.push(backend.submit(rules, submissions.slice(i, i + size)));
      i += size;
    }
    for (const batch of await Promise.all(calls)) for (const outcome of batch.outcomes) assert.ok(!(outcome instanceof Error), String(outcome));
  }
}

async function everyEntry(backend: EmbeddedBackend, rules: BoardRules): Promise<{ version: number; total: number; entries: readonly RankedEntry[] }> {
  const read = await backend.read(rules, [{ kind: 'page', offset: 0, limit: PARTICIPANTS + 1 }]);
  return { version: read.version, total: read.total, entries: read.pages[0]!.entries };
}

describe('restart from a checkpoint and the log', () => {
  for (const operator of ['best', 'latest', 'increment'] as const) {
    for (const sortOrder of ['desc', 'asc'] as const satisfies readonly SortOrder[]) {
      it(`reproduces every entry of a ${operator} board (${sortOrder}), metadata included`, async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'ladder-restart-'));
        dirs.push(dataDir);
        const rules: BoardRules = { id: `${operator}-${sortOrder}`, sortOrder, operator };
        const seed = operator.length * 31 + sortOrder.length;
        const submissions = workload(seed, 1800, operator);
        const reference = new BoardRanking(rules);
        reference.applyMany(submissions);

        let opened = await open(dataDir, 97);
        await opened.store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: rules.id, metadata: null, createdAt: T0 }, newEpoch());
        // Three segments, with a restart after each: every load but the first starts from a checkpoint.
        for (const [segment, part] of [submissions.slice(0, 600), submissions.slice(600, 1200), submissions.slice(1200)].entries()) {
          await submitAll(opened.backend, rules, part, seed + segment);
          const before = await everyEntry(opened.backend, rules);
          await opened.close();
          opened = await open(dataDir, 97);
          const loaded = opened.store.loadBoardNow(rules.id)!;
          assert.ok(loaded.ranked.ids.length > 0, 'the load starts from a checkpoint');
          assert.ok(loaded.replayed < 600 * (segment + 1), `and replays only the log after it (${loaded.replayed} events)`);
          assert.deepEqual(await everyEntry(opened.backend, rules), before, `segment ${segment}: the same ranking after the restart`);
        }
        const restarted = await everyEntry(opened.backend, rules);
        assert.deepEqual(restarted.entries, reference.range(0, PARTICIPANTS + 1), 'what a ranking fed every submission holds');
        assert.equal(restarted.version, reference.version);
        assert.deepEqual(opened.warnings, []);
        await opened.close();
      });
    }
  }

  it('loads a board with no checkpoint from the whole log, and checkpoints it at its next commit when that log is long', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ladder-restart-'));
    dirs.push(dataDir);
    const rules: BoardRules = { id: 'b', sortOrder: 'desc', operator: 'best' };
    let opened = await open(dataDir, 0);
    await opened.store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'b', metadata: null, createdAt: T0 }, newEpoch());
    await submitAll(opened.backend, rules, workload(5, 500, 'best'), 5);
    const before = await everyEntry(opened.backend, rules);
    await opened.close();

    opened = await open(dataDir, 400);
    assert.deepEqual(await everyEntry(opened.backend, rules), before);
    assert.equal(opened.store.loadBoardNow('b')!.ranked.ids.length, 0, 'no checkpoint yet');
    // The load replayed more than 400 events: the next commit takes a checkpoint.
    await submitAll(opened.backend, rules, workload(6, 1, 'best'), 6);
    await opened.backend.checkpointing;
    const loaded = opened.store.loadBoardNow('b')!;
    assert.equal(loaded.ranked.ids.length, (await everyEntry(opened.backend, rules)).total, 'the checkpoint holds the board');
    assert.equal(loaded.replayed, 0);
    await opened.close();
  });

  it('checkpoints at a clean stop a board whose log grew since its last checkpoint, so the next start replays nothing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ladder-restart-'));
    dirs.push(dataDir);
    const rules: BoardRules = { id: 'b', sortOrder: 'desc', operator: 'latest' };
    // One checkpoint after 300 events, then none for an hour: the rest of the log is the tail.
    let opened = await open(dataDir, 300, 3_600_000);
    await opened.store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'b', metadata: null, createdAt: T0 }, newEpoch());
    await submitAll(opened.backend, rules, workload(7, 1200, 'latest'), 7);
    await opened.backend.checkpointing;
    assert.ok(opened.store.loadBoardNow('b')!.replayed >= 300, 'a long tail after the checkpoint');
    const before = await everyEntry(opened.backend, rules);
    await opened.close();

    opened = await open(dataDir, 300, 3_600_000);
    assert.equal(opened.store.loadBoardNow('b')!.replayed, 0, 'the stop checkpointed the tail');
    assert.deepEqual(await everyEntry(opened.backend, rules), before);
    await opened.close();
  });
});
