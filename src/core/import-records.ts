/**
 * The lines of an import file as score submissions (`ladder import`). A file
 * is CSV with a header line, or NDJSON (one JSON object a line); either way
 * its fields are those of a score submission: participant_id, score,
 * timestamp (or achieved_at, its name in an export), event_id, metadata. The
 * other columns of an export (rank, updated_at) are ignored, so an export
 * imports as it is. Each record is checked with the rules of every
 * submission (core/submission.ts), so a bad line is reported with the code
 * and message the API would give it, before anything is sent.
 *
 * A record without an event_id gets `import:<source>:<line>`, so that
 * importing the same file again (after an interruption, say) with the same
 * source applies no line twice, also on an `increment` board.
 */
import { parseCsvRecord, quoteOpenAfter } from './csv.js';
import { invalidField, LadderError } from './errors.js';
import { toSubmission, type SubmissionInput } from './submission.js';

export type ImportFormat = 'csv' | 'ndjson';

/**
 * A name for one file's lines: those without an event_id get
 * `import:<source>:<line>`. The same source for the same file makes a second
 * run a retry of the first.
 */
export const IMPORT_SOURCE_PATTERN = '^[A-Za-z0-9_.~:-]{1,64}$';
export const IMPORT_SOURCE_RULE = 'must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ : -';

/** The event id of a line without one. */
export function importEventId(source: string, line: number): string {
  return `import:${source}:${line}`;
}

/** One record of the file: its submission, or why it has none. `line` is the 1-based line it starts on. */
export type ImportRecord = { readonly line: number; readonly input: SubmissionInput } | { readonly line: number; readonly error: LadderError };

/** The fields a record may have. */
export const IMPORT_FIELDS = ['participant_id', 'score', 'timestamp', 'achieved_at', 'event_id', 'metadata'] as const;
/** Columns of an export that an import skips. */
const EXPORT_ONLY_FIELDS = ['rank', 'updated_at'];

type ImportField = (typeof IMPORT_FIELDS)[number];

function isImportField(name: string): name is ImportField {
  return (IMPORT_FIELDS as readonly string[]).includes(name);
}

/**
 * Characters a record may have, over all its lines. A submission's fields
 * take far less (metadata is at most 4 KiB of JSON); the bound keeps a file
 * without line breaks, or with a quote that never closes, from filling memory.
 */
export const MAX_RECORD_LENGTH = 64 * 1024;

/**
 * The lines of a byte stream, decoded as UTF-8 as they arrive, without their
 * line breaks (\n or \r\n); null for a line longer than MAX_RECORD_LENGTH,
 * whose text is dropped as it is read. Holds one chunk and one line at a
 * time; `onBytes` hears the bytes read so far.
 */
export async function* textLines(chunks: AsyncIterable<Uint8Array>, onBytes?: (bytes: number) => void): AsyncGenerator<string | null> {
  const decoder = new TextDecoder();
  let rest = '';
  let tooLong = false;
  let bytes = 0;
  const lineOf = (text: string) => (tooLong || text.length > MAX_RECORD_LENGTH ? null : text.endsWith('\r') ? text.slice(0, -1) : text);
  for await (const chunk of chunks) {
    bytes += chunk.length;
    onBytes?.(bytes);
    const text = rest + decoder.decode(chunk, { stream: true });
    let from = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', from)) {
      yield lineOf(text.slice(from, end));
      tooLong = false;
      from = end + 1;
    }
    rest = text.slice(from);
    if (rest.length > MAX_RECORD_LENGTH) {
      tooLong = true;
      rest = '';
    }
  }
  rest += decoder.decode();
  if (rest !== '' || tooLong) yield lineOf(rest);
}

/**
 * The format of a file: by its extension (.csv; .ndjson, .jsonl), else by
 * its first line (an NDJSON line starts with `{`, a CSV header does not).
 */
