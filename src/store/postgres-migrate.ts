/**
 * Applies the PostgreSQL store's schema migrations (migrations/postgres/,
 * planned by migrate.ts), all pending ones in one transaction, under an
 * advisory lock. Processes that start at once on the same database queue on
 * the lock: the first applies the migrations and commits, the others then
 * find them applied. It is a transaction-level lock, so it goes with the
 * transaction however that ends, a lost connection included, and DDL is
 * transactional in PostgreSQL: a migration that fails leaves nothing behind.
 */
import type pg from 'pg';
import { planMigrations, type AppliedMigration, type Migration } from './migrate.js';
import { transaction } from './postgres-client.js';
import * as SQL from './postgres-sql.js';

/** Returns the migrations it applied (none on a restart). */
export async function migratePostgres(pool: pg.Pool, migrations: readonly Migration[]): Promise<Migration[]> {
  return transaction(pool, async (client) => {
    // Before anything else: even CREATE TABLE IF NOT EXISTS fails when two
    // sessions run it at once.
    await client.query(SQL.LOCK_XACT, [SQL.LOCK_MIGRATIONS, 0]);
    await client.query(SQL.CREATE_SCHEMA_MIGRATIONS);
    const applied = (await client.query<AppliedMigration>(SQL.SELECT_APPLIED_MIGRATIONS)).rows;
    const pending = planMigrations(migrations, applied);
    for (const migration of pending) {
      // Without parameters the driver sends the simple protocol, which runs a file of many statements.
      await client.query(migration.sql);
      await client.query(SQL.INSERT_APPLIED_MIGRATION, [migration.version, migration.name, migration.checksum, Date.now()]);
    }
    return pending;
  });
}
