/**
 * The feed in-process, against the real MemoryIndex and LocalBus, with a
 * transport that records what it is asked to send (and flushes on demand, to
 * play a slow consumer). The feed reads through a FeedSource over the index
 * that counts every read and the queries in it, so that tests can tell which
 * views a tick read. The real-socket tests are test/realtime-*.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDelta, stateFromSnapshot, type ViewState } from '../src/client/view-state.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { LadderError } from '../src/core/errors.js';
import { compareKeys } from '../src/core/ordering.js';
import type { BoardRules, Entry } from '../src/core/types.js';
import { LocalBus } from '../src/feed/bus.js';
import { Feed, type FeedLog } from '../src/feed/feed.js';
import { DeltaHistory, type Delta } from '../src/feed/history.js';
import type { DeltaMessage, ServerMessage, SnapshotMessage, ViewSpec, WireEntry } from '../src/feed/protocol.js';
import type { MessageType, ResumePoint, Subscriber, Transport } from '../src/feed/subscriber.js';
import { parseView, parseViewParam, View } from '../src/feed/view.js';
import { diffWindows, toWireEntry, type FeedSource, type ViewWindow, type WindowEntry } from '../src/feed/window.js';
import type { RankQuery } from '../src/index/index.js';
import { MemoryIndex } from '../src/index/memory.js';
import { random32 } from './helpers/random.js';

/** The epoch every harness board opens in; another one plays a reload. Hex, like real epochs. */
const EPOCH = 'a1a1a1a1a1a1';
const OTHER_EPOCH = 'b2b2b2b2b2b2';

const since = (version: number, epoch = EPOCH): ResumePoint => ({ epoch, version });

class RecordingTransport implements Transport {
  readonly sent: { type: MessageType; id: string | null; message: ServerMessage; json: string }[] = [];
  closed: { code: number; reason: string } | null = null;
  /** When false, sends stay unflushed until flush(), like a socket whose peer stopped reading. */
  autoFlush = true;
  private readonly pending: (() => void)[] = [];

