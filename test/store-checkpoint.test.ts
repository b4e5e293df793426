/**
 * The SQLite store's checkpoints on a real disk: an unusable checkpoint file
 * (a flipped byte, a truncation, a missing file) falls back to the one before
 * it plus the log, with a warning; a process killed while it checkpoints
 * leaves a store that opens with everything committed; retention deletes old
 * audit events but never those a kept checkpoint needs; an erasure rewrites
 * every checkpoint that holds the participant, so no fallback brings them back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { newEpoch } from '../src/core/epoch.js';
import type { BoardRules, Entry, Metadata, Submission } from '../src/core/types.js';
import { CHECKPOINT_DIR_NAME } from '../src/store/sqlite-checkpoint.js';
import { openSqliteStore, SQLITE_FILE_NAME, type SqliteStore } from '../src/store/sqlite.js';
import type { ScoreEvent } from '../src/store/store.js';
import { BoardDriver, entriesOfRanking, rankingOf } from './helpers/board-driver.js';
import { uint32s } from './helpers/random.js';
import { BOARD_DEFAULTS } from '../src/core/board.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ladder-${prefix}-`));
  dirs.push(dir);
  return dir;
}

const DAY = 86_400_000;

async function openStore(dataDir: string, warnings: string[], auditRetentionDays = 0): Promise<SqliteStore> {
  return openSqliteStore({ dataDir, commitIntervalMs: 1, sync: 'normal', auditRetentionDays, onWarning: (message) => warnings.push(message) });
}

/** Random submissions with metadata now and then, for participants p0..p(participants-1). */
function submissions(seed: number, count: number, participants: number): Submission[] {
  const next = uint32s(seed);
  return Array.from({ length: count }, (_, i) => ({
    participantId: `p${next() % participants}`,
    score: next() % 1000,
    timestamp: 1_700_000_000_000 + (next() % 100_000),
    eventId: `e${seed}-${i}`,
    metadata: next() % 3 === 0 ? ({ tag: `t${next() % 10}` } as Metadata) : null,
  }));
}

/** The checkpoint records of a board, newest first, as the database has them. */
function checkpointRecords(dataDir: string, boardId: string): { seq: number; file: string }[] {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
  try {
    return db.prepare<[string], { seq: number; file: string }>('SELECT seq, file FROM checkpoints WHERE board_id = ? ORDER BY seq DESC').all(boardId);
  } finally {
    db.close();
  }
}

function loadedEntries(store: SqliteStore, rules: BoardRules): Entry[] {
  return entriesOfRanking(rankingOf(rules, store.loadBoardNow(rules.id)!));
}

