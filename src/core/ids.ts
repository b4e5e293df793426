/**
 * Identifier rules. Ids travel in URL paths and, in cluster mode, inside
 * Redis keys and member strings, so they are ASCII, URL-safe and bounded.
 * `.` and `..` are refused: a URL parser rewrites `/participants/..` into
 * another path, so no browser or fetch() could address them.
 */
import { invalidField } from './errors.js';

export const BOARD_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.~-]{0,63}$';
export const PARTICIPANT_ID_PATTERN = '^(?!\\.\\.?$)[A-Za-z0-9_.~:@-]{1,128}$';
export const EVENT_ID_PATTERN = '^[\\x21-\\x7e]{1,128}$';

const boardId = new RegExp(BOARD_ID_PATTERN);
const participantId = new RegExp(PARTICIPANT_ID_PATTERN);
const eventId = new RegExp(EVENT_ID_PATTERN);

export const BOARD_ID_RULE = 'must be 1 to 64 characters of A-Z a-z 0-9 _ . ~ -, starting with a letter or digit';
export const PARTICIPANT_ID_RULE = "must be 1 to 128 characters of A-Z a-z 0-9 _ . ~ : @ -, and not '.' or '..'";
export const EVENT_ID_RULE = 'must be 1 to 128 printable ASCII characters without spaces';

export function isBoardId(value: unknown): value is string {
  return typeof value === 'string' && boardId.test(value);
}

export function isParticipantId(value: unknown): value is string {
  return typeof value === 'string' && participantId.test(value);
}

export function assertParticipantId(value: unknown, field = 'participant_id'): asserts value is string {
  if (!isParticipantId(value)) throw invalidField(field, PARTICIPANT_ID_RULE);
}

export function assertEventId(value: unknown, field = 'event_id'): asserts value is string {
  if (typeof value !== 'string' || !eventId.test(value)) throw invalidField(field, EVENT_ID_RULE);
}
