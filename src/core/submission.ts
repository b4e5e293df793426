/**
 * Validation of a score submission, in one place for every caller: the HTTP
 * schema answers early, but the service and the write port refuse the same
 * inputs with the same codes, whoever calls them (a script, the CLI, a test).
 */
import { invalidField, LadderError } from './errors.js';
import { assertEventId, assertParticipantId } from './ids.js';
import { isValidScore, MAX_SCORE } from './ordering.js';
import { canonicalScope, checkScopeShape, type ScopeValues } from './scopes.js';
import type { Metadata, Submission } from './types.js';

/** Bytes of JSON metadata allowed per board or entry. */
export const MAX_METADATA_BYTES = 4096;
/** Keys allowed in one metadata object. */
export const MAX_METADATA_KEYS = 64;

/** A submission as a caller gives it; `timestamp` defaults to the time it is received. */
export interface SubmissionInput {
  readonly participantId: string;
  readonly score: number;
  readonly timestamp?: number | null | undefined;
  readonly eventId?: string | null | undefined;
  readonly metadata?: Metadata | null | undefined;
  /** Scope values (core/scopes.ts); whether the board declares them is checked by the service. */
  readonly scope?: ScopeValues | null | undefined;
}

/**
 * Checks the input and completes it into a Submission. Throws LadderError
 * (invalid_score, invalid_request) naming the field, prefixed with `field`
 * (e.g. `scores[3]`) when given.
 */
export function toSubmission(input: SubmissionInput, now: number, field = ''): Submission {
  const at = (name: string) => (field === '' ? name : `${field}.${name}`);
  if (typeof input !== 'object' || input === null) throw invalidField(field === '' ? 'body' : field, 'must be an object');
  assertParticipantId(input.participantId, at('participant_id'));
  if (!isValidScore(input.score)) {
    throw new LadderError('invalid_score', `${at('score')} must be an integer within ±(2^53−1)`, { field: at('score') });
  }
  const given = input.timestamp ?? null;
  if (given !== null && !(Number.isSafeInteger(given) && given >= 0 && given <= MAX_SCORE)) {
    throw invalidField(at('timestamp'), 'must be an integer of milliseconds since 1970 (0 or more)');
  }
  const eventId = input.eventId ?? null;
  if (eventId !== null) assertEventId(eventId, at('event_id'));
  const metadata = input.metadata ?? null;
  checkMetadata(metadata, at('metadata'));
  const scope = input.scope ?? null;
  const submission: Submission =
    scope === null
      ? { participantId: input.participantId, score: input.score, timestamp: given ?? now, eventId, metadata }
      : { participantId: input.participantId, score: input.score, timestamp: given ?? now, eventId, metadata, scope: scopeOf(scope, at('scope')) };
  if (eventId === null) return submission;
  return { ...submission, fingerprint: fingerprintOf(input.participantId, input.score, given, metadata, submission.scope) };
}

/** A checked copy in name order, so that the fingerprint does not depend on how the client ordered the keys. */
function scopeOf(scope: unknown, field: string): ScopeValues {
  checkScopeShape(scope, field);
  return canonicalScope(scope);
}

/**
 * Checks a completed Submission (what the write port receives). Throws like
 * toSubmission. Complexity: O(1) without metadata.
 */
export function checkSubmission(submission: Submission, field = ''): void {
  toSubmission(submission, submission.timestamp, field);
}

/**
 * What a retry with the same event id must repeat: participant, score, the
 * client's own timestamp (none when the server chose it), metadata and, when
 * the submission has any, its scope values (a submission without them keeps
 * the fingerprint it always had).
 */
export function fingerprintOf(participantId: string, score: number, timestamp: number | null, metadata: Metadata | null, scope?: ScopeValues | null): string {
  if (scope === undefined || scope === null) return JSON.stringify([participantId, score, timestamp, metadata]);
  return JSON.stringify([participantId, score, timestamp, metadata, scope]);
}

/** The fingerprint of a submission: its own, or one that takes its timestamp as given. */
export function submissionFingerprint(submission: Submission): string {
  return submission.fingerprint ?? fingerprintOf(submission.participantId, submission.score, submission.timestamp, submission.metadata, submission.scope);
}

/** Metadata is stored with every entry, so it is a small JSON object. */
export function checkMetadata(metadata: unknown, field: string): asserts metadata is Metadata | null {
  if (metadata === null || metadata === undefined) return;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw invalidField(field, 'must be a JSON object or null');
  if (Object.keys(metadata).length > MAX_METADATA_KEYS) throw invalidField(field, `must have at most ${MAX_METADATA_KEYS} keys`);
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    // Only nesting deep enough to exhaust the stack gets here: JSON input has no cycles.
    throw invalidField(field, 'is nested too deeply');
  }
  if (utf8Length(json) > MAX_METADATA_BYTES) throw invalidField(field, `must serialize to at most ${MAX_METADATA_BYTES} bytes of JSON`);
}

/** UTF-8 length without Buffer, so that the core runs in browsers too. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}
