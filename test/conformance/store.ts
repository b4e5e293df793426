/**
 * The Store conformance suite (DESIGN.md "One conformance suite"). Every
 * Store implementation runs it through a factory:
 *
 *   storeConformance('sqlite', async () => ({ store, reopen, dispose }));
 *
 * Each test makes its own fixture and uses random board ids and API key ids,
 * so a factory may hand out one shared database (e.g. PostgreSQL) as long as
 * reopen() opens the same durable state again. reopen() is a clean restart:
 * what is special about an unclean one (new epochs after a crash) belongs to
 * each implementation's own tests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { newEpoch } from '../../src/core/epoch.js';
import { LadderError } from '../../src/core/errors.js';
import { MAX_SCORE, MIN_SCORE } from '../../src/core/ordering.js';
import { fingerprintOf } from '../../src/core/submission.js';
import { compareKeys } from '../../src/core/ordering.js';
import type { BoardConfig, Entry, Metadata, Profile, SortOrder } from '../../src/core/types.js';
import { loadedEntries, type ApiKeyRecord, type HistoryCursor, type HistoryItem, type PeriodClose, type RankedColumns, type Rejection, type ScoreEvent, type Store, type WebhookDelivery } from '../../src/store/store.js';
import { BOARD_DEFAULTS } from '../../src/core/board.js';

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
      it('creates a board and reads its config back, at version 0 of its epoch, with no entries', () =>
        withStore(async (store) => {
          const config = boardConfig({ sortOrder: 'asc', operator: 'latest', metadata: { season: 3, tags: ['a', 'b'] } });
          const epoch = newEpoch();
          await store.createBoard(config, epoch);
          assert.deepEqual(await store.getBoard(config.id), { config, epoch, version: 0, total: 0, periodSeq: 0 });
        }));

      it('answers null for an unknown board', () =>
        withStore(async (store) => {
          assert.equal(await store.getBoard(boardId()), null);
        }));

      it('throws board_exists when the id is taken and keeps the first config and epoch', () =>
        withStore(async (store) => {
          const config = boardConfig({ name: 'first' });
          const epoch = newEpoch();
          await store.createBoard(config, epoch);
          await assert.rejects(store.createBoard({ ...config, name: 'second' }, newEpoch()), (err: unknown) => err instanceof LadderError && err.code === 'board_exists');
          assert.deepEqual(await store.getBoard(config.id), { config, epoch, version: 0, total: 0, periodSeq: 0 });
        }));

      it('lists the boards with their epochs, versions and totals', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig({ operator: 'increment' });
          const [epochA, epochB] = [newEpoch(), newEpoch()];
          await store.createBoard(a, epochA);
          await store.createBoard(b, epochB);
          await store.appendEvents([scoreEvent(b.id, 1, 'p1', 10), scoreEvent(b.id, 2, 'p2', 20)]);
          const ours = (await store.listBoards()).filter((board) => board.config.id === a.id || board.config.id === b.id);
          ours.sort((x, y) => (x.config.id < y.config.id ? -1 : 1));
          const expected = [
            { config: a, epoch: epochA, version: 0, total: 0, periodSeq: 0 },
            { config: b, epoch: epochB, version: 2, total: 2, periodSeq: 0 },
          ].sort((x, y) => (x.config.id < y.config.id ? -1 : 1));
          assert.deepEqual(ours, expected);
        }));

      it('deletes a board with its entries and events, and answers false the second time', () =>
        withStore(async (store) => {
          const config = boardConfig();
          const other = boardConfig();
          await store.createBoard(config, newEpoch());
          await store.createBoard(other, newEpoch());
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 5, { eventId: 'e1' }), scoreEvent(other.id, 1, 'p1', 7, { eventId: 'e1' })]);
          assert.equal(await store.deleteBoard(config.id), true);
          assert.equal(await store.getBoard(config.id), null);
          assert.deepEqual(await entriesOf(store, config.id), []);
          assert.deepEqual(await store.listEvents(config.id, 0, 100), []);
          assert.equal(await store.findEvent(config.id, 'e1'), null);
          assert.equal(await store.deleteBoard(config.id), false);
          assert.equal((await entriesOf(store, other.id)).length, 1, 'another board keeps its entries');
          assert.notEqual(await store.findEvent(other.id, 'e1'), null);
        }));

      it('starts a re-created board empty at version 0 of its new epoch', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 5, { eventId: 'e1' })]);
          await store.deleteBoard(config.id);
          const epoch = newEpoch();
          await store.createBoard(config, epoch);
          assert.deepEqual(await store.getBoard(config.id), { config, epoch, version: 0, total: 0, periodSeq: 0 });
          assert.deepEqual(await entriesOf(store, config.id), []);
          assert.equal(await store.findEvent(config.id, 'e1'), null);
        }));
    });

    describe('epochs', () => {
      it('setEpoch starts a new epoch and keeps the version and the entries, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          const first = newEpoch();
          await store.createBoard(config, first);
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 5), scoreEvent(config.id, 2, 'p2', 7)]);
          const second = newEpoch();
          assert.notEqual(second, first);
          assert.equal(await store.setEpoch(config.id, second), true);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(await s.getBoard(config.id), { config, epoch: second, version: 2, total: 2, periodSeq: 0 });
            assert.equal((await entriesOf(s, config.id)).length, 2);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('setEpoch answers false for an unknown or deleted board, and creates nothing', () =>
        withStore(async (store) => {
          const unknown = boardId();
          assert.equal(await store.setEpoch(unknown, newEpoch()), false);
          assert.equal(await store.getBoard(unknown), null);
          const deleted = boardConfig();
          await store.createBoard(deleted, newEpoch());
          await store.deleteBoard(deleted.id);
          assert.equal(await store.setEpoch(deleted.id, newEpoch()), false);
          assert.equal(await store.getBoard(deleted.id), null);
        }));

      it('keeps each board its own epoch', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig();
          const epochB = newEpoch();
          await store.createBoard(a, newEpoch());
          await store.createBoard(b, epochB);
          const epochA = newEpoch();
          await store.setEpoch(a.id, epochA);
          assert.equal((await store.getBoard(a.id))?.epoch, epochA);
          assert.equal((await store.getBoard(b.id))?.epoch, epochB);
        }));

      it('keeps every epoch across a clean reopen', () =>
        withStore(async (store, fixture) => {
          const boards = [boardConfig(), boardConfig(), boardConfig()];
          const epochs = boards.map(() => newEpoch());
          for (const [i, config] of boards.entries()) await store.createBoard(config, epochs[i]!);
          const reopened = await fixture.reopen();
          for (const [i, config] of boards.entries()) assert.equal((await reopened.getBoard(config.id))?.epoch, epochs[i]);
        }));
    });

    describe('total', () => {
      it('counts each new participant once, not their repeat submissions, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config, newEpoch());
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 10), scoreEvent(config.id, 2, 'p2', 20)]);
          await store.appendEvents([
            scoreEvent(config.id, 3, 'p1', 30, { submitted: 20, oldScore: 10, oldRank: 2 }),
            scoreEvent(config.id, 4, 'p3', 5),
            scoreEvent(config.id, 5, 'p2', 25, { submitted: 5, oldScore: 20, oldRank: 2, newRank: 2 }),
          ]);
          await store.appendEvents([scoreEvent(config.id, 5, 'p3', 5, { submitted: 0, oldScore: 5, oldRank: 3, newRank: 3, changed: false })]);
          const check = async (s: Store): Promise<void> => {
            assert.equal((await s.getBoard(config.id))?.total, 3);
            assert.equal((await s.listBoards()).find((board) => board.config.id === config.id)?.total, 3);
            assert.equal((await entriesOf(s, config.id)).length, 3);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('does not count an event whose event id is logged already, within a call and across calls', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          // The duplicates would each bring a new participant if they were logged.
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 1, { eventId: 'dup' }), scoreEvent(config.id, 2, 'p2', 2, { eventId: 'dup' })]);
          await store.appendEvents([scoreEvent(config.id, 2, 'p3', 3, { eventId: 'dup' })]);
          assert.equal((await store.getBoard(config.id))?.total, 1);
          assert.equal((await (await fixture.reopen()).getBoard(config.id))?.total, 1);
        }));

      it('counts only the events of its own board, and starts again at 0 for a re-created board', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig();
          await store.createBoard(a, newEpoch());
          await store.createBoard(b, newEpoch());
          await store.appendEvents([scoreEvent(a.id, 1, 'p1', 1), scoreEvent(b.id, 1, 'p1', 1), scoreEvent(a.id, 2, 'p2', 2), scoreEvent(boardId(), 1, 'p1', 1)]);
          assert.equal((await store.getBoard(a.id))?.total, 2);
          assert.equal((await store.getBoard(b.id))?.total, 1);
          await store.deleteBoard(a.id);
          await store.createBoard(a, newEpoch());
          assert.equal((await store.getBoard(a.id))?.total, 0);
          await store.appendEvents([scoreEvent(a.id, 1, 'p9', 9)]);
          assert.equal((await store.getBoard(a.id))?.total, 1);
        }));
    });

    describe('appendEvents', () => {
      it('persists events, entries and the version, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          const events = [scoreEvent(config.id, 1, 'alice', 100, { eventId: 'a1' }), scoreEvent(config.id, 2, 'bob', 200, { eventId: null })];
          await store.appendEvents(events);
          const check = async (s: Store): Promise<void> => {
            assert.equal((await s.getBoard(config.id))?.version, 2);
            assert.deepEqual(byParticipant(await entriesOf(s, config.id)), byParticipant(events.map((e) => e.entry)));
            assert.deepEqual(await s.listEvents(config.id, 0, 10), events);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('keeps the latest entry of a participant', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          await store.appendEvents([scoreEvent(config.id, 1, 'p1', 10)]);
          await store.appendEvents([scoreEvent(config.id, 2, 'p1', 30, { oldScore: 10, metadata: { skin: 'red' } })]);
          const [entry] = await entriesOf(store, config.id);
          assert.equal(entry?.score, 30);
          assert.deepEqual(entry?.metadata, { skin: 'red' });
        }));

      it('keeps the version of the last change when an event changed nothing', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
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
          await store.createBoard(config, newEpoch());
          const calls = Array.from({ length: 200 }, (_, i) => store.appendEvents([scoreEvent(config.id, i + 1, `p${i}`, i, { eventId: `e${i}` })]));
          await Promise.all(calls);
          const reopened = await fixture.reopen();
          assert.equal((await reopened.getBoard(config.id))?.version, 200);
          assert.equal((await reopened.getBoard(config.id))?.total, 200);
          assert.equal((await entriesOf(reopened, config.id)).length, 200);
          for (let i = 0; i < 200; i += 37) assert.equal((await reopened.findEvent(config.id, `e${i}`))?.newScore, i);
        }));

      it('applies concurrent calls in the order they were made', () =>
        withStore(async (store) => {
          // The service hands a board's batches over in version order without
          // awaiting each commit, so the store must not reorder them.
          const config = boardConfig({ operator: 'latest' });
          await store.createBoard(config, newEpoch());
          const calls = Array.from({ length: 50 }, (_, i) =>
            store.appendEvents([scoreEvent(config.id, i + 1, 'p1', 1000 - i, { oldScore: i === 0 ? null : 1001 - i, metadata: { call: i } })]),
          );
          await Promise.all(calls);
          const [entry] = await entriesOf(store, config.id);
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
          await store.createBoard(config, newEpoch());
          const pending = [1, 2, 3].map((v) => store.appendEvents([scoreEvent(config.id, v, `p${v}`, v * 10)]));
          const reopened = await fixture.reopen();
          await Promise.all(pending);
          assert.equal((await reopened.getBoard(config.id))?.version, 3);
          assert.equal((await entriesOf(reopened, config.id)).length, 3);
        }));

      it('ignores events of unknown and deleted boards, and commits the others', () =>
        withStore(async (store) => {
          const live = boardConfig();
          const deleted = boardConfig();
          await store.createBoard(live, newEpoch());
          await store.createBoard(deleted, newEpoch());
          await store.deleteBoard(deleted.id);
          await store.appendEvents([scoreEvent(boardId(), 1, 'p1', 1), scoreEvent(deleted.id, 1, 'p1', 1), scoreEvent(live.id, 1, 'p1', 1)]);
          assert.equal((await store.getBoard(live.id))?.version, 1);
          assert.equal(await store.getBoard(deleted.id), null);
          assert.deepEqual(await entriesOf(store, deleted.id), []);
        }));

      it('ignores an event whose event id is logged already, within a call and across calls', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config, newEpoch());
          const first = scoreEvent(config.id, 1, 'p1', 5, { eventId: 'dup' });
          await store.appendEvents([first, scoreEvent(config.id, 2, 'p1', 10, { eventId: 'dup', oldScore: 5 })]);
          await store.appendEvents([scoreEvent(config.id, 3, 'p1', 15, { eventId: 'dup', oldScore: 10 }), scoreEvent(config.id, 2, 'p2', 1, { eventId: 'other' })]);
          assert.deepEqual(await store.findEvent(config.id, 'dup'), first);
          const entries = byParticipant(await entriesOf(store, config.id));
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
          await store.createBoard(config, newEpoch());
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

      it('rejects a call with an invalid event and keeps nothing of it; concurrent calls are each all or nothing; later calls commit', () =>
        withStore(async (store, fixture) => {
          // A call that shares a transaction with the invalid one, or queued
          // behind it, may be rejected with it (the live ranking built on the
          // failed events); which ones is up to the implementation.
          const config = boardConfig();
          const epoch = newEpoch();
          await store.createBoard(config, epoch);
          const calls = [
            [scoreEvent(config.id, 1, 'good1', 1, { eventId: 'g1' })],
            [scoreEvent(config.id, 2, 'half', 2, { eventId: 'h1' }), scoreEvent(config.id, 3, 'bad', 1.5, { eventId: 'b1' })],
            [scoreEvent(config.id, 4, 'good2', 3, { eventId: 'g2' })],
          ];
          const results = await Promise.allSettled(calls.map((events) => store.appendEvents(events)));
          assert.equal(results[1]?.status, 'rejected', 'the call with the invalid event');
          const kept = new Set((await entriesOf(store, config.id)).map((e) => e.participantId));
          const logged = (await store.listEvents(config.id, 0, 100)).map((e) => e.eventId);
          let version = 0;
          for (const [i, events] of calls.entries()) {
            const committed = results[i]?.status === 'fulfilled';
            for (const event of events) {
              assert.equal(kept.has(event.participantId), committed, `entry of ${event.participantId}`);
              assert.equal(logged.includes(event.eventId), committed, `event ${event.eventId}`);
              assert.deepEqual(await store.findEvent(config.id, event.eventId!), committed ? event : null, `findEvent ${event.eventId}`);
              if (committed) version = Math.max(version, event.version);
            }
          }
          assert.deepEqual(await store.getBoard(config.id), { config, epoch, version, total: kept.size, periodSeq: 0 });

          const later = scoreEvent(config.id, 5, 'later', 5, { eventId: 'l1' });
          await store.appendEvents([later]);
          const reopened = await fixture.reopen();
          assert.equal((await reopened.getBoard(config.id))?.version, 5);
          assert.deepEqual(await reopened.findEvent(config.id, 'l1'), later);
          assert.equal(await reopened.findEvent(config.id, 'b1'), null);
        }));
    });

    describe('findEvent', () => {
      it('returns the committed event with its entry', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          const event: ScoreEvent = {
            boardId: config.id,
            seq: nextSeq(),
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
            fingerprint: fingerprintOf('player-7', 1234, 1_700_000_000_123, { map: 'dust', kills: 12 }),
          };
          await store.appendEvents([event]);
          assert.deepEqual(await store.findEvent(config.id, event.eventId!), event);
          assert.deepEqual(await (await fixture.reopen()).findEvent(config.id, event.eventId!), event);
        }));

      it("reconstructs the entry's score and times exactly; its metadata is the event's", () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          // The second event's metadata does not apply: the entry keeps the first one's.
          const first = scoreEvent(config.id, 1, 'p1', 40, { eventId: 'e0', metadata: { carried: 'over' } });
          const event = scoreEvent(config.id, 2, 'p1', 50, {
            eventId: 'e1',
            metadata: null,
            oldScore: 40,
            oldRank: 1,
            entry: { participantId: 'p1', score: 50, achievedAt: 111, updatedAt: 222, metadata: { carried: 'over' } },
          });
          await store.appendEvents([first, event]);
          const found = await store.findEvent(config.id, 'e1');
          assert.deepEqual(found?.entry, { participantId: 'p1', score: 50, achievedAt: 111, updatedAt: 222, metadata: null });
          assert.deepEqual((await entriesOf(store, config.id))[0]?.metadata, { carried: 'over' }, 'the entry itself keeps its metadata');
        }));

      it('round-trips fingerprints, and null for an event without one, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          const events = [
            scoreEvent(config.id, 1, 'p1', 10, { eventId: 'with', fingerprint: fingerprintOf('p1', 10, null, { note: 'Zoë "q" \\ 🚀' }) }),
            scoreEvent(config.id, 2, 'p2', 20, { eventId: 'without', fingerprint: null }),
            scoreEvent(config.id, 3, 'p3', 30, { eventId: 'empty', fingerprint: '' }),
          ];
          await store.appendEvents(events);
          const check = async (s: Store): Promise<void> => {
            for (const event of events) assert.deepEqual(await s.findEvent(config.id, event.eventId!), event);
            assert.deepEqual(
              (await s.listEvents(config.id, 0, 10)).map((e) => e.fingerprint),
              events.map((e) => e.fingerprint),
            );
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('sees an event whose appendEvents has not resolved yet', () =>
        withStore(async (store) => {
          const config = boardConfig();
          const other = boardConfig();
          await store.createBoard(config, newEpoch());
          await store.createBoard(other, newEpoch());
          const events = [
            scoreEvent(config.id, 1, 'p1', 10, { eventId: 'e1', fingerprint: fingerprintOf('p1', 10, null, null) }),
            scoreEvent(config.id, 2, 'p2', 20, { eventId: 'e2', fingerprint: fingerprintOf('p2', 20, null, null) }),
          ];
          const appended = store.appendEvents(events);
          try {
            // Asked right away, before the commit could have been made.
            const found = await Promise.all([store.findEvent(config.id, 'e1'), store.findEvent(config.id, 'e2'), store.findEvent(other.id, 'e1')]);
            assert.deepEqual(found, [events[0], events[1], null]);
          } finally {
            await appended;
          }
          assert.deepEqual(await store.findEvent(config.id, 'e2'), events[1]);
        }));

      it('answers the first event of an event id while a duplicate of it is on its way', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config, newEpoch());
          const first = scoreEvent(config.id, 1, 'p1', 5, { eventId: 'dup', fingerprint: 'first' });
          const pendingFirst = store.appendEvents([first, scoreEvent(config.id, 2, 'p1', 10, { eventId: 'dup', fingerprint: 'same call', oldScore: 5, oldRank: 1 })]);
          try {
            assert.deepEqual(await store.findEvent(config.id, 'dup'), first, 'a duplicate within the pending call');
          } finally {
            await pendingFirst;
          }
          const pendingRetry = store.appendEvents([scoreEvent(config.id, 2, 'p1', 10, { eventId: 'dup', fingerprint: 'later call', oldScore: 5, oldRank: 1 })]);
          try {
            assert.deepEqual(await store.findEvent(config.id, 'dup'), first, 'a pending duplicate of a committed event');
          } finally {
            await pendingRetry;
          }
          assert.deepEqual(await store.findEvent(config.id, 'dup'), first);
        }));

      it('answers null for an unknown event id and for an event id of another board', () =>
        withStore(async (store) => {
          const a = boardConfig();
          const b = boardConfig();
          await store.createBoard(a, newEpoch());
          await store.createBoard(b, newEpoch());
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
          await store.createBoard(config, newEpoch());
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
          await store.createBoard(a, newEpoch());
          await store.createBoard(b, newEpoch());
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

    describe('participant history', () => {
      it('reads back rejections and accepted events, newest first by the time received, only of the participant, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          const early = scoreEvent(config.id, 1, 'alice', 10, { receivedAt: 1_000, eventId: 'e-1', fingerprint: 'fp-1' });
          const other = scoreEvent(config.id, 2, 'bob', 20, { receivedAt: 2_000 });
          const late = scoreEvent(config.id, 3, 'alice', 30, { receivedAt: 3_000, oldScore: 10, oldRank: 1 });
          await store.appendEvents([early, other, late]);
          const fractional = rejection(config.id, 'alice', { receivedAt: 2_000, code: 'invalid_score', submitted: 1.5, timestamp: null, eventId: 'x-1' });
          const tied = rejection(config.id, 'alice', { receivedAt: 3_000, code: 'event_id_conflict', submitted: MAX_SCORE, timestamp: 1_700_000_000_000 });
          await store.recordRejections([fractional, rejection(config.id, 'bob', { receivedAt: 2_500 })]);
          await store.recordRejections([tied]);
          await store.recordRejections([]);
          const check = async (s: Store): Promise<void> => {
            const page = await s.participantHistory(config.id, 'alice', null, 10);
            assert.ok(page !== null);
            assert.equal(page.next, null);
            // On equal times the accepted event comes first.
            assert.deepEqual(page.items.map(describeItem), ['accepted 3', 'rejected event_id_conflict', 'rejected invalid_score', 'accepted 1']);
            const [accepted, rejected] = [page.items[0]!, page.items[2]!];
            assert.ok(accepted.outcome === 'accepted' && rejected.outcome === 'rejected');
            assert.deepEqual(accepted.event, late);
            assert.deepEqual(page.items[3], { outcome: 'accepted', event: early });
            assert.equal(typeof rejected.rejection.id, 'number');
            assert.deepEqual(rejected.rejection, { ...fractional, id: rejected.rejection.id });
            const tiedBack = page.items[1]!;
            assert.ok(tiedBack.outcome === 'rejected');
            assert.ok(tiedBack.rejection.id > rejected.rejection.id, 'ids grow in the order of recording');
            assert.deepEqual((await s.participantHistory(config.id, 'bob', null, 10))?.items.map(describeItem), ['rejected invalid_score', 'accepted 2']);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('pages through every item exactly once with any limit, and a walk does not see what was added after it began', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config, newEpoch());
          // Accepted events and rejections interleaved in time, some on equal milliseconds.
          let at = 1_000_000;
          let version = 0;
          const events: ScoreEvent[] = [];
          const rejections: Rejection[] = [];
          for (let i = 0; i < 60; i++) {
            if (i % 3 !== 0) at += 1;
            if (i % 5 < 3) events.push(scoreEvent(config.id, ++version, 'dana', i, { receivedAt: at, eventId: `ok-${i}`, fingerprint: `fp-${i}` }));
            else rejections.push(rejection(config.id, 'dana', { receivedAt: at, eventId: `bad-${i}` }));
          }
          await store.appendEvents(events);
          await store.recordRejections(rejections);
          const whole = (await store.participantHistory(config.id, 'dana', null, 1000))!;
          assert.equal(whole.items.length, 60);
          assert.equal(whole.next, null);
          const times = whole.items.map(receivedAtOf);
          assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
          for (const limit of [1, 2, 7, 36, 59, 60, 61]) {
            const seen: HistoryItem[] = [];
            let cursor: HistoryCursor | null = null;
            let pages = 0;
            do {
              const page: Awaited<ReturnType<Store['participantHistory']>> = await store.participantHistory(config.id, 'dana', cursor, limit);
              assert.ok(page !== null && page.items.length <= limit);
              seen.push(...page.items);
              cursor = page.next;
              pages += 1;
              assert.ok(pages <= 60, 'the walk ends');
            } while (cursor !== null);
            assert.deepEqual(seen, whole.items, `limit ${limit}`);
            assert.equal(pages, Math.ceil(60 / limit), `limit ${limit}: the page with the oldest item says so`);
          }
          // Items added during a walk are newer than its bounds: it goes on with the older ones only.
          const first = (await store.participantHistory(config.id, 'dana', null, 10))!;
          await store.appendEvents([scoreEvent(config.id, version + 1, 'dana', 1, { receivedAt: at + 10 })]);
          await store.recordRejections([rejection(config.id, 'dana', { receivedAt: at + 10 })]);
          const rest = (await store.participantHistory(config.id, 'dana', first.next, 1000))!;
          assert.deepEqual([...first.items, ...rest.items], whole.items);
          assert.equal((await store.participantHistory(config.id, 'dana', null, 1000))!.items.length, 62);
        }));

      it('answers an empty page for a participant without history and null for an unknown board; a deleted board takes its history along', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          assert.deepEqual(await store.participantHistory(config.id, 'nobody', null, 10), { items: [], next: null });
          assert.equal(await store.participantHistory(boardId(), 'nobody', null, 10), null);
          await store.appendEvents([scoreEvent(config.id, 1, 'erin', 5)]);
          await store.recordRejections([rejection(config.id, 'erin'), rejection(boardId(), 'erin')]);
          assert.equal((await store.participantHistory(config.id, 'erin', null, 10))?.items.length, 2, "the unknown board's rejection is dropped, the other kept");
          assert.equal(await store.deleteBoard(config.id), true);
          assert.equal(await store.participantHistory(config.id, 'erin', null, 10), null);
          await store.createBoard(config, newEpoch());
          assert.deepEqual(await store.participantHistory(config.id, 'erin', null, 10), { items: [], next: null });
        }));

      it('reads a cursor whose parts are done as the end', () =>
        withStore(async (store) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
          await store.appendEvents([scoreEvent(config.id, 1, 'finn', 5, { receivedAt: 10 }), scoreEvent(config.id, 2, 'finn', 6, { receivedAt: 30 })]);
          await store.recordRejections([rejection(config.id, 'finn', { receivedAt: 20 })]);
          const accepted = (await store.participantHistory(config.id, 'finn', { acceptedBefore: Number.MAX_SAFE_INTEGER, rejectedBefore: null }, 10))!;
          assert.deepEqual(accepted.items.map(describeItem), ['accepted 2', 'accepted 1']);
          assert.equal(accepted.next, null);
          const rejected = (await store.participantHistory(config.id, 'finn', { acceptedBefore: null, rejectedBefore: Number.MAX_SAFE_INTEGER }, 10))!;
          assert.deepEqual(rejected.items.map(describeItem), ['rejected invalid_score']);
        }));
    });

    describe('loadBoard', () => {
      it('round-trips the extreme scores and large timestamps exactly', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig();
          await store.createBoard(config, newEpoch());
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
            assert.deepEqual(byParticipant(await entriesOf(s, config.id)), byParticipant(events.map((e) => e.entry)));
            assert.deepEqual(await s.listEvents(config.id, 0, 100), events);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('round-trips metadata', () =>
        withStore(async (store) => {
          const config = boardConfig({ metadata: { nested: { deep: [1, 'two', { three: null }] } } });
          await store.createBoard(config, newEpoch());
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
            byParticipant(await entriesOf(store, config.id)).map((e) => e.metadata),
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
          await store.createBoard(a, newEpoch());
          await store.createBoard(b, newEpoch());
          await store.appendEvents([scoreEvent(a.id, 1, 'p1', 1), scoreEvent(b.id, 1, 'p2', 2), scoreEvent(b.id, 2, 'p3', 3)]);
          assert.deepEqual(
            (await entriesOf(store, a.id)).map((e) => e.participantId),
            ['p1'],
          );
          assert.equal((await entriesOf(store, b.id)).length, 2);
          assert.deepEqual(await entriesOf(store, boardId()), []);
        }));
    });

    describe('checkpoints', () => {
      it('loads a board without a checkpoint as empty columns and every entry changed, with its last seq', () =>
        withStore(async (store) => {
          const config = boardConfig({ operator: 'increment' });
          await store.createBoard(config, newEpoch());
          const empty = await store.loadBoard(config.id);
          assert.deepEqual([empty?.ranked.ids, empty?.changed, empty?.replayed, empty?.seq], [[], [], 0, 0]);
          const events = [scoreEvent(config.id, 1, 'p1', 5), scoreEvent(config.id, 2, 'p2', 7), scoreEvent(config.id, 3, 'p1', 9, { submitted: 4, oldScore: 5, oldRank: 2 })];
          await store.appendEvents(events);
          const loaded = await store.loadBoard(config.id);
          assert.deepEqual(loaded?.board, { config, epoch: loaded?.board.epoch, version: 3, total: 2, periodSeq: 0 });
          assert.equal(loaded?.ranked.ids.length, 0);
          assert.deepEqual(byParticipant(loaded?.changed ?? []), byParticipant([events[2]!.entry, events[1]!.entry]));
          assert.equal(loaded?.replayed, 3);
          assert.equal(loaded?.seq, events[2]!.seq);
          assert.equal(await store.loadBoard(boardId()), null);
        }));

      it('loads the checkpoint in rank order, and on top only what changed after it, metadata included, across a reopen', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig({ operator: 'best' });
          await store.createBoard(config, newEpoch());
          const before = [
            scoreEvent(config.id, 1, 'p1', 10, { metadata: { skin: 'red' } }),
            scoreEvent(config.id, 2, 'p2', 30),
            scoreEvent(config.id, 3, 'p3', 20, { metadata: { skin: 'gold' } }),
          ];
          await store.appendEvents(before);
          const ranked = (): RankedColumns => rankedColumnsOf([before[1]!.entry, before[2]!.entry, before[0]!.entry]);
          assert.equal(await store.saveCheckpoint(config.id, { seq: before[2]!.seq, version: 3, columns: ranked() }), true);
          // p1 improves without metadata (keeps red), p3 submits less with new metadata (keeps gold), p4 is new, p2 gets metadata.
          const p1 = scoreEvent(config.id, 4, 'p1', 40, { oldScore: 10, oldRank: 3, metadata: null, entry: { ...before[0]!.entry, score: 40, achievedAt: 4, updatedAt: 4 } });
          const p3 = scoreEvent(config.id, 4, 'p3', 20, { submitted: 5, oldScore: 20, oldRank: 3, changed: false, metadata: { skin: 'blue' }, entry: { ...before[2]!.entry, updatedAt: 9 } });
          const p4 = scoreEvent(config.id, 5, 'p4', 1);
          const p2 = scoreEvent(config.id, 6, 'p2', 50, { oldScore: 30, oldRank: 2, metadata: { skin: 'green' }, entry: { ...before[1]!.entry, score: 50, achievedAt: 6, updatedAt: 6, metadata: { skin: 'green' } } });
          await store.appendEvents([p1, p3]);
          await store.appendEvents([p4, p2]);
          const check = async (s: Store): Promise<void> => {
            const loaded = await s.loadBoard(config.id);
            assert.ok(loaded !== null);
            assert.deepEqual(loaded.ranked, ranked());
            assert.deepEqual(byParticipant(loaded.changed), byParticipant([p1.entry, p3.entry, p4.entry, p2.entry]));
            assert.deepEqual(byParticipant(loaded.changed).map((e) => e.metadata), [{ skin: 'red' }, { skin: 'green' }, { skin: 'gold' }, null]);
            assert.equal(loaded.replayed, 4);
            assert.equal(loaded.seq, p2.seq);
            assert.deepEqual([loaded.board.version, loaded.board.total], [6, 4]);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('loads from the latest checkpoint; events, findEvent and listEvents keep the whole log', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig({ operator: 'latest', sortOrder: 'asc' });
          await store.createBoard(config, newEpoch());
          const events: ScoreEvent[] = [];
          const latest = new Map<string, Entry>();
          for (let round = 0; round < 3; round++) {
            const batch = Array.from({ length: 5 }, (_, i) => {
              const version = events.length + i + 1;
              return scoreEvent(config.id, version, `p${(round + i) % 4}`, 100 - version, { eventId: `e${version}` });
            });
            await store.appendEvents(batch);
            events.push(...batch);
            for (const event of batch) latest.set(event.participantId, event.entry);
            const columns = rankedColumnsOf([...latest.values()], 'asc');
            assert.equal(await store.saveCheckpoint(config.id, { seq: batch[4]!.seq, version: events.length, columns }), true);
          }
          const tail = scoreEvent(config.id, 16, 'p9', 1, { eventId: 'e16' });
          await store.appendEvents([tail]);
          const check = async (s: Store): Promise<void> => {
            const loaded = await s.loadBoard(config.id);
            assert.deepEqual(loaded?.ranked, rankedColumnsOf([...latest.values()], 'asc'));
            assert.deepEqual(loaded?.changed, [tail.entry]);
            assert.equal(loaded?.replayed, 1);
            assert.deepEqual(await s.listEvents(config.id, 0, 100), [...events, tail]);
            assert.deepEqual(await s.findEvent(config.id, 'e1'), events[0]);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('answers false for a checkpoint of an unknown or deleted board; a re-created board loads empty', () =>
        withStore(async (store) => {
          const config = boardConfig();
          assert.equal(await store.saveCheckpoint(config.id, { seq: 1, version: 1, columns: rankedColumnsOf([]) }), false);
          await store.createBoard(config, newEpoch());
          const event = scoreEvent(config.id, 1, 'p1', 5);
          await store.appendEvents([event]);
          assert.equal(await store.saveCheckpoint(config.id, { seq: event.seq, version: 1, columns: rankedColumnsOf([event.entry]) }), true);
          await store.deleteBoard(config.id);
          assert.equal(await store.saveCheckpoint(config.id, { seq: event.seq + 1, version: 1, columns: rankedColumnsOf([event.entry]) }), false);
          await store.createBoard(config, newEpoch());
          const loaded = await store.loadBoard(config.id);
          assert.deepEqual([loaded?.ranked.ids, loaded?.changed, loaded?.seq], [[], [], 0]);
        }));

      it('leaves out an entry whose last event removed it (new rank 0), from the checkpoint or the log, lowers the total, and takes one placed again', () =>
        withStore(async (store, fixture) => {
          const config = boardConfig({ operator: 'best' });
          await store.createBoard(config, newEpoch());
          const before = [scoreEvent(config.id, 1, 'p1', 5), scoreEvent(config.id, 2, 'p2', 7), scoreEvent(config.id, 3, 'p3', 9)];
          await store.appendEvents(before);
          assert.equal(await store.saveCheckpoint(config.id, { seq: before[2]!.seq, version: 3, columns: rankedColumnsOf(before.map((e) => e.entry)) }), true);
          const removal = (version: number, event: ScoreEvent, rank: number) =>
            scoreEvent(config.id, version, event.participantId, event.newScore, { oldScore: event.newScore, oldRank: rank, newRank: 0, entry: event.entry });
          // In log order (each event takes the next seq as it is made).
          const removeP2 = removal(4, before[1]!, 2);
          const p4 = scoreEvent(config.id, 4, 'p4', 3);
          const removeP3 = removal(5, before[2]!, 1);
          const removeP4 = removal(6, p4, 3);
          const p3again = scoreEvent(config.id, 7, 'p3', 11);
          await store.appendEvents([removeP2, p4, removeP3, removeP4, p3again]);
          const check = async (s: Store): Promise<void> => {
            const loaded = await s.loadBoard(config.id);
            assert.deepEqual(loaded?.changed, [p3again.entry]);
            assert.deepEqual([...(loaded?.removed ?? [])].sort(), ['p2', 'p4']);
            assert.deepEqual(byParticipant(loadedEntries(loaded!)), byParticipant([before[0]!.entry, p3again.entry]));
            assert.equal((await s.getBoard(config.id))?.total, 2);
          };
          await check(store);
          await check(await fixture.reopen());
        }));
    });

    describe('profiles', () => {
      it('puts, reads many at once, replaces and deletes profiles, across a reopen', () =>
        withStore(async (store, fixture) => {
          const [a, b, c] = [participantId(), participantId(), participantId()];
          const alice = { participantId: a, displayName: 'Alice ✓', avatarUrl: 'https://cdn.example/a.png', metadata: { team: 'red', tags: [1, 2] }, updatedAt: 1_700_000_000_001 };
          const bob = { participantId: b, displayName: null, avatarUrl: null, metadata: null, updatedAt: 1_700_000_000_002 };
          await store.putProfile(alice);
          await store.putProfile(bob);
          const byId = (profiles: Profile[]) => [...profiles].sort((x, y) => (x.participantId < y.participantId ? -1 : 1));
          assert.deepEqual(byId(await store.getProfiles([a, b, c])), byId([alice, bob]), 'a participant without a profile is left out');
          assert.deepEqual(await store.getProfiles([]), []);
          const renamed = { ...alice, displayName: 'Alicia', metadata: null, updatedAt: 1_700_000_000_003 };
          await store.putProfile(renamed);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(await s.getProfiles([a]), [renamed]);
            assert.deepEqual(await s.getProfiles([b, b]), [bob]);
          };
          await check(store);
          const reopened = await fixture.reopen();
          await check(reopened);
          assert.equal(await reopened.deleteProfile(a), true);
          assert.equal(await reopened.deleteProfile(a), false);
          assert.equal(await reopened.deleteProfile(c), false);
          assert.deepEqual(await reopened.getProfiles([a, b]), [bob]);
          assert.deepEqual(await (await fixture.reopen()).getProfiles([a]), []);
        }));

      it('reads a thousand profiles in one call', () =>
        withStore(async (store) => {
          const ids = Array.from({ length: 1000 }, () => participantId());
          for (const [i, id] of ids.slice(0, 500).entries()) await store.putProfile({ participantId: id, displayName: `n${i}`, avatarUrl: null, metadata: null, updatedAt: i });
          const profiles = await store.getProfiles(ids);
          assert.equal(profiles.length, 500);
          assert.deepEqual(new Set(profiles.map((p) => p.participantId)), new Set(ids.slice(0, 500)));
        }));
    });

    describe('eraseParticipant', () => {
      /** p1 30, p2 20, p3 10 on a desc board, with event ids; p2 submits twice. */
      async function threeOnABoard(store: Store): Promise<{ config: BoardConfig; events: ScoreEvent[] }> {
        const config = boardConfig();
        await store.createBoard(config, newEpoch());
        const events = [
          scoreEvent(config.id, 1, 'p1', 30, { eventId: 'e1', metadata: { skin: 'red' } }),
          scoreEvent(config.id, 2, 'p2', 15, { eventId: 'e2', metadata: { skin: 'blue' } }),
          scoreEvent(config.id, 3, 'p3', 10, { eventId: 'e3' }),
        ];
        events.push(scoreEvent(config.id, 4, 'p2', 20, { eventId: 'e4', oldScore: 15, oldRank: 2, entry: { participantId: 'p2', score: 20, achievedAt: 1_700_000_000_004, updatedAt: 1_700_000_000_004, metadata: { skin: 'blue' } } }));
        await store.appendEvents(events);
        return { config, events };
      }

      it('takes the entry, its events and event ids out of the log; the version rises and the total drops, across a reopen', () =>
        withStore(async (store, fixture) => {
          const { config, events } = await threeOnABoard(store);
          assert.equal(await store.eraseParticipant(config.id, 'p2', { seq: events[3]!.seq, version: 5 }), true);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(byParticipant(await entriesOf(s, config.id)), byParticipant([events[0]!.entry, events[2]!.entry]));
            assert.deepEqual(await s.listEvents(config.id, 0, 100), [events[0], events[2]]);
            assert.equal(await s.findEvent(config.id, 'e2'), null);
            assert.equal(await s.findEvent(config.id, 'e4'), null);
            assert.deepEqual(await s.findEvent(config.id, 'e1'), events[0]);
            const board = await s.getBoard(config.id);
            assert.deepEqual([board?.version, board?.total], [5, 2]);
          };
          await check(store);
          const reopened = await fixture.reopen();
          await check(reopened);
          assert.equal(await reopened.eraseParticipant(config.id, 'p2', { seq: events[3]!.seq, version: 5 }), false, 'a repeat finds nothing');
          assert.equal(await reopened.eraseParticipant(config.id, 'nobody', { seq: events[3]!.seq, version: 5 }), false);
          await check(reopened);
        }));

      it('frees the event ids: the same event id can be logged again afterwards', () =>
        withStore(async (store) => {
          const { config, events } = await threeOnABoard(store);
          await store.eraseParticipant(config.id, 'p2', { seq: events[3]!.seq, version: 5 });
          const again = scoreEvent(config.id, 6, 'p2', 1, { eventId: 'e2' });
          await store.appendEvents([again]);
          assert.deepEqual(await store.findEvent(config.id, 'e2'), again);
          assert.deepEqual((await store.getBoard(config.id))?.total, 3);
        }));

      it('takes the entry out of the checkpoint and closes the ranks up; the log after it replays without them', () =>
        withStore(async (store, fixture) => {
          const { config, events } = await threeOnABoard(store);
          const first = [events[0]!.entry, events[1]!.entry, events[2]!.entry];
          assert.equal(await store.saveCheckpoint(config.id, { seq: events[2]!.seq, version: 3, columns: rankedColumnsOf(first) }), true);
          // Saved again after p2's second event: stores that keep more than one keep both.
          const second = [events[0]!.entry, events[3]!.entry, events[2]!.entry];
          assert.equal(await store.saveCheckpoint(config.id, { seq: events[3]!.seq, version: 4, columns: rankedColumnsOf(second) }), true);
          const tail = scoreEvent(config.id, 5, 'p4', 5);
          await store.appendEvents([tail]);
          assert.equal(await store.eraseParticipant(config.id, 'p2', { seq: tail.seq, version: 6 }), true);
          const check = async (s: Store): Promise<void> => {
            const loaded = await s.loadBoard(config.id);
            assert.ok(loaded !== null);
            assert.deepEqual(loaded.ranked, rankedColumnsOf([events[0]!.entry, events[2]!.entry]));
            assert.deepEqual(loaded.changed, [tail.entry]);
            assert.deepEqual([loaded.board.version, loaded.board.total, loaded.seq], [6, 3, tail.seq]);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('keeps what the participant did after the erasure, and checkpoints after it', () =>
        withStore(async (store) => {
          const { config, events } = await threeOnABoard(store);
          const erasedAt = events[3]!.seq;
          const later = scoreEvent(config.id, 6, 'p2', 99, { eventId: 'e6' });
          await store.appendEvents([later]);
          assert.equal(await store.eraseParticipant(config.id, 'p2', { seq: erasedAt, version: 5 }), true);
          assert.deepEqual(byParticipant(await entriesOf(store, config.id)), byParticipant([events[0]!.entry, events[2]!.entry, later.entry]));
          assert.deepEqual(await store.findEvent(config.id, 'e6'), later);
          const board = await store.getBoard(config.id);
          assert.deepEqual([board?.version, board?.total], [6, 3], 'the version stays above the erasure; the total counts the new entry');
        }));

      it('only touches its own board, and answers false for an unknown or deleted one', () =>
        withStore(async (store) => {
          const { config, events } = await threeOnABoard(store);
          const other = boardConfig();
          await store.createBoard(other, newEpoch());
          const theirs = scoreEvent(other.id, 1, 'p2', 7, { eventId: 'e2' });
          await store.appendEvents([theirs]);
          await store.eraseParticipant(config.id, 'p2', { seq: events[3]!.seq, version: 5 });
          assert.deepEqual(await entriesOf(store, other.id), [theirs.entry]);
          assert.deepEqual(await store.findEvent(other.id, 'e2'), theirs);
          assert.equal(await store.eraseParticipant(boardId(), 'p2', { seq: 10, version: 1 }), false);
          await store.deleteBoard(other.id);
          assert.equal(await store.eraseParticipant(other.id, 'p2', { seq: 10, version: 2 }), false);
          assert.equal(await store.getBoard(other.id), null, 'creates nothing');
        }));
    });

    describe('final rankings', () => {
      it('answers shared ranks of a closed period: the lowest rank with each score', () =>
        withStore(async (store) => {
          const config = boardConfig({ finalizedAt: null });
          await store.createBoard(config, newEpoch());
          // In rank order: ranks 1..7 with scores 100, 90, 90, 90, 80, 80, 70 (shared: 1 2 2 2 5 5 7).
          const scores = [100, 90, 90, 90, 80, 80, 70];
          const ids = scores.map((_, i) => `p${i + 1}`);
          const times = Float64Array.from(scores, (_, i) => 1_000 + i);
          const ranked: RankedColumns = { ids, scores: Float64Array.from(scores), achievedAt: times, updatedAt: times.slice(), metadata: new Map() };
          assert.equal(await store.closePeriod({ boardId: config.id, periodId: 'final', startsAt: 0, endsAt: 10, closedAt: 10, ranked, config, reset: null, webhook: null }), true);
          const read = await store.readFinal(
            config.id,
            'final',
            [
              { kind: 'page', offset: 0, limit: 10 },
              { kind: 'page', offset: 3, limit: 2 },
              { kind: 'around', participantId: 'p6', size: 3 },
              { kind: 'neighbors', participantId: 'p3', radius: 1 },
              { kind: 'participants', participantIds: ['p7', 'p4', 'nobody', 'p1'] },
              { kind: 'page', offset: 9, limit: 2 },
            ],
            { ties: 'shared' },
          );
          assert.ok(read !== null);
          const shown = read.pages.map((page) => page.entries.map((e, i) => `${e.participantId}:${e.rank}:${page.sharedRanks?.[i]}`));
          assert.deepEqual(shown, [
            ['p1:1:1', 'p2:2:2', 'p3:3:2', 'p4:4:2', 'p5:5:5', 'p6:6:5', 'p7:7:7'],
            ['p4:4:2', 'p5:5:5'],
            ['p5:5:5', 'p6:6:5', 'p7:7:7'],
            ['p2:2:2', 'p3:3:2', 'p4:4:2'],
            ['p1:1:1', 'p4:4:2', 'p7:7:7'],
            [],
          ]);
          const unique = await store.readFinal(config.id, 'final', [{ kind: 'page', offset: 0, limit: 2 }]);
          assert.equal(unique?.pages[0]?.sharedRanks, undefined, 'unique reads carry no shared ranks');
        }));
    });

    describe('api keys', () => {
      it('creates, finds by hash and counts by scope, across a reopen', () =>
        withStore(async (store, fixture) => {
          const admin = apiKey('admin');
          const writer = apiKey('write');
          const reader = { ...apiKey('read'), boards: ['board-a', 'board-b'], rateLimit: { max: 100, windowMs: 1000 } };
          const before = await Promise.all((['admin', 'write', 'read'] as const).map((scope) => store.countApiKeys(scope)));
          for (const key of [admin, writer, reader]) await store.createApiKey(key);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(await s.findApiKey(writer.hash), writer);
            assert.deepEqual(await s.findApiKey(reader.hash), reader);
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

      it('lists every key oldest first, revoked keys too', () =>
        withStore(async (store, fixture) => {
          const keys = [apiKey('write', 2), apiKey('admin', 0), apiKey('read', 1)];
          for (const key of keys) await store.createApiKey(key);
          const revoked = await store.revokeApiKey(keys[2]!.id, 1_800_000_000_000);
          const ids = new Set(keys.map((key) => key.id));
          const expected = [keys[1], { ...keys[2]!, revokedAt: 1_800_000_000_000 }, keys[0]];
          assert.deepEqual(revoked, expected[1]);
          assert.deepEqual((await store.listApiKeys()).filter((key) => ids.has(key.id)), expected);
          assert.deepEqual((await (await fixture.reopen()).listApiKeys()).filter((key) => ids.has(key.id)), expected);
        }));

      it('revokes a key: still found by hash with revokedAt, no longer counted, across a reopen', () =>
        withStore(async (store, fixture) => {
          const key = apiKey('admin');
          const kept = apiKey('admin');
          await store.createApiKey(key);
          await store.createApiKey(kept);
          const before = await store.countApiKeys('admin');
          const revoked = { ...key, revokedAt: 1_800_000_000_000 };
          assert.deepEqual(await store.revokeApiKey(key.id, 1_800_000_000_000), revoked);
          const check = async (s: Store): Promise<void> => {
            assert.deepEqual(await s.findApiKey(key.hash), revoked);
            assert.deepEqual(await s.findApiKey(kept.hash), kept);
            assert.equal(await s.countApiKeys('admin'), before - 1);
          };
          await check(store);
          await check(await fixture.reopen());
        }));

      it('answers null when revoking an unknown id, and changes no key', () =>
        withStore(async (store) => {
          const key = apiKey('read');
          await store.createApiKey(key);
          const before = await store.countApiKeys('read');
          assert.equal(await store.revokeApiKey(`k-${randomBytes(6).toString('hex')}`, 1_800_000_000_000), null);
          assert.equal(await store.revokeApiKey(key.hash, 1_800_000_000_000), null, 'a hash is not an id');
          assert.deepEqual(await store.findApiKey(key.hash), key);
          assert.equal(await store.countApiKeys('read'), before);
        }));

      it('keeps the first revocation time when a key is revoked twice', () =>
        withStore(async (store, fixture) => {
          const key = apiKey('write');
          await store.createApiKey(key);
          const before = await store.countApiKeys('write');
          const revoked = { ...key, revokedAt: 1_800_000_000_000 };
          assert.deepEqual(await store.revokeApiKey(key.id, 1_800_000_000_000), revoked);
          assert.deepEqual(await store.revokeApiKey(key.id, 1_900_000_000_000), revoked);
          assert.equal(await store.countApiKeys('write'), before - 1, 'counted out once');
          assert.deepEqual(await (await fixture.reopen()).findApiKey(key.hash), revoked);
        }));

      it('rejects a second key with the same hash', () =>
        withStore(async (store) => {
          const key = apiKey('write');
          await store.createApiKey(key);
          await assert.rejects(store.createApiKey({ ...key, id: `k-${randomBytes(6).toString('hex')}` }));
          assert.equal((await store.findApiKey(key.hash))?.id, key.id);
        }));
    });

    describe('webhook deliveries', () => {
      /** A board closed with a webhook at `at` (period 'final'), its delivery due then; deleted (with it) after the test. */
      async function closedWithWebhook(store: Store, at: number, boards: string[], periodId = 'final'): Promise<string> {
        const config = boardConfig({ webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 'secret' });
        await store.createBoard(config, newEpoch());
        boards.push(config.id);
        assert.equal(await store.closePeriod(webhookClose(config.id, periodId, at, { ...config, finalizedAt: at })), true);
        return config.id;
      }

      /** Runs the test, then deletes the boards it listed in `boards` (their deliveries go with them). */
      async function withBoards(test: (store: Store, boards: string[], reopen: () => Promise<Store>) => Promise<void>): Promise<void> {
        await withStore(async (store, fixture) => {
          const boards: string[] = [];
          let current = store;
          try {
            await test(store, boards, async () => (current = await fixture.reopen()));
          } finally {
            for (const id of boards) await current.deleteBoard(id);
          }
        });
      }

      /** The claimed deliveries of these boards: a shared database may hold other tests' due ones too. */
      const mine = (claimed: readonly WebhookDelivery[], boards: readonly string[]) => claimed.filter((delivery) => boards.includes(delivery.boardId));

      it('a close with a webhook leaves one pending delivery, listed with its url and top', () =>
        withBoards(async (store, boards, reopen) => {
          const id = await closedWithWebhook(store, T, boards);
          const expected: WebhookDelivery = { boardId: id, periodId: 'final', url: 'http://127.0.0.1:9/hook', top: 3, createdAt: T, attempts: 0, nextAttemptAt: T, leasedUntil: 0, deliveredAt: null, lastError: null };
          assert.deepEqual(await store.listWebhooks(id, 10), [expected]);
          assert.deepEqual(await (await reopen()).listWebhooks(id, 10), [expected], 'durable');
        }));

      it('claims a due delivery with a lease and one more attempt; nobody claims it again until the lease runs out', () =>
        withBoards(async (store, boards) => {
          const id = await closedWithWebhook(store, T, boards);
          assert.deepEqual(mine(await store.claimWebhooks(T - 1, 60_000, 1000), boards), [], 'not due before its time');
          const [claimed] = mine(await store.claimWebhooks(T, 60_000, 1000), boards);
          assert.equal(claimed?.boardId, id);
          assert.equal(claimed.attempts, 1);
          assert.equal(claimed.leasedUntil, T + 60_000);
          assert.deepEqual(mine(await store.claimWebhooks(T + 59_999, 60_000, 1000), boards), [], 'held by the lease');
          const [again] = mine(await store.claimWebhooks(T + 60_000, 60_000, 1000), boards);
          assert.equal(again?.attempts, 2, 'claimed again once the lease ran out (its holder died)');
          assert.equal(again.leasedUntil, T + 120_000);
        }));

      it('gives each delivery to one of many concurrent claims', () =>
        withBoards(async (store, boards) => {
          for (let i = 0; i < 6; i++) await closedWithWebhook(store, T, boards);
          const claims = await Promise.all(Array.from({ length: 4 }, () => store.claimWebhooks(T, 60_000, 1000)));
          const claimed = claims.flatMap((claim) => mine(claim, boards)).map((delivery) => delivery.boardId);
          assert.deepEqual(claimed.sort(), [...boards].sort(), 'every delivery once');
          assert.ok(claims.flatMap((claim) => mine(claim, boards)).every((delivery) => delivery.attempts === 1));
        }));

      it('claims at most `limit`, oldest due first', () =>
        withBoards(async (store, boards) => {
          const late = await closedWithWebhook(store, T + 2, boards);
          const early = await closedWithWebhook(store, T + 1, boards);
          const first = await store.claimWebhooks(T + 2, 60_000, 1);
          assert.equal(first.length, 1);
          // Other tests' deliveries, due earlier, may come first in a shared database: claim until ours are in.
          const claimed = [...first];
          for (let i = 0; i < 100 && mine(claimed, boards).length < 2; i++) claimed.push(...(await store.claimWebhooks(T + 2, 60_000, 1)));
          assert.deepEqual(mine(claimed, boards).map((delivery) => delivery.boardId), [early, late]);
        }));

      it('records a success once: never claimed again, and a late failure of the same attempt changes nothing', () =>
        withBoards(async (store, boards, reopen) => {
          const id = await closedWithWebhook(store, T, boards);
          mine(await store.claimWebhooks(T, 60_000, 1000), boards);
          assert.equal(await store.completeWebhook(id, 'final', T + 5), true);
          assert.equal(await store.completeWebhook(id, 'final', T + 6), false, 'recorded once');
          assert.equal(await store.retryWebhook(id, 'final', 1, T + 10, 'late'), false);
          const reopened = await reopen();
          assert.deepEqual(mine(await reopened.claimWebhooks(T + 10 ** 9, 60_000, 1000), boards), []);
          const [listed] = await reopened.listWebhooks(id, 10);
          assert.deepEqual({ deliveredAt: listed?.deliveredAt, attempts: listed?.attempts, leasedUntil: listed?.leasedUntil, lastError: listed?.lastError }, { deliveredAt: T + 5, attempts: 1, leasedUntil: 0, lastError: null });
          assert.equal(await reopened.completeWebhook('conf-missing', 'final', T), false, 'unknown delivery');
        }));

      it('a failure makes it due again at its next attempt, with its error; a stale attempt cannot release a newer claim', () =>
        withBoards(async (store, boards) => {
          const id = await closedWithWebhook(store, T, boards);
          mine(await store.claimWebhooks(T, 60_000, 1000), boards);
          assert.equal(await store.retryWebhook(id, 'final', 1, T + 1000, 'HTTP 500'), true);
          let [listed] = await store.listWebhooks(id, 10);
          assert.deepEqual({ nextAttemptAt: listed?.nextAttemptAt, leasedUntil: listed?.leasedUntil, lastError: listed?.lastError, attempts: listed?.attempts }, { nextAttemptAt: T + 1000, leasedUntil: 0, lastError: 'HTTP 500', attempts: 1 });
          assert.deepEqual(mine(await store.claimWebhooks(T + 999, 60_000, 1000), boards), [], 'not before its next attempt');
          const [second] = mine(await store.claimWebhooks(T + 1000, 60_000, 1000), boards);
          assert.equal(second?.attempts, 2);
          assert.equal(await store.retryWebhook(id, 'final', 1, T + 1000, 'stale'), false, 'attempt 1 no longer holds it');
          [listed] = await store.listWebhooks(id, 10);
          assert.equal(listed?.leasedUntil, T + 61_000, 'still leased by attempt 2');
          assert.equal(listed.lastError, 'HTTP 500');
          // The success of a holder whose lease ran out still counts: the receiver got it.
          assert.equal(await store.completeWebhook(id, 'final', T + 1001), true);
        }));

      it('gives a delivery up: never claimed again, listed with no next attempt', () =>
        withBoards(async (store, boards, reopen) => {
          const id = await closedWithWebhook(store, T, boards);
          mine(await store.claimWebhooks(T, 60_000, 1000), boards);
          assert.equal(await store.retryWebhook(id, 'final', 1, null, 'gave up'), true);
          const reopened = await reopen();
          assert.deepEqual(mine(await reopened.claimWebhooks(Number.MAX_SAFE_INTEGER - 1, 60_000, 1000), boards), []);
          const [listed] = await reopened.listWebhooks(id, 10);
          assert.deepEqual({ nextAttemptAt: listed?.nextAttemptAt, deliveredAt: listed?.deliveredAt, lastError: listed?.lastError }, { nextAttemptAt: null, deliveredAt: null, lastError: 'gave up' });
        }));

      it("lists a board's deliveries newest first, a page before a time; they go with their period and their board", () =>
        withBoards(async (store, boards) => {
          const config = boardConfig({ webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 'secret', reset: 'daily' });
          await store.createBoard(config, newEpoch());
          boards.push(config.id);
          for (const [i, periodId] of ['2027-01-01', '2027-01-02', '2027-01-03'].entries()) {
            assert.equal(await store.closePeriod({ ...webhookClose(config.id, periodId, T + i, config), reset: { epoch: newEpoch(), seq: 0 } }), true);
          }
          const periods = async (before?: number) => (await store.listWebhooks(config.id, 10, before)).map((delivery) => delivery.periodId);
          assert.deepEqual(await periods(), ['2027-01-03', '2027-01-02', '2027-01-01']);
          assert.deepEqual(await periods(T + 2), ['2027-01-02', '2027-01-01']);
          assert.deepEqual((await store.listWebhooks(config.id, 1)).map((delivery) => delivery.periodId), ['2027-01-03']);
          await store.deletePeriod(config.id, '2027-01-02');
          assert.deepEqual(await periods(), ['2027-01-03', '2027-01-01']);
          assert.equal(await store.deleteBoard(config.id), true);
          assert.deepEqual(await periods(), []);
        }));
    });
  });
}

// ---- builders ----

/** A time after every other in this suite. */
const T = 1_800_000_000_000;

/** A close of `periodId` that owes a webhook of the top 3, with two entries in its final rankings. */
function webhookClose(boardId: string, periodId: string, at: number, config: BoardConfig): PeriodClose {
  const entries: Entry[] = [
    { participantId: 'ann', score: 30, achievedAt: at - 2, updatedAt: at - 2, metadata: null },
    { participantId: 'bob', score: 20, achievedAt: at - 1, updatedAt: at - 1, metadata: { team: 'red' } },
  ];
  return { boardId, periodId, startsAt: at - 86_400_000, endsAt: at, closedAt: at, ranked: rankedColumnsOf(entries), config, reset: null, webhook: { url: 'http://127.0.0.1:9/hook', top: 3 } };
}

function boardId(): string {
  return `conf-${randomBytes(6).toString('hex')}`;
}

function participantId(): string {
  return `conf-p-${randomBytes(6).toString('hex')}`;
}

function boardConfig(overrides: Partial<BoardConfig> = {}): BoardConfig {
  return { ...BOARD_DEFAULTS, id: boardId(), name: 'Conformance board', sortOrder: 'desc', operator: 'best', metadata: null, createdAt: 1_700_000_000_000, ...overrides };
}

let lastSeq = 0;

/** A seq greater than every one handed out before, whatever the board: seqs only need to grow per board. */
function nextSeq(): number {
  return ++lastSeq;
}

/**
 * An accepted submission whose entry is consistent with it (score = newScore),
 * with the next seq: build a board's events in the order they are appended.
 */
function scoreEvent(board: string, version: number, participantId: string, newScore: number, overrides: Partial<ScoreEvent> = {}): ScoreEvent {
  const timestamp = overrides.timestamp ?? 1_700_000_000_000 + version;
  const metadata = overrides.metadata === undefined ? null : overrides.metadata;
  return {
    boardId: board,
    seq: nextSeq(),
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
    fingerprint: null,
    ...overrides,
  };
}

/** A refused submission of the participant to the board. */
function rejection(board: string, participantId: string, overrides: Partial<Rejection> = {}): Rejection {
  return {
    boardId: board,
    participantId,
    code: 'invalid_score',
    message: 'score must be an integer within ±(2^53−1)',
    submitted: 2.5,
    timestamp: 1_700_000_000_000,
    eventId: null,
    receivedAt: 1_700_000_000_001,
    ...overrides,
  };
}

function describeItem(item: HistoryItem): string {
  return item.outcome === 'accepted' ? `accepted ${item.event.version}` : `rejected ${item.rejection.code}`;
}

function receivedAtOf(item: HistoryItem): number {
  return item.outcome === 'accepted' ? item.event.receivedAt : item.rejection.receivedAt;
}

/** An unrevoked key, created `age` ms after the others. */
function apiKey(scope: ApiKeyRecord['scope'], age = 0): ApiKeyRecord {
  return { id: `k-${randomBytes(6).toString('hex')}`, hash: randomBytes(32).toString('hex'), scope, name: `${scope} key`, createdAt: 1_700_000_000_000 + age, revokedAt: null, boards: null, rateLimit: null };
}

/** Every entry of the board as loadBoard gives it: the checkpoint's columns with the changed entries on top. */
export async function entriesOf(store: Store, id: string): Promise<Entry[]> {
  const loaded = await store.loadBoard(id);
  if (loaded === null) return [];
  const entries = new Map<string, Entry>();
  const { ranked } = loaded;
  for (let i = 0; i < ranked.ids.length; i++) {
    const participantId = ranked.ids[i]!;
    entries.set(participantId, { participantId, score: ranked.scores[i]!, achievedAt: ranked.achievedAt[i]!, updatedAt: ranked.updatedAt[i]!, metadata: ranked.metadata.get(i) ?? null });
  }
  for (const entry of loaded.changed) entries.set(entry.participantId, entry);
  return [...entries.values()];
}

/** The entries as checkpoint columns, sorted into rank order here. */
export function rankedColumnsOf(entries: readonly Entry[], sortOrder: SortOrder = 'desc'): RankedColumns {
  const sorted = [...entries].sort((a, b) => compareKeys(sortOrder, a, b));
  const metadata = new Map<number, Metadata>();
  sorted.forEach((entry, i) => {
    if (entry.metadata !== null) metadata.set(i, entry.metadata);
  });
  return {
    ids: sorted.map((entry) => entry.participantId),
    scores: Float64Array.from(sorted, (entry) => entry.score),
    achievedAt: Float64Array.from(sorted, (entry) => entry.achievedAt),
    updatedAt: Float64Array.from(sorted, (entry) => entry.updatedAt),
    metadata,
  };
}

function byParticipant(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => (a.participantId < b.participantId ? -1 : a.participantId > b.participantId ? 1 : 0));
}