describe('an unusable checkpoint', () => {
  const rules: BoardRules = { id: 'board', sortOrder: 'desc', operator: 'best' };

  /** A board with two checkpoints and log events after each; returns its entries and the two files, newest first. */
  async function twoCheckpoints(dataDir: string, warnings: string[]): Promise<{ expected: Entry[]; files: string[] }> {
    const store = await openStore(dataDir, warnings);
    await store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'board', metadata: null, createdAt: 1 }, newEpoch());
    const board = await BoardDriver.load(store, rules);
    for (let round = 0; round < 3; round++) {
      await board.submit(submissions(round, 300, 80)).committed;
      if (round < 2) assert.notEqual(await board.checkpoint(), null);
    }
    const expected = entriesOfRanking(board.ranking);
    await store.close();
    const files = checkpointRecords(dataDir, rules.id).map((record) => record.file);
    assert.equal(files.length, 2);
    return { expected, files };
  }

  const damages: [string, (file: string) => void][] = [
    [
      'a flipped byte',
      (file) => {
        const bytes = readFileSync(file);
        bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
        writeFileSync(file, bytes);
      },
    ],
    ['a truncation', (file) => truncateSync(file, Math.floor(readFileSync(file).length / 3))],
    ['a missing file', (file) => unlinkSync(file)],
  ];

  for (const [damage, apply] of damages) {
    it(`(${damage}) falls back to the one before it and the log after that, with a warning`, async () => {
      const dataDir = tempDir('ckpt-damage');
      const warnings: string[] = [];
      const { expected, files } = await twoCheckpoints(dataDir, warnings);
      apply(join(dataDir, CHECKPOINT_DIR_NAME, files[0]!));
      const store = await openStore(dataDir, warnings);
      try {
        assert.deepEqual(loadedEntries(store, rules), expected);
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0]!, new RegExp(`checkpoint ${files[0]} of board 'board' .* is unusable`));
        // The board goes on from there: appends, a new checkpoint, a load that needs no fallback.
        const board = await BoardDriver.load(store, rules);
        await board.submit(submissions(9, 100, 80)).committed;
        assert.notEqual(await board.checkpoint(), null);
        warnings.length = 0;
        assert.deepEqual(loadedEntries(store, rules), entriesOfRanking(board.ranking));
        assert.deepEqual(warnings, []);
      } finally {
        await store.close();
      }
    });
  }

  it('with only one checkpoint, falls back to the base state and the whole log', async () => {
    const dataDir = tempDir('ckpt-one');
    const warnings: string[] = [];
    let store = await openStore(dataDir, warnings);
    await store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'board', metadata: null, createdAt: 1 }, newEpoch());
    const board = await BoardDriver.load(store, rules);
    await board.submit(submissions(1, 300, 50)).committed;
    await board.checkpoint();
    await board.submit(submissions(2, 300, 50)).committed;
    const expected = entriesOfRanking(board.ranking);
    await store.close();
    const [record] = checkpointRecords(dataDir, rules.id);
    truncateSync(join(dataDir, CHECKPOINT_DIR_NAME, record!.file), 10);
    store = await openStore(dataDir, warnings);
    try {
      assert.deepEqual(loadedEntries(store, rules), expected);
      assert.equal(warnings.length, 1);
      assert.equal(store.loadBoardNow(rules.id)!.replayed, 600, 'the whole log');
    } finally {
      await store.close();
    }
  });

  it('refuses to load, naming the board, when both checkpoints are unusable and the base state was released', async () => {
    const dataDir = tempDir('ckpt-both');
    const warnings: string[] = [];
    const { files } = await twoCheckpoints(dataDir, warnings);
    for (const file of files) unlinkSync(join(dataDir, CHECKPOINT_DIR_NAME, file));
    const store = await openStore(dataDir, warnings);
    try {
      await assert.rejects(store.loadBoard(rules.id), /board 'board' has no readable checkpoint/);
      assert.equal(warnings.length, 2);
    } finally {
      await store.close();
    }
  });
});

describe('an erasure', () => {
  const rules: BoardRules = { id: 'board', sortOrder: 'desc', operator: 'best' };
  const gone = 'p79';

  /** Two checkpoints that hold `gone` and log events after each, then the erasure of `gone`; returns what the board holds then. */
  async function erased(dataDir: string, warnings: string[], damage: ((file: string) => void) | null = null): Promise<{ expected: Entry[]; before: string[] }> {
    let store = await openStore(dataDir, warnings);
    await store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'board', metadata: null, createdAt: 1 }, newEpoch());
    let board = await BoardDriver.load(store, rules);
    for (let round = 0; round < 3; round++) {
      await board.submit(submissions(round, 300, 80)).committed;
      if (round < 2) assert.notEqual(await board.checkpoint(), null);
    }
    assert.notEqual(board.ranking.get(gone), null);
    await store.close();
    const before = checkpointRecords(dataDir, rules.id).map((record) => record.file);
    for (const file of before) assert.ok(readFileSync(join(dataDir, CHECKPOINT_DIR_NAME, file)).includes(gone));
    if (damage !== null) damage(join(dataDir, CHECKPOINT_DIR_NAME, before[0]!));
    store = await openStore(dataDir, warnings);
    board = await BoardDriver.load(store, rules);
    const { version } = board.ranking.remove(gone);
    assert.equal(await store.eraseParticipant(rules.id, gone, { seq: board.seq, version }), true);
    const expected = entriesOfRanking(board.ranking);
    await store.close();
    return { expected, before };
  }

  it('rewrites every checkpoint that held the participant, deletes the old files, and either checkpoint loads without them', async () => {
    const dataDir = tempDir('erase-both');
    const warnings: string[] = [];
    const { expected, before } = await erased(dataDir, warnings);
    const after = checkpointRecords(dataDir, rules.id);
    assert.equal(after.length, 2);
    const files = readdirSync(join(dataDir, CHECKPOINT_DIR_NAME));
    assert.deepEqual(files.sort(), after.map((record) => record.file).sort(), 'only the rewritten files are left');
    for (const file of before) assert.ok(!files.includes(file));
    for (const file of files) assert.ok(!readFileSync(join(dataDir, CHECKPOINT_DIR_NAME, file)).includes(gone), `${file} does not hold them`);
    let store = await openStore(dataDir, warnings);
    try {
      assert.deepEqual(loadedEntries(store, rules), expected);
    } finally {
      await store.close();
    }
    // The fallback holds no trace of them either: the older checkpoint plus the log after it.
    unlinkSync(join(dataDir, CHECKPOINT_DIR_NAME, after[0]!.file));
    store = await openStore(dataDir, warnings);
    try {
      assert.deepEqual(loadedEntries(store, rules), expected);
      assert.equal(warnings.length, 1, warnings.join('\n'));
    } finally {
      await store.close();
    }
  });

  it('drops a checkpoint it cannot read, with a warning, and the board loads from the other', async () => {
    const dataDir = tempDir('erase-damaged');
    const warnings: string[] = [];
    // Damaged where it does not hide their id (a file that no longer holds it is left as it is).
    const { expected } = await erased(dataDir, warnings, (file) => {
      const bytes = readFileSync(file);
      bytes[70]! ^= 0x10;
      writeFileSync(file, bytes);
    });
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[1]!, /an erasure drops it/);
    assert.equal(checkpointRecords(dataDir, rules.id).length, 1);
    const store = await openStore(dataDir, warnings);
    try {
      assert.deepEqual(loadedEntries(store, rules), expected);
      assert.equal(warnings.length, 2, 'no unusable checkpoint is left to warn of');
    } finally {
      await store.close();
    }
  });
});

