/**
 * `ladder import <board> <file>`: loads a CSV or NDJSON file of scores
 * (core/import-records.ts) into a running server, through the batch endpoint
 * like any client: 1000 submissions per request, a few requests in flight.
 * The file is read as a stream, so memory stays the same for any size of
 * file: the batches in flight and one chunk of the file.
 *
 * A line without an event_id gets `import:<source>:<line>`, the source
 * being by default a hash of the file's bytes: running the same file again
 * (an interrupted import, a retry) applies none of its lines twice, while
 * another file, or the same name with other contents, gets other ids. A file
 * whose failed lines were fixed in place has another hash; run it with the
 * first run's source (--source) to apply those lines and no other twice.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { LadderError } from './core/errors.js';
import { detectImportFormat, ImportReader, textLines, type ImportFormat, type ImportRecord } from './core/import-records.js';
import type { SubmissionInput } from './core/submission.js';

export interface ImportOptions {
  readonly boardId: string;
  readonly file: string;
  /** The server, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** An API key with write (or admin) scope. */
  readonly key: string;
  /** null: by the file's extension, or its first line. */
  readonly format: ImportFormat | null;
  /** Lines without an event_id get `import:<source>:<line>`; null: the first 16 hex digits of the file's SHA-256. */
  readonly source: string | null;
  /** Submissions per request (the batch endpoint takes at most 1000). */
  readonly batchSize?: number;
  /** Requests in flight at once. */
  readonly inFlight?: number;
}

export interface ImportProgress {
  /** Bytes of the file read so far, of `size`. */
  readonly bytes: number;
  readonly size: number;
  /** Records answered so far: accepted + failed. */
  readonly records: number;
  readonly accepted: number;
  readonly failed: number;
}

/** A line that was not applied: its own error, or the server's answer to it. */
export interface ImportFailure {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

export interface ImportSummary {
  readonly format: ImportFormat;
  /** The source of the lines' event ids: run the file again with it to retry it. */
  readonly source: string;
  readonly records: number;
  readonly accepted: number;
  readonly failed: number;
  readonly ms: number;
}

/** The import as a whole could not go on (unreadable file, unreachable server, refused key, unknown board). */
export class ImportStopped extends Error {}

const RETRIES = 5;
const RETRY_BASE_MS = 200;

interface Batch {
  /** The batch's records, in file order. */
  readonly records: ImportRecord[];
  /** File bytes read when the batch was full. */
  bytes: number;
}

/**
 * Imports the file. Failed lines are reported through `onFailure` in file
 * order, and progress after each answered batch. Throws ImportStopped when
 * the import cannot go on; the lines answered until then stay applied.
 */
export async function importFile(
  options: ImportOptions,
  onProgress: (progress: ImportProgress) => void,
  onFailure: (failure: ImportFailure) => void,
): Promise<ImportSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 1000;
  const maxInFlight = options.inFlight ?? 4;
  const size = fileSize(options.file);
  const format = options.format ?? detectImportFormat(options.file, firstLine(options.file));
  const source = options.source ?? (await fileHash(options.file)).slice(0, 16);
  const reader = new ImportReader(format, source);
  const server = new BatchClient(options);
  await server.checkBoard();

  let accepted = 0;
  let failed = 0;
  const inFlight: Promise<{ batch: Batch; failures: ImportFailure[] }>[] = [];
  // Batches are answered in any order but reported in file order: the oldest is awaited first.
  const settleOldest = async () => {
    const { batch, failures } = await inFlight.shift()!;
    for (const failure of failures) onFailure(failure);
    failed += failures.length;
    accepted += batch.records.length - failures.length;
    onProgress({ bytes: batch.bytes, size, records: accepted + failed, accepted, failed });
  };
  let batch: Batch = { records: [], bytes: 0 };
  let inputs = 0;
  const dispatch = async (bytes: number) => {
    batch.bytes = bytes;
    const answered = server.send(batch);
    // Awaited in turn by settleOldest; until then a rejection must not count as unhandled.
    answered.catch(() => undefined);
    inFlight.push(answered);
    batch = { records: [], bytes: 0 };
    inputs = 0;
    if (inFlight.length >= maxInFlight) await settleOldest();
  };

