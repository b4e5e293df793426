/**
 * The feed in-process, against the real MemoryIndex and LocalBus, with a
 * transport that records what it is asked to send (and flushes on demand, to
 * play a slow consumer). The real-socket tests are test/realtime-*.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDelta, stateFromSnapshot, type ViewState } from '../src/client/view-state.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { compareKeys } from '../src/core/ordering.js';
import type { BoardRules } from '../src/core/types.js';
import { LocalBus } from '../src/feed/bus.js';
import { FeedError } from '../src/feed/errors.js';
import { Feed } from '../src/feed/feed.js';
import { DeltaHistory, type Delta } from '../src/feed/history.js';
import type { DeltaMessage, ServerMessage, SnapshotMessage, ViewSpec } from '../src/feed/protocol.js';
import type { MessageType, Subscriber, Transport } from '../src/feed/subscriber.js';
import { parseView, parseViewParam } from '../src/feed/view.js';
import { diffWindows, toWireEntry, type ViewWindow, type WindowEntry } from '../src/feed/window.js';
import { MemoryIndex } from '../src/index/memory.js';
import { random32 } from './helpers/random.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class RecordingTransport implements Transport {
  readonly sent: { type: MessageType; id: number | null; message: ServerMessage; json: string }[] = [];
  closed: { code: number; reason: string } | null = null;
  /** When false, sends stay unflushed until flush(), like a socket whose peer stopped reading. */
  autoFlush = true;
  private readonly pending: (() => void)[] = [];

  send(type: MessageType, id: number | null, json: string, flushed: () => void): void {
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
}

interface Harness {
  readonly index: MemoryIndex;
  readonly bus: LocalBus;
  readonly feed: Feed;
  readonly boards: Map<string, BoardRules>;
  open(boardId?: string): Promise<string>;
  /** Submits like the service does: apply to the index, then publish the change. */
  submit(boardId: string, participantId: string, score: number, timestamp?: number): Promise<void>;
  connect(boardId: string, maxSubscriptions?: number): { subscriber: Subscriber; transport: RecordingTransport };
}

function harness(overrides: Partial<Config> = {}): Harness {
  const config = loadConfig({}, { tickMs: 5, ...overrides });
  const index = new MemoryIndex();
  const bus = new LocalBus();
  const boards = new Map<string, BoardRules>();
  const feed = new Feed({ index, bus, config, boardRules: (id) => boards.get(id) });
  let clock = 1_000;
  return {
    index,
    bus,
    feed,
    boards,
    async open(boardId = `b${boards.size + 1}`) {
      const rules: BoardRules = { id: boardId, sortOrder: 'desc', operator: 'best' };
      boards.set(boardId, rules);
      await index.open(rules);
      return boardId;
    },
    async submit(boardId, participantId, score, timestamp = clock++) {
      const outcome = await index.submit(boardId, { participantId, score, timestamp, eventId: null, metadata: null });
      if (!outcome.changed) return;
      bus.publish({
        kind: 'changes',
        boardId,
        version: outcome.version,
        changes: [{ boardId, version: outcome.version, participantId, score, achievedAt: outcome.entry.achievedAt, oldRank: outcome.previous?.rank ?? null, newRank: outcome.entry.rank }],
      });
    },
    connect(boardId, maxSubscriptions = 100) {
      const transport = new RecordingTransport();
      return { subscriber: feed.connect(boardId, transport, maxSubscriptions), transport };
    },
  };
}

/** Waits until `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await sleep(2);
  }
}

/** Applies every view message of `sub` in order, failing on a gap. */
function replay(messages: ServerMessage[]): ViewState | null {
  let state: ViewState | null = null;
  for (const message of messages) {
    if (message.type === 'snapshot') state = stateFromSnapshot(message);
    else if (message.type === 'delta') {
      const outcome = applyDelta(state, message);
      if (!outcome.ok) assert.fail(`delta ${message.from_version}->${message.to_version} did not apply: ${outcome.reason}`);
      state = outcome.state;
    } else if (message.type === 'resumed') {
      assert.equal(state === null ? null : state.version, message.version);
    }
  }
  return state;
}

