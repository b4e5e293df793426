/**
 * Checkpoint files of the SQLite store: one binary, columnar snapshot of a
 * board in rank order per file, under `<data dir>/checkpoints/`. The writer
 * thread encodes and writes them (writeCheckpointFile), atomically: a
 * temporary file, fsync, rename, fsync of the directory. A load reads one
 * back (decodeCheckpoint) without an object per entry and without sorting.
 *
 * Layout, little-endian; the float64 columns start 8-byte aligned, so they
 * are read in place:
 *
 *    0  8 bytes   magic 'LDRCKPT1'
 *    8  u32       format version (1)
 *   12  u32       bytes of the board id
 *   16  f64       seq: the last event of the board it covers
 *   24  f64       the board's version then
 *   32  f64       n, entries
 *   40  f64       m, entries with metadata
 *   48  f64       bytes of the ids
 *   56  f64       bytes of the metadata
 *   64  f64 × n   scores, then f64 × n achievedAt, then f64 × n updatedAt
 *       f64 × m   rank index (0-based) of each entry with metadata
 *       UTF-8     the ids joined by '\n', in rank order
 *       UTF-8     the metadata JSON texts joined by '\n' (JSON text has no raw line break)
 *       UTF-8     the board id
 *  end  u32       CRC-32 (zlib.crc32) of every byte before it
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Metadata } from '../core/types.js';
import type { RankedColumns } from './store.js';

export const CHECKPOINT_DIR_NAME = 'checkpoints';
const MAGIC = Buffer.from('LDRCKPT1', 'latin1');
const FORMAT = 1;
const HEADER_BYTES = 64;
const TEMPORARY = '.tmp';

if (endianness() !== 'LE') throw new Error('Ladder checkpoint files are little-endian, and so must the machine be');

/** A checkpoint as the main thread hands it to the writer thread (its arrays' buffers are transferred). */
export interface CheckpointSnapshot {
  readonly boardId: string;
  readonly seq: number;
  readonly version: number;
  /** The ids in rank order, joined by '\n'. */
  readonly ids: string;
  readonly count: number;
  readonly scores: Float64Array;
  readonly achievedAt: Float64Array;
  readonly updatedAt: Float64Array;
  /** Rank index of each entry with metadata, ascending. */
  readonly metadataIndexes: Float64Array;
  /** Their metadata JSON, joined by '\n'. */
  readonly metadata: string;
  /** The file's name; default checkpointFileName(boardId, seq). An erasure's rewrite names its own. */
  readonly file?: string;
}

export interface WrittenCheckpoint {
  readonly file: string;
  readonly bytes: number;
  readonly crc32: number;
}

/** A checkpoint file that cannot be used: damaged, truncated, or of another board or seq. */
export class CheckpointError extends Error {}

/**
 * A board id may differ from another only in case, which some file systems
 * ignore, so the file is named after its hex form.
 */
export function checkpointFileName(boardId: string, seq: number): string {
  return `${Buffer.from(boardId, 'utf8').toString('hex')}-${seq}.ckpt`;
}

/**
 * The name of a checkpoint's file rewritten by an erasure: another name at
 * the same seq, so that the file it replaces stays whole until the record
 * names the new one.
 */
export function erasedCheckpointFileName(boardId: string, seq: number): string {
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  return checkpointFileName(boardId, seq).replace(/\.ckpt$/, `-e${stamp}.ckpt`);
}

/**
 * The columns without the participant's entry, the entries after it one
 * rank up, or null when it has none. Complexity: O(n).
 */
export function withoutParticipant(columns: RankedColumns, participantId: string): RankedColumns | null {
  const at = columns.ids.indexOf(participantId);
  if (at === -1) return null;
  const cut = (column: Float64Array): Float64Array => {
    const kept = new Float64Array(column.length - 1);
    kept.set(column.subarray(0, at));
    kept.set(column.subarray(at + 1), at);
    return kept;
  };
  const metadata = new Map<number, Metadata>();
  for (const [index, value] of columns.metadata) if (index !== at) metadata.set(index < at ? index : index - 1, value);
  const ids = columns.ids.slice();
  ids.splice(at, 1);
  return { ids, scores: cut(columns.scores), achievedAt: cut(columns.achievedAt), updatedAt: cut(columns.updatedAt), metadata };
}

const SLICE = 50_000;
const yieldToEvents = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The ids joined by '\n', for a CheckpointSnapshot. Joining a million ids at
 * once stalls the event loop for a few hundred ms, so it joins slices and
 * yields between them (the strings are immutable: the snapshot holds).
 */
