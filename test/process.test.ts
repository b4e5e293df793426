/**
 * The server as a process: first-start key generation, configuration errors,
 * graceful shutdown, and the crash test (SIGKILL during writes loses no
 * acknowledged score).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { api } from './helpers/server.js';
import { runCli, startServerProcess } from './helpers/process.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ladder-proc-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('ladder serve', () => {
  it('generates an admin key on the first start, prints it once, and accepts it', async () => {
    const dataDir = tempDir();
    const first = await startServerProcess({ LADDER_DATA_DIR: dataDir });
    const key = /\n {2}(ldr_[A-Za-z0-9_-]+)\n/.exec(first.output())?.[1];
    assert.ok(key, first.output());
    const created = await api(first, 'POST', '/v1/leaderboards', { key, body: { id: 'b', sort_order: 'desc', operator: 'best' } });
    assert.equal(created.status, 201);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);

    const second = await startServerProcess({ LADDER_DATA_DIR: dataDir });
    assert.doesNotMatch(second.output(), /ldr_/);
    assert.equal((await api(second, 'GET', '/v1/leaderboards/b')).status, 200);
    assert.equal((await api(second, 'POST', '/v1/leaderboards/b/scores', { key, body: { participant_id: 'p', score: 1 } })).status, 200);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('stops at startup on an invalid variable and names it', async () => {
    const run = runCli(['serve'], { LADDER_PORT: 'eighty', LADDER_DATA_DIR: tempDir() });
    assert.equal(await run.exited, 2);
    assert.match(run.errors(), /LADDER_PORT/);
  });

  it('loses no acknowledged score when killed with SIGKILL during writes', async () => {
    const dataDir = tempDir();
    const key = 'ldr_crash-test-key';
    const env = { LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_LOG_LEVEL: 'warn' };
    const server = await startServerProcess(env);
    await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'pts', sort_order: 'desc', operator: 'increment' } });
    await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'best', sort_order: 'desc', operator: 'best' } });

    // Acknowledged increments per participant, and the best acknowledged score.
    const acked = new Map<string, number>();
    const ackedEvents: { participant_id: string; score: number; event_id: string }[] = [];
    const bestAcked = new Map<string, number>();
    let stop = false;
    const writer = async (w: number) => {
      let i = 0;
      while (!stop) {
        const pid = `p${(w * 7 + i) % 50}`;
        i += 1;
        try {
          const event = { participant_id: pid, score: 1, event_id: `w${w}-${i}` };
          const single = api(server, 'POST', '/v1/leaderboards/pts/scores', { key, body: event });
          const batch = api(server, 'POST', '/v1/leaderboards/best/scores/batch', {
            key,
            body: { scores: [{ participant_id: pid, score: w * 100_000 + i }] },
          });
          const [s, b] = await Promise.all([single, batch]);
          if (s.status === 200) {
            acked.set(pid, (acked.get(pid) ?? 0) + 1);
            ackedEvents.push(event);
          }
          if (b.status === 200 && b.body.results[0].score !== undefined) {
            bestAcked.set(pid, Math.max(bestAcked.get(pid) ?? 0, w * 100_000 + i));
          }
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 16 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 1500));
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await server.exited;
    assert.ok(acked.size > 0, 'some writes were acknowledged before the kill');

    const restarted = await startServerProcess(env);
    try {
      for (const [pid, count] of acked) {
        const standing = await api(restarted, 'GET', `/v1/leaderboards/pts/participants/${pid}`);
        assert.equal(standing.status, 200, pid);
        // Unacknowledged writes may have landed too, acknowledged ones must all be there.
        assert.ok(standing.body.score >= count, `${pid}: ${standing.body.score} < ${count} acknowledged`);
      }
      // Replaying every acknowledged event id must change nothing: each one is in the store.
      const before = (await api(restarted, 'GET', '/v1/leaderboards/pts/rankings?limit=1000')).body;
      for (let i = 0; i < ackedEvents.length; i += 1000) {
        await api(restarted, 'POST', '/v1/leaderboards/pts/scores/batch', { key, body: { scores: ackedEvents.slice(i, i + 1000) } });
      }
      const afterReplay = (await api(restarted, 'GET', '/v1/leaderboards/pts/rankings?limit=1000')).body;
      assert.deepEqual(afterReplay.entries, before.entries);
      assert.equal(afterReplay.version, before.version);
      for (const [pid, best] of bestAcked) {
        const standing = await api(restarted, 'GET', `/v1/leaderboards/best/participants/${pid}`);
        assert.ok(standing.body.score >= best, `${pid}: best ${standing.body.score} < ${best}`);
      }
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });
});
