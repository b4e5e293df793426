/**
 * What both SQL stores check and derive the same way from a ScoreEvent
 * before they log it.
 */
import type { ScoreEvent } from './store.js';

/**
 * Throws when the event's entry does not belong to it: the log keeps the
 * entry's state in the event's own participant_id and new_score columns, so
 * they must agree.
 */
export function checkEvent(event: ScoreEvent): void {
  if (event.entry.participantId !== event.participantId || event.entry.score !== event.newScore) {
    throw new Error(`score event of '${event.participantId}' on '${event.boardId}' carries an entry of '${event.entry.participantId}' with score ${event.entry.score}, expected score ${event.newScore}`);
  }
}

/**
 * Whether the entry's metadata after the event is the event's own. The
 * operators hand the submission's object on when it applies, so identity
 * answers almost always; equal JSON means the same metadata either way.
 */
export function metadataApplied(event: ScoreEvent, metadataJson: string | null): boolean {
  const entryMetadata = event.entry.metadata;
  if (entryMetadata === event.metadata) return true;
  if (entryMetadata === null || event.metadata === null) return false;
  return JSON.stringify(entryMetadata) === metadataJson;
}