export function detectImportFormat(fileName: string, firstLine: string): ImportFormat {
  const name = fileName.toLowerCase();
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  return firstLine.replace(/^\uFEFF/, '').trimStart().startsWith('{') ? 'ndjson' : 'csv';
}

/**
 * Turns the lines of one file into records, in order. Feed it every line
 * (without its line break); it keeps one record's lines at a time, so its
 * memory is that of the longest record.
 */
export class ImportReader {
  readonly format: ImportFormat;
  /** null: records without an event_id get none. */
  readonly #source: string | null;
  /** CSV: the header's field per column, null for a skipped column; null until the header is read. */
  #columns: (ImportField | null)[] | null = null;
  /** CSV: a record whose quoted field goes on to the next line, and the line it starts on. */
  #pending: { text: string; line: number } | null = null;
  /** CSV: a record that grew past MAX_RECORD_LENGTH, whose lines are dropped until its quoted field closes. */
  #dropping: { line: number } | null = null;
  #first = true;

  constructor(format: ImportFormat, source: string | null) {
    this.format = format;
    this.#source = source;
  }

  /**
   * The record that `text`, line number `line`, completes, or null (a blank
   * line, the CSV header, a quoted field that goes on). `text` null stands
   * for a line too long to read (textLines). Throws LadderError for a CSV
   * header that cannot be used, which fails the whole file.
   */
  line(text: string | null, line: number): ImportRecord | null {
    if (this.#first && text !== null) text = text.replace(/^\uFEFF/, '');
    this.#first = false;
    if (this.format === 'ndjson') {
      if (text === null) return { line, error: tooLong(line, line) };
      return text.trim() === '' ? null : this.#ndjson(text, line);
    }
    if (text === null) {
      // No quote can be told apart in a line that was not kept: it ends whatever record it is in.
      const first = this.#pending?.line ?? this.#dropping?.line ?? line;
      this.#pending = null;
      this.#dropping = null;
      return this.#failed(first, line);
    }
    if (this.#dropping !== null) {
      if (quoteOpenAfter(text, true)) return null;
      const { line: first } = this.#dropping;
      this.#dropping = null;
      return this.#failed(first, line);
    }
    const pending = this.#pending;
    if (pending === null && text.trim() === '') return null;
    const record = pending === null ? { text, line } : { text: `${pending.text}\n${text}`, line: pending.line };
    const open = quoteOpenAfter(text, pending !== null);
    if (record.text.length > MAX_RECORD_LENGTH) {
      this.#pending = null;
      if (open) {
        this.#dropping = { line: record.line };
        return null;
      }
      return this.#failed(record.line, line);
    }
    if (open) {
      this.#pending = record;
      return null;
    }
    this.#pending = null;
    return this.#csv(record.text, record.line);
  }

  /** A record too long to read, on lines first .. last. */
  #failed(first: number, last: number): ImportRecord {
    if (this.format === 'csv' && this.#columns === null) throw invalidField('header', `is longer than ${MAX_RECORD_LENGTH} characters`);
    return { line: first, error: tooLong(first, last) };
  }

  /** At the end of the file: a record whose quoted field was never closed, if any. */
  end(): ImportRecord | null {
    const line = this.#pending?.line ?? this.#dropping?.line;
    this.#pending = null;
    this.#dropping = null;
    if (line === undefined) return null;
    return { line, error: new LadderError('invalid_request', 'a quoted field opened on this line is not closed before the end of the file') };
  }

  #csv(text: string, line: number): ImportRecord | null {
    const cells = parseCsvRecord(text);
    if (this.#columns === null) {
      this.#columns = headerOf(cells);
      return null;
    }
    if (cells === null) return { line, error: new LadderError('invalid_request', 'the line is not valid CSV (a quote inside an unquoted field, or text after a closing quote)') };
    if (cells.length !== this.#columns.length) {
      return { line, error: new LadderError('invalid_request', `the line has ${cells.length} fields, the header ${this.#columns.length}`) };
    }
    const fields: Partial<Record<ImportField, unknown>> = {};
    for (const [i, column] of this.#columns.entries()) {
      const cell = cells[i] as string;
      if (column === null || cell === '') continue;
      if (column === 'metadata') {
        try {
          fields.metadata = JSON.parse(cell);
        } catch (err) {
          return { line, error: invalidField('metadata', `is not valid JSON: ${(err as Error).message}`) };
        }
      } else if (column === 'score' || column === 'timestamp' || column === 'achieved_at') {
        // Only plain decimal integers are numbers here; anything else fails the rule of its field.
        fields[column] = /^-?\d+$/.test(cell) ? Number(cell) : cell;
      } else {
        fields[column] = cell;
      }
    }
    return this.#record(fields, line);
  }

