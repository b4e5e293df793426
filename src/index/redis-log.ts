/**
 * A board's change log in Redis (`<prefix>{<board>}:log`, index/redis-keys.ts):
 * one stream entry per applied submission (duplicates and errors are not
 * logged), written by applyScores-6.lua in the same atomic step as the
 * ranking. A persister reads it into the durable store and trims what it
 * persisted; the index never trims it. `drop` and `load` delete it.
 *
 * The entry ids are versions: `<version>-<n>`, n = 0 for the submission
 * that made the version and 1, 2, … for those after it that changed
 * nothing. XREAD from logCursor(v) therefore yields the changes that made
 * version v + 1 and later.
 *
 * Every entry has the same fields in the same order (so the stream stores
 * their names once per node): see LOG_FIELDS. Empty means null; numbers
 * are decimal integers.
 */
import type { Entry, Metadata } from '../core/types.js';
import type { ScoreEvent } from '../store/store.js';

export const LOG_FIELDS = [
  'seq',
  'event_id',
  'participant_id',
  /** The submitted value: absolute under best/latest, a delta under increment. */
  'submitted',
  'timestamp',
  'received_at',
  'old_score',
  'new_score',
  'old_rank',
  'new_rank',
  'changed',
  'metadata',
  'achieved_at',
  'updated_at',
  /** The entry's metadata after the event: '=' when it is the event's own, '' when none, else a copy. */
  'entry_metadata',
  'fingerprint',
] as const;

export type LogField = (typeof LOG_FIELDS)[number];

/** The largest sequence part of a stream id. */
const LAST_N = '18446744073709551615';

/** The stream id after every entry of `version`: XREAD from it gets the entries of later versions. */
export function logCursor(version: number): string {
  return `${version}-${LAST_N}`;
}

/** The board version of a log entry id. */
export function versionOfLogId(id: string): number {
  const version = Number(id.slice(0, id.indexOf('-')));
  if (!Number.isSafeInteger(version)) throw new Error(`'${id}' is not a change log id`);
  return version;
}

function fieldsOf(id: string, fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  for (const name of LOG_FIELDS) if (!map.has(name)) throw new Error(`change log entry ${id} lacks the field '${name}'`);
  return map;
}

function integer(id: string, name: string, text: string): number {
  const value = Number(text);
  if (text === '' || !Number.isSafeInteger(value)) throw new Error(`change log entry ${id}: '${name}' is not an integer: '${text}'`);
  return value;
}

/** Metadata as the scripts carry it: JSON, or '' for none. */
export function metadataOf(text: string): Metadata | null {
  return text === '' ? null : (JSON.parse(text) as Metadata);
}

/**
 * The ScoreEvent of one change log entry of the board, from the flat
 * [field, value, …] list that XRANGE and XREAD answer. Its entry's
 * metadata is the entry's own after the event.
 */
export function decodeLogEntry(boardId: string, id: string, fields: readonly string[]): ScoreEvent {
  const map = fieldsOf(id, fields);
  const text = (name: LogField) => map.get(name)!;
  const number = (name: LogField) => integer(id, name, text(name));
  const optional = (name: LogField) => (text(name) === '' ? null : number(name));
  const participantId = text('participant_id');
  const metadata = metadataOf(text('metadata'));
  const entryMetadata = text('entry_metadata');
  const entry: Entry = {
    participantId,
    score: number('new_score'),
    achievedAt: number('achieved_at'),
    updatedAt: number('updated_at'),
    metadata: entryMetadata === '=' ? metadata : metadataOf(entryMetadata),
  };
  return {
    boardId,
    seq: number('seq'),
    eventId: text('event_id') === '' ? null : text('event_id'),
    participantId,
    submitted: number('submitted'),
    timestamp: number('timestamp'),
    receivedAt: number('received_at'),
    oldScore: optional('old_score'),
    newScore: entry.score,
    oldRank: optional('old_rank'),
    newRank: number('new_rank'),
    version: versionOfLogId(id),
    changed: text('changed') === '1',
    metadata,
    entry,
    fingerprint: text('fingerprint') === '' ? null : text('fingerprint'),
  };
}
