/**
 * Server-Sent Events over real sockets against the real server: the same
 * messages as over WebSocket with sub "sse", `id:` = version, `Last-Event-ID`
 * resume, keepalive comments, and cleanup when the client goes away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeltaMessage, SnapshotMessage } from '../src/feed/protocol.js';
import { Subscriber } from '../src/feed/subscriber.js';
import { api, startServer, type TestServer } from './helpers/server.js';
import { createBoard, eventually, restWindow, sleep, SseReader, submit } from './helpers/realtime.js';

/**
 * In the cluster suites a reconnection may reach the other member, which has no history of the
 * view: it resumes from the window archive with one delta (test/cluster.test.ts), not with the
 * history's deltas, and a version beyond the history still resumes there.
 */
const PER_PROCESS_HISTORY = process.env.LADDER_TEST_CLUSTER === '1' ? 'delta history is per process; across members a resume gets one delta from the window archive (test/cluster.test.ts)' : false;

const HEARTBEAT_MS = 200;

describe('SSE events', () => {
  let server: TestServer;
  const readers: SseReader[] = [];

  before(async () => {
    server = await startServer({ tickMs: 10, historySize: 4, heartbeatMs: HEARTBEAT_MS });
  });
  after(async () => {
    for (const reader of readers) reader.close();
    await server.close();
  });

  async function open(board: string, view: string, state: SseReader['state'] = null): Promise<SseReader> {
    const reader = await SseReader.open(`${server.url}/v1/leaderboards/${board}/events?view=${encodeURIComponent(view)}`, state);
    readers.push(reader);
    return reader;
  }

  it('sends a snapshot, then deltas, each with id = <epoch>-<version> of the state it brings the client to', async () => {
    const board = await createBoard(server);
    await submit(server, board, 'a', 10);
    const { version } = await submit(server, board, 'b', 20);
    const reader = await open(board, 'top:2');
    assert.equal(reader.status, 200);
    const snapshot = await reader.next((e) => e.event === 'snapshot');
    const { epoch } = snapshot.data as SnapshotMessage;
    assert.match(epoch, /^[0-9a-f]{12}$/);
    assert.equal(snapshot.id, `${epoch}-${version}`);
    assert.deepEqual({ ...(snapshot.data as SnapshotMessage), entries: [] }, { type: 'snapshot', sub: 'sse', epoch, version, total: 2, first_rank: 1, entries: [] });

    const entered = await submit(server, board, 'c', 30);
    const delta = await reader.next((e) => e.event === 'delta');
    assert.equal(delta.id, `${epoch}-${entered.version}`);
    assert.deepEqual((delta.data as DeltaMessage).removes, ['a']);
    assert.deepEqual(reader.state?.entries, await restWindow(server, board, { top: 2 }));
    assert.deepEqual(reader.gaps, []);
  });

  it('serves every view shorthand and the view JSON', async () => {
    const board = await createBoard(server);
    for (let i = 1; i <= 6; i++) await submit(server, board, `p${i}`, i);
    const views = [
      ['participant:p3', { participant: 'p3' }],
      ['around:1:p3', { around: 'p3', radius: 1 }],
      [JSON.stringify({ top: 4 }), { top: 4 }],
    ] as const;
    const readersByView = await Promise.all(views.map(([param]) => open(board, param)));
    for (const reader of readersByView) await reader.next((e) => e.event === 'snapshot');
    await submit(server, board, 'p9', 100);
    await submit(server, board, 'p3', 50);
    await eventually(async () => {
      for (const [i, [, view]] of views.entries()) assert.deepEqual(readersByView[i]!.state?.entries, await restWindow(server, board, view));
    });
  });

  it('resumes from Last-Event-ID with the missed deltas, or sends a snapshot when they are gone', { skip: PER_PROCESS_HISTORY }, async () => {
    const board = await createBoard(server);
    const first = await open(board, 'top:5');
    const { epoch } = (await first.next((e) => e.event === 'snapshot')).data as SnapshotMessage;
    const { version } = await submit(server, board, 'a', 1);
    await first.next((e) => e.id === `${epoch}-${version}`);
    first.close();

    await submit(server, board, 'b', 2);
    const missed = await submit(server, board, 'c', 3);
    await sleep(40);
    const resumed = await open(board, 'top:5', first.state);
    const answer = await resumed.next((e) => e.event === 'resumed');
    assert.deepEqual([answer.id, answer.data], [`${epoch}-${version}`, { type: 'resumed', sub: 'sse', epoch, version }]);
    await resumed.next((e) => e.id === `${epoch}-${missed.version}`);
    assert.deepEqual(resumed.state?.entries, await restWindow(server, board, { top: 5 }));
    assert.deepEqual(resumed.gaps, []);

    // More changes than the history keeps, while the view stays live.
    const stale = resumed.state;
    const watcher = await open(board, 'top:5');
    await watcher.next((e) => e.event === 'snapshot');
    resumed.close();
    for (let i = 0; i < 8; i++) {
      const { version: next } = await submit(server, board, `d${i}`, 10 + i);
      await watcher.next((e) => e.id === `${epoch}-${next}`);
    }
    const late = await open(board, 'top:5', stale);
    assert.equal((await late.next(() => true)).event, 'snapshot');
    assert.deepEqual(late.state?.entries, await restWindow(server, board, { top: 5 }));

    // A Last-Event-ID that is not `<epoch>-<version>`, or names another epoch, is no resume: a snapshot.
    const current = watcher.state!.version;
    for (const lastEventId of ['abc', String(current), `ffffffffffff-${current}`]) {
      const odd = await SseReader.open(`${server.url}/v1/leaderboards/${board}/events?view=top:5`, null, { 'last-event-id': lastEventId });
      readers.push(odd);
      assert.equal((await odd.next(() => true)).event, 'snapshot', lastEventId);
    }
  });

  it('sends keepalive comments while nothing changes', async () => {
    const board = await createBoard(server);
    const reader = await open(board, 'top:1');
    await sleep(HEARTBEAT_MS * 2.5);
    assert.ok(reader.comments.filter((c) => c === 'keepalive').length >= 2, JSON.stringify(reader.comments));
  });

  it('answers errors before the stream in the REST error shape', async () => {
    const board = await createBoard(server);
    const cases: [string, number, string][] = [
      [`/v1/leaderboards/no-such-board/events?view=top:3`, 404, 'board_not_found'],
      [`/v1/leaderboards/${board}/events`, 400, 'invalid_request'],
      [`/v1/leaderboards/${board}/events?view=top:0`, 400, 'invalid_request'],
      [`/v1/leaderboards/${board}/events?view=${encodeURIComponent('{"top":')}`, 400, 'invalid_request'],
    ];
    for (const [path, status, code] of cases) {
      const res = await api(server, 'GET', path);
      assert.equal(res.status, status, path);
      assert.equal(res.body.error.code, code, path);
      assert.equal(res.body.error.details?.field, code === 'invalid_request' ? 'view' : undefined, path);
    }
  });

  it('ends the stream with board_not_found when the board is deleted', async () => {
    const board = await createBoard(server);
    const reader = await open(board, 'top:3');
    await reader.next((e) => e.event === 'snapshot');
    await api(server, 'DELETE', `/v1/leaderboards/${board}`, { key: server.adminKey });
    const error = await reader.next((e) => e.event === 'error');
    assert.deepEqual([error.id, error.data.type === 'error' && error.data.code, 'sub' in error.data && error.data.sub], [null, 'board_not_found', 'sse']);
    await reader.done;
  });

  it('releases the subscription when the client goes away', async () => {
    const board = await createBoard(server);
    let disconnects = 0;
    const disconnect = Subscriber.prototype.disconnect;
    Subscriber.prototype.disconnect = function (this: Subscriber) {
      disconnects += 1;
      disconnect.call(this);
    };
    try {
      const reader = await open(board, 'top:3');
      await reader.next((e) => e.event === 'snapshot');
      reader.close();
      await eventually(() => assert.equal(disconnects, 1));
    } finally {
      Subscriber.prototype.disconnect = disconnect;
    }
  });

  it('tells the stream to reconnect elsewhere when the server shuts down: retry and a close event with code 1012', async () => {
    const own = await startServer({ tickMs: 10 });
    const board = await createBoard(own);
    const reader = await SseReader.open(`${own.url}/v1/leaderboards/${board}/events?view=top:5`);
    await reader.next((e) => e.event === 'snapshot');
    await own.close();
    await reader.done;
    const close = reader.events.find((e) => e.event === 'close');
    assert.ok(close, JSON.stringify(reader.events));
    assert.deepEqual(close.data, { type: 'close', code: 1012, reason: 'server shutting down' });
  });
});