  send(type: MessageType, id: string | null, json: string, flushed: () => void): void {
    this.sent.push({ type, id, message: JSON.parse(json) as ServerMessage, json });
    if (this.autoFlush) queueMicrotask(flushed);
    else this.pending.push(flushed);
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  flush(): void {
    for (const flushed of this.pending.splice(0)) flushed();
  }

  messages(sub?: string): ServerMessage[] {
    return this.sent.map((s) => s.message).filter((m) => sub === undefined || ('sub' in m && m.sub === sub));
  }

  deltas(sub: string): DeltaMessage[] {
    return this.messages(sub).filter((m): m is DeltaMessage => m.type === 'delta');
  }

  /** The to_version of the last delta of `sub`, or null. */
  lastDeltaVersion(sub: string): number | null {
    return this.deltas(sub).at(-1)?.to_version ?? null;
  }
}

interface ReadCall {
  readonly boardId: string;
  readonly queries: readonly RankQuery[];
}

interface Harness {
  readonly index: MemoryIndex;
  readonly bus: LocalBus;
  readonly feed: Feed;
  readonly boards: Map<string, BoardRules>;
  /** Every read the feed made through its source, in order. */
  readonly reads: ReadCall[];
  /** What the feed logged. */
  readonly logged: { level: 'warn' | 'error'; details: Record<string, unknown>; message: string }[];
  open(boardId?: string): Promise<string>;
  /** Submits like the service does: applies to the index, then publishes the change. Returns the new version, or null when nothing changed. */
  submit(boardId: string, participantId: string, score: number, timestamp?: number): Promise<number | null>;
  connect(boardId: string, maxSubscriptions?: number): { subscriber: Subscriber; transport: RecordingTransport };
  /** The board's version in the index. */
  version(boardId: string): number;
}

function harness(overrides: Partial<Config> = {}): Harness {
  const config = loadConfig({}, { tickMs: 5, ...overrides });
  const index = new MemoryIndex();
  const bus = new LocalBus();
  const boards = new Map<string, BoardRules>();
  const reads: ReadCall[] = [];
  const logged: Harness['logged'] = [];
  const source: FeedSource = {
    rules: (id) => boards.get(id),
    read: (boardId, queries) => {
      reads.push({ boardId, queries: structuredClone(queries) });
      return index.read(boardId, queries);
    },
  };
  const log: FeedLog = {
    warn: (details, message) => logged.push({ level: 'warn', details: details as Record<string, unknown>, message }),
    error: (details, message) => logged.push({ level: 'error', details: details as Record<string, unknown>, message }),
  };
  const feed = new Feed({ source, bus, config, log });
  let clock = 1_000;
  return {
    index,
    bus,
    feed,
    boards,
    reads,
    logged,
    async open(boardId = `b${boards.size + 1}`) {
      const rules: BoardRules = { id: boardId, sortOrder: 'desc', operator: 'best' };
      boards.set(boardId, rules);
      await index.open(rules, { epoch: EPOCH, version: 0 });
      return boardId;
    },
    async submit(boardId, participantId, score, timestamp = clock++) {
      const [outcome] = await index.apply(boardId, [{ participantId, score, timestamp, eventId: null, metadata: null }]);
      if (outcome instanceof LadderError) throw outcome;
      if (outcome === undefined || !outcome.changed) return null;
      const epoch = index.ranking(boardId)!.epoch;
      bus.publish({
        kind: 'changes',
        boardId,
        epoch,
        version: outcome.version,
      });
      return outcome.version;
    },
    connect(boardId, maxSubscriptions = 100) {
      const transport = new RecordingTransport();
      return { subscriber: feed.connect(boardId, transport, maxSubscriptions), transport };
    },
    version(boardId) {
      return index.ranking(boardId)!.version;
    },
  };
}

/** Waits until `check` holds, polling; fails after `ms` (a deadline for a hang, not a timing assertion). */
async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Applies every view message of one subscription in order, failing on a gap. */
function replay(messages: readonly ServerMessage[]): ViewState | null {
  let state: ViewState | null = null;
  for (const message of messages) {
    if (message.type === 'snapshot') state = stateFromSnapshot(message);
    else if (message.type === 'delta') {
      const outcome = applyDelta(state, message);
      if (!outcome.ok) assert.fail(`delta ${message.epoch}:${message.from_version}->${message.to_version} did not apply: ${outcome.reason}`);
      state = outcome.state;
    } else if (message.type === 'resumed') {
      assert.deepEqual(state === null ? null : [state.epoch, state.version], [message.epoch, message.version]);
    }
  }
  return state;
}

/**
 * The window of `spec` by the protocol's rule, from the whole ranking (an
 * oracle written apart from core/windows.ts): an around view of radius k holds
 * min(2k+1, total) entries, centred on the participant and shifted inward at
 * the top and the bottom.
 */
function expectedWindow(h: Harness, boardId: string, spec: ViewSpec): WireEntry[] {
  const ranking = h.index.ranking(boardId)!;
  const all = ranking.range(0, ranking.total).map((e) => ({ rank: e.rank, participant_id: e.participantId, score: e.score, achieved_at: e.achievedAt }));
  if ('top' in spec) return all.slice(0, spec.top);
  if ('participant' in spec) return all.filter((e) => e.participant_id === spec.participant);
  const at = all.findIndex((e) => e.participant_id === spec.around);
  if (at === -1) return [];
  const size = Math.min(2 * spec.radius + 1, all.length);
  const start = Math.min(Math.max(at - spec.radius, 0), all.length - size);
  return all.slice(start, start + size);
}

describe('diffWindows', () => {
  it('produces deltas that rebuild the next window exactly by the protocol rule (random windows)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = random32(seed);
      const pids = Array.from({ length: 30 }, (_, i) => `p${i}`);
      const board = (): WindowEntry[] =>
        pids
          .filter(() => rand() < 0.8)
          .map((participantId) => ({ participantId, score: Math.floor(rand() * 8), achievedAt: Math.floor(rand() * 4) }))
          .sort((a, b) => compareKeys('desc', a, b));
      // The next board keeps most entries and changes a few, like one tick of submissions.
      const first = board();
      const changed = new Map(board().map((e) => [e.participantId, e]));
      const second = first
        .filter(() => rand() < 0.95)
        .map((e) => (rand() < 0.3 && changed.has(e.participantId) ? (changed.get(e.participantId) as WindowEntry) : e))
        .concat([...changed.values()].filter((e) => rand() < 0.1 && !first.some((f) => f.participantId === e.participantId)))
        .sort((a, b) => compareKeys('desc', a, b));
      const window = (entries: WindowEntry[]): ViewWindow => {
        const start = Math.floor(rand() * 5);
        const slice = entries.slice(start, start + 1 + Math.floor(rand() * 12));
        return slice.length === 0 ? { firstRank: 0, entries: [] } : { firstRank: start + 1, entries: slice };
      };
      const before = window(first);
      const after = window(second);
      const wire = (w: ViewWindow) => w.entries.map((e, i) => toWireEntry(e, w.firstRank + i));
      const diff = diffWindows(before, after);
      if (diff === null) {
        assert.deepEqual(wire(after), wire(before), `seed ${seed}`);
        assert.equal(after.firstRank, before.firstRank);
        continue;
      }
      const state = stateFromSnapshot({ epoch: EPOCH, version: 1, total: 0, first_rank: before.firstRank, entries: wire(before) });
      const outcome = applyDelta(state, { epoch: EPOCH, from_version: 1, to_version: 2, total: 0, first_rank: after.firstRank, ...diff });
      assert.ok(outcome.ok, `seed ${seed}`);
      assert.deepEqual(outcome.state.entries, wire(after), `seed ${seed}`);
      // Only what changed travels: an upsert is never an entry that stayed put with the same score.
      for (const upsert of diff.upserts) {
        const old = before.entries.find((e) => e.participantId === upsert.participant_id);
        assert.ok(old === undefined || old.score !== upsert.score || old.achievedAt !== upsert.achieved_at, `seed ${seed}`);
      }
    }
  });
});

describe('diffWindows and profiles', () => {
  const window = (entries: WindowEntry[]): ViewWindow => ({ firstRank: 1, entries });
  const a: WindowEntry = { participantId: 'a', score: 9, achievedAt: 1 };
  const b: WindowEntry = { participantId: 'b', score: 5, achievedAt: 1 };

  it('sends a rename as the entry removed and upserted, and nothing for an unchanged window', () => {
    const renamed = { ...b, displayName: 'Bee', avatarUrl: 'https://cdn.example.com/b.png' };
    assert.deepEqual(diffWindows(window([a, b]), window([a, renamed])), {
      removes: ['b'],
      upserts: [{ rank: 2, participant_id: 'b', score: 5, achieved_at: 1, display_name: 'Bee', avatar_url: 'https://cdn.example.com/b.png' }],
    });
    assert.equal(diffWindows(window([a, renamed]), window([a, { ...renamed }])), null);
    const cleared = diffWindows(window([a, renamed]), window([a, b]));
    assert.deepEqual(cleared?.upserts, [{ rank: 2, participant_id: 'b', score: 5, achieved_at: 1 }], 'a name taken away is sent too, without the field');
    const state = applyDelta(stateFromSnapshot({ epoch: 'e', version: 4, total: 2, first_rank: 1, entries: [toWireEntry(a, 1), toWireEntry(renamed, 2)] }), {
      epoch: 'e',
      from_version: 4,
      to_version: 4,
      total: 2,
      first_rank: 1,
      ...cleared!,
    });
    assert.ok(state.ok);
    assert.deepEqual(state.state.entries, [toWireEntry(a, 1), toWireEntry(b, 2)]);
  });
});

