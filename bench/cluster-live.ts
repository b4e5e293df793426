/**
 * Cross-process real time at light load, for the cluster benchmark: a
 * WebSocket viewer of a board's top 10 on one member, scores submitted
 * through the other, one at a time at a steady rate, each entering the top.
 * The figure is the time from sending a submission to the delta that brings
 * the viewer to its version: the write, the Lua call, the pub/sub hop, the
 * other member's read of the view and the fan-out. Figures only.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export interface LiveLatency {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

interface Delta {
  readonly type: string;
  readonly to_version?: number;
}

async function post(url: string, key: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `writer` and `viewer` are the base URLs of two members; `count` submissions at `perS`. */
export async function crossMemberLatency(writer: string, viewer: string, key: string, count: number, perS: number): Promise<LiveLatency> {
  const board = `live-${randomBytes(4).toString('hex')}`;
  const created = await post(`${writer}/v1/leaderboards`, key, { id: board, sort_order: 'desc', operator: 'best' });
  if (created.status !== 201) throw new Error(`creating the live board answered ${created.status}`);
  const socket = new WebSocket(`${viewer.replace(/^http/, 'ws')}/v1/leaderboards/${board}/subscribe?key=${key}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const seen = new Map<number, number>();
  const waiting = new Map<number, () => void>();
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as Delta;
    if (message.type === 'snapshot') subscribed();
    if (message.type !== 'delta' || message.to_version === undefined) return;
    const at = performance.now();
    seen.set(message.to_version, at);
    for (const [version, wake] of waiting) if (version <= message.to_version) wake();
  });
  socket.send(JSON.stringify({ type: 'subscribe', sub: 'top', view: { top: 10 } }));
  await ready;
  // The viewer's member listens to the board once the subscription is set up; let that settle.
  await sleep(200);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const sent = performance.now();
      const answer = await post(`${writer}/v1/leaderboards/${board}/scores`, key, { participant_id: `p${i}`, score: 1_000 + i });
      if (answer.status !== 200) throw new Error(`a live submission answered ${answer.status}`);
      const version = answer.json.version as number;
      const delivered = await Promise.race([
        new Promise<number>((resolve) => {
          const known = [...seen].find(([v]) => v >= version);
          if (known !== undefined) return resolve(known[1]);
          waiting.set(version, () => {
            waiting.delete(version);
            resolve(performance.now());
          });
        }),
        sleep(5_000).then(() => null),
      ]);
      if (delivered === null) throw new Error(`the viewer on the other member saw no delta to version ${version} within 5 s`);
      latencies.push(delivered - sent);
      await sleep(Math.max(0, 1000 / perS - (performance.now() - sent)));
    }
  } finally {
    socket.terminate();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return { samples: sorted.length, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted[sorted.length - 1]! };
}
