/**
 * A seeded random workload against the real server while many subscribers
 * with random views (over WebSocket and SSE) disconnect and come back at
 * random, resuming from their local version. Afterwards each local copy, built
 * only by applying the protocol's rules to what arrived, must equal the REST
 * answer for the same window, entry for entry, and no delta may have failed
 * to apply.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ViewState } from '../src/client/view-state.js';
import type { ViewSpec } from '../src/feed/protocol.js';
import { random32 } from './helpers/random.js';
import { startServer, type TestServer } from './helpers/server.js';
import { createBoard, eventually, FeedClient, restWindow, sleep, SseReader, submitBatch, wsUrl } from './helpers/realtime.js';

const SEED = Number(process.env.LADDER_TEST_SEED ?? 20_240_611);
const PARTICIPANTS = 120;
const ROUNDS = 150;

interface WsWatcher {
  client: FeedClient | null;
  readonly views: Map<string, ViewSpec>;
  /** Local copies carried over reconnects. */
  readonly states: Map<string, ViewState>;
  readonly gaps: string[];
}

interface SseWatcher {
  reader: SseReader | null;
  readonly view: ViewSpec;
  state: ViewState | null;
  readonly gaps: string[];
}

describe(`real-time consistency (seed ${SEED})`, () => {
  let server: TestServer;

  before(async () => {
    // A short history, so that some reconnects resume and others need a snapshot.
    server = await startServer({ tickMs: 15, historySize: 6, viewLingerMs: 500 });
  });
  after(async () => server.close());

  for (const sortOrder of ['desc', 'asc'] as const) {
    it(`every subscriber's copy equals the REST answer after a random workload (${sortOrder})`, async () => {
      const rand = random32(SEED + (sortOrder === 'asc' ? 1 : 0));
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
      const pid = () => `p${Math.floor(rand() * PARTICIPANTS)}`;
      const randomView = (): ViewSpec => {
        const kind = rand();
        if (kind < 0.4) return { top: 1 + Math.floor(rand() * 30) };
        if (kind < 0.75) return { around: pid(), radius: Math.floor(rand() * 4) };
        return { participant: pid() };
      };
      const board = await createBoard(server, sortOrder);

      const wsWatchers: WsWatcher[] = Array.from({ length: 14 }, () => {
        const views = new Map<string, ViewSpec>();
        const count = 1 + Math.floor(rand() * 3);
        for (let i = 0; i < count; i++) views.set(`v${i}`, randomView());
        return { client: null, views, states: new Map(), gaps: [] };
      });
      const sseWatchers: SseWatcher[] = Array.from({ length: 4 }, () => ({ reader: null, view: randomView(), state: null, gaps: [] }));
      const sseUrl = (view: ViewSpec) => `${server.url}/v1/leaderboards/${board}/events?view=${encodeURIComponent(JSON.stringify(view))}`;

      /** How reconnects that carried a local version were answered. */
      const answers = { resumed: 0, snapshot: 0 };
      async function connectWs(watcher: WsWatcher): Promise<void> {
        const client = await FeedClient.connect(wsUrl(server, board));
        watcher.client = client;
        for (const [sub, view] of watcher.views) {
          const state = watcher.states.get(sub);
          if (state) client.states.set(sub, state);
          const answer = await client.subscribe(sub, view, state?.version, state?.epoch);
          assert.notEqual(answer.type, 'error', JSON.stringify(answer));
          if (state && (answer.type === 'resumed' || answer.type === 'snapshot')) answers[answer.type] += 1;
        }
      }
      function disconnectWs(watcher: WsWatcher): void {
        const client = watcher.client as FeedClient;
        for (const [sub, state] of client.states) watcher.states.set(sub, state);
        watcher.gaps.push(...client.gaps);
        client.ws.terminate();
        watcher.client = null;
      }
      async function connectSse(watcher: SseWatcher): Promise<void> {
        watcher.reader = await SseReader.open(sseUrl(watcher.view), watcher.state);
        await watcher.reader.next((e) => e.event === 'snapshot' || e.event === 'resumed');
      }
      function disconnectSse(watcher: SseWatcher): void {
        const reader = watcher.reader as SseReader;
        watcher.state = reader.state;
        watcher.gaps.push(...reader.gaps);
        reader.close();
        watcher.reader = null;
      }

      await Promise.all([...wsWatchers.map(connectWs), ...sseWatchers.map(connectSse)]);
      let timestamp = 1_700_000_000_000;
      for (let round = 0; round < ROUNDS; round++) {
        // Small score range and few distinct timestamps: ties are decided by achieved_at, then by id.
        const scores = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => ({
          participant_id: pid(),
          score: Math.floor(rand() * 60),
          timestamp: timestamp + Math.floor(rand() * 5),
        }));
        timestamp += 3;
        await submitBatch(server, board, scores);
        if (rand() < 0.15) {
          const watcher = pick(wsWatchers);
          if (watcher.client) disconnectWs(watcher);
          else await connectWs(watcher);
        }
        if (rand() < 0.05) {
          const watcher = pick(sseWatchers);
          if (watcher.reader) disconnectSse(watcher);
          else await connectSse(watcher);
        }
        if (rand() < 0.3) await sleep(Math.floor(rand() * 25));
      }
      for (const watcher of wsWatchers) if (!watcher.client) await connectWs(watcher);
      for (const watcher of sseWatchers) if (!watcher.reader) await connectSse(watcher);
      assert.ok(answers.resumed > 0 && answers.snapshot > 0, `reconnects both resumed and needed snapshots: ${JSON.stringify(answers)}`);

      await eventually(async () => {
        for (const watcher of wsWatchers) {
          const client = watcher.client as FeedClient;
          for (const [sub, view] of watcher.views) {
            assert.deepEqual(client.entries(sub), await restWindow(server, board, view), `${sub} ${JSON.stringify(view)}`);
          }
        }
        for (const watcher of sseWatchers) {
          assert.deepEqual(watcher.reader?.state?.entries, await restWindow(server, board, watcher.view), `sse ${JSON.stringify(watcher.view)}`);
        }
      }, 5_000);
      for (const watcher of wsWatchers) {
        assert.deepEqual([...watcher.gaps, ...(watcher.client as FeedClient).gaps], []);
        disconnectWs(watcher);
      }
      for (const watcher of sseWatchers) {
        assert.deepEqual([...watcher.gaps, ...(watcher.reader as SseReader).gaps], []);
        disconnectSse(watcher);
      }
    });
  }
});