export async function joinIds(ids: readonly string[]): Promise<string> {
  if (ids.length <= SLICE) return ids.join('\n');
  const slices: string[] = [];
  for (let from = 0; from < ids.length; from += SLICE) {
    slices.push(ids.slice(from, from + SLICE).join('\n'));
    await yieldToEvents();
  }
  return slices.join('\n');
}

/**
 * The joined form of a board's metadata column, for a CheckpointSnapshot.
 * JSON.stringify of a million objects takes long enough to stall the event
 * loop, so it runs in slices and yields between them.
 */
export async function joinMetadata(metadata: ReadonlyMap<number, Metadata>): Promise<{ indexes: Float64Array; text: string }> {
  const indexes = new Float64Array([...metadata.keys()].sort((a, b) => a - b));
  const texts = new Array<string>(indexes.length);
  for (let i = 0; i < indexes.length; i++) {
    texts[i] = JSON.stringify(metadata.get(indexes[i]!));
    if (i % SLICE === SLICE - 1) await yieldToEvents();
  }
  return { indexes, text: texts.join('\n') };
}

/** Counts '\n' in the UTF-8 bytes: the separators must be exactly the expected number. */
function lineBreaks(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) count++;
  return count;
}

const yieldToCommits = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Encodes and writes the snapshot as `dir/<checkpointFileName>`, atomically:
 * a crash leaves either no file or the whole, fsynced one (a leftover
 * temporary file is removed by sweepCheckpointFiles). The I/O is async, so
 * the writer thread goes on committing while the file is written.
 */
export async function writeCheckpointFile(dir: string, snapshot: CheckpointSnapshot): Promise<WrittenCheckpoint> {
  const n = snapshot.count;
  const m = snapshot.metadataIndexes.length;
  if (snapshot.scores.length !== n || snapshot.achievedAt.length !== n || snapshot.updatedAt.length !== n) throw new Error('checkpoint columns of different lengths');
  const ids = Buffer.from(snapshot.ids, 'utf8');
  if (n > 0 && lineBreaks(ids) !== n - 1) throw new Error('a participant id contains a line break, which a checkpoint cannot hold');
  const metadata = Buffer.from(snapshot.metadata, 'utf8');
  if (m > 0 && lineBreaks(metadata) !== m - 1) throw new Error('checkpoint metadata with a raw line break');
  const board = Buffer.from(snapshot.boardId, 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT, 8);
  header.writeUInt32LE(board.length, 12);
  header.writeDoubleLE(snapshot.seq, 16);
  header.writeDoubleLE(snapshot.version, 24);
  header.writeDoubleLE(n, 32);
  header.writeDoubleLE(m, 40);
  header.writeDoubleLE(ids.length, 48);
  header.writeDoubleLE(metadata.length, 56);
  const pieces = [header, bytesOf(snapshot.scores), bytesOf(snapshot.achievedAt), bytesOf(snapshot.updatedAt), bytesOf(snapshot.metadataIndexes), ids, metadata, board];
  let crc = 0;
  for (const piece of pieces) {
    // An empty view of an empty ArrayBuffer reaches zlib as a NULL pointer,
    // and crc32(crc, NULL, 0) answers zlib's initial value, 0, not crc.
    if (piece.length === 0) continue;
    crc = crc32(piece, crc);
    await yieldToCommits();
  }
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc >>> 0, 0);
  pieces.push(trailer);

  mkdirSync(dir, { recursive: true });
  const file = snapshot.file ?? checkpointFileName(snapshot.boardId, snapshot.seq);
  const temporary = join(dir, file + TEMPORARY);
  let bytes = 0;
  try {
    const handle = await open(temporary, 'w');
    try {
      for (const piece of pieces) {
        for (let done = 0; done < piece.length; ) {
          const { bytesWritten } = await handle.write(piece, done, piece.length - done, bytes);
          done += bytesWritten;
          bytes += bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(dir, file));
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
  return { file, bytes, crc32: crc >>> 0 };
}

function bytesOf(column: Float64Array): Buffer {
  return Buffer.from(column.buffer, column.byteOffset, column.byteLength);
}

/** Makes a rename durable. Some systems (Windows) cannot open a directory for that; they journal renames anyway. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (process.platform !== 'win32') throw err;
  } finally {
    await handle?.close();
  }
}

/** What the checkpoints table says the file holds. */
export interface ExpectedCheckpoint {
  readonly boardId: string;
  readonly seq: number;
  readonly total: number;
  readonly bytes: number;
  readonly crc32: number;
}

/**
 * False when the file surely holds no entry of the participant: their id
 * does not occur in its bytes (ids are stored as they are). True when it
 * may, or when the file cannot be read (then readCheckpointFile says why).
 * Spares an erasure the decoding of checkpoints of boards they never were
 * on. Complexity: O(file size), one read and one byte search.
 */
export function mayHoldParticipant(dir: string, file: string, participantId: string): boolean {
  try {
    return readFileSync(join(dir, file)).includes(participantId, 0, 'utf8');
  } catch {
    return true;
  }
}

/** Reads a checkpoint file; throws CheckpointError when it is not the one expected or is damaged. Complexity: O(n). */
export function readCheckpointFile(dir: string, file: string, expected: ExpectedCheckpoint): RankedColumns {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, file));
  } catch (err) {
    throw new CheckpointError(`cannot read it: ${(err as Error).message}`);
  }
  // A small file may come in a slice of Node's shared Buffer pool: the
  // columns get an ArrayBuffer of their own, which their new owner may transfer.
  if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.length) bytes = Buffer.from(new Uint8Array(bytes).buffer);
  try {
    return decodeCheckpoint(bytes, expected);
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`it does not decode: ${(err as Error).message}`);
  }
}

