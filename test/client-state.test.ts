/**
 * The client's pure parts: applying snapshots and deltas (checked against a
 * reference model of a board), the subscription's state machine over a fake
 * transport, the backoff, and the event-stream parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../src/client/backoff.js';
import { errorFromMessage, fatalErrors, isFatal } from '../src/client/errors.js';
import type { FeedListener } from '../src/client/feed.js';
import { snapshotOf } from '../src/client/poll.js';
import type { DeltaMessage, ServerMessage, ViewEntry } from '../src/client/protocol.js';
import { events, type StreamEvent } from '../src/client/sse.js';
import { LiveSubscription, type ViewUpdate } from '../src/client/subscription.js';
import { applyDelta, stateFromSnapshot, type ViewState } from '../src/client/view-state.js';

function entry(rank: number, participant_id: string, score: number, achieved_at = 1): ViewEntry {
  return { rank, participant_id, score, achieved_at };
}

function delta(state: ViewState, fields: Partial<DeltaMessage>): DeltaMessage {
  return {
    type: 'delta',
    sub: 's1',
    epoch: state.epoch,
    from_version: state.version,
    to_version: state.version + 1,
    total: state.total,
    first_rank: state.firstRank,
    removes: [],
    upserts: [],
    ...fields,
  };
}

const base = stateFromSnapshot({
  epoch: 'e1',
  version: 10,
  total: 5,
  first_rank: 1,
  entries: [entry(1, 'a', 50), entry(2, 'b', 40), entry(3, 'c', 30)],
});

describe('view state', () => {
  it('takes a snapshot as it is, with ranks from first_rank', () => {
    const state = stateFromSnapshot({ epoch: 'e7', version: 3, total: 9, first_rank: 4, entries: [entry(4, 'x', 9), entry(5, 'y', 8)] });
    assert.deepEqual(state, { epoch: 'e7', version: 3, total: 9, firstRank: 4, entries: [entry(4, 'x', 9), entry(5, 'y', 8)] });
  });

  it('moves a participant up: removed, then inserted at rank − first_rank, then renumbered', () => {
    const outcome = applyDelta(base, delta(base, { removes: ['c'], upserts: [entry(1, 'c', 60)] }));
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.state.entries, [entry(1, 'c', 60), entry(2, 'a', 50), entry(3, 'b', 40)]);
    assert.equal(outcome.state.version, 11);
  });

  it('lets a newcomer push the last entry out of a top-N', () => {
    const outcome = applyDelta(base, delta(base, { total: 6, removes: ['c'], upserts: [entry(2, 'new', 45)] }));
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.state.entries, [entry(1, 'a', 50), entry(2, 'new', 45), entry(3, 'b', 40)]);
    assert.equal(outcome.state.total, 6);
  });

  it('replaces an upserted participant that was not listed in removes instead of duplicating it', () => {
    const outcome = applyDelta(base, delta(base, { upserts: [entry(2, 'b', 45)] }));
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.state.entries, [entry(1, 'a', 50), entry(2, 'b', 45), entry(3, 'c', 30)]);
  });

  it('renumbers when only first_rank changes (others passed the tracked participant)', () => {
    const outcome = applyDelta(base, delta(base, { first_rank: 2 }));
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.state.entries, [entry(2, 'a', 50), entry(3, 'b', 40), entry(4, 'c', 30)]);
  });

  it('reports a gap when from_version is not the local version, or there is no local copy', () => {
    assert.deepEqual(applyDelta(base, delta(base, { from_version: 11, to_version: 12 })), { ok: false, reason: 'gap' });
    assert.deepEqual(applyDelta(null, delta(base, {})), { ok: false, reason: 'gap' });
  });

  it('applies a delta only within the epoch of the local copy: any other epoch is a gap', () => {
    const same = applyDelta(base, delta(base, { removes: ['c'] }));
    assert.ok(same.ok);
    assert.equal(same.state.epoch, 'e1');
    // Versions issued again under a new epoch (a restart after a crash): from_version matches, but means another state.
    assert.deepEqual(applyDelta(base, delta(base, { epoch: 'e2' })), { ok: false, reason: 'gap' });
  });

  it('reports an upsert that lands outside the list as inconsistent', () => {
    assert.deepEqual(applyDelta(base, delta(base, { upserts: [entry(9, 'z', 1)] })), { ok: false, reason: 'inconsistent' });
  });

  it('does not change the state it was given', () => {
    const before = structuredClone(base);
    applyDelta(base, delta(base, { removes: ['a'], upserts: [entry(3, 'a', 1)] }));
    assert.deepEqual(base, before);
  });

  it('rebuilds the exact view of a reference board over random workloads (top-N and around)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const board = new Map<string, { score: number; at: number }>();
      const view = round % 2 === 0 ? { top: 1 + Math.floor(random() * 10) } : { around: 'p0', radius: Math.floor(random() * 4) };
      let version = 0;
      let state: ViewState = stateFromSnapshot({ epoch: 'e1', version, total: 0, first_rank: 0, entries: [] });
      for (let step = 0; step < 200; step++) {
        const before = windowOf(board, view);
        board.set(`p${Math.floor(random() * 25)}`, { score: Math.floor(random() * 100), at: step });
        version += 1;
        const after = windowOf(board, view);
        const outcome = applyDelta(state, referenceDelta(before, after, 'e1', version, board.size));
        assert.ok(outcome.ok, `round ${round} step ${step}`);
        state = outcome.state;
        assert.deepEqual(state.entries, after.entries, `round ${round} step ${step}`);
        assert.equal(state.firstRank, after.firstRank);
      }
    }
  });
});

type TestView = { top: number } | { around: string; radius: number };

/**
 * The view's window over a board kept as a plain map: sorted by score desc,
 * then earlier, then id. An around window is centred and shifted inward at
 * the edges so that it stays full (README "Windows").
 */