  let bytes = 0;
  let line = 0;
  const take = async (record: ImportRecord | null) => {
    if (record === null) return;
    batch.records.push(record);
    if ('input' in record) inputs += 1;
    // A batch also closes on many failed records, so that their reports are not held back.
    if (inputs === batchSize || batch.records.length === batchSize * 2) await dispatch(bytes);
  };
  try {
    const chunks = createReadStream(options.file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
    for await (const text of textLines(chunks, (read) => (bytes = read))) {
      line += 1;
      await take(reader.line(text, line));
    }
    await take(reader.end());
  } catch (err) {
    if (err instanceof LadderError) throw new ImportStopped(`${options.file} line ${line}: ${err.code}: ${err.message}`);
    throw err;
  }
  if (batch.records.length > 0) await dispatch(size);
  while (inFlight.length > 0) await settleOldest();
  onProgress({ bytes: size, size, records: accepted + failed, accepted, failed });
  return { format, source, records: accepted + failed, accepted, failed, ms: performance.now() - started };
}

/** The batch endpoint of one board, with retries of what a retry can fix. */
class BatchClient {
  readonly #options: ImportOptions;
  readonly #base: string;

  constructor(options: ImportOptions) {
    this.#options = options;
    this.#base = `${options.url.replace(/\/+$/, '')}/v1/leaderboards/${encodeURIComponent(options.boardId)}`;
  }

  /** Fails early, before a line is sent, when the server is unreachable or the board unknown. */
  async checkBoard(): Promise<void> {
    const response = await this.#request('GET', this.#base, undefined);
    if (response.status !== 200) throw await this.#stopped(response);
  }

  /** Sends the batch's submissions; resolves with its failed lines (its own and the server's). Never rejects but with ImportStopped. */
  async send(batch: Batch): Promise<{ batch: Batch; failures: ImportFailure[] }> {
    const failures: ImportFailure[] = [];
    const sent: { line: number; input: SubmissionInput }[] = [];
    for (const record of batch.records) {
      if ('error' in record) failures.push({ line: record.line, code: record.error.code, message: record.error.message });
      else sent.push(record);
    }
    if (sent.length > 0) {
      const body = JSON.stringify({ scores: sent.map((record) => wireOf(record.input)) });
      const response = await this.#request('POST', `${this.#base}/scores/batch`, body);
      if (response.status !== 200) throw await this.#stopped(response);
      const { results } = (await response.json()) as { results: { error?: { code: string; message: string } }[] };
      results.forEach((result, i) => {
        if (result.error === undefined) return;
        // The server names fields by their place in the batch (scores[12].score); the line says where it is.
        const message = result.error.message.replace(`scores[${i}].`, '');
        failures.push({ line: sent[i]!.line, code: result.error.code, message });
      });
      failures.sort((a, b) => a.line - b.line);
    }
    return { batch, failures };
  }

  /** One request; unreachable servers, 429 and 503 are retried with backoff (every line's event id makes that safe). */
  async #request(method: string, url: string, body: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#options.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body });
      } catch (err) {
        if (attempt >= RETRIES) {
          const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
          throw new ImportStopped(`cannot reach ${this.#options.url} (LADDER_URL or --url): ${cause}`);
        }
        await pause(RETRY_BASE_MS * 2 ** attempt);
        continue;
      }
      if ((response.status !== 429 && response.status !== 503) || attempt >= RETRIES) return response;
      await response.arrayBuffer();
      const retryAfter = Number(response.headers.get('retry-after'));
      await pause(retryAfter > 0 ? retryAfter * 1000 : RETRY_BASE_MS * 2 ** attempt);
    }
  }

  async #stopped(response: Response): Promise<ImportStopped> {
    let error: { code?: string; message?: string } = {};
    try {
      error = ((await response.json()) as { error?: typeof error }).error ?? {};
    } catch {
      // Not the API's error shape (another server on that port?): the status says enough.
    }
    const what = error.code === undefined ? `HTTP ${response.status}` : `${error.code}: ${error.message}`;
    const hint = response.status === 401 || response.status === 403 ? ' (pass a key with write scope: LADDER_KEY or --key)' : '';
    return new ImportStopped(`${what}${hint}`);
  }
}

/** A submission in the batch endpoint's wire shape. */
function wireOf(input: SubmissionInput): Record<string, unknown> {
  const item: Record<string, unknown> = { participant_id: input.participantId, score: input.score };
  if (input.timestamp !== null && input.timestamp !== undefined) item.timestamp = input.timestamp;
  if (input.eventId !== null && input.eventId !== undefined) item.event_id = input.eventId;
  if (input.metadata !== null && input.metadata !== undefined) item.metadata = input.metadata;
  return item;
}

function fileSize(file: string): number {
  let stat;
  try {
    stat = statSync(file);
  } catch (err) {
    throw new ImportStopped(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!stat.isFile()) throw new ImportStopped(`${file} is not a file`);
  return stat.size;
}

/** Up to 64 KiB of the file's first line, for detectImportFormat. */
function firstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString('utf8').split('\n', 1)[0] ?? '';
  } finally {
    closeSync(fd);
  }
}

/** sha256 of the file's bytes, hex, read as a stream. */
async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
