/**
 * The file formats of an export: CSV with a header line, or NDJSON. Each
 * line is one entry: rank, participant_id, score, achieved_at, updated_at
 * (empty / null when the source does not keep it) and metadata (JSON; in CSV
 * one quoted field, empty without metadata). A page is encoded into one
 * chunk, so the stream holds one page of text at a time.
 */
import { Readable } from 'node:stream';
import { csvField } from '../core/csv.js';
import type { ExportEntry, RankingPage } from '../service/export.js';

export type ExportFormat = 'csv' | 'ndjson';

export const EXPORT_COLUMNS = ['rank', 'participant_id', 'score', 'achieved_at', 'updated_at', 'metadata'] as const;

export const exportMediaTypes: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

function csvLine(entry: ExportEntry): string {
  const metadata = entry.metadata === null ? '' : csvField(JSON.stringify(entry.metadata));
  return `${entry.rank},${csvField(entry.participantId)},${entry.score},${entry.achievedAt},${entry.updatedAt ?? ''},${metadata}\n`;
}

function ndjsonLine(entry: ExportEntry): string {
  // Written out rather than JSON.stringify of a fresh object: the same text, without an object per entry.
  return (
    `{"rank":${entry.rank},"participant_id":${JSON.stringify(entry.participantId)},"score":${entry.score},` +
    `"achieved_at":${entry.achievedAt},"updated_at":${entry.updatedAt ?? 'null'},"metadata":${entry.metadata === null ? 'null' : JSON.stringify(entry.metadata)}}\n`
  );
}

/** The text of one page's entries. Complexity: O(entries). */
export function encodePage(page: RankingPage, format: ExportFormat): string {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  let text = '';
  for (const entry of page.entries) text += line(entry);
  return text;
}

/**
 * The export as a byte stream: the CSV header, then `first`, then each page
 * of `rest`, read only when the stream below has taken the previous one
 * (backpressure: a slow client holds the reads, not a growing buffer). When
 * the stream is destroyed (the client went away), `rest` is closed too.
 */
export function exportStream(first: RankingPage, rest: AsyncIterator<RankingPage>, format: ExportFormat): Readable {
  async function* chunks(): AsyncGenerator<string> {
    if (format === 'csv') yield `${EXPORT_COLUMNS.join(',')}\n`;
    yield encodePage(first, format);
    for await (const page of { [Symbol.asyncIterator]: () => rest }) {
      const text = encodePage(page, format);
      if (text !== '') yield text;
    }
  }
  // Bytes, not objects: the stream's buffer is bounded by a byte count, one page of text at most beyond it.
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
}
