/**
 * Health and readiness: /healthz answers while the process lives; /readyz
 * answers 503 with Retry-After and the failing dependency's code, fast,
 * while Redis is down, and 200 again once it is back, without a restart.
 * The cluster test runs its own throwaway redis-server on a spare port,
 * which it stops and starts again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startLadder, type RunningLadder } from '../src/app.js';
import { loadConfig } from '../src/core/config.js';
import { generateKey } from '../src/service/auth.js';
import { skipWithoutCluster } from './helpers/cluster.js';
import { closedPort } from './helpers/ports.js';
import { TestDatabase } from './helpers/postgres.js';
import { api, startServer, type TestServer } from './helpers/server.js';

describe('health and request ids (embedded)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('is live and ready', async () => {
    assert.equal((await api(server, 'GET', '/healthz')).status, 200);
    const ready = await api(server, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready', checks: { store: 'ok' } });
  });

  it('returns a request id, keeping a sane one the caller sent', async () => {
    const made = await api(server, 'GET', '/healthz');
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((await api(server, 'GET', '/healthz', { headers: { 'x-request-id': 'lb-7f3a.42' } })).headers.get('x-request-id'), 'lb-7f3a.42');
    const forged = await api(server, 'GET', '/healthz', { headers: { 'x-request-id': 'a b\tc' } });
    assert.notEqual(forged.headers.get('x-request-id'), 'a b\tc');
    assert.equal((await api(server, 'GET', '/v1/leaderboards/nope')).headers.get('x-request-id')?.length, 36);
  });
});

const cluster = await skipWithoutCluster('the readiness suite in cluster mode');

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function readyWithin(url: string, want: number, ms: number): Promise<{ status: number; body: any; headers: Headers; tookMs: number }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers
  const deadline = Date.now() + ms;
  for (;;) {
    const started = Date.now();
    const answer = await api({ url }, 'GET', '/readyz');
    const tookMs = Date.now() - started;
    if (answer.status === want || Date.now() > deadline) return { ...answer, tookMs };
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('readiness follows Redis (cluster)', { skip: cluster === false ? false : 'no cluster services' }, () => {
  let redis: ChildProcess | undefined;
  let port: number;
  let database: TestDatabase;
  let member: RunningLadder;

  before(async () => {
    port = await closedPort();
    redis = await startRedis(port);
    database = await TestDatabase.create();
    const config = loadConfig({}, { port: 0, logLevel: 'silent', adminKey: generateKey(), redisUrl: `redis://127.0.0.1:${port}/0`, databaseUrl: database.url });
    member = await startLadder(config, pino({ level: 'silent' }));
  });

  after(async () => {
    if (redis === undefined) redis = await startRedis(port);
    await member?.close();
    if (redis !== undefined) await stopRedis(redis);
    await database?.drop();
  });

  it('is ready, 503 index_unavailable within a second of each probe while Redis is down, and ready again when it returns', async () => {
    const up = await readyWithin(member.url, 200, 5000);
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.checks, { index: 'ok', store: 'ok', persister: 'ok' });

    await stopRedis(redis!);
    redis = undefined;
    const down = await readyWithin(member.url, 503, 10_000);
    assert.equal(down.status, 503);
    assert.equal(down.body.error.code, 'index_unavailable');
    assert.equal(down.headers.get('retry-after'), '1');
    assert.ok(down.tookMs < 2000, `the probe answered in ${down.tookMs} ms`);
    assert.equal((await api(member, 'GET', '/healthz')).status, 200, 'still live');

    redis = await startRedis(port);
    const back = await readyWithin(member.url, 200, 20_000);
    assert.equal(back.status, 200, JSON.stringify(back.body));
  });
});
