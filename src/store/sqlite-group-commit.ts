/**
 * Group commit for the SQLite store (DESIGN.md "Embedded durability"). Write
 * ops are collected for up to `intervalMs` after the first one arrives, then
 * sent as one batch to the writer thread, which commits it in one
 * transaction. Ops that arrive while a batch is being committed go out as the
 * next batch the moment it is done. A promise resolves only on the writer's
 * reply, that is after COMMIT returned, so a kill -9 loses nothing that was
 * acknowledged.
 *
 * A failed transaction (I/O error, disk full) rejects its batch and every op
 * queued behind it, since those may build on what the failed batch did in
 * memory; ops submitted after that go into a fresh batch. Only a writer
 * thread that died fails the group for good.
 *
 * The score events of a batch travel packed (sqlite-pack.ts): one transferred
 * buffer and one string per batch, not an object per event. The writer
 * thread also writes checkpoint files, on request, between commits.
 */
import { Worker } from 'node:worker_threads';
import { openCommitWindow } from './commit-window.js';
import type { CheckpointSnapshot, WrittenCheckpoint } from './sqlite-checkpoint.js';
import type { StoreObserver } from './observer.js';
import { packEvents } from './sqlite-pack.js';
import type { WriterReply, WriterRequest } from './sqlite-worker.js';
import type { OpResult, WriteOp, WriterOptions } from './sqlite-writer.js';
import type { ScoreEvent } from './store.js';

/** A write op as the store submits it: an append carries its events, which are packed when its batch is sent. */
export type StoreOp = Exclude<WriteOp, { kind: 'append' }> | { readonly kind: 'append'; readonly events: readonly ScoreEvent[] };

export interface CommitStats {
  /** Transactions committed. */
  commits: number;
  /** Ops (appendEvents, createBoard, ... calls) committed. */
  ops: number;
  /** Score events in the committed appendEvents calls. */
  events: number;
}

interface Pending {
  readonly op: StoreOp;
  readonly resolve: (result: OpResult) => void;
  readonly reject: (err: Error) => void;
}

export class GroupCommit {
  private collecting: Pending[] = [];
  private committing: Pending[] | null = null;
  private cancelTimer: (() => void) | null = null;
  private nextBatchId = 1;
  private failure: Error | null = null;
  private closing = false;
  /** Set once close() asked the worker to stop; an exit before that is a crash. */
  private stopping = false;
  private ready = false;
  /** See SqliteWriter.recovered. */
  recovered = false;
  private readonly opened: Promise<void>;
  private readonly exited: Promise<void>;
  private idleWaiters: (() => void)[] = [];
  private nextCheckpointId = 1;
  private readonly checkpoints = new Map<number, { resolve: (written: WrittenCheckpoint) => void; reject: (err: Error) => void }>();
  readonly stats: CommitStats = { commits: 0, ops: 0, events: 0 };
  /** Checkpoint files that the writer found unrecorded when it opened (a crash interrupted them), and deleted. */
  swept: readonly string[] = [];

