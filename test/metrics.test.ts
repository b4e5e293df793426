/**
 * GET /metrics: the exposition passes `promtool check metrics` (Prometheus's
 * own linter, Debian's prometheus package), and its figures match the
 * traffic this test sent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { api, startServer, type TestServer } from './helpers/server.js';

const PROMTOOL = process.env.LADDER_TEST_PROMTOOL ?? 'promtool';

/** The value of one sample line `name{labels} value`, or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split('}')[0] ?? '';
    if (wanted.every((label) => labelText.includes(label))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('GET /metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('passes promtool and counts the requests, submissions and viewers this test made', async () => {
    const key = server.adminKey;
    assert.equal((await api(server, 'POST', '/v1/leaderboards', { key, body: { id: 'metered', sort_order: 'desc', operator: 'best' } })).status, 201);
    for (let i = 0; i < 7; i++) assert.equal((await api(server, 'POST', '/v1/leaderboards/metered/scores', { key, body: { participant_id: `p${i}`, score: i } })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await api(server, 'POST', '/v1/leaderboards/metered/scores', { key, body: { participant_id: `p${i}` } })).status, 400);
    const batch = await api(server, 'POST', '/v1/leaderboards/metered/scores/batch', { key, body: { scores: [{ participant_id: 'b1', score: 1 }, { participant_id: 'b2', score: 'x' }] } });
    assert.equal(batch.status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await api(server, 'GET', '/v1/leaderboards/metered/rankings')).status, 200);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/leaderboards/metered/subscribe`);
    await new Promise<void>((resolve) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', sub: 's', view: { top: 10 } })));
      ws.on('message', () => resolve());
    });

    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    ws.close();

    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.error, undefined, `${PROMTOOL} must be installed (Debian: apt-get install prometheus)`);
    assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);

    assert.equal(sample(text, 'ladder_submissions_total', { outcome: 'accepted' }), 8);
    assert.equal(sample(text, 'ladder_submissions_total', { outcome: 'rejected', code: 'invalid_request' }), 3);
    assert.equal(sample(text, 'ladder_submissions_total', { outcome: 'rejected', code: 'invalid_score' }) + sample(text, 'ladder_submissions_total', { outcome: 'rejected', code: 'invalid_request' }), 4);
    assert.equal(sample(text, 'ladder_http_requests_total', { method: 'POST', route: '/v1/leaderboards/:id/scores', status: '200' }), 7);
    assert.equal(sample(text, 'ladder_http_requests_total', { method: 'POST', route: '/v1/leaderboards/:id/scores', status: '400' }), 3);
    assert.equal(sample(text, 'ladder_http_requests_total', { method: 'GET', route: '/v1/leaderboards/:id/rankings', status: '200' }), 5);
    assert.equal(sample(text, 'ladder_http_request_duration_seconds_count', { method: 'GET', route: '/v1/leaderboards/:id/rankings' }), 5);
    assert.equal(sample(text, 'ladder_viewers', {}), 1);
    assert.equal(sample(text, 'ladder_live_views', {}), 1);
    assert.ok(sample(text, 'ladder_process_resident_memory_bytes', {}) > 0);

    // Every metric the Grafana dashboard queries exists.
    const dashboard = readFileSync(new URL('../docs/grafana-dashboard.json', import.meta.url), 'utf8');
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]));
    for (const [name] of dashboard.matchAll(/ladder_[a-z0-9_]+/g)) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(exposed.has(base), `the dashboard queries ${name}, which /metrics does not expose`);
    }
  });
});