describe('DeltaHistory', () => {
  const delta = (from: number, to: number, bytes = 10): Delta => ({ fromVersion: from, toVersion: to, body: 'x'.repeat(bytes), bytes });

  it('finds the chain from a retained version, and nothing from others', () => {
    const history = new DeltaHistory(10, 1_000);
    history.push(delta(0, 3));
    history.push(delta(3, 4));
    history.push(delta(4, 9));
    assert.deepEqual(history.since(3, 9)?.map((d) => d.toVersion), [4, 9]);
    assert.deepEqual(history.since(0, 9)?.map((d) => d.toVersion), [3, 4, 9]);
    assert.deepEqual(history.since(9, 9), []);
    assert.equal(history.since(5, 9), null, 'not a chain point: the window at 5 was never sent');
    assert.equal(history.since(10, 9), null);
    history.clear();
    assert.equal(history.since(3, 9), null, 'a cleared history (a new epoch) resumes nothing');
  });

  it('resumes through renames, deltas from a version to itself: every one from the asked version on', () => {
    const history = new DeltaHistory(10, 1_000);
    for (const [from, to] of [
      [0, 3],
      [3, 3],
      [3, 3],
      [3, 5],
      [5, 5],
    ] as const) {
      history.push(delta(from, to));
    }
    const chain = (since: number) => history.since(since, 5)?.map((d) => `${d.fromVersion}>${d.toVersion}`);
    assert.deepEqual(chain(0), ['0>3', '3>3', '3>3', '3>5', '5>5']);
    assert.deepEqual(chain(3), ['3>3', '3>3', '3>5', '5>5'], 'both renames at 3, whichever the client had');
    assert.deepEqual(chain(5), ['5>5'], 'at the current version: the rename since');
    assert.equal(history.since(4, 5), null);
  });

  it('evicts the oldest beyond the count and the byte bounds', () => {
    const byCount = new DeltaHistory(3, 1_000_000);
    for (let v = 0; v < 200; v++) byCount.push(delta(v, v + 1));
    assert.equal(byCount.since(196, 200), null);
    assert.equal(byCount.since(197, 200)?.length, 3);
    const byBytes = new DeltaHistory(100, 25);
    byBytes.push(delta(0, 1));
    byBytes.push(delta(1, 2));
    byBytes.push(delta(2, 3));
    assert.equal(byBytes.since(0, 3), null);
    assert.equal(byBytes.since(1, 3)?.length, 2);
    const none = new DeltaHistory(0, 1_000);
    none.push(delta(0, 1));
    assert.equal(none.since(0, 1), null);
    assert.deepEqual(none.since(1, 1), []);
  });
});

describe('views', () => {
  const invalidView = (err: unknown) => err instanceof LadderError && err.code === 'invalid_view';

  it('parses the three views and refuses anything else', () => {
    assert.deepEqual(parseView({ top: 10 }), { top: 10 });
    assert.deepEqual(parseView({ around: 'p:1', radius: 0 }), { around: 'p:1', radius: 0 });
    assert.deepEqual(parseView({ participant: 'a' }), { participant: 'a' });
    for (const bad of [null, [], 'top', { top: 0 }, { top: 1001 }, { top: 1.5 }, { top: '5' }, { around: 'a' }, { around: 'a', radius: 101 }, { participant: '' }, { participant: 'a b' }, { top: 1, participant: 'a' }]) {
      assert.throws(() => parseView(bad), invalidView, JSON.stringify(bad));
    }
  });

  it('parses the SSE shorthands and JSON', () => {
    assert.deepEqual(parseViewParam('top:100'), { top: 100 });
    assert.deepEqual(parseViewParam('participant:team:a'), { participant: 'team:a' });
    assert.deepEqual(parseViewParam('around:5:team:a'), { around: 'team:a', radius: 5 });
    assert.deepEqual(parseViewParam('{"top":3}'), { top: 3 });
    for (const bad of ['top:', 'top:x', 'around:a', 'bottom:3', '{"top":', 'top:5000']) {
      assert.throws(() => parseViewParam(bad), invalidView, bad);
    }
  });
});

