/**
 * What finding a participant's events costs SQLite's writer, per logged
 * event, in the same run on the same disk (a temporary directory, WAL,
 * synchronous=NORMAL): score_log as migration 003 left it, the same plus an
 * index on (board_id, participant_id, seq), and the same plus migration
 * 006's participant_log, filled a closed segment of 4096 seqs at a time
 * with one sorted INSERT ... SELECT (store/sqlite-writer.ts). Each commits
 * `events` events of random participants in transactions of `per-commit`.
 *
 *   node --import tsx bench/participant-index.ts [--events=400000] [--per-commit=64] [--participants=100000]
 *
 * CPU is the process's (user + system; SQLite runs on this thread), most
 * of the index's in the kernel: each commit writes every B-tree page it
 * touched to the WAL, and random participants touch a page each.
 *
 * Figures only: nothing here fails on a timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { countFlag, parseFlags } from './lib/args.js';
import { INDEX_LOG_SEGMENTS, LOG_COLUMNS, LOG_SEGMENT_SIZE } from '../src/store/sqlite-sql.js';

const LOG = `
CREATE TABLE score_log (
  board_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT, participant_id TEXT NOT NULL,
  submitted INTEGER NOT NULL, timestamp INTEGER NOT NULL, received_at INTEGER NOT NULL,
  old_score INTEGER, new_score INTEGER NOT NULL, old_rank INTEGER, new_rank INTEGER NOT NULL,
  version INTEGER NOT NULL, changed INTEGER NOT NULL, metadata TEXT, metadata_applied INTEGER,
  entry_achieved_at INTEGER NOT NULL, entry_updated_at INTEGER NOT NULL, fingerprint TEXT,
  PRIMARY KEY (board_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX score_log_board_version ON score_log (board_id, version);`;

const VARIANTS = {
  'log only (003)': LOG,
  'index per event': `${LOG} CREATE INDEX score_log_board_participant ON score_log (board_id, participant_id, seq);`,
  'segments (006)': `${LOG}
    CREATE TABLE participant_log (
      board_id TEXT NOT NULL, segment INTEGER NOT NULL, participant_id TEXT NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (board_id, segment, participant_id, seq)
    ) STRICT, WITHOUT ROWID;`,
} as const;

interface Figures {
  readonly cpuUs: number;
  readonly systemUs: number;
  readonly wallUs: number;
}

function measure(schema: string, segments: boolean, events: number, perCommit: number, participants: number): Figures {
  const dir = mkdtempSync(join(tmpdir(), 'ladder-participant-index-'));
  const db = new Database(join(dir, 'bench.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(schema);
    const row = `(${LOG_COLUMNS.map(() => '?').join(', ')})`;
    const insert = db.prepare<unknown[]>(`INSERT INTO score_log (${LOG_COLUMNS.join(', ')}) VALUES ${Array.from({ length: perCommit }, () => row).join(', ')}`);
    const index = segments ? db.prepare(INDEX_LOG_SEGMENTS.replace('ON CONFLICT DO NOTHING', '')) : null;
    let seed = 7;
    const participant = (): string => `p-${(seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % participants}`;
    let seq = 0;
    let indexed = 0;
    const commit = db.transaction((params: unknown[]) => {
      insert.run(params);
      const closed = Math.floor(seq / LOG_SEGMENT_SIZE);
      if (index !== null && closed > indexed) {
        index.run({ board_id: 'board', from: indexed, to: closed });
        indexed = closed;
      }
    });
    const params: unknown[] = new Array(perCommit * LOG_COLUMNS.length);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let c = 0; c < Math.floor(events / perCommit); c++) {
      for (let k = 0; k < perCommit; k++) {
        seq += 1;
        const at = k * LOG_COLUMNS.length;
        // board_id, seq, event_id, participant_id, submitted, timestamp, received_at, old_score, new_score, old_rank,
        // new_rank, version, changed, metadata, metadata_applied, entry_achieved_at, entry_updated_at, fingerprint
        const values = ['board', seq, null, participant(), seq, 1_700_000_000_000 + seq, 1_700_000_000_000 + seq, null, seq, null, 1, seq, 1, null, 1, 1, 1, null];
        for (let v = 0; v < values.length; v++) params[at + v] = values[v];
      }
      commit(params);
    }
    const used = process.cpuUsage(cpu);
    const done = Math.floor(events / perCommit) * perCommit;
    return { cpuUs: (used.user + used.system) / done, systemUs: used.system / done, wallUs: ((performance.now() - started) * 1000) / done };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const flags = parseFlags(process.argv.slice(2));
const events = countFlag(flags, 'events') ?? 400_000;
const perCommit = countFlag(flags, 'per-commit') ?? 64;
const participants = countFlag(flags, 'participants') ?? 100_000;
console.log(`${events.toLocaleString('en-US')} events of ${participants.toLocaleString('en-US')} participants, ${perCommit} per commit; per event:`);
for (const round of [1, 2]) {
  for (const [name, schema] of Object.entries(VARIANTS)) {
    const figures = measure(schema, name.startsWith('segments'), events, perCommit, participants);
    console.log(`  round ${round}  ${name.padEnd(16)}  ${figures.cpuUs.toFixed(2)} µs CPU (${figures.systemUs.toFixed(2)} µs system), ${figures.wallUs.toFixed(2)} µs wall`);
  }
}
