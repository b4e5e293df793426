/**
 * The Store conformance suite (DESIGN.md "One conformance suite"). Every
 * Store implementation runs it through a factory:
 *
 *   storeConformance('sqlite', async () => ({ store, reopen, dispose }));
 *
 * Each test makes its own fixture and uses random board ids, so a factory may
 * hand out one shared database (e.g. PostgreSQL) as long as reopen() opens the
 * same durable state again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { LadderError } from '../../src/core/errors.js';
import { MAX_SCORE, MIN_SCORE } from '../../src/core/ordering.js';
import type { BoardConfig, Entry, Metadata } from '../../src/core/types.js';
import type { ApiKeyRecord, ScoreEvent, Store } from '../../src/store/store.js';

export interface StoreFixture {
  /** A freshly opened store. */
  readonly store: Store;
  /**
   * Closes the store last returned (which commits its pending writes) and
   * opens the same durable state again, like a process restart.
   */
  reopen(): Promise<Store>;
  /** Closes the store last returned and removes what the fixture created. */
  dispose(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreFixture>;

export function storeConformance(name: string, makeStore: StoreFactory): void {
  async function withStore(test: (store: Store, fixture: StoreFixture) => Promise<void>): Promise<void> {
    const fixture = await makeStore();
    try {
      await test(fixture.store, fixture);
    } finally {
      await fixture.dispose();
    }
  }

  describe(`Store conformance: ${name}`, () => {
    describe('boards', () => {
      it('creates a board and reads its config back, at version 0', () =>
        withStore(async (store) => {
          const config = boardConfig({ sortOrder: 'asc', operator: 'latest', metadata: { season: 3, tags: ['a', 'b'] } });
          await store.createBoard(config);
          assert.deepEqual(await store.getBoard(config.id), { config, version: 0 });
        }));

      it('answers null for an unknown board', () =>
        withStore(async (store) => {
          assert.equal(await store.getBoard(boardId()), null);
        }));

      it('throws board_exists when the id is taken and keeps the first config', () =>
        withStore(async (store) => {
          const config = boardConfig({ name: 'first' });
          await store.createBoard(config);
          await assert.rejects(store.createBoard({ ...config, name: 'second' }), (err: unknown) => err instanceof LadderError && err.code === 'board_exists');
          assert.equal((await store.getBoard(config.id))?.config.name, 'first');
        }));

      it('lists the boards with their versions', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig({ operator: 'increment' });
          await store.createBoard(a);
          await store.createBoard(b);
          await store.appendEvents([scoreEvent(b.id, 1, 'p1', 10)]);
          const ours = (await store.listBoards()).filter((board) => board.config.id === a.id || board.config.id === b.id);
          ours.sort((x, y) => (x.config.id < y.config.id ? -1 : 1));
          const expected = [
            { config: a, version: 0 },
            { config: b, version: 1 },
          ].sort((x, y) => (x.config.id < y.config.id ? -1 : 1));
          assert.deepEqual(ours, expected);
        }));

      it('deletes a board with its entries and events, and answers false the second time', () =>
        withStore(async (store) => {
          const config = boardConfig();
          const other = boardConfig();
          await store.createBoard(config);
          await store.createBoard(other);
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 5, { eventId: 'e1' }), scoreEvent(other.id, 1, 'p1', 7, { eventId: 'e1' })]);
          assert.equal(await store.deleteBoard(config.id), true);
          assert.equal(await store.getBoard(config.id), null);
          assert.deepEqual(await store.loadEntries(config.id), []);
          assert.deepEqual(await store.listEvents(config.id, 0, 100), []);
          assert.equal(await store.findEvent(config.id, 'e1'), null);
          assert.equal(await store.deleteBoard(config.id), false);
          assert.equal((await store.loadEntries(other.id)).length, 1, 'another board keeps its entries');
          assert.notEqual(await store.findEvent(other.id, 'e1'), null);
        }));

      it('starts a re-created board empty at version 0', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config);
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 5, { eventId: 'e1' })]);
          await store.deleteBoard(config.id);
          await store.createBoard(config);
          assert.deepEqual(await store.getBoard(config.id), { config, version: 0 });
          assert.deepEqual(await store.loadEntries(config.id), []);
          assert.equal(await store.findEvent(config.id, 'e1'), null);
        }));
    });

    describe('appendEvents', () => {
      it('persists events, entries and the version, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config);
          const events = [scoreEvent(config.id, 1, 'alice', 100, { eventId: 'a1' }), scoreEvent(config.id, 2, 'bob', 200, { eventId: null })];
          await store.appendEvents(events);
          const check = async (s: Store): Promise<void> => {
            assert.equal((await s.getBoard(config.id))?.version, 2);
            assert.deepEqual(byParticipant(await s.loadEntries(config.id)), byParticipant(events.map((e) => e.entry)));
            assert.deepEqual(await s.listEvents(config.id, 0, 10), events);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('keeps the latest entry of a participant', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config);
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 10)]);
          await store.appendEvents([scoreEvent(config.id, 2, 'p1', 30, { oldScore: 10, metadata: { skin: 'red' } })]);
          const [entry] = await store.loadEntries(config.id);
          assert.equal(entry?.score, 30);
          assert.deepEqual(entry?.metadata, { skin: 'red' });
        }));

      it('keeps the version of the last change when an event changed nothing', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config);
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 10), scoreEvent(config.id, 2, 'p2', 20)]);
          await store.appendEvents([scoreEvent(config.id, 2, 'p1', 10, { submitted: 5, oldScore: 10, changed: false })]);
          assert.equal((await store.getBoard(config.id))?.version, 2);
          assert.equal((await store.listEvents(config.id, 0, 10)).length, 3);
        }));

      it('resolves at once for no events', () =>
        withStore(async (store) => {
          await store.appendEvents([]);
        }));

      it('commits 200 concurrent callers, each acknowledged once durable', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config);
          const calls = Array.from({ length: 200 }, (_, i) => store.appendEvents([scoreEvent(config.id, i + 1, `p${i}`, i, { eventId: `e${i}` })]));
          await Promise.all(calls);
          const reopened = await fixture.reopen();
          assert.equal((await reopened.getBoard(config.id))?.version, 200);
          assert.equal((await reopened.loadEntries(config.id)).length, 200);
          for (let i = 0; i < 200; i += 37) assert.equal((await reopened.findEvent(config.id, `e${i}`))?.newScore, i);
        }));

      it('applies concurrent calls in the order they were made', () =>
        withStore(async (store) => {
          // The service hands a board's batches over in version order without
          // awaiting each commit, so the store must not reorder them.
          const config = boardConfig({ operator: 'latest' });
          await store.createBoard(config);
          const calls = Array.from({ length: 50 }, (_, i) =>
            store.appendEvents([scoreEvent(config.id, i + 1, 'p1', 1000 - i, { oldScore: i === 0 ? null : 1001 - i, metadata: { call: i } })]),
          );
          await Promise.all(calls);
          const [entry] = await store.loadEntries(config.id);
          assert.equal(entry?.score, 951);
          assert.deepEqual(entry?.metadata, { call: 49 });
          assert.deepEqual(
            (await store.listEvents(config.id, 0, 100)).map((e) => e.version),
            Array.from({ length: 50 }, (_, i) => i + 1),
          );
        }));

      it('commits appends that are still pending when the store closes', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config);
          const pending = [1, 2, 3].map((v) => store.appendEvents([scoreEvent(config.id, v, `p${v}`, v * 10)]));
          const reopened = await fixture.reopen();
          await Promise.all(pending);
          assert.equal((await reopened.getBoard(config.id))?.version, 3);
          assert.equal((await reopened.loadEntries(config.id)).length, 3);
        }));

      it('ignores events of unknown and deleted boards, and commits the others', () =>
        withStore(async (store) => {
          const live = boardConfig();
          const deleted = boardConfig();
          await store.createBoard(live);
          await store.createBoard(deleted);
          await store.deleteBoard(deleted.id);
          await store.appendEvents([scoreEvent(boardId(), 1, 'p1', 1), scoreEvent(deleted.id, 1, 'p1', 1), scoreEvent(live.id, 1, 'p1', 1)]);
          assert.equal((await store.getBoard(live.id))?.version, 1);
          assert.equal(await store.getBoard(deleted.id), null);
          assert.deepEqual(await store.loadEntries(deleted.id), []);
        }));

      it('ignores an event whose event id is logged already, within a call and across calls', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config);
          const first = scoreEvent(config.id, 1, 'p1', 5, { eventId: 'dup' });
          await store.appendEvents([first, scoreEvent(config.id, 2, 'p1', 10, { eventId: 'dup', oldScore: 5 })]);
          await store.appendEvents([scoreEvent(config.id, 3, 'p1', 15, { eventId: 'dup', oldScore: 10 }), scoreEvent(config.id, 2, 'p2', 1, { eventId: 'other' })]);
          assert.deepEqual(await store.findEvent(config.id, 'dup'), first);
          const entries = byParticipant(await store.loadEntries(config.id));
          assert.deepEqual(
            entries.map((e) => [e.participantId, e.score]),
            [
              ['p1', 5],
              ['p2', 1],
            ],
          );
          assert.equal((await store.listEvents(config.id, 0, 10)).length, 2);
          assert.equal((await store.getBoard(config.id))?.version, 2);
        }));

      it('logs every event that has no event id', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config);
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 1), scoreEvent(config.id, 2, 'p1', 2, { oldScore: 1 })]);
          await store.appendEvents([scoreEvent(config.id, 3, 'p1', 3, { oldScore: 2 })]);
          assert.deepEqual(
            (await store.listEvents(config.id, 0, 10)).map((e) => [e.eventId, e.version]),
            [
              [null, 1],
              [null, 2],
              [null, 3],
            ],
          );
        }));

      it('rejects a call with an invalid event alone; concurrent calls still commit', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config);
          const bad = scoreEvent(config.id, 2, 'bad', 1.5);
          const results = await Promise.allSettled([
            store.appendEvents([scoreEvent(config.id, 1, 'good1', 1)]),
            store.appendEvents([scoreEvent(config.id, 2, 'half', 2), bad]),
            store.appendEvents([scoreEvent(config.id, 3, 'good2', 3)]),
          ]);
          assert.deepEqual(
            results.map((r) => r.status),
            ['fulfilled', 'rejected', 'fulfilled'],
          );
          assert.deepEqual(
            byParticipant(await store.loadEntries(config.id)).map((e) => e.participantId),
            ['good1', 'good2'],
            'nothing of the rejected call is kept',
          );
          assert.equal((await store.getBoard(config.id))?.version, 3);
        }));
    });

    describe('findEvent', () => {
      it('returns the committed event with its entry', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config);
          const event: ScoreEvent = {
            boardId: config.id,
            eventId: 'match-42:player-7',
            participantId: 'player-7',
            submitted: 1234,
            timestamp: 1_700_000_000_123,
            receivedAt: 1_700_000_000_456,
            oldScore: 1000,
            newScore: 1234,
            oldRank: 9,
            newRank: 3,
            version: 17,
            changed: true,
            metadata: { map: 'dust', kills: 12 },
            entry: { participantId: 'player-7', score: 1234, achievedAt: 1_700_000_000_100, updatedAt: 1_700_000_000_123, metadata: { map: 'dust', kills: 12 } },
          };
          await store.appendEvents([event]);
          assert.deepEqual(await store.findEvent(config.id, event.eventId!), event);
          assert.deepEqual(await (await fixture.reopen()).findEvent(config.id, event.eventId!), event);
        }));

      it("reconstructs the entry's score and times exactly; its metadata is the event's", () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config);
          const event = scoreEvent(config.id, 1, 'p1', 50, {
            eventId: 'e1',
            metadata: null,
            entry: { participantId: 'p1', score: 50, achievedAt: 111, updatedAt: 222, metadata: { carried: 'over' } },
          });
          await store.appendEvents([event]);
          const found = await store.findEvent(config.id, 'e1');
          assert.deepEqual(found?.entry, { participantId: 'p1', score: 50, achievedAt: 111, updatedAt: 222, metadata: null });
          assert.deepEqual((await store.loadEntries(config.id))[0]?.metadata, { carried: 'over' }, 'the entry itself keeps its metadata');
        }));

      it('answers null for an unknown event id and for an event id of another board', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig();
          await store.createBoard(a);
          await store.createBoard(b);
          await store.appendEvents([scoreEvent(a.id, 1, 'p1', 1, { eventId: 'only-on-a' })]);
          assert.equal(await store.findEvent(a.id, 'nope'), null);
          assert.equal(await store.findEvent(b.id, 'only-on-a'), null);
          assert.equal(await store.findEvent(boardId(), 'only-on-a'), null);
        }));
    });

    describe('listEvents', () => {
      it('pages through the log oldest first', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config);
          const events = Array.from({ length: 25 }, (_, i) => scoreEvent(config.id, i + 1, `p${i % 4}`, i, { eventId: `e${i}` }));
          await store.appendEvents(events.slice(0, 10));
          await store.appendEvents(events.slice(10));
          const seen: ScoreEvent[] = [];
          let after = 0;
          for (;;) {
            const page = await store.listEvents(config.id, after, 10);
            assert.ok(page.length <= 10);
            if (page.length === 0) break;
            seen.push(...page);
            after = page[page.length - 1]!.version;
          }
          assert.deepEqual(seen, events);
        }));

      it('returns only events after the version, of this board', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig();
          await store.createBoard(a);
          await store.createBoard(b);
          await store.appendEvents([scoreEvent(a.id, 1, 'p1', 1), scoreEvent(b.id, 1, 'p1', 1), scoreEvent(a.id, 2, 'p2', 2), scoreEvent(a.id, 3, 'p3', 3)]);
          assert.deepEqual(
            (await store.listEvents(a.id, 1, 100)).map((e) => [e.boardId, e.version]),
            [
              [a.id, 2],
              [a.id, 3],
            ],
          );
          assert.deepEqual(await store.listEvents(a.id, 3, 100), []);
          assert.deepEqual(await store.listEvents(boardId(), 0, 100), []);
        }));
    });

    describe('loadEntries', () => {
      it('round-trips the extreme scores and large timestamps exactly', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config);
          const scores = [MAX_SCORE, MIN_SCORE, 0, MAX_SCORE - 1, MIN_SCORE + 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32 + 1];
          const events = scores.map((score, i) =>
            scoreEvent(config.id, i + 1, `p${i}`, score, {
              timestamp: MAX_SCORE - i,
              receivedAt: MAX_SCORE,
              entry: { participantId: `p${i}`, score, achievedAt: MAX_SCORE - i, updatedAt: MAX_SCORE, metadata: null },
            }),
          );
          await store.appendEvents(events);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(byParticipant(await s.loadEntries(config.id)), byParticipant(events.map((e) => e.entry)));
            assert.deepEqual(await s.listEvents(config.id, 0, 100), events);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('round-trips metadata', () =>
        withStore(async (store) => {
          const config = boardConfig({ metadata: { nested: { deep: [1, 'two', { three: null }] } } });
          await store.createBoard(config);
          const samples: (Metadata | null)[] = [
            null,
            {},
            { name: 'Zoë 🚀', quote: 'say "hi"\n', path: 'a\\b' },
            { list: [1, -2.5, true, false, null], nested: { a: { b: { c: 'd' } } } },
            { big: MAX_SCORE, small: MIN_SCORE, float: 0.1 },
          ];
          const events = samples.map((metadata, i) =>
            scoreEvent(config.id, i + 1, `p${i}`, i, { metadata, entry: { participantId: `p${i}`, score: i, achievedAt: 1, updatedAt: 1, metadata } }),
          );
          await store.appendEvents(events);
          assert.deepEqual(
            byParticipant(await store.loadEntries(config.id)).map((e) => e.metadata),
            samples,
          );
          assert.deepEqual(
            (await store.listEvents(config.id, 0, 100)).map((e) => e.metadata),
            samples,
          );
          assert.deepEqual((await store.getBoard(config.id))?.config.metadata, config.metadata);
        }));

      it("returns only the board's entries, none for an unknown board", () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig();
          await store.createBoard(a);
          await store.createBoard(b);
          await store.appendEvents([scoreEvent(a.id, 1, 'p1', 1), scoreEvent(b.id, 1, 'p2', 2), scoreEvent(b.id, 2, 'p3', 3)]);
          assert.deepEqual(
            (await store.loadEntries(a.id)).map((e) => e.participantId),
            ['p1'],
          );
          assert.equal((await store.loadEntries(b.id)).length, 2);
          assert.deepEqual(await store.loadEntries(boardId()), []);
        }));
    });

    describe('api keys', () => {
      it('creates, finds by hash and counts by scope, across a reopen', () =>
        withStore(async (store, fixture) => {
          const admin = apiKey('admin');
          const writer = apiKey('write');
          const reader = apiKey('read');
          const before = await Promise.all((['admin', 'write', 'read'] as const).map((scope) => store.countApiKeys(scope)));
          for (const key of [admin, writer, reader]) await store.createApiKey(key);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(await s.findApiKey(writer.hash), writer);
            assert.equal(await s.findApiKey(randomBytes(32).toString('hex')), null);
            const after = await Promise.all((['admin', 'write', 'read'] as const).map((scope) => s.countApiKeys(scope)));
            assert.deepEqual(
              after.map((n, i) => n - before[i]!),
              [1, 1, 1],
            );
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('rejects a second key with the same hash', () =>
        withStore(async (store) => {
          const key = apiKey('write');
          await store.createApiKey(key);
          await assert.rejects(store.createApiKey({ ...key, id: `k-${randomBytes(6).toString('hex')}` }));
          assert.equal((await store.findApiKey(key.hash))?.id, key.id);
        }));
    });
  });
}

