/**
 * Versions are issued again after a crash, so they never travel without
 * their epoch. The reproduction from the review: a change is visible before
 * its commit, the process is killed, and after the restart another change
 * gets the same version. An old ETag, a WebSocket resume and an SSE
 * Last-Event-ID from before the crash must all get the new state, never a
 * 304 or `resumed`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { SnapshotMessage } from '../src/feed/protocol.js';
import { generateKey } from '../src/service/auth.js';
import { startServerProcess } from './helpers/process.js';
import { FeedClient, SseReader } from './helpers/realtime.js';
import { api } from './helpers/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ladder-epochs-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

it('gives every board a new epoch after a crash, so stale ETags and resumes get the new state', async () => {
  const key = generateKey();
  // A long commit window keeps alice's submission visible and uncommitted when the process dies.
  const env = { LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_COMMIT_INTERVAL_MS: '1000', LADDER_TICK_MS: '5' };
  const before = await startServerProcess(env);
  assert.equal((await api(before, 'POST', '/v1/leaderboards', { key, body: { id: 'arena', sort_order: 'desc', operator: 'best' } })).status, 201);

  // Not awaited: its answer would only come after the commit.
  void api(before, 'POST', '/v1/leaderboards/arena/scores', { key, body: { participant_id: 'alice', score: 100 } }).catch(() => undefined);
  let seen;
  do seen = await api(before, 'GET', '/v1/leaderboards/arena/rankings');
  while (seen.body.version !== 1);
  assert.equal(seen.body.entries[0].participant_id, 'alice');
  const staleTag = seen.headers.get('etag') as string;
  assert.equal(staleTag, `"${seen.body.epoch}-1"`);
  // Viewers that connect now see alice at version 1 too.
  const watcher = await FeedClient.connect(`${before.url.replace('http', 'ws')}/v1/leaderboards/arena/subscribe`);
  const watched = (await watcher.subscribe('top', { top: 10 })) as SnapshotMessage;
  assert.deepEqual([watched.epoch, watched.version], [seen.body.epoch, 1]);
  const wsEpoch = watched.epoch;
  const sse = await SseReader.open(`${before.url}/v1/leaderboards/arena/events?view=top:10`);
  const sseSnapshot = await sse.next((e) => e.event === 'snapshot');
  assert.equal(sseSnapshot.id, `${seen.body.epoch}-1`);
  sse.close();
  watcher.ws.terminate();
  before.child.kill('SIGKILL');
  await before.exited;

  const restarted = await startServerProcess(env);
  let epochAfterCrash: string;
  try {
    const bob = await api(restarted, 'POST', '/v1/leaderboards/arena/scores', { key, body: { participant_id: 'bob', score: 50 } });
    assert.equal(bob.status, 200);
    // The version alice had is issued again, to another state: alice was never acknowledged.
    assert.equal(bob.body.version, 1);
    assert.notEqual(bob.body.epoch, seen.body.epoch);
    epochAfterCrash = bob.body.epoch;

    const polled = await api(restarted, 'GET', '/v1/leaderboards/arena/rankings', { headers: { 'if-none-match': staleTag } });
    assert.equal(polled.status, 200);
    assert.deepEqual(
      polled.body.entries.map((e: { participant_id: string }) => e.participant_id),
      ['bob'],
    );
    assert.equal(polled.headers.get('etag'), `"${bob.body.epoch}-1"`);
    assert.equal((await api(restarted, 'GET', '/v1/leaderboards/arena/rankings', { headers: { 'if-none-match': polled.headers.get('etag') as string } })).status, 304);

    const client = await FeedClient.connect(`${restarted.url.replace('http', 'ws')}/v1/leaderboards/arena/subscribe`);
    const answer = await client.subscribe('top', { top: 10 }, 1, wsEpoch);
    assert.equal(answer.type, 'snapshot');
    assert.equal((answer as SnapshotMessage).epoch, bob.body.epoch);
    assert.deepEqual(client.entries('top')?.map((e) => e.participant_id), ['bob']);
    client.close();

    const resumedSse = await SseReader.open(`${restarted.url}/v1/leaderboards/arena/events?view=top:10`, null, { 'last-event-id': sseSnapshot.id as string });
    const first = await resumedSse.next(() => true);
    assert.equal(first.event, 'snapshot');
    assert.equal(first.id, `${bob.body.epoch}-1`);
    resumedSse.close();

    // Long-polls that name the old epoch answer at once with the new state.
    const longPoll = await api(restarted, 'GET', `/v1/leaderboards/arena/rankings?wait_for_version_after=1&epoch=${seen.body.epoch}&timeout_ms=20000`);
    assert.equal(longPoll.body.epoch, bob.body.epoch);
  } finally {
    restarted.child.kill('SIGTERM');
    await restarted.exited;
  }

  // A clean stop keeps the epoch: everything it showed was committed.
  const clean = await startServerProcess(env);
  try {
    const board = await api(clean, 'GET', '/v1/leaderboards/arena');
    assert.deepEqual([board.body.epoch, board.body.version], [epochAfterCrash, 1]);
    assert.equal((await api(clean, 'GET', '/v1/leaderboards/arena/rankings')).body.epoch, epochAfterCrash);
  } finally {
    clean.child.kill('SIGTERM');
    await clean.exited;
  }
});