describe('Feed', () => {
  it('answers with a snapshot, then pushes one delta per changed view per tick and nothing for unchanged views', async () => {
    const h = harness();
    const board = await h.open();
    await h.submit(board, 'a', 10);
    await h.submit(board, 'b', 20);
    const { subscriber, transport } = h.connect(board);
    await subscriber.subscribe('top', { top: 2 }, null);
    await subscriber.subscribe('me', { participant: 'a' }, null);
    await subscriber.subscribe('far', { around: 'nobody', radius: 3 }, null);
    const [top] = transport.messages('top') as SnapshotMessage[];
    assert.deepEqual(top, {
      type: 'snapshot', sub: 'top', epoch: EPOCH, version: 2, total: 2, first_rank: 1,
      entries: [{ rank: 1, participant_id: 'b', score: 20, achieved_at: 1001 }, { rank: 2, participant_id: 'a', score: 10, achieved_at: 1000 }],
    });
    assert.equal(transport.sent[0]!.id, `${EPOCH}-2`, 'the transport id is <epoch>-<version>');
    assert.deepEqual(transport.messages('far'), [{ type: 'snapshot', sub: 'far', epoch: EPOCH, version: 2, total: 2, first_rank: 0, entries: [] }]);

    // Three changes within one tick: one read of the board for all three views, one delta per view that changed.
    const readsBefore = h.reads.length;
    await h.submit(board, 'c', 30);
    await h.submit(board, 'd', 5);
    await h.submit(board, 'c', 31);
    await until(() => transport.messages('me').length === 2 && transport.messages('top').length === 2);
    assert.deepEqual(h.reads.slice(readsBefore).map((r) => r.queries.length), [3], 'one tick, one read of the three views');
    // The deltas of one tick go out together, so 'far' would have had its own by now.
    const deltas = transport.messages().filter((m) => m.type === 'delta') as DeltaMessage[];
    assert.deepEqual(deltas.map((d) => d.sub).sort(), ['me', 'top']);
    const topDelta = deltas.find((d) => d.sub === 'top') as DeltaMessage;
    assert.deepEqual([topDelta.epoch, topDelta.from_version, topDelta.to_version], [EPOCH, 2, 5]);
    assert.deepEqual(topDelta.removes, ['a']);
    assert.deepEqual(topDelta.upserts, [{ rank: 1, participant_id: 'c', score: 31, achieved_at: 1004 }]);
    // Only first_rank moved for the participant view: others passed it.
    const meDelta = deltas.find((d) => d.sub === 'me') as DeltaMessage;
    assert.deepEqual([meDelta.first_rank, meDelta.removes, meDelta.upserts], [3, [], []]);
    assert.deepEqual(replay(transport.messages('top'))?.entries, expectedWindow(h, board, { top: 2 }));

    // A worse score changes nothing, and a new entry below every window moves none of them: no message at all.
    const sentBefore = transport.sent.length;
    assert.equal(await h.submit(board, 'd', 1), null, 'a worse score under "best" is not a change');
    const readsBeforeBelow = h.reads.length;
    assert.equal(await h.submit(board, 'zz', 1), 6);
    // The tick for it did run: it read all three views (and found no window moved).
    await until(() => h.reads.length > readsBeforeBelow);
    assert.deepEqual(h.reads.slice(readsBeforeBelow).map((r) => r.queries.length), [3]);
    // The next change that moves a window: its delta is the very next message, chained from the last one
    // before the no-ops, so nothing came in between.
    const climbed = await h.submit(board, 'c', 40);
    await until(() => transport.lastDeltaVersion('top') === climbed);
    const after = transport.sent.slice(sentBefore);
    assert.deepEqual(
      after.map((s) => [s.id, s.message.type, 'sub' in s.message && s.message.sub, s.message.type === 'delta' && s.message.from_version]),
      [[`${EPOCH}-${climbed}`, 'delta', 'top', topDelta.to_version]],
    );
    assert.deepEqual(replay(transport.messages('top'))?.entries, expectedWindow(h, board, { top: 2 }));
    h.feed.close();
  });

  it('shares one view, and one serialized body, between all subscribers of it', async () => {
    const h = harness();
    const board = await h.open();
    const clients = Array.from({ length: 5 }, () => h.connect(board));
    for (const [i, { subscriber }] of clients.entries()) await subscriber.subscribe(`s${i}`, { top: 10 }, null);
    await clients[0]!.subscriber.subscribe('other', { top: 11 }, null);
    assert.equal(h.feed.viewCount, 2);
    assert.equal(h.reads.length, 2, 'one first read per distinct view, not per subscriber');
    await h.submit(board, 'a', 1);
    await until(() => clients.every(({ transport }) => transport.sent.some((s) => s.type === 'delta')));
    const bodies = clients.map(({ transport }) => {
      const json = transport.sent.find((s) => s.type === 'delta')!.json;
      return json.slice(json.indexOf('"epoch"'));
    });
    assert.equal(new Set(bodies).size, 1);
    // Both top-N views are answered from one page of the larger N.
    assert.deepEqual(h.reads.at(-1)!.queries, [{ kind: 'page', offset: 0, limit: 11 }]);
    h.feed.close();
  });

  it('resumes from a version in the history of the same epoch with the missed deltas, and otherwise with a snapshot', async () => {
    const h = harness({ historySize: 3 });
    const board = await h.open();
    const watcher = h.connect(board);
    await watcher.subscriber.subscribe('w', { top: 5 }, null);
    const versions: number[] = [0];
    for (let i = 0; i < 6; i++) {
      const version = await h.submit(board, `p${i}`, 100 + i);
      await until(() => watcher.transport.lastDeltaVersion('w') === version);
      versions.push(version!);
    }
    const resuming = h.connect(board);
    await resuming.subscriber.subscribe('r', { top: 5 }, since(versions[3]!));
    const messages = resuming.transport.messages('r');
    assert.deepEqual(messages[0], { type: 'resumed', sub: 'r', epoch: EPOCH, version: versions[3] });
    assert.equal(resuming.transport.sent[0]!.id, `${EPOCH}-${versions[3]}`);
    assert.deepEqual(messages.slice(1).map((m) => (m as DeltaMessage).to_version), versions.slice(4));
    const late = h.connect(board);
    await late.subscriber.subscribe('l', { top: 5 }, since(versions[1]!));
    assert.equal(late.transport.messages('l')[0]!.type, 'snapshot', 'older than the history');
    const current = h.connect(board);
    await current.subscriber.subscribe('c', { top: 5 }, since(versions[6]!));
    assert.deepEqual(current.transport.messages('c'), [{ type: 'resumed', sub: 'c', epoch: EPOCH, version: versions[6] }]);
    // The same versions in another epoch mean nothing here.
    const stranger = h.connect(board);
    await stranger.subscriber.subscribe('x', { top: 5 }, since(versions[3]!, OTHER_EPOCH));
    await stranger.subscriber.subscribe('y', { top: 5 }, since(versions[6]!, OTHER_EPOCH));
    assert.deepEqual(stranger.transport.messages().map((m) => m.type), ['snapshot', 'snapshot']);
    h.feed.close();
  });

  it('keeps a view without subscribers for viewLingerMs, so that a reconnect resumes, then frees it', async () => {
    const h = harness({ viewLingerMs: 80 });
    const board = await h.open();
    const first = h.connect(board);
    await first.subscriber.subscribe('a', { top: 3 }, null);
    first.subscriber.disconnect();
    const version = await h.submit(board, 'x', 1);
    assert.equal(h.feed.viewCount, 1);
    const again = h.connect(board);
    await again.subscriber.subscribe('a', { top: 3 }, since(0));
    const messages = again.transport.messages('a');
    assert.deepEqual(messages.map((m) => m.type), ['resumed', 'delta'], 'the lingering view kept its history');
    assert.deepEqual([(messages[1] as DeltaMessage).from_version, (messages[1] as DeltaMessage).to_version], [0, version]);
    again.subscriber.unsubscribe('a');
    assert.deepEqual(again.transport.messages('a').at(-1), { type: 'unsubscribed', sub: 'a' });
    await until(() => h.feed.viewCount === 0);
    h.feed.close();
  });

  it('refuses duplicate and unknown subscriptions and too many of them, without touching the others', async () => {
    const h = harness();
    const board = await h.open();
    const { subscriber, transport } = h.connect(board, 2);
    const refused = (code: string) => (err: unknown) => err instanceof LadderError && err.code === code;
    await subscriber.subscribe('a', { top: 1 }, null);
    assert.throws(() => subscriber.subscribe('a', { top: 2 }, null), refused('duplicate_subscription'));
    await subscriber.subscribe('b', { top: 2 }, null);
    assert.throws(() => subscriber.subscribe('c', { top: 3 }, null), refused('too_many_subscriptions'));
    assert.throws(() => subscriber.unsubscribe('zz'), refused('unknown_subscription'));
    await h.submit(board, 'x', 1);
    await until(() => transport.messages('a').length === 2 && transport.messages('b').length === 2);
    h.feed.close();
  });

  it('skips deltas to a slow socket and resyncs it with snapshots once it drains; past the hard bound it closes it with 4008', async () => {
    const h = harness({ slowSocketBytes: 1024, maxSocketBytes: 8 * 1024 });
    const board = await h.open();
    const slow = h.connect(board);
    const fast = h.connect(board);
    await slow.subscriber.subscribe('s', { top: 50 }, null);
    await fast.subscriber.subscribe('f', { top: 50 }, null);
    slow.transport.autoFlush = false;
    // One tick per change: the fast client gets every delta before the next change.
    for (let i = 0; i < 40; i++) {
      const version = await h.submit(board, `p${i}`, i);
      await until(() => fast.transport.lastDeltaVersion('f') === version);
    }
    assert.equal(fast.transport.deltas('f').length, 40);
    assert.ok(slow.subscriber.isBehind);
    const sentWhileSlow = slow.transport.sent.length;
    assert.ok(sentWhileSlow < fast.transport.sent.length, 'the slow socket skipped deltas');
    assert.ok(slow.subscriber.unsent <= 1024 + 2_000);
    slow.transport.autoFlush = true;
    slow.transport.flush();
    const resync = slow.transport.messages('s').at(-1) as SnapshotMessage;
    assert.deepEqual([resync.type, resync.epoch, resync.version], ['snapshot', EPOCH, 40]);
    assert.equal(slow.subscriber.isBehind, false);
    assert.deepEqual(replay(slow.transport.messages('s').slice(-1))?.entries, expectedWindow(h, board, { top: 50 }));
    // One resync, not a loop of them: the next message is the next change's delta, chained from the resync.
    const next = await h.submit(board, 'next', 1_000);
    await until(() => slow.transport.lastDeltaVersion('s') === next);
    assert.deepEqual(
      slow.transport.messages('s').slice(sentWhileSlow).map((m) => [m.type, m.type === 'delta' ? m.from_version : m.type === 'snapshot' && m.version]),
      [['snapshot', 40], ['delta', 40]],
    );

    // Snapshots are answers, not deltas, so they are not skipped: enough of them pass the hard bound.
    slow.transport.autoFlush = false;
    for (let i = 0; i < 12 && slow.transport.closed === null; i++) await slow.subscriber.subscribe(`more${i}`, { top: 50 }, null).catch(() => undefined);
    assert.deepEqual(slow.transport.closed, { code: 4008, reason: 'slow consumer' });
    const late = await h.submit(board, 'late', 100);
    await until(() => fast.transport.lastDeltaVersion('f') === late);
    h.feed.close();
  });

  it('tells every subscriber of a deleted board, closes its connections with 4404 and frees its views', async () => {
    const h = harness();
    const board = await h.open();
    const { subscriber, transport } = h.connect(board);
    await subscriber.subscribe('a', { top: 1 }, null);
    await subscriber.subscribe('b', { participant: 'x' }, null);
    h.boards.delete(board);
    await h.index.drop(board);
    h.bus.publish({ kind: 'board_deleted', boardId: board });
    assert.deepEqual(
      transport.messages().filter((m) => m.type === 'error').map((m) => [('sub' in m && m.sub) || null, m.type === 'error' && m.code]),
      [['a', 'board_not_found'], ['b', 'board_not_found']],
    );
    assert.deepEqual(transport.closed, { code: 4404, reason: 'board not found' });
    assert.equal(h.feed.viewCount, 0);
    assert.throws(() => h.connect(board), (err: unknown) => err instanceof LadderError && err.code === 'board_not_found');
    h.feed.close();
  });

  it('fans a delta out in chunks; a subscriber that joins meanwhile starts from the new window and is not sent the old delta', async () => {
    const h = harness();
    const board = await h.open();
    const crowd = Array.from({ length: 1_200 }, () => h.connect(board));
    for (const [i, { subscriber }] of crowd.entries()) await subscriber.subscribe(`c${i}`, { top: 3 }, null);
    const late = h.connect(board);
    let joined: Promise<void> | null = null;
    const send = crowd[700]!.transport.send.bind(crowd[700]!.transport);
    crowd[700]!.transport.send = (type, id, json, flushed) => {
      // Halfway through the fan-out of the first delta.
      if (type === 'delta' && joined === null) joined = late.subscriber.subscribe('late', { top: 3 }, null);
      send(type, id, json, flushed);
    };
    await h.submit(board, 'a', 1);
    await until(() => crowd.every(({ transport }) => transport.messages().length === 2));
    assert.notEqual(joined, null);
    await joined;
    await h.submit(board, 'b', 2);
    await until(() => late.transport.messages('late').length === 2);
    const messages = late.transport.messages('late');
    assert.deepEqual(messages.map((m) => m.type), ['snapshot', 'delta']);
    assert.equal((messages[0] as SnapshotMessage).version, 1);
    assert.equal((messages[1] as DeltaMessage).from_version, 1);
    assert.deepEqual(replay(messages)?.entries, expectedWindow(h, board, { top: 3 }));
    h.feed.close();
  });

  it('follows around views as the participant moves and others pass it', async () => {
    const h = harness();
    const board = await h.open();
    for (let i = 0; i < 20; i++) await h.submit(board, `p${i}`, i * 10);
    const { subscriber, transport } = h.connect(board);
    const spec = { around: 'p10', radius: 2 };
    await subscriber.subscribe('a', spec, null);
    const rand = random32(7);
    for (let round = 0; round < 30; round++) {
      await h.submit(board, `p${Math.floor(rand() * 25)}`, Math.floor(rand() * 300));
      // Now and then a tick runs in between, so that some changes are coalesced and some not.
      if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 7));
    }
    // p10 itself changes last: its own entry is always in its window, so the last delta reaches the final version.
    const last = await h.submit(board, 'p10', 10_000);
    await until(() => transport.lastDeltaVersion('a') === last);
    const state = replay(transport.messages('a'));
    assert.deepEqual(state?.entries, expectedWindow(h, board, spec));
    assert.deepEqual([state?.firstRank, state?.entries.length], [1, 5], 'at the top, the window shifts down and stays 2k+1 long');
    h.feed.close();
  });

  it('sizes around views like REST ?around=&limit=2k+1: centred, shifted inward at the top and the bottom', async () => {
    const h = harness();
    const board = await h.open();
    for (let i = 0; i < 20; i++) await h.submit(board, `p${i}`, i * 10);
    const { subscriber, transport } = h.connect(board);
    const cases: [ViewSpec, number, number][] = [
      [{ around: 'p10', radius: 3 }, 7, 7], // rank 10: ranks 7..13
      [{ around: 'p19', radius: 3 }, 1, 7], // rank 1: ranks 1..7
      [{ around: 'p18', radius: 3 }, 1, 7], // rank 2: shifted down by 2
      [{ around: 'p0', radius: 3 }, 14, 7], // rank 20 of 20: ranks 14..20
      [{ around: 'p5', radius: 0 }, 15, 1],
      [{ around: 'p5', radius: 50 }, 1, 20], // larger than the board: all of it
    ];
    for (const [i, [spec, firstRank, length]] of cases.entries()) {
      await subscriber.subscribe(`c${i}`, spec, null);
      const snapshot = transport.messages(`c${i}`)[0] as SnapshotMessage;
      assert.deepEqual([snapshot.first_rank, snapshot.entries.length], [firstRank, length], JSON.stringify(spec));
      assert.deepEqual(snapshot.entries, expectedWindow(h, board, spec), JSON.stringify(spec));
    }
    h.feed.close();
  });
});

