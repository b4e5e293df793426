/** Score events for the stores' own tests. */
import type { Entry } from '../../src/core/types.js';
import type { ScoreEvent } from '../../src/store/store.js';

let lastSeq = 0;

/**
 * A new participant's event, with a seq greater than every one before (seqs
 * only need to grow per board), and a fingerprint when it has an event id.
 */
export function newEntryEvent(boardId: string, version: number, participantId: string, score: number, eventId: string | null = null): ScoreEvent {
  const entry: Entry = { participantId, score, achievedAt: version, updatedAt: version, metadata: null };
  return {
    boardId,
    seq: ++lastSeq,
    eventId,
    participantId,
    submitted: score,
    timestamp: version,
    receivedAt: version,
    oldScore: null,
    newScore: score,
    oldRank: null,
    newRank: 1,
    version,
    changed: true,
    metadata: null,
    entry,
    fingerprint: eventId === null ? null : `fp-${eventId}`,
  };
}
