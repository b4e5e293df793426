/**
 * Imports through the service (POST /v1/leaderboards/{id}/import): the
 * records of a file (core/import-records.ts) submitted in batches of 1000,
 * one batch at a time; the body is read no faster. Memory holds one batch,
 * whatever the size of the file; the lines that fail are counted, and the
 * first of them kept for the answer.
 */
import { LadderError } from '../core/errors.js';
import type { ImportReader, ImportRecord } from '../core/import-records.js';
import type { SubmissionInput } from '../core/submission.js';
import type { Ladder } from './ladder.js';

/** Submissions per backend call: the batch endpoint's size. */
const IMPORT_BATCH = 1000;
/** Failed lines an answer lists; the others are only counted. */
export const MAX_LISTED_FAILURES = 1000;

export interface ImportFailure {
  readonly line: number;
  readonly error: LadderError;
}

export interface ImportOutcome {
  readonly records: number;
  readonly accepted: number;
  readonly failed: number;
  /** The first MAX_LISTED_FAILURES failed lines, in file order. */
  readonly failures: readonly ImportFailure[];
}

/**
 * Reads `lines` with `reader` and submits its records to the board, in file
 * order. Throws what the reader throws for a header it cannot use (before a
 * record is submitted), and board_not_found when the board goes away.
 * Complexity: one backend write per 1000 records.
 */
export async function importLines(ladder: Ladder, boardId: string, lines: AsyncIterable<string | null>, reader: ImportReader): Promise<ImportOutcome> {
  await ladder.requireBoard(boardId);
  let records = 0;
  let failed = 0;
  const failures: ImportFailure[] = [];
  let batch: ImportRecord[] = [];
  let inputs: SubmissionInput[] = [];
  const submit = async () => {
    const outcomes = inputs.length === 0 ? [] : await ladder.submitMany(boardId, inputs);
    let k = 0;
    // In file order: a record's own error, or the outcome of its submission.
    for (const record of batch) {
      const error = 'error' in record ? record.error : outcomes[k++];
      if (!(error instanceof LadderError)) continue;
      failed += 1;
      if (failures.length < MAX_LISTED_FAILURES) failures.push({ line: record.line, error });
    }
    batch = [];
    inputs = [];
  };
  const take = async (record: ImportRecord | null) => {
    if (record === null) return;
    records += 1;
    batch.push(record);
    if ('input' in record) inputs.push(record.input);
    if (inputs.length === IMPORT_BATCH || batch.length === 2 * IMPORT_BATCH) await submit();
  };
  let line = 0;
  for await (const text of lines) {
    line += 1;
    await take(reader.line(text, line));
  }
  await take(reader.end());
  await submit();
  return { records, accepted: records - failed, failed, failures };
}