function windowOf(board: Map<string, { score: number; at: number }>, view: TestView): { firstRank: number; entries: ViewEntry[] } {
  const ranked = [...board]
    .sort(([ida, a], [idb, b]) => b.score - a.score || a.at - b.at || (ida < idb ? -1 : 1))
    .map(([id, { score, at }], i) => entry(i + 1, id, score, at));
  if ('top' in view) {
    const entries = ranked.slice(0, view.top);
    return { firstRank: entries.length > 0 ? 1 : 0, entries };
  }
  const centre = ranked.findIndex((e) => e.participant_id === view.around);
  if (centre < 0) return { firstRank: 0, entries: [] };
  const size = 2 * view.radius + 1;
  const start = Math.max(0, Math.min(centre - view.radius, ranked.length - size));
  const entries = ranked.slice(start, start + size);
  return { firstRank: entries[0]!.rank, entries };
}

/** A delta as a server may send it: removes what left or changed, upserts what is new or changed. */
function referenceDelta(
  before: { entries: ViewEntry[] },
  after: { firstRank: number; entries: ViewEntry[] },
  epoch: string,
  version: number,
  total: number,
): DeltaMessage {
  const key = (e: ViewEntry) => `${e.participant_id}/${e.score}/${e.achieved_at}`;
  const kept = new Set(before.entries.map(key));
  const stays = new Set(after.entries.map(key));
  return {
    type: 'delta',
    sub: 's',
    epoch,
    from_version: version - 1,
    to_version: version,
    total,
    first_rank: after.firstRank,
    removes: before.entries.filter((e) => !stays.has(key(e))).map((e) => e.participant_id),
    upserts: after.entries.filter((e) => !kept.has(key(e))),
  };
}

describe('polled snapshots', () => {
  it('carry the epoch, version and total of the rankings answer, and its entries as they are', () => {
    const rankings = {
      leaderboard_id: 'b',
      period: null,
      epoch: 'e3',
      version: 4,
      total: 9,
      entries: [{ rank: 3, participant_id: 'a', score: 9, achieved_at: 1, metadata: { clan: 'red' } }, { rank: 4, participant_id: 'b', score: 8, achieved_at: 2 }],
    };
    assert.deepEqual(snapshotOf(rankings), {
      type: 'snapshot',
      sub: 'poll',
      epoch: 'e3',
      version: 4,
      total: 9,
      first_rank: 3,
      entries: [entry(3, 'a', 9, 1), entry(4, 'b', 8, 2)],
    });
    assert.equal(snapshotOf({ ...rankings, entries: [] }).first_rank, 0, 'an empty view starts at rank 0');
  });
});

