/**
 * The floor of the fan-out benchmark (bench/fanout.ts): the loopback write
 * cost of the bytes Ladder sent, and nothing else. No HTTP ingest, no commit,
 * no ranking, no views, no JSON: every broadcast is one pre-framed WebSocket
 * text frame (`WebSocket.Sender.frame`, built once) written as-is to each
 * socket it goes to.
 *
 * The plan copies what a Ladder phase delivered: the share of sockets that
 * watch the top (they all get each top message), the top and participant
 * message sizes, and the messages per socket per second of each kind. A
 * broadcast goes out every `tickMs`; each carries `t`, the moment it was due,
 * so that a backlog shows as latency instead of being hidden.
 *
 *   forked with one argument: the FloorSpec as JSON; talks over IPC.
 */
import type { Socket } from 'node:net';
import * as ws from 'ws';
import { now, type Command, type FloorPlan } from './fanout-stats.js';

export interface FloorSpec {
  readonly port: number;
}

export interface FloorReport {
  readonly broadcasts: number;
  readonly writes: number;
  readonly bytes: number;
}

/** ws's frame builder (a named export of its ESM entry); @types/ws does not declare it. */
const Sender = (ws as unknown as { Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] } }).Sender;

const spec = JSON.parse(process.argv[2] as string) as FloorSpec;
const wss = new ws.WebSocketServer({ host: '127.0.0.1', port: spec.port, perMessageDeflate: false });
const top: Socket[] = [];
const participants: Socket[] = [];
let accepted = 0;
let topShare = 0.8;

wss.on('connection', (socket, request) => {
  // Sockets are dealt to the two kinds in the plan's proportion, in arrival order.
  const index = accepted++;
  const list = Math.floor((index + 1) * topShare) > Math.floor(index * topShare) ? top : participants;
  // The socket under the WebSocket: frames go to it directly, with no per-send work of ws's.
  list.push(request.socket);
  socket.on('close', () => {
    const at = list.indexOf(request.socket);
    if (at >= 0) list.splice(at, 1);
  });
});

/** A text frame of `bytes` bytes (at least the stamp's) whose last field is "t":<due>. */
function frame(bytes: number, due: number, kind: string): Buffer {
  const head = `{"type":"change","kind":"${kind}","pad":"`;
  const tail = `","t":${due.toFixed(3)}}`;
  const payload = Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
  return Buffer.concat(Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
}

function broadcast(plan: FloorPlan, durationMs: number): Promise<FloorReport> {
  const ticks = Math.max(1, Math.floor(durationMs / plan.tickMs));
  const started = now();
  let tick = 0;
  let cursor = 0;
  let owed = 0;
  let writes = 0;
  let bytes = 0;
  return new Promise((resolve) => {
    const step = () => {
      const due = started + tick * plan.tickMs;
      if (now() < due) {
        setTimeout(step, due - now());
        return;
      }
      if (top.length > 0) {
        const message = frame(plan.topBytes, due, 'top');
        for (const socket of top) socket.write(message);
        writes += top.length;
        bytes += top.length * message.length;
      }
      owed += plan.participantPerTick * participants.length;
      if (participants.length > 0 && owed >= 1) {
        const message = frame(plan.participantBytes, due, 'participant');
        for (; owed >= 1; owed--) {
          (participants[cursor++ % participants.length] as Socket).write(message);
          writes++;
          bytes += message.length;
        }
      }
      tick++;
      if (tick >= ticks) resolve({ broadcasts: tick, writes, bytes });
      else setImmediate(step);
    };
    step();
  });
}

process.on('message', (command: Command) => {
  if (command.type === 'broadcast') {
    void broadcast(command.plan, command.durationMs).then((report) => process.send?.({ type: 'done', report }));
  } else if (command.type === 'deal') {
    // The next sockets are dealt by this share (sent before they connect).
    topShare = command.topShare;
    accepted = 0;
  } else if (command.type === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
wss.on('listening', () => process.send?.({ type: 'ready' }));