/** Validates and decodes a checkpoint file's bytes; the columns are views of `bytes` where they can be. */
export function decodeCheckpoint(bytes: Buffer, expected: ExpectedCheckpoint): RankedColumns {
  if (bytes.length !== expected.bytes) throw new CheckpointError(`it has ${bytes.length} bytes, ${expected.bytes} were written`);
  if (bytes.length < HEADER_BYTES + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new CheckpointError('it is not a Ladder checkpoint');
  const stored = bytes.readUInt32LE(bytes.length - 4);
  const crc = crc32(bytes.subarray(0, bytes.length - 4)) >>> 0;
  if (crc !== stored || crc !== expected.crc32) throw new CheckpointError(`its checksum does not match (crc32 ${crc}, recorded ${stored} in the file and ${expected.crc32} in the database)`);
  if (bytes.readUInt32LE(8) !== FORMAT) throw new CheckpointError(`format ${bytes.readUInt32LE(8)} is not ${FORMAT}`);
  const boardBytes = bytes.readUInt32LE(12);
  const seq = bytes.readDoubleLE(16);
  const n = bytes.readDoubleLE(32);
  const m = bytes.readDoubleLE(40);
  const idBytes = bytes.readDoubleLE(48);
  const metadataBytes = bytes.readDoubleLE(56);
  const size = HEADER_BYTES + 8 * (3 * n + m) + idBytes + metadataBytes + boardBytes + 4;
  if (size !== bytes.length) throw new CheckpointError(`its header describes ${size} bytes, the file has ${bytes.length}`);
  let at = HEADER_BYTES;
  const column = (length: number): Float64Array => {
    const start = bytes.byteOffset + at;
    at += 8 * length;
    // A Buffer from a pool may start unaligned; then the column is copied.
    if (start % 8 === 0) return new Float64Array(bytes.buffer, start, length);
    return new Float64Array(new Uint8Array(bytes.buffer, start, 8 * length).slice().buffer);
  };
  const scores = column(n);
  const achievedAt = column(n);
  const updatedAt = column(n);
  const indexes = column(m);
  const text = (length: number): string => {
    const value = bytes.toString('utf8', at, at + length);
    at += length;
    return value;
  };
  const idText = text(idBytes);
  const metadataText = text(metadataBytes);
  const boardId = text(boardBytes);
  if (boardId !== expected.boardId || seq !== expected.seq) throw new CheckpointError(`it holds board '${boardId}' at seq ${seq}, not '${expected.boardId}' at seq ${expected.seq}`);
  if (n !== expected.total) throw new CheckpointError(`it holds ${n} entries, ${expected.total} were written`);
  const ids = n === 0 ? [] : idText.split('\n');
  if (ids.length !== n) throw new CheckpointError(`it holds ${ids.length} ids for ${n} entries`);
  const texts = m === 0 ? [] : metadataText.split('\n');
  if (texts.length !== m) throw new CheckpointError(`it holds ${texts.length} metadata texts for ${m} entries`);
  const metadata = new Map<number, Metadata>();
  for (let i = 0; i < m; i++) {
    const index = indexes[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new CheckpointError(`metadata index ${index} is out of range`);
    metadata.set(index, JSON.parse(texts[i]!) as Metadata);
  }
  return { ids, scores, achievedAt, updatedAt, metadata };
}

/**
 * Removes the files of `dir` that no checkpoint record names: temporary
 * files of a write that a crash interrupted, and files whose record was
 * deleted (superseded, or of a deleted board) before the file itself was.
 */
export function sweepCheckpointFiles(dir: string, recorded: ReadonlySet<string>): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (recorded.has(name) || !(name.endsWith('.ckpt') || name.endsWith('.ckpt' + TEMPORARY))) continue;
    unlinkSync(join(dir, name));
    removed.push(name);
  }
  return removed;
}
