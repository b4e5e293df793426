/**
 * One process per data directory. Two processes on one SQLite file would each
 * keep their own live ranking and hand out the same versions, silently
 * disagreeing; the second one must refuse to start instead.
 *
 * The lock is an exclusive SQLite transaction held open on `ladder.lock` for
 * the life of the store. The operating system releases it when the process
 * ends in any way, kill -9 included, so a crash never leaves a stale lock
 * behind (unlike a pid file), and SQLite refuses a second connection from the
 * same process too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export const LOCK_FILE_NAME = 'ladder.lock';
const HOLDER_FILE_NAME = 'ladder.lock.pid';

export interface DataDirLock {
  release(): void;
}

/** Takes the directory's lock, or throws an Error that names LADDER_DATA_DIR and the holder's pid. */
export function lockDataDir(dataDir: string): DataDirLock {
  const db = new Database(join(dataDir, LOCK_FILE_NAME));
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
    const holder = holderOf(dataDir);
    throw new Error(
      `the data directory ${resolve(dataDir)} (LADDER_DATA_DIR) is in use by another Ladder process${holder === null ? '' : ` (pid ${holder})`}; stop it or set LADDER_DATA_DIR to another directory`,
      { cause: err },
    );
  }
  writeFileSync(join(dataDir, HOLDER_FILE_NAME), `${process.pid}\n`);
  return {
    release() {
      if (db.open) db.close();
    },
  };
}

function holderOf(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, HOLDER_FILE_NAME), 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