describe('Feed: idle views, the view bound, epochs, failures', () => {
  it('reads only views with subscribers on a tick; a lingering view is refreshed once when a subscriber returns', async () => {
    const h = harness();
    const board = await h.open();
    for (let i = 0; i < 30; i++) await h.submit(board, `p${i}`, (i + 1) * 10);
    const active = h.connect(board);
    await active.subscriber.subscribe('top', { top: 5 }, null);
    const lingering: { spec: ViewSpec; snapshot: SnapshotMessage }[] = [];
    for (let i = 0; i < 20; i++) {
      const client = h.connect(board);
      const spec = { around: `p${i}`, radius: 2 };
      await client.subscriber.subscribe('a', spec, null);
      lingering.push({ spec, snapshot: client.transport.messages('a')[0] as SnapshotMessage });
      client.subscriber.disconnect();
    }
    assert.equal(h.feed.viewCount, 21);

    // Ten changes at the top move every window on the board, the lingering ones too; one tick each.
    const from = h.reads.length;
    for (let k = 0; k < 10; k++) {
      const version = await h.submit(board, `new${k}`, 1_000 + k);
      await until(() => active.transport.lastDeltaVersion('top') === version);
    }
    assert.deepEqual(
      h.reads.slice(from).map((r) => r.queries),
      Array.from({ length: 10 }, () => [{ kind: 'page', offset: 0, limit: 5 }]),
      'each tick read the active view alone',
    );

    // A subscriber comes back to one of them: one read of that view, then resumed and one delta for all ten changes.
    const { spec, snapshot } = lingering[3]!;
    const back = h.connect(board);
    const before = h.reads.length;
    await back.subscriber.subscribe('a', spec, since(snapshot.version));
    assert.deepEqual(h.reads.slice(before).map((r) => r.queries), [[{ kind: 'around', participantId: 'p3', size: 5 }]]);
    const messages = back.transport.messages('a');
    assert.deepEqual(
      messages.map((m) => [m.type, m.type === 'delta' ? [m.from_version, m.to_version] : m.type === 'resumed' && m.version]),
      [['resumed', snapshot.version], ['delta', [snapshot.version, h.version(board)]]],
    );
    assert.deepEqual(replay([snapshot, ...messages])?.entries, expectedWindow(h, board, spec));

    // Now it has a subscriber: ticks read it with the top view, and still none of the nineteen others.
    const mark = h.reads.length;
    const version = await h.submit(board, 'newest', 5_000);
    await until(() => active.transport.lastDeltaVersion('top') === version && back.transport.lastDeltaVersion('a') === version);
    assert.deepEqual(h.reads.slice(mark).map((r) => r.queries), [[{ kind: 'page', offset: 0, limit: 5 }, { kind: 'around', participantId: 'p3', size: 5 }]]);
    assert.equal(h.feed.viewCount, 21);
    h.feed.close();
  });

  it('bounds the views of a board: lingering ones make room oldest first, then a new view is refused with too_many_views', async () => {
    const h = harness({ maxViews: 5 });
    const board = await h.open();
    for (let i = 0; i < 10; i++) await h.submit(board, `p${i}`, i);
    const version = h.version(board);
    const client = h.connect(board);
    for (let n = 1; n <= 5; n++) await client.subscriber.subscribe(`t${n}`, { top: n }, null);
    // They start to linger in this order: top 1 is the longest-lingering.
    for (let n = 1; n <= 5; n++) client.subscriber.unsubscribe(`t${n}`);
    assert.equal(h.feed.viewCount, 5);
    // A change at the top while they linger: a view that lingered on can bring a client from `version` to it with
    // one delta, a new one (created after it) cannot.
    await h.submit(board, 'first', 50);
    /** Subscribes with a resume point: `resumed` when the view lingered on, `snapshot` when it had been freed. */
    const answer = async (sub: string, spec: ViewSpec) => {
      await client.subscriber.subscribe(sub, spec, since(version));
      return client.transport.messages(sub)[0]!.type;
    };

    assert.equal(await answer('t6', { top: 6 }), 'snapshot', 'a new view: it frees top 1');
    assert.equal(h.feed.viewCount, 5);
    assert.equal(await answer('r2', { top: 2 }), 'resumed', 'top 2 lingered on');
    assert.equal(await answer('r1', { top: 1 }), 'snapshot', 'top 1 was freed first; it comes back in place of top 3');
    assert.equal(await answer('r3', { top: 3 }), 'snapshot', 'top 3 was freed next; it comes back in place of top 4');
    assert.equal(await answer('r5', { top: 5 }), 'resumed', 'top 5 still lingered');
    assert.equal(h.feed.viewCount, 5);

    // Five views with subscribers: one more distinct view is refused, on this connection and on others.
    const tooMany = (err: unknown) => err instanceof LadderError && err.code === 'too_many_views';
    await assert.rejects(client.subscriber.subscribe('t7', { top: 7 }, null), tooMany);
    const other = h.connect(board);
    await assert.rejects(other.subscriber.subscribe('x', { participant: 'p1' }, null), tooMany);
    assert.equal(h.feed.viewCount, 5);
    // A view that exists is still shared.
    await other.subscriber.subscribe('y', { top: 6 }, null);
    assert.equal(other.transport.messages('y')[0]!.type, 'snapshot');

    // The subscriptions there were are unaffected: the next change reaches every one of them.
    const changed = await h.submit(board, 'leader', 100);
    const subs = ['t6', 'r2', 'r1', 'r3', 'r5'];
    await until(() => subs.every((sub) => client.transport.lastDeltaVersion(sub) === changed) && other.transport.lastDeltaVersion('y') === changed);
    for (const sub of subs) {
      const n = Number(sub.slice(1));
      // A resumed subscription continues from the client's copy: the first snapshot of that view.
      const copy = n <= 5 ? client.transport.messages(`t${n}`).slice(0, 1) : [];
      assert.deepEqual(replay([...copy, ...client.transport.messages(sub)])?.entries, expectedWindow(h, board, { top: n }), sub);
    }
    assert.deepEqual(client.transport.messages('t7'), [], 'a refused subscribe sends nothing; the edge answers it');

    // The refused sub is free again, and gets its view once another lingers.
    client.subscriber.unsubscribe('r3');
    await client.subscriber.subscribe('t7', { top: 7 }, null);
    assert.equal(client.transport.messages('t7')[0]!.type, 'snapshot');
    assert.equal(h.feed.viewCount, 5);
    h.feed.close();
  });

  it('resets every view when the source answers another epoch: fresh snapshots, and old-epoch versions are never resumed', async () => {
    const h = harness();
    const board = await h.open();
    for (let i = 0; i < 10; i++) await h.submit(board, `p${i}`, i * 10);
    const a = h.connect(board);
    await a.subscriber.subscribe('top', { top: 3 }, null);
    await a.subscriber.subscribe('me', { participant: 'p5' }, null);
    const b = h.connect(board);
    await b.subscriber.subscribe('near', { around: 'p5', radius: 1 }, null);
    const gone = h.connect(board);
    await gone.subscriber.subscribe('g', { top: 4 }, null);
    const goneSnapshot = gone.transport.messages('g')[0] as SnapshotMessage;
    gone.subscriber.disconnect();

    // A rebuild: other entries, another epoch, and a version lower than before (versions are issued again).
    const entries: Entry[] = Array.from({ length: 8 }, (_, i) => ({ participantId: `p${i}`, score: 1_000 - i * 7, achievedAt: 500 + i, updatedAt: 500 + i, metadata: null }));
    await h.index.load(board, entries, { epoch: OTHER_EPOCH, version: 4 });
    h.bus.publish({ kind: 'board_reset', boardId: board });
    const views: [RecordingTransport, string, ViewSpec][] = [
      [a.transport, 'top', { top: 3 }],
      [a.transport, 'me', { participant: 'p5' }],
      [b.transport, 'near', { around: 'p5', radius: 1 }],
    ];
    await until(() => views.every(([transport, sub]) => transport.messages(sub).some((m) => m.type === 'snapshot' && m.epoch === OTHER_EPOCH)));
    for (const [transport, sub, spec] of views) {
      const messages = transport.messages(sub);
      assert.deepEqual(
        messages.map((m) => [m.type, 'epoch' in m && m.epoch, m.type === 'snapshot' && m.version]),
        [['snapshot', EPOCH, 10], ['snapshot', OTHER_EPOCH, 4]],
        `${sub}: a snapshot of the new epoch, and never a delta across epochs`,
      );
      assert.deepEqual((messages[1] as SnapshotMessage).entries, expectedWindow(h, board, spec), sub);
    }
    assert.equal(a.transport.sent.at(-1)!.id, `${OTHER_EPOCH}-4`);

    // Changes in the new epoch chain from its snapshot.
    const changed = await h.submit(board, 'p9', 2_000);
    assert.equal(changed, 5);
    await until(() => a.transport.lastDeltaVersion('top') === changed);
    const delta = a.transport.deltas('top').at(-1)!;
    assert.deepEqual([delta.epoch, delta.from_version, delta.to_version], [OTHER_EPOCH, 4, 5]);
    assert.deepEqual(replay(a.transport.messages('top'))?.entries, expectedWindow(h, board, { top: 3 }));

    // Versions of the old epoch are never resumed, even those the new epoch has issued too (4 and 5 are in this view's chain).
    const c = h.connect(board);
    for (const [sub, version] of [['old4', 4], ['old5', 5], ['old10', 10]] as const) {
      await c.subscriber.subscribe(sub, { top: 3 }, since(version, EPOCH));
      const [first, ...rest] = c.transport.messages(sub);
      assert.deepEqual([first?.type, first && 'epoch' in first && first.epoch, rest.length], ['snapshot', OTHER_EPOCH, 0], sub);
    }
    await c.subscriber.subscribe('same', { top: 3 }, since(4, OTHER_EPOCH));
    assert.deepEqual(c.transport.messages('same').map((m) => m.type), ['resumed', 'delta'], 'the new epoch resumes as usual');

    // The view that lingered through the reset: its old version gets a snapshot of the new epoch.
    const back = h.connect(board);
    await back.subscriber.subscribe('g', { top: 4 }, since(goneSnapshot.version, EPOCH));
    const answer = back.transport.messages('g');
    assert.deepEqual(answer.map((m) => [m.type, 'epoch' in m && m.epoch]), [['snapshot', OTHER_EPOCH]]);
    assert.deepEqual((answer[0] as SnapshotMessage).entries, expectedWindow(h, board, { top: 4 }));
    h.feed.close();
  });

  it('catches and logs an exception in a tick: the process survives and later ticks still deliver', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // Fault injection: a bug in the fan-out, thrown once from inside a tick.
    const advance = View.prototype.advance;
    let failures = 1;
    View.prototype.advance = function (this: View, ...args: Parameters<View['advance']>) {
      if (failures-- > 0) throw new Error('a bug in the fan-out');
      return advance.apply(this, args);
    };
    try {
      const h = harness();
      const board = await h.open();
      const watcher = h.connect(board);
      await watcher.subscriber.subscribe('w', { top: 3 }, null);
      await h.submit(board, 'p1', 1);
      await until(() => h.logged.length === 1);
      assert.equal(h.logged[0]!.level, 'error');
      assert.match(h.logged[0]!.message, /tick failed/);
      assert.equal((h.logged[0]!.details.err as Error).message, 'a bug in the fan-out');
      // The next change starts a new tick, which reads the view again and brings the copy up to date.
      const version = await h.submit(board, 'p2', 2);
      await until(() => watcher.transport.lastDeltaVersion('w') === version);
      assert.deepEqual(replay(watcher.transport.messages('w'))?.entries, expectedWindow(h, board, { top: 3 }));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      h.feed.close();
    } finally {
      View.prototype.advance = advance;
      process.off('unhandledRejection', onUnhandled);
    }
  });

  // One transport whose send throws used to end the fan-out of its tick: the subscriptions after it
  // missed the delta, and from then on dropped every delta of theirs (from_version was not their
  // version), even after the broken transport was gone. Now only the broken connection is closed.
  it('a transport that throws costs only its own subscription: the others of the tick still get their deltas', async () => {
    const h = harness();
    const board = await h.open();
    // The broken transport subscribes first, so its delta is the first of the fan-out.
    const broken = h.connect(board);
    const send = broken.transport.send.bind(broken.transport);
    broken.transport.send = (type, id, json, flushed) => {
      if (type === 'delta') throw new Error('transport broke');
      send(type, id, json, flushed);
    };
    await broken.subscriber.subscribe('b', { top: 3 }, null);
    const sameView = h.connect(board);
    await sameView.subscriber.subscribe('s', { top: 3 }, null);
    const laterView = h.connect(board);
    await laterView.subscriber.subscribe('l', { top: 5 }, null);
    for (let round = 1; round <= 2; round++) {
      const version = await h.submit(board, `p${round}`, round);
      await until(() => sameView.transport.lastDeltaVersion('s') === version && laterView.transport.lastDeltaVersion('l') === version);
    }
    assert.equal(h.logged.length, 1, 'one failed delivery, logged once');
    assert.match(h.logged[0]!.message, /delivery failed/);
    assert.deepEqual(broken.transport.closed, { code: 1011, reason: 'internal error' });
    const version = await h.submit(board, 'p9', 9);
    await until(() => sameView.transport.lastDeltaVersion('s') === version && laterView.transport.lastDeltaVersion('l') === version, 500);
    assert.deepEqual(replay(sameView.transport.messages('s'))?.entries, expectedWindow(h, board, { top: 3 }));
    assert.deepEqual(replay(laterView.transport.messages('l'))?.entries, expectedWindow(h, board, { top: 5 }));
    h.feed.close();
  });
});
