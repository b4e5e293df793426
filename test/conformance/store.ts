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
import type { BoardConfig, Entry, Metadata, SortOrder } from '../../src/core/types.js';
import { loadedEntries, type ApiKeyRecord, type RankedColumns, type ScoreEvent, type Store } from '../../src/store/store.js';
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
  });
}

// ---- builders ----

function boardId(): string {
  return `conf-${randomBytes(6).toString('hex')}`;
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

/** An unrevoked key, created `age` ms after the others. */
function apiKey(scope: ApiKeyRecord['scope'], age = 0): ApiKeyRecord {
  return { id: `k-${randomBytes(6).toString('hex')}`, hash: randomBytes(32).toString('hex'), scope, name: `${scope} key`, createdAt: 1_700_000_000_000 + age, revokedAt: null };
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
