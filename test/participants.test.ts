/**
 * Participants across boards, through the front door: profiles (PUT, GET,
 * validation, scopes), their names in rankings, participant answers and
 * live views (a real WebSocket, and the TypeScript client), a rename seen
 * by live viewers, and erasure (DELETE /v1/participants/{pid}): ranks close
 * up in answers and live views, and the participant stays gone after a
 * restart. test/cluster-suites/participants.test.ts runs the same suite
 * against two cluster members behind a round-robin proxy; there the
 * restart is a member restart and a `ladder rebuild` after Redis lost
 * everything.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import WebSocket from 'ws';
import { LadderClient, type ViewUpdate } from '../src/client/index.js';
import type { Profile } from '../src/core/types.js';
import type { DeltaMessage, SnapshotMessage } from '../src/feed/protocol.js';
import { LocalBus } from '../src/feed/bus.js';
import { ProfileCache } from '../src/service/profiles.js';
import { SQLITE_FILE_NAME } from '../src/store/sqlite.js';
import { createBoard, eventually, FeedClient, restWindow, sleep, SseReader, submit, submitBatch, wsUrl } from './helpers/realtime.js';
import { api, startServer, type TestServer } from './helpers/server.js';

const inCluster = process.env.LADDER_TEST_CLUSTER === '1';
const T0 = 1_700_000_000_000;

async function putProfile(server: TestServer, pid: string, body: unknown, key: string | null = server.adminKey) {
  return api(server, 'PUT', `/v1/participants/${pid}`, { key, body });
}

async function issueKey(server: TestServer, scope: 'read' | 'write' | 'admin'): Promise<string> {
  const res = await api(server, 'POST', '/v1/keys', { key: server.adminKey, body: { scope } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.key;
}

/** A board with p1..p5 scoring 50, 40, 30, 20, 10 (p1 leads). */
async function fiveOnABoard(server: TestServer, prefix: string): Promise<string> {
  const board = await createBoard(server);
  await submitBatch(
    server,
    board,
    [50, 40, 30, 20, 10].map((score, i) => ({ participant_id: `${prefix}${i + 1}`, score, timestamp: T0 + i })),
  );
  return board;
}

/** [rank, participant, display name or '-'] of a rankings answer. */
function named(entries: { rank: number; participant_id: string; display_name?: string }[]): [number, string, string][] {
  return entries.map((e) => [e.rank, e.participant_id, e.display_name ?? '-']);
}

