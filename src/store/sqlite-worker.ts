/**
 * Worker-thread entry of the SQLite writer. It owns the write connection and
 * answers each `commit` message after the transaction is committed (and, with
 * sync=full, fsynced), so the main thread can resolve appendEvents promises
 * on the reply without ever waiting on the disk itself.
 *
 * It also writes checkpoint files (sqlite-checkpoint.ts). Their I/O is
 * asynchronous, so commits go on while a file is written, and files that a
 * commit made obsolete are deleted after it.
 */
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { writeCheckpointFile, type CheckpointSnapshot, type WrittenCheckpoint } from './sqlite-checkpoint.js';
import { PackedEventReader, type PackedEvents } from './sqlite-pack.js';
import { SqliteWriter, type OpResult, type WriteOp, type WriterOptions } from './sqlite-writer.js';

export type WriterRequest =
  | { readonly type: 'commit'; readonly id: number; readonly ops: readonly WriteOp[]; readonly events: PackedEvents | null }
  | { readonly type: 'writeCheckpoint'; readonly id: number; readonly snapshot: CheckpointSnapshot }
  | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready'; readonly migrated: number[]; readonly recovered: boolean; readonly swept: string[] }
  | { readonly type: 'open_failed'; readonly message: string }
  | { readonly type: 'committed'; readonly id: number; readonly results: OpResult[] }
  | { readonly type: 'commit_failed'; readonly id: number; readonly message: string; readonly code: string | null }
  | ({ readonly type: 'checkpoint_written'; readonly id: number } & WrittenCheckpoint)
  | { readonly type: 'checkpoint_failed'; readonly id: number; readonly message: string }
  | { readonly type: 'closed' };

if (parentPort === null) throw new Error('sqlite-worker.ts runs as a worker thread only');
const port = parentPort;
const options = workerData as WriterOptions;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checkpoint files being written; close waits for them, so that none is left half done on purpose. */
const writing = new Set<Promise<void>>();

let writer: SqliteWriter | null = null;
try {
  writer = new SqliteWriter(options);
  reply({ type: 'ready', migrated: writer.migrated, recovered: writer.recovered, swept: writer.swept });
} catch (err) {
  reply({ type: 'open_failed', message: messageOf(err) });
  port.close();
}

port.on('message', (request: WriterRequest) => {
  if (writer === null) return;
  switch (request.type) {
    case 'commit': {
      let results: OpResult[];
      try {
        results = writer.commit(request.ops, request.events === null ? null : new PackedEventReader(request.events));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        reply({ type: 'commit_failed', id: request.id, message: messageOf(err), code: typeof code === 'string' ? code : null });
        break;
      }
      reply({ type: 'committed', id: request.id, results });
      // A file that is gone already is as good as deleted; any other failure leaves it for the next start's sweep.
      for (const file of writer.takeObsoleteFiles()) void unlink(join(options.checkpointDir, file)).catch(() => undefined);
      break;
    }
    case 'writeCheckpoint': {
      const { id } = request;
      const job = writeCheckpointFile(options.checkpointDir, request.snapshot).then(
        (written) => reply({ type: 'checkpoint_written', id, ...written }),
        (err: unknown) => reply({ type: 'checkpoint_failed', id, message: messageOf(err) }),
      );
      writing.add(job);
      void job.finally(() => writing.delete(job));
      break;
    }
    case 'close': {
      const closing = writer;
      writer = null;
      void Promise.allSettled([...writing]).then(() => {
        closing.close();
        reply({ type: 'closed' });
        port.close();
      });
      break;
    }
  }
});
