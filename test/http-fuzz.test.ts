/**
 * Bad input of every kind never gets a 5xx and never takes the server down:
 * seeded random bodies, paths, query strings and headers against every
 * endpoint of the real server.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { random32 } from './helpers/random.js';
import { api, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
  await api(server, 'POST', '/v1/leaderboards', { key: server.adminKey, body: { id: 'fuzz', sort_order: 'desc', operator: 'increment' } });
  await api(server, 'POST', '/v1/leaderboards/fuzz/scores', { key: server.adminKey, body: { participant_id: 'p', score: 1 } });
});
after(async () => server.close());

const random = random32(20261123);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const strings = ['', 'p', 'a/b', '%00', '..', '../../etc', 'x'.repeat(300), '\u0000', '💥', '__proto__', 'constructor', '{}', 'null', '-1', '1e309'];
const numbers = [0, -0, 1, -1, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, 123456789012345];

function value(depth = 0): unknown {
  switch (Math.floor(random() * (depth > 2 ? 5 : 7))) {
    case 0: return pick(strings);
    case 1: return pick(numbers);
    case 2: return pick([true, false, null]);
    case 3: return random() < 0.5 ? undefined : pick(numbers);
    case 4: return pick(strings) + String(Math.floor(random() * 100));
    case 5: return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    default: return object(depth + 1);
  }
}

function object(depth = 0): Record<string, unknown> {
  const keys = ['participant_id', 'score', 'timestamp', 'event_id', 'metadata', 'scores', 'id', 'name', 'sort_order', 'operator', 'scope', ...strings];
  const result: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 6); i > 0; i--) result[pick(keys)] = value(depth);
  return result;
}

function body(): string | undefined {
  switch (Math.floor(random() * 6)) {
    case 0: return undefined;
    case 1: return '{"participant_id": "p", "score": ';
    case 2: return JSON.stringify({ scores: Array.from({ length: Math.floor(random() * 5) }, () => object()) });
    case 3: return JSON.stringify(value());
    case 4: return '{"__proto__": {"polluted": true}, "participant_id": "p", "score": 1}';
    default: return JSON.stringify(object());
  }
}

const paths = [
  '/v1/leaderboards', '/v1/leaderboards/fuzz', '/v1/leaderboards/fuzz/scores', '/v1/leaderboards/fuzz/scores/batch',
  '/v1/leaderboards/fuzz/rankings', '/v1/leaderboards/fuzz/participants/p', '/v1/leaderboards/fuzz/events', '/v1/leaderboards/fuzz/subscribe',
  '/v1/leaderboards/fuzz/export', '/v1/leaderboards/fuzz/import', '/v1/keys', '/v1/leaderboards/%ZZ', '/v1/leaderboards/fuzz/participants/%2e%2e', '/', '/assets/..%2f..%2fpackage.json',
];
const queries = ['', '?limit=-5', '?limit=1e3', '?offset=99999999999999999999', '?around=%00', '?participants=,,,', '?view=%7B', '?view=top:0',
  '?view=around:x:p', '?wait_for_version_after=abc', '?timeout_ms=1', '?neighbors=1.5', '?key=%FF', '?limit=2&limit=3',
  '?format=xml', '?format=ndjson', '?source=%00'];

it('answers 600 random bad requests without a 5xx, and keeps serving', async () => {
  for (let i = 0; i < 600; i++) {
    const method = pick(['GET', 'POST', 'DELETE', 'PUT', 'PATCH']);
    const path = pick(paths) + pick(queries);
    const raw = method === 'GET' || method === 'DELETE' ? undefined : body();
    const headers: Record<string, string> = {};
    if (random() < 0.3) headers['content-type'] = pick(['text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'application/json', 'text/csv', 'application/x-ndjson']);
    if (random() < 0.2) headers['if-none-match'] = pick(['*', '"x"', 'W/"1-1"', '']);
    const key = random() < 0.7 ? server.adminKey : pick([null, 'ldr_wrong', '']);
    const res = await api(server, method, path, { key, raw, headers: { ...(raw !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } });
    assert.ok(res.status < 500, `${method} ${path} ${raw ?? ''} -> ${res.status} ${JSON.stringify(res.body)}`);
    if (res.status >= 400 && res.status !== 404 && typeof res.body === 'object' && res.body !== null) {
      assert.equal(typeof res.body.error?.code, 'string', `${method} ${path}: ${JSON.stringify(res.body)}`);
    }
  }
  const health = await api(server, 'GET', '/healthz');
  assert.equal(health.status, 200);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