let counter = 0;
/** A participant id of this run, so that suites sharing a database never meet. */
function pid(name: string): string {
  counter += 1;
  return `${name}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

describe('participants', () => {
  let server: TestServer;
  const sockets: FeedClient[] = [];
  before(async () => {
    server = await startServer({ tickMs: 10 });
  });
  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    await server?.close();
  });

  describe('profiles', () => {
    it('sets, reads and replaces a profile; an absent field is cleared', async () => {
      const id = pid('ana');
      const body = { display_name: 'Ana María 🏆', avatar_url: 'https://cdn.example.com/a/ana.png?s=64', metadata: { country: 'AR', level: 7 } };
      const put = await putProfile(server, id, body);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual({ ...put.body, updated_at: 0 }, { participant_id: id, ...body, updated_at: 0 });
      assert.ok(Number.isSafeInteger(put.body.updated_at));
      const got = await api(server, 'GET', `/v1/participants/${id}`);
      assert.deepEqual([got.status, got.body], [200, put.body]);
      const replaced = await putProfile(server, id, { display_name: 'Ana' });
      assert.deepEqual([replaced.body.display_name, replaced.body.avatar_url, replaced.body.metadata], ['Ana', null, null]);
      assert.deepEqual((await api(server, 'GET', `/v1/participants/${id}`)).body, replaced.body);
      const cleared = await putProfile(server, id, {});
      assert.deepEqual([cleared.status, cleared.body.display_name, cleared.body.avatar_url], [200, null, null]);
    });

    it('answers 404 participant_not_found for a participant without a profile', async () => {
      const id = pid('nobody');
      const res = await api(server, 'GET', `/v1/participants/${id}`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'participant_not_found');
      assert.equal(res.body.error.details.participant_id, id);
    });

    it('refuses each bad field with a 400 that names it', async () => {
      const id = pid('bad');
      const cases: [unknown, string][] = [
        [{ display_name: 'x'.repeat(101) }, 'display_name'],
        [{ display_name: '' }, 'display_name'],
        [{ display_name: 'two\nlines' }, 'display_name'],
        [{ display_name: 42 }, 'display_name'],
        [{ avatar_url: 'ftp://cdn.example.com/a.png' }, 'avatar_url'],
        [{ avatar_url: 'javascript:alert(1)' }, 'avatar_url'],
        [{ avatar_url: '/avatars/a.png' }, 'avatar_url'],
        [{ avatar_url: 'http:cdn.example.com' }, 'avatar_url'],
        [{ avatar_url: `https://cdn.example.com/${'a'.repeat(2030)}` }, 'avatar_url'],
        [{ avatar_url: true }, 'avatar_url'],
        [{ metadata: ['a'] }, 'metadata'],
        [{ metadata: 'text' }, 'metadata'],
        [{ metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])) }, 'metadata'],
        [{ metadata: { blob: 'x'.repeat(5000) } }, 'metadata'],
        [{ name: 'Ana' }, 'name'],
        [['Ana'], 'body'],
        ['Ana', 'body'],
      ];
      for (const [body, field] of cases) {
        const res = await putProfile(server, id, body);
        assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 60)}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'invalid_request');
        assert.equal(res.body.error.details.field, field, JSON.stringify(res.body));
        assert.match(res.body.error.message, new RegExp(`^${field}`));
      }
      const badId = await api(server, 'PUT', '/v1/participants/has%20space', { key: server.adminKey, body: {} });
      assert.deepEqual([badId.status, badId.body.error.details.field], [400, 'pid']);
      const nullBody = await api(server, 'PUT', `/v1/participants/${id}`, { key: server.adminKey, raw: 'null' });
      assert.deepEqual([nullBody.status, nullBody.body.error.details.field], [400, 'body']);
      assert.equal((await api(server, 'GET', `/v1/participants/${id}`)).status, 404, 'nothing was stored');
      const edge = await putProfile(server, id, { display_name: '🏆'.repeat(100), avatar_url: `http://x.example/${'a'.repeat(2048 - 'http://x.example/'.length)}` });
      assert.equal(edge.status, 200, `100 characters and 2048 are allowed: ${JSON.stringify(edge.body)}`);
    });

    it('needs a write key to set a profile, an admin key to erase; reading is public', async () => {
      const id = pid('scoped');
      const [reader, writer] = [await issueKey(server, 'read'), await issueKey(server, 'write')];
      assert.equal((await putProfile(server, id, { display_name: 'S' }, null)).body.error.code, 'missing_api_key');
      assert.equal((await putProfile(server, id, { display_name: 'S' }, reader)).status, 403);
      assert.equal((await putProfile(server, id, { display_name: 'S' }, writer)).status, 200);
      assert.equal((await api(server, 'GET', `/v1/participants/${id}`)).status, 200);
      assert.equal((await api(server, 'DELETE', `/v1/participants/${id}`)).status, 401);
      assert.equal((await api(server, 'DELETE', `/v1/participants/${id}`, { key: writer })).status, 403);
      assert.equal((await api(server, 'GET', `/v1/participants/${id}`)).status, 200, 'refused erasures erased nothing');
      assert.equal((await api(server, 'DELETE', `/v1/participants/${id}`, { key: server.adminKey })).status, 200);
      assert.equal((await api(server, 'GET', `/v1/participants/${id}`)).status, 404);
    });
  });

  describe('names in answers', () => {
    it('rankings, windows, friends and participant answers carry display_name and avatar_url of those with a profile', async () => {
      const p = 'names-';
      const board = await fiveOnABoard(server, p);
      await putProfile(server, `${p}2`, { display_name: 'Bea', avatar_url: 'https://cdn.example.com/bea.png' });
      await putProfile(server, `${p}4`, { display_name: 'Dan' });
      await putProfile(server, `${p}5`, { metadata: { only: 'metadata' } });
      const top = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?limit=10`);
      assert.deepEqual(named(top.body.entries), [
        [1, `${p}1`, '-'],
        [2, `${p}2`, 'Bea'],
        [3, `${p}3`, '-'],
        [4, `${p}4`, 'Dan'],
        [5, `${p}5`, '-'],
      ]);
      assert.equal(top.body.entries[1].avatar_url, 'https://cdn.example.com/bea.png');
      assert.ok(!('avatar_url' in top.body.entries[3]) && !('display_name' in top.body.entries[0]), 'only what a profile sets');
      const around = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?around=${p}3&limit=3`);
      assert.deepEqual(named(around.body.entries), [
        [2, `${p}2`, 'Bea'],
        [3, `${p}3`, '-'],
        [4, `${p}4`, 'Dan'],
      ]);
      const friends = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?participants=${p}4,${p}1`);
      assert.deepEqual(named(friends.body.entries), [
        [1, `${p}1`, '-'],
        [4, `${p}4`, 'Dan'],
      ]);
      const standing = await api(server, 'GET', `/v1/leaderboards/${board}/participants/${p}2?neighbors=1`);
      assert.deepEqual([standing.body.display_name, standing.body.avatar_url, standing.body.rank], ['Bea', 'https://cdn.example.com/bea.png', 2]);
      assert.deepEqual([named(standing.body.neighbors.above), named(standing.body.neighbors.below)], [[[1, `${p}1`, '-']], [[3, `${p}3`, '-']]]);
      const dan = await api(server, 'GET', `/v1/leaderboards/${board}/participants/${p}4?neighbors=0`);
      assert.equal(dan.body.display_name, 'Dan');
      assert.ok(!('avatar_url' in dan.body));
    });

    it('shares one profile across boards, and a rename changes the ETag though the version stays', async () => {
      const p = 'shared-';
      const [a, b] = [await fiveOnABoard(server, p), await fiveOnABoard(server, p)];
      await putProfile(server, `${p}1`, { display_name: 'First' });
      const before = await api(server, 'GET', `/v1/leaderboards/${a}/rankings?limit=2`);
      assert.equal(before.body.entries[0].display_name, 'First');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${b}/rankings?limit=1`)).body.entries[0].display_name, 'First');
      const etag = before.headers.get('etag')!;
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${a}/rankings?limit=2`, { headers: { 'if-none-match': etag } })).status, 304);
      await putProfile(server, `${p}1`, { display_name: 'Renamed' });
      await eventually(async () => {
        const after = await api(server, 'GET', `/v1/leaderboards/${a}/rankings?limit=2`, { headers: { 'if-none-match': etag } });
        assert.equal(after.status, 200, 'the answer changed, so its tag did');
        assert.equal(after.body.version, before.body.version);
        assert.equal(after.body.entries[0].display_name, 'Renamed');
      });
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${b}/participants/${p}1`)).body.display_name, 'Renamed');
    });
  });

  describe('names in live views', () => {
    it('a WebSocket viewer gets names in its snapshot, and a rename as a delta at the same version', async () => {
      const p = 'live-';
      const board = await fiveOnABoard(server, p);
      await putProfile(server, `${p}3`, { display_name: 'Cleo', avatar_url: 'https://cdn.example.com/cleo.png' });
      const viewer = await FeedClient.connect(wsUrl(server, board));
      sockets.push(viewer);
      const snapshot = (await viewer.subscribe('top', { top: 3 })) as SnapshotMessage;
      assert.equal(snapshot.type, 'snapshot');
      assert.deepEqual(snapshot.entries[2], { rank: 3, participant_id: `${p}3`, score: 30, achieved_at: T0 + 2, display_name: 'Cleo', avatar_url: 'https://cdn.example.com/cleo.png' });
      const solo = await viewer.subscribe('solo', { participant: `${p}3` });
      assert.equal(solo.type, 'snapshot');
      const other = await viewer.subscribe('other', { participant: `${p}5` });
      const from = viewer.received.length;

      await putProfile(server, `${p}3`, { display_name: 'Cleopatra' });
      const rename = (await viewer.next((m) => m.type === 'delta' && m.sub === 'top', from)) as DeltaMessage;
      assert.equal(rename.from_version, snapshot.version);
      assert.equal(rename.to_version, snapshot.version, 'the ranking did not change');
      assert.deepEqual(rename.upserts, [{ rank: 3, participant_id: `${p}3`, score: 30, achieved_at: T0 + 2, display_name: 'Cleopatra' }]);
      await viewer.next((m) => m.type === 'delta' && m.sub === 'solo', from);
      assert.deepEqual(viewer.entries('top')?.map((e) => [e.participant_id, e.display_name ?? '-', e.avatar_url ?? '-']), [
        [`${p}1`, '-', '-'],
        [`${p}2`, '-', '-'],
        [`${p}3`, 'Cleopatra', '-'],
      ]);
      assert.deepEqual(viewer.entries('solo')?.[0]?.display_name, 'Cleopatra');
      assert.deepEqual(viewer.gaps, []);

      // The chain goes on from there, names and all.
      const moved = await submit(server, board, `${p}3`, 45, T0 + 10);
      await eventually(() => assert.equal(viewer.states.get('top')?.version, moved.version));
      assert.deepEqual(viewer.entries('top')?.map((e) => [e.participant_id, e.display_name ?? '-']), [
        [`${p}1`, '-'],
        [`${p}3`, 'Cleopatra'],
        [`${p}2`, '-'],
      ]);
      assert.ok(!viewer.messagesOf('other').some((m) => m.type === 'delta'), 'a view that does not show the participant gets nothing');
      assert.equal(other.type, 'snapshot');

      // A viewer that resumes from before the rename gets it too.
      const late = await FeedClient.connect(wsUrl(server, board));
      sockets.push(late);
      const resumed = await late.subscribe('top', { top: 3 }, snapshot.version, snapshot.epoch);
      if (resumed.type === 'resumed') {
        // It had nothing at that version: the test only checks what the deltas carry.
        const last = (await late.next((m) => m.type === 'delta' && m.sub === 'top' && m.to_version === moved.version)) as DeltaMessage;
        assert.ok(last.upserts.every((e) => e.participant_id !== `${p}3` || e.display_name === 'Cleopatra'));
      } else {
        assert.equal((resumed as SnapshotMessage).entries[1]?.display_name, 'Cleopatra');
      }
    });

    it('an SSE viewer gets the same: names in its snapshot, a rename as a delta at the same version', async () => {
      const p = 'sse-';
      const board = await fiveOnABoard(server, p);
      await putProfile(server, `${p}1`, { display_name: 'Uno' });
      const reader = await SseReader.open(`${server.url}/v1/leaderboards/${board}/events?view=top:2`);
      try {
        const snapshot = await reader.next((e) => e.event === 'snapshot');
        assert.equal((snapshot.data as SnapshotMessage).entries[0]?.display_name, 'Uno');
        await putProfile(server, `${p}1`, { display_name: 'Uno', avatar_url: 'https://cdn.example.com/1.png' });
        const rename = await reader.next((e) => e.event === 'delta');
        assert.equal(rename.id, snapshot.id, 'the same board state');
        assert.deepEqual(reader.state?.entries[0], { rank: 1, participant_id: `${p}1`, score: 50, achieved_at: T0, display_name: 'Uno', avatar_url: 'https://cdn.example.com/1.png' });
        assert.deepEqual(reader.gaps, []);
      } finally {
        reader.close();
      }
    });

    it('the TypeScript client carries names through its view state, and sees a rename', async () => {
      const p = 'client-';
      const board = await fiveOnABoard(server, p);
      await putProfile(server, `${p}1`, { display_name: 'Leader' });
      const client = new LadderClient({ baseUrl: server.url, apiKey: server.adminKey, WebSocket });
      try {
        const updates: ViewUpdate[] = [];
        const subscription = client.subscribe(board, { top: 2 }, (update) => updates.push(update));
        await eventually(() => assert.equal(updates.at(-1)?.entries[0]?.display_name, 'Leader'));
        assert.deepEqual(updates.at(-1)?.entries[1], { rank: 2, participant_id: `${p}2`, score: 40, achieved_at: T0 + 1 });
        assert.deepEqual(await client.putProfile(`${p}1`, { display_name: 'Still leading', avatar_url: 'https://cdn.example.com/l.png' }), (await client.getProfile(`${p}1`)));
        await eventually(() => assert.deepEqual([updates.at(-1)?.entries[0]?.display_name, updates.at(-1)?.entries[0]?.avatar_url], ['Still leading', 'https://cdn.example.com/l.png']));
        assert.equal(subscription.status.transport, 'websocket');
        subscription.close();
      } finally {
        client.close();
      }
    });

    it('the long-poll fallback shows a rename when its poll next answers', { skip: inCluster ? 'needs a short long-poll bound of its own server' : false }, async () => {
      const polled = await startServer({ longPollMaxMs: 300 });
      try {
        const p = 'poll-';
        const board = await fiveOnABoard(polled, p);
        const client = new LadderClient({ baseUrl: polled.url, transports: ['poll'], pollWaitMs: 200 });
        try {
          const updates: ViewUpdate[] = [];
          const subscription = client.subscribe(board, { top: 1 }, (update) => updates.push(update));
          await eventually(() => assert.equal(updates.length, 1));
          await putProfile(polled, `${p}1`, { display_name: 'Polled' });
          await eventually(() => assert.equal(updates.at(-1)?.entries[0]?.display_name, 'Polled'));
          assert.equal(updates.at(-1)?.version, updates[0]?.version);
          subscription.close();
        } finally {
          client.close();
        }
      } finally {
        await polled.close();
      }
    });
  });

  describe('erasure', () => {
    it('takes the participant off every board and every live view; ranks close up, versions go up, their profile goes', async () => {
      const p = 'erase-';
      const a = await fiveOnABoard(server, p);
      const b = await createBoard(server);
      await submitBatch(server, b, [
        { participant_id: `${p}3`, score: 7, timestamp: T0 },
        { participant_id: `${p}9`, score: 3, timestamp: T0 },
      ]);
      const untouched = await fiveOnABoard(server, 'bystander-');
      await putProfile(server, `${p}3`, { display_name: 'Gone soon' });
      const before = await api(server, 'GET', `/v1/leaderboards/${a}/rankings?limit=10`);
      const untouchedBefore = await api(server, 'GET', `/v1/leaderboards/${untouched}`);
      const viewer = await FeedClient.connect(wsUrl(server, a));
      sockets.push(viewer);
      await viewer.subscribe('top', { top: 10 });
      await viewer.subscribe('around', { around: `${p}5`, radius: 1 });
      await viewer.subscribe('self', { participant: `${p}3` });

      const erased = await api(server, 'DELETE', `/v1/participants/${p}3`, { key: server.adminKey });
      assert.equal(erased.status, 200, JSON.stringify(erased.body));
      const byBoard = Object.fromEntries(erased.body.leaderboards.map((e: { leaderboard_id: string; rank: number; version: number }) => [e.leaderboard_id, [e.rank, e.version]]));
      assert.deepEqual(byBoard, { [a]: [3, before.body.version + 1], [b]: [1, 3] });
      assert.equal(erased.body.profile_deleted, true);

      const after = await api(server, 'GET', `/v1/leaderboards/${a}/rankings?limit=10`);
      assert.deepEqual(named(after.body.entries), [
        [1, `${p}1`, '-'],
        [2, `${p}2`, '-'],
        [3, `${p}4`, '-'],
        [4, `${p}5`, '-'],
      ]);
      assert.deepEqual([after.body.version, after.body.total], [before.body.version + 1, 4]);
      assert.deepEqual(named((await api(server, 'GET', `/v1/leaderboards/${b}/rankings`)).body.entries), [[1, `${p}9`, '-']]);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${a}/participants/${p}3`)).status, 404);
      assert.equal((await api(server, 'GET', `/v1/participants/${p}3`)).status, 404);
      const untouchedAfter = await api(server, 'GET', `/v1/leaderboards/${untouched}`);
      assert.equal(untouchedAfter.body.version, untouchedBefore.body.version, 'a board without them keeps its version');

      for (const [sub, view] of [
        ['top', { top: 10 }],
        ['around', { around: `${p}5`, radius: 1 }],
        ['self', { participant: `${p}3` }],
      ] as const) {
        await eventually(async () => assert.deepEqual(viewer.entries(sub), await restWindow(server, a, view)), 3_000);
      }
      assert.deepEqual(viewer.entries('self'), []);
      assert.equal(viewer.states.get('top')?.version, before.body.version + 1);
      assert.equal(viewer.states.get('top')?.total, 4);
      assert.deepEqual(viewer.gaps, []);

      const again = await api(server, 'DELETE', `/v1/participants/${p}3`, { key: server.adminKey });
      assert.deepEqual([again.status, again.body.leaderboards, again.body.profile_deleted], [200, [], false], 'a repeat finds nothing more');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${a}`)).body.version, before.body.version + 1);

      const back = await submit(server, a, `${p}3`, 1, T0 + 100);
      assert.deepEqual([back.rank, back.version], [5, before.body.version + 2], 'a later score makes a new entry');
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${a}/participants/${p}3`)).body.display_name, undefined);
    });

    it('refuses a malformed participant id', async () => {
      const res = await api(server, 'DELETE', '/v1/participants/has%20space', { key: server.adminKey });
      assert.deepEqual([res.status, res.body.error.code, res.body.error.details.field], [400, 'invalid_request', 'pid']);
    });
  });
});

describe('erasure survives a restart', () => {
  it('embedded: after a restart on the same data directory (checkpoints included) they are still gone, and ranks stay closed up', { skip: inCluster ? 'cluster mode restarts a member and rebuilds below' : false }, async () => {
    let server = await startServer({ checkpointEvents: 3, checkpointIntervalMs: 0, tickMs: 10 });
    const { dataDir, adminKey } = server;
    try {
      const board = await fiveOnABoard(server, 'secret_');
      // More events, so that checkpoints hold the participant, and a log after them too.
      for (let round = 1; round <= 3; round++) {
        await submitBatch(server, board, [1, 2, 3, 4, 5].map((i) => ({ participant_id: `secret_${i}`, score: 60 - 10 * i + round, timestamp: T0 + 10 * round + i })));
      }
      await submit(server, board, 'secret_3', 1000, T0 + 100);
      await submit(server, board, 'secret_3', 1001, T0 + 101);
      await putProfile(server, 'secret_3', { display_name: 'Secret name' });
      const checkpoints = join(dataDir, 'checkpoints');
      // One checkpoint at a time: commits that land while one is written take none, so events go on
      // (worse scores, which change nothing under best) until two are kept.
      await eventually(async () => {
        await submit(server, board, 'secret_1', 1, T0 + 200);
        assert.ok(readdirSync(checkpoints).length >= 2, 'checkpoints were taken');
      }, 10_000);
      await eventually(() => assert.ok(readdirSync(checkpoints).some((file) => readFileSync(join(checkpoints, file)).includes('secret_3')), 'a checkpoint holds the participant'), 5_000);
      const erased = await api(server, 'DELETE', '/v1/participants/secret_3', { key: adminKey });
      assert.equal(erased.status, 200, JSON.stringify(erased.body));
      const before = await api(server, 'GET', `/v1/leaderboards/${board}/rankings`);
      assert.deepEqual(
        before.body.entries.map((e: { participant_id: string }) => e.participant_id),
        ['secret_1', 'secret_2', 'secret_4', 'secret_5'],
      );
      for (const restart of ['clean', 'again'] as const) {
        await server.close({ keepData: true });
        server = await startServer({ dataDir, adminKey, checkpointEvents: 3, checkpointIntervalMs: 0 });
        const after = await api(server, 'GET', `/v1/leaderboards/${board}/rankings`);
        assert.deepEqual(
          after.body.entries.map((e: { rank: number; participant_id: string; score: number }) => [e.rank, e.participant_id, e.score]),
          before.body.entries.map((e: { rank: number; participant_id: string; score: number }) => [e.rank, e.participant_id, e.score]),
          `${restart}: the others keep their closed-up ranks`,
        );
        assert.equal(after.body.version, before.body.version);
        assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}/participants/secret_3`)).status, 404);
        assert.equal((await api(server, 'GET', '/v1/participants/secret_3')).status, 404);
        assert.equal((await api(server, 'GET', `/v1/leaderboards/${board}`)).body.total, 4);
      }
      const files = readdirSync(join(dataDir, 'checkpoints'));
      assert.ok(files.length > 0);
      for (const file of files) assert.ok(!readFileSync(join(dataDir, 'checkpoints', file)).includes('secret_3'), `${file} does not hold the participant`);
      await server.close({ keepData: true });
      const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true });
      try {
        assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM score_log WHERE participant_id = 'secret_3'`).get(), { n: 0 });
        assert.deepEqual(db.prepare(`SELECT count(*) AS n FROM participants WHERE participant_id = 'secret_3'`).get(), { n: 0 });
        assert.ok((db.prepare(`SELECT count(*) AS n FROM score_log`).get() as { n: number }).n > 0, 'the others keep their log');
      } finally {
        db.close();
      }
      server = await startServer({ dataDir, adminKey });
    } finally {
      await server.close();
    }
  });

  it('cluster: events still on their way to PostgreSQL do not bring them back; a member restart and a rebuild keep them gone', { skip: inCluster ? false : 'embedded mode restarts its server above' }, async () => {
    const { startCluster } = await import('./helpers/cluster.js');
    const { rebuildBoards } = await import('../src/backend/cluster-rebuild.js');
    const cluster = await startCluster({ members: 2 });
    try {
      const member = (i: number) => ({ url: cluster.members[i]!.url, adminKey: cluster.adminKey }) as TestServer;
      const a = member(0);
      const board = await fiveOnABoard(a, 'c');
      // Submitted through one member and erased through the other at once: the persister may not have moved it yet.
      const late = await api(a, 'POST', `/v1/leaderboards/${board}/scores`, { key: cluster.adminKey, body: { participant_id: 'c3', score: 35, timestamp: T0 + 50, event_id: 'c3-late' } });
      assert.equal(late.status, 200, JSON.stringify(late.body));
      await putProfile(a, 'c3', { display_name: 'Cee' });
      const erased = await api(member(1), 'DELETE', '/v1/participants/c3', { key: cluster.adminKey });
      assert.equal(erased.status, 200, JSON.stringify(erased.body));
      const expected = [
        [1, 'c1', 50],
        [2, 'c2', 40],
        [3, 'c4', 20],
        [4, 'c5', 10],
      ];
      const ranks = async (target: TestServer) =>
        (await api(target, 'GET', `/v1/leaderboards/${board}/rankings`)).body.entries.map((e: { rank: number; participant_id: string; score: number }) => [e.rank, e.participant_id, e.score]);
      assert.deepEqual(await ranks(a), expected);
      const version = (await api(a, 'GET', `/v1/leaderboards/${board}`)).body.version;
      const rows = async (sql: string) => Number((await cluster.database.query<{ n: string }>(sql, ['c3']))[0]!.n);
      await eventually(async () => assert.equal(await rows('SELECT count(*) AS n FROM score_events WHERE participant_id <> $1'), 4, "the others' events are in PostgreSQL"), 5_000);
      // Time for a persister that still held an event of theirs to write it (it must hold none).
      await sleep(300);
      assert.equal(await rows('SELECT count(*) AS n FROM score_events WHERE participant_id = $1'), 0, 'no event of theirs reached PostgreSQL after the erasure');
      assert.equal(await rows('SELECT count(*) AS n FROM score_event_ids WHERE event_id = $1 || \'-late\''), 0);
      assert.equal(await rows('SELECT count(*) AS n FROM participants WHERE participant_id = $1'), 0);

      // A member restart: the member is replaced by a new process on the same Redis and PostgreSQL.
      await cluster.members[0]!.close();
      const restarted = await cluster.addMember();
      const fresh = { url: restarted.url, adminKey: cluster.adminKey } as TestServer;
      assert.deepEqual(await ranks(fresh), expected);
      assert.equal((await api(fresh, 'GET', `/v1/leaderboards/${board}/participants/c3`)).status, 404);

      // Redis loses everything; `ladder rebuild` restores the boards from PostgreSQL.
      const keys = await cluster.redis.keys();
      for (let i = 0; i < keys.length; i += 500) await cluster.redis.client.unlink(...keys.slice(i, i + 500));
      await rebuildBoards(cluster.config, pino({ level: 'silent' }), null, () => undefined);
      assert.deepEqual(await ranks(fresh), expected, 'the rebuild does not bring them back, and the others keep their ranks');
      const rebuilt = await api(fresh, 'GET', `/v1/leaderboards/${board}`);
      assert.deepEqual([rebuilt.body.version, rebuilt.body.total], [version, 4]);
      assert.equal((await api(fresh, 'GET', '/v1/participants/c3')).status, 404);
    } finally {
      await cluster.close();
    }
  });
});

describe('profile cache', () => {
  it('asks the store at most once per answer, and not again for what it knows', { skip: inCluster ? 'counts the queries of one process' : false }, async () => {
    const server = await startServer();
    try {
      const board = await createBoard(server);
      await submitBatch(server, board, Array.from({ length: 200 }, (_, i) => ({ participant_id: `q${i}`, score: i })));
      for (let i = 0; i < 200; i += 3) await putProfile(server, `q${i}`, { display_name: `Q ${i}` });
      const store = server.ladder.store;
      const real = store.getProfiles.bind(store);
      const asked: number[] = [];
      store.getProfiles = (ids) => {
        asked.push(ids.length);
        return real(ids);
      };
      const page = await api(server, 'GET', `/v1/leaderboards/${board}/rankings?limit=200`);
      assert.equal(page.body.entries.filter((e: { display_name?: string }) => e.display_name !== undefined).length, 67);
      assert.deepEqual(asked, [200], 'one query for every entry of the answer');
      await api(server, 'GET', `/v1/leaderboards/${board}/rankings?limit=200`);
      await api(server, 'GET', `/v1/leaderboards/${board}/participants/q10?neighbors=20`);
      assert.deepEqual(asked, [200], 'known profiles, and known absences, are not asked again');
      await putProfile(server, 'q10', { display_name: 'Ten' });
      const renamed = await api(server, 'GET', `/v1/leaderboards/${board}/participants/q10?neighbors=20`);
      assert.equal(renamed.body.display_name, 'Ten');
      assert.deepEqual(asked, [200, 1], 'only the changed one is asked again');
    } finally {
      await server.close();
    }
  });

  it('a query that read a profile before it changed does not keep the old one', { skip: inCluster ? 'a unit of one process' : false }, async () => {
    const server = await startServer();
    const bus = new LocalBus();
    const store = server.ladder.store;
    const cache = new ProfileCache(store, bus, 10);
    try {
      await store.putProfile({ participantId: 'race', displayName: 'Old', avatarUrl: null, metadata: null, updatedAt: 1 });
      const real = store.getProfiles.bind(store);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      store.getProfiles = async (ids) => {
        const read = await real(ids);
        await gate;
        return read;
      };
      const reading = cache.profiles(['race']);
      await sleep(20);
      const renamed: Profile = { participantId: 'race', displayName: 'New', avatarUrl: null, metadata: null, updatedAt: 2 };
      await store.putProfile(renamed);
      bus.publish({ kind: 'profile_changed', participantId: 'race' });
      release();
      assert.equal((await reading).get('race')?.displayName, 'Old', 'the answer is of the moment it read');
      store.getProfiles = real;
      assert.equal((await cache.profiles(['race'])).get('race')?.displayName, 'New', 'and the cache did not keep it');
      for (let i = 0; i < 20; i++) await cache.profiles([`other${i}`]);
      assert.equal(cache.size, 10, 'bounded');
    } finally {
      cache.close();
      await server.close();
    }
  });
});