  #ndjson(text: string, line: number): ImportRecord {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return { line, error: new LadderError('malformed_json', `the line is not valid JSON: ${(err as Error).message}`) };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { line, error: invalidField('line', 'must be a JSON object') };
    const fields: Partial<Record<ImportField, unknown>> = {};
    for (const [name, value] of Object.entries(parsed)) {
      if (isImportField(name)) fields[name] = value;
      else if (!EXPORT_ONLY_FIELDS.includes(name)) return { line, error: unknownField(name) };
    }
    return this.#record(fields, line);
  }

  #record(fields: Partial<Record<ImportField, unknown>>, line: number): ImportRecord {
    if (fields.timestamp !== undefined && fields.achieved_at !== undefined) {
      return { line, error: invalidField('achieved_at', 'cannot be given with timestamp (an import takes achieved_at as the timestamp)') };
    }
    const timeField = fields.timestamp === undefined && fields.achieved_at !== undefined ? 'achieved_at' : 'timestamp';
    const given = fields.event_id ?? null;
    const input = {
      participantId: fields.participant_id,
      score: fields.score,
      timestamp: fields.timestamp ?? fields.achieved_at ?? null,
      eventId: given === null && this.#source !== null ? importEventId(this.#source, line) : given,
      metadata: fields.metadata ?? null,
    } as SubmissionInput;
    if (input.participantId === undefined) return { line, error: invalidField('participant_id', 'is required') };
    if (input.score === undefined) return { line, error: invalidField('score', 'is required') };
    try {
      toSubmission(input, 0);
    } catch (err) {
      if (!(err instanceof LadderError)) throw err;
      if (timeField === 'achieved_at' && err.details?.field === 'timestamp') {
        return { line, error: invalidField('achieved_at', err.message.replace(/^timestamp /, '')) };
      }
      return { line, error: err };
    }
    return { line, input };
  }
}

/** The header's field per column. Throws when a column is unknown or repeated, or participant_id or score is missing. */
function headerOf(cells: string[] | null): (ImportField | null)[] {
  if (cells === null) throw invalidField('header', 'is not valid CSV');
  const seen = new Set<string>();
  const columns = cells.map((raw) => {
    const name = raw.trim().toLowerCase();
    if (seen.has(name)) throw invalidField('header', `names the column '${name}' twice`);
    seen.add(name);
    if (isImportField(name)) return name;
    if (EXPORT_ONLY_FIELDS.includes(name)) return null;
    throw invalidField('header', `names the unknown column '${name}'; known: ${IMPORT_FIELDS.join(', ')} (${EXPORT_ONLY_FIELDS.join(' and ')} are skipped)`);
  });
  for (const required of ['participant_id', 'score']) {
    if (!seen.has(required)) throw invalidField('header', `must name the column ${required} (the first line of a CSV file is its header)`);
  }
  return columns;
}

function tooLong(first: number, last: number): LadderError {
  const where = first === last ? 'the line' : `the record on lines ${first} to ${last}`;
  return new LadderError('invalid_request', `${where} is longer than ${MAX_RECORD_LENGTH} characters`);
}

function unknownField(name: string): LadderError {
  return invalidField(name, `is not a known field; known: ${IMPORT_FIELDS.join(', ')} (${EXPORT_ONLY_FIELDS.join(' and ')} are skipped)`);
}
