/**
 * The client's pure parts: applying snapshots and deltas (checked against a
 * reference model of a board), the backoff, and the event-stream parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../src/client/backoff.js';
import { errorFromMessage, fatalErrors, isFatal } from '../src/client/errors.js';
import { snapshotOf } from '../src/client/poll.js';
import type { DeltaMessage, ViewEntry } from '../src/client/protocol.js';
import { events, type StreamEvent } from '../src/client/sse.js';
import { applyDelta, stateFromSnapshot, type ViewState } from '../src/client/view-state.js';

function entry(rank: number, participant_id: string, score: number, achieved_at = 1): ViewEntry {
  return { rank, participant_id, score, achieved_at };
}

function delta(state: ViewState, fields: Partial<DeltaMessage>): DeltaMessage {
  return {
    type: 'delta',
    sub: 's1',
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
  version: 10,
  total: 5,
  first_rank: 1,
  entries: [entry(1, 'a', 50), entry(2, 'b', 40), entry(3, 'c', 30)],
});

describe('view state', () => {
  it('takes a snapshot as it is, with ranks from first_rank', () => {
    const state = stateFromSnapshot({ version: 3, total: 9, first_rank: 4, entries: [entry(4, 'x', 9), entry(5, 'y', 8)] });
    assert.deepEqual(state, { epoch: null, version: 3, total: 9, firstRank: 4, entries: [entry(4, 'x', 9), entry(5, 'y', 8)] });
    const withEpoch = { version: 3, total: 9, first_rank: 4, entries: [], epoch: 'e7' };
    assert.equal(stateFromSnapshot(withEpoch).epoch, 'e7');
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
    const epoch = (value: string) => ({ epoch: value });
    const inEpoch = stateFromSnapshot({ version: 10, total: 5, first_rank: 1, entries: base.entries, ...epoch('e1') });
    const same = applyDelta(inEpoch, { ...delta(inEpoch, { removes: ['c'] }), ...epoch('e1') });
    assert.ok(same.ok);
    assert.equal(same.state.epoch, 'e1');
    // Versions reissued under a new epoch: from_version matches, but means another state.
    assert.deepEqual(applyDelta(inEpoch, { ...delta(inEpoch, {}), ...epoch('e2') }), { ok: false, reason: 'gap' });
    assert.deepEqual(applyDelta(inEpoch, delta(inEpoch, {})), { ok: false, reason: 'gap' }, 'a delta without an epoch onto a copy with one');
    assert.deepEqual(applyDelta(base, { ...delta(base, {}), ...epoch('e1') }), { ok: false, reason: 'gap' }, 'a delta with an epoch onto a copy without');
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
      let state: ViewState = stateFromSnapshot({ version, total: 0, first_rank: 0, entries: [] });
      for (let step = 0; step < 200; step++) {
        const before = windowOf(board, view);
        board.set(`p${Math.floor(random() * 25)}`, { score: Math.floor(random() * 100), at: step });
        version += 1;
        const after = windowOf(board, view);
        const outcome = applyDelta(state, referenceDelta(before, after, version, board.size));
        assert.ok(outcome.ok, `round ${round} step ${step}`);
        state = outcome.state;
        assert.deepEqual(state.entries, after.entries, `round ${round} step ${step}`);
        assert.equal(state.firstRank, after.firstRank);
      }
    }
  });
});

type TestView = { top: number } | { around: string; radius: number };

/** The view's window over a board kept as a plain map: sorted by score desc, then earlier, then id. */
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
  const entries = ranked.slice(Math.max(0, centre - view.radius), centre + view.radius + 1);
  return { firstRank: entries[0]!.rank, entries };
}

/** A delta as a server may send it: removes what left or changed, upserts what is new or changed. */
function referenceDelta(
  before: { entries: ViewEntry[] },
  after: { firstRank: number; entries: ViewEntry[] },
  version: number,
  total: number,
): DeltaMessage {
  const key = (e: ViewEntry) => `${e.participant_id}/${e.score}/${e.achieved_at}`;
  const kept = new Set(before.entries.map(key));
  const stays = new Set(after.entries.map(key));
  return {
    type: 'delta',
    sub: 's',
    from_version: version - 1,
    to_version: version,
    total,
    first_rank: after.firstRank,
    removes: before.entries.filter((e) => !stays.has(key(e))).map((e) => e.participant_id),
    upserts: after.entries.filter((e) => !kept.has(key(e))),
  };
}

describe('polled snapshots', () => {
  it('carry the epoch of the rankings answer when it has one', () => {
    const rankings = { leaderboard_id: 'b', version: 4, total: 1, entries: [{ rank: 1, participant_id: 'a', score: 9, achieved_at: 1 }] };
    assert.equal('epoch' in snapshotOf({ top: 5 }, rankings), false);
    assert.equal(stateFromSnapshot(snapshotOf({ top: 5 }, { ...rankings, epoch: 'e3' } as typeof rankings)).epoch, 'e3');
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
