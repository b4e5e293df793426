import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { PostgresStore, type PostgresStoreOptions } from '../src/store/postgres.js';
import { storeConformance, type StoreFixture } from './conformance/store.js';
import { skipWithoutPostgres, TestDatabase } from './helpers/postgres.js';

const skip = await skipWithoutPostgres('the PostgreSQL store tests (the store conformance suite and test/store-postgres.test.ts)');

describe('PostgresStore', { skip }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await TestDatabase.create();
  });
  after(async () => db?.drop());

  async function postgresFixture(options: Partial<PostgresStoreOptions> = {}): Promise<StoreFixture & { readonly warnings: string[] }> {
    const warnings: string[] = [];
    const open = (): Promise<PostgresStore> => PostgresStore.open({ url: db.url, poolSize: 4, onWarning: (message) => warnings.push(message), ...options });
    let current = await open();
    return {
      warnings,
      store: current,
      async reopen() {
        await current.close();
        current = await open();
        return current;
      },
      async dispose() {
        await current.close();
        assert.deepEqual(warnings, [], 'unexpected store warnings');
      },
    };
  }

  storeConformance('postgres', () => postgresFixture());
});