/** A subscription over one fake transport that the test drives; it records the updates, and where the subscription asked to start again from. */
function driven() {
  const updates: ViewUpdate[] = [];
  const resubscribedFrom: unknown[] = [];
  let listener: FeedListener | undefined;
  const subscription = new LiveSubscription({
    onUpdate: (update) => updates.push(update),
    options: {},
    transports: [
      {
        transport: 'websocket',
        open: (opened) => {
          listener = opened;
          return { resubscribe: () => resubscribedFrom.push(opened.resumePoint()), close: () => undefined };
        },
      },
    ],
    fallbackAfter: 3,
    onClosed: () => undefined,
  });
  return {
    subscription,
    updates,
    resubscribedFrom,
    deliver: (message: ServerMessage) => listener!.message(message),
    resumePoint: () => listener!.resumePoint(),
  };
}

describe('a subscription across epochs', () => {
  const snapshot = (epoch: string, version: number, entries: ViewEntry[]): ServerMessage => ({
    type: 'snapshot',
    sub: 's',
    epoch,
    version,
    total: entries.length,
    first_rank: entries.length > 0 ? 1 : 0,
    entries,
  });

  it('resumes from its version together with its epoch, and goes on within that epoch', () => {
    const view = driven();
    view.deliver(snapshot('e1', 7, [entry(1, 'a', 50)]));
    assert.deepEqual(view.resumePoint(), { version: 7, epoch: 'e1' });
    view.deliver({ type: 'resumed', sub: 's', epoch: 'e1', version: 7 });
    view.deliver({ type: 'delta', sub: 's', epoch: 'e1', from_version: 7, to_version: 8, total: 2, first_rank: 1, removes: [], upserts: [entry(1, 'b', 60)] });
    assert.deepEqual(view.resubscribedFrom, []);
    assert.deepEqual(view.updates.map((u) => [u.epoch, u.version, u.entries.map((e) => e.participant_id)]), [
      ['e1', 7, ['a']],
      ['e1', 8, ['b', 'a']],
    ]);
    assert.deepEqual(view.subscription.status, { state: 'live', transport: 'websocket' });
  });

  it('after a restart that changed the epoch, resyncs from a snapshot instead of resuming, even at the same version', () => {
    const view = driven();
    view.deliver(snapshot('e1', 7, [entry(1, 'a', 50), entry(2, 'b', 40)]));
    // The server crashed with version 7 uncommitted and issued 7 again to another state: `resumed` of the new epoch does not fit the local copy.
    view.deliver({ type: 'resumed', sub: 's', epoch: 'e2', version: 7 });
    assert.deepEqual(view.resubscribedFrom, [null], 'drops the local copy and asks for a snapshot');
    assert.equal(view.updates.length, 1, 'the last update stays visible meanwhile');
    view.deliver(snapshot('e2', 7, [entry(1, 'c', 70)]));
    assert.deepEqual([view.subscription.update?.epoch, view.subscription.update?.version], ['e2', 7]);
    assert.deepEqual(view.subscription.update?.entries.map((e) => e.participant_id), ['c'], 'the new epoch replaced the local copy');
    assert.deepEqual(view.resumePoint(), { version: 7, epoch: 'e2' });
  });

  it('drops a delta of another epoch whose from_version matches, and asks for a snapshot', () => {
    const view = driven();
    view.deliver(snapshot('e1', 7, [entry(1, 'a', 50)]));
    view.deliver({ type: 'delta', sub: 's', epoch: 'e2', from_version: 7, to_version: 8, total: 1, first_rank: 1, removes: ['a'], upserts: [entry(1, 'z', 1)] });
    assert.deepEqual(view.resubscribedFrom, [null]);
    assert.deepEqual(view.updates.map((u) => u.entries.map((e) => e.participant_id)), [['a']], 'nothing of the other epoch was applied');
    assert.equal(view.resumePoint(), null);
  });

  it('takes a snapshot of another epoch as the new state whatever its version', () => {
    const view = driven();
    view.deliver(snapshot('e1', 9, [entry(1, 'a', 50)]));
    view.deliver(snapshot('e2', 3, [entry(1, 'b', 10)]));
    assert.deepEqual(view.updates.map((u) => [u.epoch, u.version]), [
      ['e1', 9],
      ['e2', 3],
    ]);
    assert.deepEqual(view.resubscribedFrom, []);
  });
});

