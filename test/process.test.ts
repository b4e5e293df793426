/**
 * The server as a process: first-start key generation, configuration errors,
 * graceful shutdown, and the crash test (SIGKILL during writes loses no
 * acknowledged score).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startupErrorMessage } from '../src/cli-errors.js';
import { closestName, editDistance, knownVariables, unknownVariableWarnings } from '../src/core/config.js';
import WebSocket from 'ws';
import { LadderClient, type ViewUpdate, type WebSocketConstructor } from '../src/client/index.js';
import { closedPort } from './helpers/ports.js';
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

  it('names LADDER_PORT in one line when the port is in use', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = runCli(['serve'], { LADDER_PORT: String(port), LADDER_DATA_DIR: tempDir() });
      assert.notEqual(await run.exited, 0);
      assert.equal(run.errors(), `ladder: cannot listen on 127.0.0.1:${port}: the port is in use (set LADDER_PORT to another port, or 0 for a free one)\n`);
      const debug = runCli(['serve'], { LADDER_PORT: String(port), LADDER_DATA_DIR: tempDir(), LADDER_LOG_LEVEL: 'debug' });
      assert.notEqual(await debug.exited, 0);
      assert.match(debug.errors(), /^ladder: cannot listen on .*\n.*EADDRINUSE[\s\S]*\n {4}at /);
    } finally {
      taken.close();
    }
  });

  it('prints any other startup failure as one line with its message', async () => {
    const file = join(tempDir(), 'not-a-directory');
    writeFileSync(file, '');
    const run = runCli(['serve'], { LADDER_PORT: '0', LADDER_DATA_DIR: file });
    assert.notEqual(await run.exited, 0);
    assert.match(run.errors(), /^ladder: [^\n]*not-a-directory[^\n]*\n$/);
  });

  it('refuses a bad LADDER_DEMO_RATE before starting anything', async () => {
    const dataDir = join(tempDir(), 'data');
    const run = runCli(['demo'], { LADDER_PORT: '0', LADDER_DATA_DIR: dataDir, LADDER_DEMO_RATE: 'abc' });
    assert.equal(await run.exited, 2);
    assert.equal(run.errors(), "ladder: invalid LADDER_DEMO_RATE: must be a number of scores per second from 1 to 10000, got 'abc'\n");
    assert.equal(run.output(), '');
  });

  it('warns about a misspelt variable, naming the closest known one, and starts', async () => {
    const server = await startServerProcess({ LADDER_DATA_DIR: tempDir(), LADDER_PROT: '9000' });
    try {
      assert.equal(server.errors(), 'ladder: warning: unknown variable LADDER_PROT; did you mean LADDER_PORT?\n');
      assert.equal((await api(server, 'GET', '/healthz')).status, 200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('runs the demo on its own data directory, ./data-demo unless LADDER_DATA_DIR is set, and says where', async () => {
    for (const explicit of [false, true]) {
      const cwd = tempDir();
      const dataDir = explicit ? join(tempDir(), 'mine') : join(cwd, 'data-demo');
      const env = { LADDER_PORT: '0', LADDER_DEMO_RATE: '5', LADDER_LOG_LEVEL: 'warn', LADDER_DATA_DIR: explicit ? dataDir : undefined };
      const run = runCli(['demo'], env, { cwd });
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${run.output()}\n${run.errors()}`)), 60_000);
          run.child.stdout?.on('data', () => {
            if (/Demo running/.test(run.output())) {
              clearTimeout(timer);
              resolve();
            }
          });
          void run.exited.then((code) => reject(new Error(`the demo exited with ${code}:\n${run.errors()}`)));
        });
        assert.ok(run.output().includes(`kept in ${dataDir} (LADDER_DATA_DIR)`), run.output());
        assert.ok(existsSync(join(dataDir, 'ladder.db')), dataDir);
        assert.equal(existsSync(join(cwd, 'data')), false, 'the demo stays out of ./data');
        assert.equal(existsSync(join(cwd, 'data-demo')), !explicit);
      } finally {
        run.child.kill('SIGTERM');
        await run.exited;
      }
    }
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

describe('graceful shutdown', () => {
  it('on SIGTERM during writes exits 0, loses no acknowledged score, and the client reconnects to the restarted server', async () => {
    const dataDir = tempDir();
    const key = 'ldr_sigterm-test-key';
    const port = String(await closedPort());
    const env = { LADDER_DATA_DIR: dataDir, LADDER_ADMIN_KEY: key, LADDER_LOG_LEVEL: 'warn', LADDER_PORT: port };
    const server = await startServerProcess(env);
    await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'pts', sort_order: 'desc', operator: 'increment' } });
    const client = new LadderClient({ baseUrl: server.url, WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { baseMs: 50, maxMs: 200 } });
    const updates: ViewUpdate[] = [];
    const subscription = client.subscribe('pts', { top: 100 }, (update) => updates.push(update));
    try {
      const acked = new Map<string, number>();
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const pid = `p${(w * 7 + i) % 20}`;
          try {
            const answer = await api(server, 'POST', '/v1/leaderboards/pts/scores', { key, body: { participant_id: pid, score: 1 } });
            if (answer.status === 200) acked.set(pid, (acked.get(pid) ?? 0) + 1);
          } catch {
            return; // the server stopped listening
          }
        }
      };
      const writers = Array.from({ length: 8 }, (_, w) => writer(w));
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(updates.length > 0 && updates.at(-1)?.transport === 'websocket', 'the client is live over WebSocket');
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      stop = true;
      await Promise.all(writers);
      assert.ok(acked.size > 0, 'some writes were acknowledged before the stop');

      const restarted = await startServerProcess(env);
      try {
        const ackedTotal = [...acked.values()].reduce((a, b) => a + b, 0);
        const seenBefore = updates.length;
        await api(restarted, 'POST', '/v1/leaderboards/pts/scores', { key, body: { participant_id: 'after-restart', score: 1 } });
        // The client reconnected by itself (close code 1012) and shows the restarted server's ranking.
        const deadline = Date.now() + 10_000;
        while (!updates.slice(seenBefore).some((u) => u.entries.some((e) => e.participant_id === 'after-restart')) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const latest = updates.at(-1);
        assert.ok(latest?.entries.some((e) => e.participant_id === 'after-restart'), 'the client follows the restarted server');
        // (While no server listened, the client may have stepped down to SSE or polling; it comes back to WebSocket later.)
        let total = 0;
        for (const [pid, count] of acked) {
          const standing = await api(restarted, 'GET', `/v1/leaderboards/pts/participants/${pid}`);
          assert.equal(standing.status, 200, pid);
          assert.ok(standing.body.score >= count, `${pid}: ${standing.body.score} < ${count} acknowledged`);
          total += standing.body.score;
        }
        assert.ok(total >= ackedTotal);
      } finally {
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      }
    } finally {
      subscription.close();
      client.close();
    }
  });
});

describe('ladder keys', () => {
  it('creates a board-limited, rate-limited key, lists it without its secret, and revokes it', async () => {
    const key = 'ldr_keys-cli-admin';
    const server = await startServerProcess({ LADDER_DATA_DIR: tempDir(), LADDER_ADMIN_KEY: key, LADDER_LOG_LEVEL: 'warn' });
    try {
      const env = { LADDER_URL: server.url, LADDER_KEY: key };
      const create = runCli(['keys', 'create', '--scope', 'write', '--name', 'game server', '--boards', 'arena,duel', '--rate-limit', '100/1s'], env);
      assert.equal(await create.exited, 0, create.errors());
      const [secret] = create.output().split('\n');
      const id = /id ([0-9a-f-]{36})/.exec(create.output())?.[1];
      assert.match(secret ?? '', /^ldr_/);
      assert.ok(id !== undefined);
      assert.match(create.output(), /rate limit 100\/1s/);
      const badLimit = runCli(['keys', 'create', '--scope', 'read', '--rate-limit', 'lots'], env);
      assert.equal(await badLimit.exited, 2);
      assert.match(badLimit.errors(), /--rate-limit must be <max>\/<window>/);
      const list = runCli(['keys', 'list'], env);
      assert.equal(await list.exited, 0);
      assert.match(list.output(), new RegExp(`^${id}\twrite\tarena,duel\t100/1s\t.*\tactive\tgame server$`, 'm'));
      assert.ok(!list.output().includes(secret as string));
      const revoke = runCli(['keys', 'revoke', id], env);
      assert.equal(await revoke.exited, 0);
      const refused = await api(server, 'POST', '/v1/leaderboards/arena/scores', { key: secret as string, body: { participant_id: 'p', score: 1 } });
      assert.equal(refused.status, 401);
      const wrongKey = runCli(['keys', 'list'], { ...env, LADDER_KEY: 'ldr_nope' });
      assert.equal(await wrongKey.exited, 1);
      assert.match(wrongKey.errors(), /invalid_api_key/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('ladder check-config', () => {
  it('prints the effective configuration with its sources, secrets and URL passwords masked', async () => {
    const run = runCli(['check-config'], {
      LADDER_PORT: '9090',
      LADDER_ADMIN_KEY: 'ldr_supersecret',
      LADDER_REDIS_URL: 'redis://:redispass@127.0.0.1:6379/0',
      LADDER_DATABASE_URL: 'postgres://ladder:pgpass@127.0.0.1:5432/ladder',
      LADDER_PROT: '1',
    });
    assert.equal(await run.exited, 0);
    const out = run.output();
    assert.match(out, /^mode: cluster/m);
    assert.match(out, /^LADDER_PORT +9090 +\(environment\)$/m);
    assert.match(out, /^LADDER_TICK_MS +50 +\(default\)$/m);
    assert.match(out, /^LADDER_ADMIN_KEY +\*\*\* \(set\)/m);
    assert.match(out, /redis:\/\/:\*\*\*@127\.0\.0\.1:6379\/0/);
    assert.match(out, /postgres:\/\/ladder:\*\*\*@127\.0\.0\.1:5432\/ladder/);
    for (const secret of ['supersecret', 'redispass', 'pgpass']) assert.ok(!out.includes(secret), `${secret} is masked`);
    assert.match(run.errors(), /did you mean LADDER_PORT\?/);
  });

  it('names the invalid variable and exits 2', async () => {
    const run = runCli(['check-config'], { LADDER_TICK_MS: 'soon' });
    assert.equal(await run.exited, 2);
    assert.match(run.errors(), /invalid LADDER_TICK_MS/);
  });
});

describe('startup messages', () => {
  it('counts edits, with a swap of neighbours as one', () => {
    assert.equal(editDistance('PORT', 'PORT'), 0);
    assert.equal(editDistance('PROT', 'PORT'), 1);
    assert.equal(editDistance('DATADIR', 'DATA_DIR'), 1);
    assert.equal(editDistance('', 'HOST'), 4);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('suggests the closest known variable only when it is a likely typo', () => {
    assert.equal(closestName('LADDER_PROT'), 'LADDER_PORT');
    assert.equal(closestName('LADDER_LOGLEVEL'), 'LADDER_LOG_LEVEL');
    assert.equal(closestName('LADDER_DEMORATE'), 'LADDER_DEMO_RATE');
    assert.equal(closestName('LADDER_HSOT'), 'LADDER_HOST');
    assert.equal(closestName('LADDER_MEMCACHED_URL'), null);
    assert.equal(closestName('LADDER_X'), null);
  });

  it('warns about unknown LADDER_* variables only', () => {
    assert.deepEqual(
      unknownVariableWarnings({ LADDER_PROT: '1', LADDER_PORT: '0', LADDER_DEMO_RATE: '5', LADDER_MEMCACHED_URL: 'memcached://', PATH: '/bin', ladder_port: '1' }),
      ['unknown variable LADDER_MEMCACHED_URL (ladder config lists the options)', 'unknown variable LADDER_PROT; did you mean LADDER_PORT?'],
    );
    // Every LADDER_* variable read in src/ is known.
    assert.ok(knownVariables().includes('LADDER_DEMO_RATE'));
    assert.deepEqual(unknownVariableWarnings({}), []);
  });

  it('names LADDER_HOST when the host does not resolve or is not this machine', () => {
    const config = { host: 'nosuchhost.invalid', port: 8080 };
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND nosuchhost.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nosuchhost.invalid' });
    assert.equal(startupErrorMessage(notFound, config), "cannot listen on host 'nosuchhost.invalid' (LADDER_HOST): the name does not resolve");
    const notMine = Object.assign(new Error('listen EADDRNOTAVAIL: address not available 10.9.9.9'), { code: 'EADDRNOTAVAIL', syscall: 'listen', address: '10.9.9.9', port: 8080 });
    assert.equal(startupErrorMessage(notMine, { host: '10.9.9.9', port: 8080 }), "cannot listen on host '10.9.9.9' (LADDER_HOST): 10.9.9.9 is not an address of this machine");
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen', address: '::1', port: 8080 });
    assert.match(startupErrorMessage(inUse, { host: 'localhost', port: 8080 }), /^cannot listen on \[::1\]:8080: the port is in use \(set LADDER_PORT/);
    // A permission error of the data directory is not one of the port.
    const denied = Object.assign(new Error("EACCES: permission denied, mkdir '/srv/ladder'"), { code: 'EACCES', syscall: 'mkdir' });
    assert.equal(startupErrorMessage(denied, config), "EACCES: permission denied, mkdir '/srv/ladder'");
    assert.equal(startupErrorMessage(new Error('data directory ./data is locked\nby process 42 (LADDER_DATA_DIR)'), config), 'data directory ./data is locked by process 42 (LADDER_DATA_DIR)');
  });
});

/** Packages the .ts files under `dir` import at run time (type-only imports on one line left out). */
function importedPackages(dir: string): Set<string> {
  const root = new URL(`../${dir}/`, import.meta.url);
  const names = new Set<string>();
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    for (const line of readFileSync(new URL(file, root), 'utf8').split('\n')) {
      if (/^\s*(import|export) type\b/.test(line)) continue;
      for (const match of line.matchAll(/(?:from\s+|import\()'([^'.][^']*)'/g)) {
        const specifier = match[1] as string;
        if (specifier.startsWith('node:')) continue;
        names.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
      }
    }
  }
  return names;
}

describe('the package', () => {
  it('depends at run time on what src/ imports, and not on what only the benchmarks use', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
    const runtime = pkg.dependencies ?? {};
    const dev = pkg.devDependencies ?? {};
    const fromSrc = importedPackages('src');
    for (const name of fromSrc) assert.ok(name in runtime, `src/ imports ${name}, which is not in dependencies`);
    for (const name of importedPackages('bench')) {
      if (fromSrc.has(name)) continue;
      assert.ok(!(name in runtime) && name in dev, `only bench/ imports ${name}: it belongs in devDependencies`);
    }
  });
});
