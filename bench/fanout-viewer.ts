/**
 * A process of simulated viewers for the fan-out benchmark (bench/fanout.ts).
 * Cheap on purpose: `ws` without compression, and each message is only
 * scanned for what is measured (its type and the achieved_at or t stamps),
 * never parsed as a whole.
 *
 *   forked with one argument: the ViewerSpec as JSON; talks over IPC.
 */
import WebSocket from 'ws';
import { random32 } from '../test/helpers/random.js';
import { LatencyHistogram, now, type Command, type ViewerReport } from './fanout-stats.js';

export interface ViewerSpec {
  /** ws:// URL every socket connects to. */
  readonly url: string;
  readonly count: number;
  /** `ladder`: subscribe to a view and measure deltas; `naive`: just receive change messages. */
  readonly mode: 'ladder' | 'naive';
  /** Share of the sockets that watch {top: topN}; the others watch {participant} of a random participant. */
  readonly topShare: number;
  readonly topN: number;
  /** Participant ids are player-0 .. player-<participants − 1>. */
  readonly participants: number;
  readonly seed: number;
  /** Connections being opened at once. */
  readonly concurrency: number;
}

const TYPE_OFFSET = '{"type":"'.length;
const DELTA = 'd'.charCodeAt(0);
const SNAPSHOT = 's'.charCodeAt(0);
const CHANGE = 'c'.charCodeAt(0);
const ERROR = 'e'.charCodeAt(0);
const ACHIEVED_AT = Buffer.from('"achieved_at":');
const STAMP = Buffer.from('"t":');

/** The integer (or decimal) number that starts at `at`. */
function numberAt(data: Buffer, at: number): number {
  let end = at;
  while (end < data.length && ((data[end]! >= 48 && data[end]! <= 57) || data[end] === 46)) end++;
  return Number(data.toString('latin1', at, end));
}

class Viewers {
  private readonly spec: ViewerSpec;
  private readonly sockets: WebSocket[] = [];
  private latency = new LatencyHistogram();
  private messages = 0;
  private bytes = 0;
  private topDeltas = 0;
  private topDeltaBytes = 0;
  private participantDeltas = 0;
  private participantDeltaBytes = 0;
  private snapshots = 0;
  private errors = 0;
  private closed = 0;
  private topSnapshotBytes = 0;
  private topSockets = 0;
  private windowStart = now();

  constructor(spec: ViewerSpec) {
    this.spec = spec;
  }

  /** Opens every socket; resolves once each has its first message (ladder) or is open (naive). */
  async connect(): Promise<{ connected: number; failed: number }> {
    const rand = random32(this.spec.seed);
    let next = 0;
    let connected = 0;
    let failed = 0;
    const worker = async () => {
      while (next < this.spec.count) {
        next += 1;
        const top = rand() < this.spec.topShare;
        const participant = `player-${Math.floor(rand() * this.spec.participants)}`;
        try {
          await this.open(top, participant);
          connected += 1;
        } catch {
          failed += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: this.spec.concurrency }, worker));
    this.reset();
    return { connected, failed };
  }

  reset(): void {
    this.latency = new LatencyHistogram();
    this.messages = this.bytes = this.topDeltas = this.topDeltaBytes = 0;
    this.participantDeltas = this.participantDeltaBytes = this.snapshots = this.errors = this.closed = 0;
    this.windowStart = now();
  }

  report(): ViewerReport {
    return {
      sockets: this.sockets.length,
      topSockets: this.topSockets,
      closed: this.closed,
      messages: this.messages,
      bytes: this.bytes,
      latency: this.latency.toJSON(),
      topDeltas: this.topDeltas,
      topDeltaBytes: this.topDeltaBytes,
      participantDeltas: this.participantDeltas,
      participantDeltaBytes: this.participantDeltaBytes,
      snapshots: this.snapshots,
      errors: this.errors,
      topSnapshotBytes: this.topSnapshotBytes,
      windowS: (now() - this.windowStart) / 1000,
    };
  }

  stop(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  private open(top: boolean, participant: string): Promise<void> {
    const ws = new WebSocket(this.spec.url, { perMessageDeflate: false });
    this.sockets.push(ws);
    if (top) this.topSockets += 1;
    return new Promise((resolve, reject) => {
      let first = true;
      ws.on('error', reject);
      ws.on('close', () => {
        this.closed += 1;
        reject(new Error('closed'));
      });
      ws.on('open', () => {
        if (this.spec.mode === 'naive') resolve();
        else ws.send(JSON.stringify({ type: 'subscribe', sub: 'v', view: top ? { top: this.spec.topN } : { participant } }));
      });
      ws.on('message', (data: Buffer) => {
        if (first && this.spec.mode === 'ladder') {
          first = false;
          if (top && this.topSnapshotBytes === 0) this.topSnapshotBytes = data.length;
          resolve();
          return;
        }
        this.onMessage(data, top);
      });
    });
  }

  private onMessage(data: Buffer, top: boolean): void {
    const received = now();
    this.messages += 1;
    this.bytes += data.length;
    switch (data[TYPE_OFFSET]) {
      case DELTA: {
        if (top) {
          this.topDeltas += 1;
          this.topDeltaBytes += data.length;
        } else {
          this.participantDeltas += 1;
          this.participantDeltaBytes += data.length;
        }
        // Every upsert is an entry whose score changed; achieved_at is the load's submit time.
        for (let at = data.indexOf(ACHIEVED_AT); at >= 0; at = data.indexOf(ACHIEVED_AT, at + ACHIEVED_AT.length)) {
          this.latency.record(received - numberAt(data, at + ACHIEVED_AT.length));
        }
        return;
      }
      case CHANGE: {
        const at = data.lastIndexOf(STAMP);
        if (at >= 0) this.latency.record(received - numberAt(data, at + STAMP.length));
        return;
      }
      case SNAPSHOT:
        this.snapshots += 1;
        return;
      case ERROR:
        this.errors += 1;
        return;
    }
  }
}

const spec = JSON.parse(process.argv[2] as string) as ViewerSpec;
const viewers = new Viewers(spec);
process.on('message', (command: Command) => {
  if (command.type === 'measure') viewers.reset();
  else if (command.type === 'report') process.send?.({ type: 'report', report: viewers.report() });
  else if (command.type === 'stop') {
    viewers.stop();
    process.exit(0);
  }
});
// The orchestrator is gone: nothing to report to.
process.on('disconnect', () => process.exit(0));
const outcome = await viewers.connect();
process.send?.({ type: 'ready', ...outcome });