describe('fatal errors', () => {
  it('end a view only for causes that no retry can fix, each with its reason', () => {
    const fatal = ['board_not_found', 'invalid_view', 'invalid_request', 'missing_api_key', 'invalid_api_key', 'forbidden'];
    assert.deepEqual(Object.keys(fatalErrors).sort(), [...fatal].sort());
    for (const code of fatal) {
      assert.ok(isFatal(code), code);
      assert.ok((fatalErrors[code] ?? '').length > 20, `${code} says why it is fatal`);
    }
    // Limits of the moment and passing trouble are retried with backoff.
    for (const code of ['too_many_subscriptions', 'too_many_views', 'internal_error', 'shutting_down', 'network_error', 'unexpected_response']) {
      assert.equal(isFatal(code), false, code);
    }
    assert.equal(isFatal('constructor'), false, 'only own entries count');
  });

  it('gives a real-time error the HTTP status of the same cause in the server catalogue', () => {
    assert.deepEqual(
      ['board_not_found', 'missing_api_key', 'forbidden', 'internal_error', 'not_a_code'].map((code) => errorFromMessage({ code, message: 'm' }).status),
      [404, 401, 403, 500, 0],
    );
    const error = errorFromMessage({ code: 'forbidden', message: 'the key may not read' });
    assert.deepEqual([error.name, error.code, error.message], ['LadderApiError', 'forbidden', 'the key may not read']);
  });
});

describe('backoff', () => {
  it('draws full jitter below an exponential cap', () => {
    const options = { baseMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(0, options, () => 0.999), 99.9);
    assert.equal(backoffDelay(3, options, () => 0.5), 400);
    assert.equal(backoffDelay(50, options, () => 1), 1000);
    assert.equal(backoffDelay(5, options, () => 0), 0);
  });
});

describe('event stream parser', () => {
  async function read(chunks: string[]): Promise<StreamEvent[]> {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    });
    const found: StreamEvent[] = [];
    for await (const event of events(body)) found.push(event);
    return found;
  }

  async function parse(chunks: string[]): Promise<string[]> {
    return (await read(chunks)).map((event) => event.data);
  }

  it('yields the data of each event, whatever the line endings and chunk boundaries', async () => {
    assert.deepEqual(await parse(['id: 1\nevent: snapshot\ndata: {"a":1}\n\n']), ['{"a":1}']);
    assert.deepEqual(await parse(['data: one\r', '\n\r', '\ndata: two\r\n\r\n']), ['one', 'two']);
    assert.deepEqual(await parse(['data: x\r\rdata:y\n', '\n']), ['x', 'y']);
    assert.deepEqual(await parse([': comment\n\ndata: a\ndata: b\n\n']), ['a\nb']);
    assert.deepEqual(await parse(['da', 'ta: split', ' value\n', '\n']), ['split value']);
  });

  it('drops an event the stream cut off before its blank line', async () => {
    assert.deepEqual(await parse(['data: done\n\ndata: half']), ['done']);
  });

  it("gives each event its own id as sent, or null when it has none", async () => {
    assert.deepEqual(await read(['id: 7\nevent: delta\ndata: a\n\n', 'data: b\n\n', 'id:e-1f-12\ndata: c\n\n']), [
      { id: '7', data: 'a' },
      { id: null, data: 'b' },
      { id: 'e-1f-12', data: 'c' },
    ]);
  });
});