describe('a process killed while it checkpoints', () => {
  it('leaves a store that opens with every committed event, and no unusable checkpoint', { timeout: 180_000 }, async () => {
    const dataDir = tempDir('ckpt-kill');
    const acknowledged = new Map<string, number>();
    let checkpoints = 0;
    for (let round = 0; round < 3; round++) {
      const run = await runCheckpointWriterUntilKilled(dataDir, `r${round}`);
      checkpoints += run.checkpoints;
      for (const [eventId, version] of run.acknowledged) acknowledged.set(eventId, version);

      const warnings: string[] = [];
      const store = await openStore(dataDir, warnings);
      try {
        // Only the sweep of a file whose write was cut short may be reported; never a checkpoint that cannot be read.
        for (const warning of warnings) assert.match(warning, /^removed \d+ checkpoint file\(s\) that no checkpoint record names/);
        assert.deepEqual(
          readdirSync(join(dataDir, CHECKPOINT_DIR_NAME)).filter((name) => !name.endsWith('.ckpt')),
          [],
          'no temporary file is left',
        );
        const rules: BoardRules = { id: 'ck', sortOrder: 'desc', operator: 'increment' };
        const loaded = store.loadBoardNow(rules.id)!;
        assert.ok(loaded.ranked.ids.length > 0, `round ${round}: loaded from a checkpoint`);
        const log = await everyEvent(store, rules.id);
        const logged = new Set(log.map((event) => event.eventId));
        const lost = [...acknowledged.keys()].filter((eventId) => !logged.has(eventId));
        assert.deepEqual(lost.slice(0, 10), [], `round ${round}: ${lost.length} of ${acknowledged.size} acknowledged events lost`);
        assert.ok(loaded.board.version >= Math.max(...acknowledged.values()), 'the version covers every acknowledged event');
        const entries = new Map(entriesOfRanking(rankingOf(rules, loaded)).map((entry) => [entry.participantId, entry]));
        const expected = replay(log);
        assert.equal(entries.size, expected.size, 'one entry per participant of the log');
        for (const [participantId, entry] of expected) assert.deepEqual(entries.get(participantId), entry, participantId);
      } finally {
        await store.close();
      }
    }
    assert.ok(checkpoints >= 6, `the writer recorded ${checkpoints} checkpoints`);
  });
});

/** The whole log of the board, in log order. */
async function everyEvent(store: SqliteStore, boardId: string): Promise<ScoreEvent[]> {
  const events = await store.listEvents(boardId, 0, Number.MAX_SAFE_INTEGER);
  return events.sort((a, b) => a.seq - b.seq);
}

/**
 * Each participant's entry after the last event of the log (the log holds
 * it), with the metadata of its last event that had any: under increment,
 * a submission's metadata applies when it has any.
 */