async function expectedWindow(h: Harness, boardId: string, spec: ViewSpec) {
  let entries;
  if ('top' in spec) entries = await h.index.range(boardId, 0, spec.top);
  else {
    const pid = 'around' in spec ? spec.around : spec.participant;
    const radius = 'around' in spec ? spec.radius : 0;
    const entry = await h.index.get(boardId, pid);
    entries = entry === null ? [] : await h.index.range(boardId, Math.max(0, entry.rank - 1 - radius), entry.rank + radius - Math.max(1, entry.rank - radius) + 1);
  }
  return entries.map((e) => ({ rank: e.rank, participant_id: e.participantId, score: e.score, achieved_at: e.achievedAt }));
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
      const state = stateFromSnapshot({ version: 1, total: 0, first_rank: before.firstRank, entries: wire(before) });
      const outcome = applyDelta(state, { from_version: 1, to_version: 2, total: 0, first_rank: after.firstRank, ...diff });
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
  it('parses the three views and refuses anything else', () => {
    assert.deepEqual(parseView({ top: 10 }), { top: 10 });
    assert.deepEqual(parseView({ around: 'p:1', radius: 0 }), { around: 'p:1', radius: 0 });
    assert.deepEqual(parseView({ participant: 'a' }), { participant: 'a' });
    for (const bad of [null, [], 'top', { top: 0 }, { top: 1001 }, { top: 1.5 }, { top: '5' }, { around: 'a' }, { around: 'a', radius: 101 }, { participant: '' }, { participant: 'a b' }, { top: 1, participant: 'a' }]) {
      assert.throws(() => parseView(bad), (err: unknown) => err instanceof FeedError && err.code === 'invalid_view', JSON.stringify(bad));
    }
  });

  it('parses the SSE shorthands and JSON', () => {
    assert.deepEqual(parseViewParam('top:100'), { top: 100 });
    assert.deepEqual(parseViewParam('participant:team:a'), { participant: 'team:a' });
    assert.deepEqual(parseViewParam('around:5:team:a'), { around: 'team:a', radius: 5 });
    assert.deepEqual(parseViewParam('{"top":3}'), { top: 3 });
    for (const bad of ['top:', 'top:x', 'around:a', 'bottom:3', '{"top":', 'top:5000']) {
      assert.throws(() => parseViewParam(bad), FeedError, bad);
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
      type: 'snapshot', sub: 'top', version: 2, total: 2, first_rank: 1,
      entries: [{ rank: 1, participant_id: 'b', score: 20, achieved_at: 1001 }, { rank: 2, participant_id: 'a', score: 10, achieved_at: 1000 }],
    });
    assert.deepEqual(transport.messages('far'), [{ type: 'snapshot', sub: 'far', version: 2, total: 2, first_rank: 0, entries: [] }]);

    // Three changes within one tick: one delta per view that changed.
    await h.submit(board, 'c', 30);
    await h.submit(board, 'd', 5);
    await h.submit(board, 'c', 31);
    await until(() => transport.messages('me').length === 2);
    await sleep(30);
    const deltas = transport.messages().filter((m) => m.type === 'delta') as DeltaMessage[];
    assert.deepEqual(deltas.map((d) => d.sub).sort(), ['me', 'top']);
    const topDelta = deltas.find((d) => d.sub === 'top') as DeltaMessage;
    assert.equal(topDelta.from_version, 2);
    assert.equal(topDelta.to_version, 5);
    assert.deepEqual(topDelta.removes, ['a']);
    assert.deepEqual(topDelta.upserts, [{ rank: 1, participant_id: 'c', score: 31, achieved_at: 1004 }]);
    // Only first_rank moved for the participant view: others passed it.
    const meDelta = deltas.find((d) => d.sub === 'me') as DeltaMessage;
    assert.deepEqual([meDelta.first_rank, meDelta.removes, meDelta.upserts], [3, [], []]);
    assert.deepEqual(replay(transport.messages('top'))?.entries, await expectedWindow(h, board, { top: 2 }));

    // A worse score changes nothing: no message at all.
    const count = transport.sent.length;
    await h.submit(board, 'd', 1);
    await h.submit(board, 'zz', 1);
    await sleep(30);
    assert.equal(transport.sent.filter((s) => s.type === 'delta' && s.message.type === 'delta' && s.message.sub === 'top').length, 1);
    assert.ok(transport.sent.length - count <= 1, 'only the participant view may move (it did not: zz ranks below a)');
    h.feed.close();
  });

  it('shares one view, and one serialized body, between all subscribers of it', async () => {
    const h = harness();
    const board = await h.open();
    const clients = Array.from({ length: 5 }, () => h.connect(board));
    for (const [i, { subscriber }] of clients.entries()) await subscriber.subscribe(`s${i}`, { top: 10 }, null);
    await clients[0]!.subscriber.subscribe('other', { top: 11 }, null);
    assert.equal(h.feed.viewCount, 2);
    await h.submit(board, 'a', 1);
    await until(() => clients.every(({ transport }) => transport.sent.some((s) => s.type === 'delta')));
    const bodies = clients.map(({ transport }) => {
      const json = transport.sent.find((s) => s.type === 'delta')!.json;
      return json.slice(json.indexOf('"from_version"'));
    });
    assert.equal(new Set(bodies).size, 1);
    h.feed.close();
  });

  it('resumes from a version in the history with the missed deltas, and beyond it with a snapshot', async () => {
    const h = harness({ historySize: 3 });
    const board = await h.open();
    const watcher = h.connect(board);
    await watcher.subscriber.subscribe('w', { top: 5 }, null);
    const versions: number[] = [0];
    for (let i = 0; i < 6; i++) {
      await h.submit(board, `p${i}`, 100 + i);
      await until(() => watcher.transport.messages('w').length === i + 2);
      versions.push((watcher.transport.messages('w').at(-1) as DeltaMessage).to_version);
    }
    const resuming = h.connect(board);
    await resuming.subscriber.subscribe('r', { top: 5 }, versions[3]!);
    const messages = resuming.transport.messages('r');
    assert.deepEqual(messages[0], { type: 'resumed', sub: 'r', version: versions[3] });
    assert.deepEqual(messages.slice(1).map((m) => (m as DeltaMessage).to_version), versions.slice(4));
    const late = h.connect(board);
    await late.subscriber.subscribe('l', { top: 5 }, versions[1]!);
    assert.equal(late.transport.messages('l')[0]!.type, 'snapshot');
    const current = h.connect(board);
    await current.subscriber.subscribe('c', { top: 5 }, versions[6]!);
    assert.deepEqual(current.transport.messages('c'), [{ type: 'resumed', sub: 'c', version: versions[6] }]);
    h.feed.close();
  });

  it('keeps a view without subscribers for viewLingerMs, so that a reconnect resumes, then frees it', async () => {
    const h = harness({ viewLingerMs: 80 });
    const board = await h.open();
    const first = h.connect(board);
    await first.subscriber.subscribe('a', { top: 3 }, null);
    first.subscriber.disconnect();
    await h.submit(board, 'x', 1);
    await sleep(30);
    assert.equal(h.feed.viewCount, 1);
    const again = h.connect(board);
    await again.subscriber.subscribe('a', { top: 3 }, 0);
    assert.deepEqual(again.transport.messages('a').map((m) => m.type), ['resumed', 'delta'], 'the lingering view kept its history');
    again.subscriber.unsubscribe('a');
    assert.deepEqual(again.transport.messages('a').at(-1), { type: 'unsubscribed', sub: 'a' });
    await sleep(150);
    assert.equal(h.feed.viewCount, 0);
    h.feed.close();
  });

  it('refuses duplicate and unknown subscriptions and too many of them, without touching the others', async () => {
    const h = harness();
    const board = await h.open();
    const { subscriber, transport } = h.connect(board, 2);
    await subscriber.subscribe('a', { top: 1 }, null);
    assert.throws(() => subscriber.subscribe('a', { top: 2 }, null), { code: 'duplicate_subscription' });
    await subscriber.subscribe('b', { top: 2 }, null);
    assert.throws(() => subscriber.subscribe('c', { top: 3 }, null), { code: 'too_many_subscriptions' });
    assert.throws(() => subscriber.unsubscribe('zz'), { code: 'unknown_subscription' });
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
    for (let i = 0; i < 40; i++) {
      await h.submit(board, `p${i}`, i);
      await sleep(6);
    }
    await until(() => (fast.transport.messages('f').at(-1) as DeltaMessage).to_version === 40);
    assert.ok(slow.subscriber.isBehind);
    const sentWhileSlow = slow.transport.sent.length;
    assert.ok(sentWhileSlow < fast.transport.sent.length, 'the slow socket skipped deltas');
    assert.ok(slow.subscriber.unsent <= 1024 + 2_000);
    slow.transport.autoFlush = true;
    slow.transport.flush();
    const resync = slow.transport.messages('s').at(-1) as SnapshotMessage;
    assert.equal(resync.type, 'snapshot');
    assert.equal(resync.version, 40);
    assert.equal(slow.subscriber.isBehind, false);
    assert.deepEqual(replay(slow.transport.messages('s').slice(-1))?.entries, await expectedWindow(h, board, { top: 50 }));
    await sleep(20);
    assert.equal(slow.transport.messages('s').length, sentWhileSlow + 1, 'one resync, not a loop of them');

    // Snapshots are answers, not deltas, so they are not skipped: enough of them pass the hard bound.
    slow.transport.autoFlush = false;
    for (let i = 0; i < 12 && slow.transport.closed === null; i++) await slow.subscriber.subscribe(`more${i}`, { top: 50 }, null).catch(() => undefined);
    assert.deepEqual(slow.transport.closed, { code: 4008, reason: 'slow consumer' });
    await h.submit(board, 'late', 100);
    await until(() => (fast.transport.messages('f').at(-1) as DeltaMessage).to_version === 41);
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
    h.bus.publish({ kind: 'dropped', boardId: board });
    assert.deepEqual(
      transport.messages().filter((m) => m.type === 'error').map((m) => [('sub' in m && m.sub) || null, m.type === 'error' && m.code]),
      [['a', 'board_not_found'], ['b', 'board_not_found']],
    );
    assert.deepEqual(transport.closed, { code: 4404, reason: 'board not found' });
    assert.equal(h.feed.viewCount, 0);
    assert.throws(() => h.connect(board), { code: 'board_not_found' });
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
    await joined;
    await h.submit(board, 'b', 2);
    await until(() => late.transport.messages('late').length === 2);
    const messages = late.transport.messages('late');
    assert.deepEqual(messages.map((m) => m.type), ['snapshot', 'delta']);
    assert.equal((messages[0] as SnapshotMessage).version, 1);
    assert.equal((messages[1] as DeltaMessage).from_version, 1);
    assert.deepEqual(replay(messages)?.entries, await expectedWindow(h, board, { top: 3 }));
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
      if (round % 3 === 0) await sleep(7);
    }
    await sleep(40);
    assert.deepEqual(replay(transport.messages('a'))?.entries, await expectedWindow(h, board, spec));
    h.feed.close();
  });
});
