/**
 * The comparison of the fan-out benchmark (bench/fanout.ts): a naive
 * broadcast server that, for every change, JSON.stringifies it and sends it
 * to every socket, with no views, no coalescing and no backpressure. It makes
 * its own changes at the benchmark's rate; each carries `t`, the moment it was
 * due, so that a backlog shows up as latency instead of being hidden.
 *
 *   forked with one argument: the NaiveSpec as JSON; talks over IPC.
 */
import { WebSocketServer } from 'ws';
import { now, type Command } from './fanout-stats.js';

export interface NaiveSpec {
  readonly port: number;
  readonly participants: number;
}

/** Changes broadcast before yielding to the event loop, so that IPC and socket writes keep moving. */
const CHUNK = 20;

const spec = JSON.parse(process.argv[2] as string) as NaiveSpec;
const wss = new WebSocketServer({ host: '127.0.0.1', port: spec.port, perMessageDeflate: false });

function run(rate: number, durationMs: number): Promise<{ generated: number; broadcast: number }> {
  const total = Math.round((rate * durationMs) / 1000);
  const started = now();
  let version = 0;
  return new Promise((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((now() - started) * rate) / 1000));
      const end = Math.min(due, version + CHUNK);
      while (version < end) {
        version += 1;
        const change = {
          type: 'change',
          version,
          participant_id: `player-${version % spec.participants}`,
          score: version * 7,
          old_rank: (version * 31) % spec.participants,
          new_rank: (version * 17) % spec.participants,
          t: started + ((version - 1) * 1000) / rate,
        };
        for (const ws of wss.clients) ws.send(JSON.stringify(change));
      }
      if (version >= total) resolve({ generated: total, broadcast: version });
      else if (version < due) setImmediate(step);
      else setTimeout(step, 1);
    };
    step();
  });
}

process.on('message', (command: Command) => {
  if (command.type === 'run') void run(command.rate, command.durationMs).then((report) => process.send?.({ type: 'done', report }));
  else if (command.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
wss.on('listening', () => process.send?.({ type: 'ready' }));