  private constructor(
    private readonly worker: Worker,
    private readonly intervalMs: number,
    private readonly observer: StoreObserver,
  ) {
    let openedResolve!: () => void;
    let openedReject!: (err: Error) => void;
    this.opened = new Promise<void>((resolve, reject) => {
      openedResolve = resolve;
      openedReject = reject;
    });
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: WriterReply) => {
      switch (reply.type) {
        case 'ready':
          this.ready = true;
          this.recovered = reply.recovered;
          this.swept = reply.swept;
          openedResolve();
          this.settle();
          break;
        case 'open_failed':
          openedReject(new Error(`cannot open the SQLite store: ${reply.message}`));
          break;
        case 'committed':
          this.finishBatch(reply.id, (pending, i) => pending.resolve(reply.results[i] ?? { ok: false, message: 'no result from the SQLite writer', code: null }));
          break;
        case 'commit_failed': {
          const err = Object.assign(new Error(`SQLite commit failed: ${reply.message}`), { code: reply.code });
          this.observer.failed();
          const queued = this.collecting;
          this.collecting = [];
          this.cancelTimer?.();
          this.cancelTimer = null;
          this.finishBatch(reply.id, (pending) => pending.reject(err), false);
          for (const pending of queued) pending.reject(err);
          break;
        }
        case 'checkpoint_written':
        case 'checkpoint_failed': {
          const waiting = this.checkpoints.get(reply.id);
          this.checkpoints.delete(reply.id);
          if (reply.type === 'checkpoint_written') waiting?.resolve({ file: reply.file, bytes: reply.bytes, crc32: reply.crc32 });
          else waiting?.reject(new Error(`cannot write the checkpoint file: ${reply.message}`));
          this.settle();
          break;
        }
        case 'closed':
          break;
      }
    });
    worker.on('error', (err) => {
      openedReject(err);
      this.fail(err);
    });
    worker.on('exit', (code) => {
      const err = new Error(`the SQLite writer thread exited (code ${code})`);
      openedReject(err);
      if (!this.stopping) this.fail(err);
    });
  }

  /** Starts the writer thread; resolves once it has opened and migrated the database. */
  static async start(options: WriterOptions, intervalMs: number, observer: StoreObserver): Promise<GroupCommit> {
    const group = new GroupCommit(spawnWriter(options), intervalMs, observer);
    try {
      await group.opened;
    } catch (err) {
      await group.worker.terminate();
      throw err;
    }
    return group;
  }

  /** Queues the op for the next batch; resolves with its result once that batch is committed. */
  submit(op: StoreOp): Promise<OpResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('the SQLite store is closed'));
    return new Promise<OpResult>((resolve, reject) => {
      this.collecting.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Has the writer thread encode and write the snapshot's file (atomically,
   * see sqlite-checkpoint.ts), between commits. Takes over the snapshot's
   * arrays (their buffers are transferred). Nothing is recorded yet: that is
   * a recordCheckpoint op.
   */
  writeCheckpoint(snapshot: CheckpointSnapshot): Promise<WrittenCheckpoint> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('the SQLite store is closed'));
    const id = this.nextCheckpointId++;
    return new Promise<WrittenCheckpoint>((resolve, reject) => {
      this.checkpoints.set(id, { resolve, reject });
      this.worker.ref();
      const buffers = [snapshot.scores.buffer, snapshot.achievedAt.buffer, snapshot.updatedAt.buffer, snapshot.metadataIndexes.buffer];
      this.worker.postMessage({ type: 'writeCheckpoint', id, snapshot } satisfies WriterRequest, [...new Set(buffers)] as ArrayBuffer[]);
    });
  }

  /** Commits what is queued, then stops the writer thread (which closes its connection). */
  async close(): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    this.worker.ref();
    if (this.cancelTimer !== null) {
      this.cancelTimer();
      this.send();
    }
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.settle();
    });
    this.stopping = true;
    if (this.failure === null) {
      this.post({ type: 'close' });
    } else {
      await this.worker.terminate();
    }
    await this.exited;
  }

  private schedule(): void {
    if (this.committing !== null || this.cancelTimer !== null) return;
    this.worker.ref();
    this.cancelTimer = openCommitWindow(this.intervalMs, () => this.send());
  }

  private send(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.committing !== null || this.collecting.length === 0 || this.failure !== null) return;
    this.committing = this.collecting;
    this.collecting = [];
    const groups: (readonly ScoreEvent[])[] = [];
    let packed = 0;
    const ops = this.committing.map((pending): WriteOp => {
      const op = pending.op;
      if (op.kind !== 'append') return op;
      groups.push(op.events);
      packed += op.events.length;
      return { kind: 'append', first: packed - op.events.length, count: op.events.length };
    });
    const events = groups.length === 0 ? null : packEvents(groups);
    const request: WriterRequest = { type: 'commit', id: this.nextBatchId, ops, events };
    this.worker.postMessage(request, events === null ? [] : [events.numbers.buffer as ArrayBuffer]);
  }

  private finishBatch(id: number, settle: (pending: Pending, i: number) => void, committed = true): void {
    const batch = this.committing;
    if (batch === null || id !== this.nextBatchId) {
      this.fail(new Error(`the SQLite writer answered batch ${id}, expected ${this.nextBatchId}`));
      return;
    }
    this.nextBatchId += 1;
    this.committing = null;
    if (committed) {
      this.stats.commits += 1;
      this.stats.ops += batch.length;
      let events = 0;
      for (const pending of batch) if (pending.op.kind === 'append') events += pending.op.events.length;
      this.stats.events += events;
      if (events > 0) this.observer.committed(events);
    }
    batch.forEach(settle);
    // Ops that arrived during the commit have waited long enough.
    if (this.collecting.length > 0) this.send();
    this.settle();
  }

  /** When nothing is queued: let the process exit if it wants to, and wake close(). */
  private settle(): void {
    const idle = this.committing === null && this.collecting.length === 0 && this.checkpoints.size === 0;
    if (!idle && this.failure === null) return;
    if (this.ready && !this.closing) this.worker.unref();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.observer.failed();
    this.cancelTimer?.();
    this.cancelTimer = null;
    const pending = [...(this.committing ?? []), ...this.collecting];
    this.committing = null;
    this.collecting = [];
    for (const p of pending) p.reject(err);
    const checkpoints = [...this.checkpoints.values()];
    this.checkpoints.clear();
    for (const waiting of checkpoints) waiting.reject(err);
    this.settle();
  }

  private post(request: WriterRequest): void {
    this.worker.postMessage(request);
  }
}

/**
 * From dist/ the writer is plain JS. From src/ under `node --import tsx`, a
 * worker does not inherit the tsx loader on Node 20, so the worker first
 * registers tsx itself and then imports the TypeScript entry.
 */
function spawnWriter(options: WriterOptions): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './sqlite-worker.ts' : './sqlite-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: options });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: options });
}
