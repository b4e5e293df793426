/**
 * Versioned schema migrations, shared by the SQL stores. Each dialect keeps
 * numbered files in store/migrations/<dialect>/ (`001_initial.sql`,
 * `002_add_x.sql`, ...) and records what it applied in a `schema_migrations`
 * table (version, name, checksum). This module finds, reads and plans them;
 * each store applies the plan with its own driver and lock.
 *
 * A migration is immutable once released: its checksum is recorded, and a
 * database that applied a different text, or a version this build does not
 * know, refuses to open rather than run on a schema it does not understand.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  /** File name without `.sql`, e.g. `001_initial`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of the file's text (LF line endings), hex. */
  readonly checksum: string;
}

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
}

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * The folder of a dialect's .sql files. tsc does not copy .sql files, so
 * from dist/store/ we fall back to the sources at ../../src/store/ (the
 * package ships src/); a build that copies them next to the .js wins.
 */
export function migrationsDir(dialect: Dialect): string {
  const candidates = [new URL(`./migrations/${dialect}/`, import.meta.url), new URL(`../../src/store/migrations/${dialect}/`, import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new Error(`${dialect} migrations not found; looked in ${candidates.map((url) => fileURLToPath(url)).join(' and ')}`);
}

/** Every migration of the dialect, in version order. Throws on a misnamed file or a gap. */
export function loadMigrations(dialect: Dialect, dir: string = migrationsDir(dialect)): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file): Migration => {
      const match = FILE_NAME.exec(file);
      if (match === null) throw new Error(`migration file '${file}' in ${dir} must be named NNN_lower_snake.sql`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return { version: Number(match[1]), name: file.slice(0, -'.sql'.length), sql, checksum: sha256(sql) };
    });
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) throw new Error(`migrations in ${dir} must be numbered 001, 002, ... without gaps; found ${migration.name} at position ${i + 1}`);
  });
  return migrations;
}

/**
 * The migrations still to apply, given those the database recorded. Throws
 * when the database is ahead of this build or a recorded migration differs
 * from its file.
 */
export function planMigrations(available: readonly Migration[], applied: readonly AppliedMigration[]): Migration[] {
  const byVersion = new Map(available.map((m) => [m.version, m]));
  for (const row of applied) {
    const known = byVersion.get(row.version);
    if (known === undefined) {
      throw new Error(`the database has schema migration ${row.name}, which this version of Ladder does not know; upgrade Ladder`);
    }
    if (known.name !== row.name || known.checksum !== row.checksum) {
      throw new Error(`schema migration ${row.name} was applied with a different text than ${known.name}.sql has now; released migrations must not be edited`);
    }
  }
  const done = new Set(applied.map((row) => row.version));
  return available.filter((m) => !done.has(m.version));
}

/** Line endings are normalized so a checkout with CRLF keeps the checksum. */
function sha256(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}