// ---- builders ----

function boardId(): string {
  return `conf-${randomBytes(6).toString('hex')}`;
}

function boardConfig(overrides: Partial<BoardConfig> = {}): BoardConfig {
  return { id: boardId(), name: 'Conformance board', sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1_700_000_000_000, ...overrides };
}

/** An accepted submission whose entry is consistent with it (score = newScore). */
function scoreEvent(board: string, version: number, participantId: string, newScore: number, overrides: Partial<ScoreEvent> = {}): ScoreEvent {
  const timestamp = overrides.timestamp ?? 1_700_000_000_000 + version;
  const metadata = overrides.metadata === undefined ? null : overrides.metadata;
  return {
    boardId: board,
    eventId: null,
    participantId,
    submitted: newScore,
    timestamp,
    receivedAt: timestamp + 1,
    oldScore: null,
    newScore,
    oldRank: null,
    newRank: 1,
    version,
    changed: true,
    metadata,
    entry: { participantId, score: newScore, achievedAt: timestamp, updatedAt: timestamp, metadata },
    ...overrides,
  };
}

function apiKey(scope: ApiKeyRecord['scope']): ApiKeyRecord {
  return { id: `k-${randomBytes(6).toString('hex')}`, hash: randomBytes(32).toString('hex'), scope, name: `${scope} key`, createdAt: 1_700_000_000_000 };
}

function byParticipant(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => (a.participantId < b.participantId ? -1 : a.participantId > b.participantId ? 1 : 0));
}
