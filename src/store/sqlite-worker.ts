/**
 * Worker-thread entry of the SQLite writer. It owns the write connection and
 * answers each `commit` message after the transaction is committed (and, with
 * sync=full, fsynced), so the main thread can resolve appendEvents promises
 * on the reply without ever waiting on the disk itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteWriter, type OpResult, type WriteOp, type WriterOptions } from './sqlite-writer.js';

export type WriterRequest = { readonly type: 'commit'; readonly id: number; readonly ops: readonly WriteOp[] } | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready'; readonly migrated: number[]; readonly recovered: boolean }
  | { readonly type: 'open_failed'; readonly message: string }
  | { readonly type: 'committed'; readonly id: number; readonly results: OpResult[] }
  | { readonly type: 'commit_failed'; readonly id: number; readonly message: string; readonly code: string | null }
  | { readonly type: 'closed' };

if (parentPort === null) throw new Error('sqlite-worker.ts runs as a worker thread only');
const port = parentPort;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

let writer: SqliteWriter | null = null;
try {
  writer = new SqliteWriter(workerData as WriterOptions);
  reply({ type: 'ready', migrated: writer.migrated, recovered: writer.recovered });
} catch (err) {
  reply({ type: 'open_failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
}

port.on('message', (request: WriterRequest) => {
  if (writer === null) return;
  switch (request.type) {
    case 'commit':
      try {
        reply({ type: 'committed', id: request.id, results: writer.commit(request.ops) });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        reply({ type: 'commit_failed', id: request.id, message: err instanceof Error ? err.message : String(err), code: typeof code === 'string' ? code : null });
      }
      break;
    case 'close':
      writer.close();
      writer = null;
      reply({ type: 'closed' });
      port.close();
      break;
  }
});
