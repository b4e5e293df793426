/**
 * PostgreSQL for the tests: each test file gets a throwaway database,
 * created through LADDER_TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test, a database the user may create
 * others from) and dropped at the end, connections and all.
 *
 * Without a reachable PostgreSQL the suites that need it fail on CI
 * (CI=true) and are skipped, loudly, elsewhere.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.LADDER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * For `describe(..., { skip })`: false when PostgreSQL answers at
 * TEST_DATABASE_URL, or on CI (where the suites then fail on it); otherwise
 * the reason, after saying on stderr that `suites` are skipped.
 */
export async function skipWithoutPostgres(suites: string): Promise<string | false> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return false;
  } catch (err) {
    if (process.env.CI === 'true') return false;
    const reason = `PostgreSQL is unreachable at ${TEST_DATABASE_URL} (${(err as Error).message || String(err)})`;
    process.stderr.write(`\n!!! ${reason}: SKIPPING ${suites}. Set LADDER_TEST_DATABASE_URL, or start PostgreSQL. On CI this fails. !!!\n\n`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

export class TestDatabase {
  private constructor(
    readonly name: string,
    /** The URL of the new database. */
    readonly url: string,
  ) {}

  /** CREATE DATABASE ladder_test_<random>, empty. */
  static async create(): Promise<TestDatabase> {
    const name = `ladder_test_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${name}`;
    return new TestDatabase(name, url.toString());
  }

  /** A query on the database, on a connection of its own (not the store's). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** Drops the database, ending the connections still open to it. */
  async drop(): Promise<void> {
    await adminQuery(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