function replay(log: readonly ScoreEvent[]): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const event of log) {
    const metadata = event.metadata ?? entries.get(event.participantId)?.metadata ?? null;
    entries.set(event.participantId, { ...event.entry, metadata });
  }
  return entries;
}

interface KilledRun {
  readonly acknowledged: Map<string, number>;
  readonly checkpoints: number;
}

/** Runs the checkpoint writer until it has recorded a few checkpoints, SIGKILLs it at a random moment after, and returns what it printed. */
function runCheckpointWriterUntilKilled(dataDir: string, runTag: string): Promise<KilledRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'fixtures', 'store-checkpoint-writer.ts'), dataDir, runTag], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acknowledged = new Map<string, number>();
    let checkpoints = 0;
    let buffered = '';
    let stderr = '';
    let killing = false;
    const kill = () => {
      killing = true;
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const complete = buffered.lastIndexOf('\n');
      if (complete < 0) return;
      for (const line of buffered.slice(0, complete).split('\n')) {
        const [kind, id, version] = line.split(' ');
        if (kind === 'ack') acknowledged.set(id!, Number(version));
        else if (kind === 'checkpoint') checkpoints += 1;
      }
      buffered = buffered.slice(complete + 1);
      // After the second checkpoint, at a random moment of the ones that follow.
      if (!killing && checkpoints >= 2) {
        killing = true;
        setTimeout(kill, Math.floor(Math.random() * 400));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && killing) resolvePromise({ acknowledged, checkpoints });
      else reject(new Error(`the checkpoint writer ended before it was killed (code ${code}, signal ${signal}): ${stderr}`));
    });
    setTimeout(() => {
      if (!killing) kill();
    }, 90_000).unref();
  });
}

describe('audit-log retention', () => {
  it('deletes events older than the retention period, except those the kept checkpoints still need', async () => {
    const dataDir = tempDir('retention');
    const warnings: string[] = [];
    const rules: BoardRules = { id: 'kept', sortOrder: 'asc', operator: 'latest' };
    let store = await openStore(dataDir, warnings, 2);
    await store.createBoard({ ...BOARD_DEFAULTS, ...rules, name: 'kept', metadata: null, createdAt: 1 }, newEpoch());
    const board = await BoardDriver.load(store, rules);
    const now = Date.now();
    // Old events, then the first checkpoint; old events again, the second checkpoint; then recent ones.
    const first = board.submit(submissions(1, 200, 40), now - 10 * DAY).events;
    await board.submit([], now).committed;
    const firstSeq = (await board.checkpoint())!;
    await store.prune();
    assert.equal((await everyEvent(store, rules.id)).length, 200, 'with one checkpoint, the log before it is the fallback: nothing goes');
    const second = board.submit(submissions(2, 200, 40), now - 5 * DAY).events;
    await board.checkpoint();
    const recent = board.submit(submissions(3, 200, 40), now).events;
    await board.submit([], now).committed;
    await store.prune();
    const log = await everyEvent(store, rules.id);
    assert.deepEqual(
      log.map((event) => event.seq),
      [...second, ...recent].map((event) => event.seq),
      'only the old events up to the older kept checkpoint are gone',
    );
    assert.ok(log[0]!.seq > firstSeq);
    assert.equal(await store.findEvent(rules.id, first[0]!.eventId!), null);
    assert.deepEqual(await store.findEvent(rules.id, second[0]!.eventId!), second[0]);
    assert.deepEqual(await store.listEvents(rules.id, 0, 1), [second[0]], 'listEvents starts at the oldest kept event');

    // What was kept is exactly what the older checkpoint needs: with the newer one unusable, the board still loads whole.
    const expected = entriesOfRanking(board.ranking);
    await store.close();
    unlinkSync(join(dataDir, CHECKPOINT_DIR_NAME, checkpointRecords(dataDir, rules.id)[0]!.file));
    store = await openStore(dataDir, warnings, 2);
    try {
      assert.deepEqual(loadedEntries(store, rules), expected);
      assert.equal(warnings.length, 1);
    } finally {
      await store.close();
    }
    // Without retention, nothing more is deleted.
    store = await openStore(dataDir, warnings, 0);
    try {
      await store.prune();
      assert.equal((await everyEvent(store, rules.id)).length, 400);
    } finally {
      await store.close();
    }
  });
});
