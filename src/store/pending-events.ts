/**
 * The events with an event id that a store has on their way to the
 * database, so that findEvent sees them before their commit (store.ts
 * findEvent: read-your-writes). The first event of a (board, event id) is
 * the one answered: a later one is a duplicate that its commit drops.
 */
import type { ScoreEvent } from './store.js';

export class PendingEvents {
  private readonly byKey = new Map<string, ScoreEvent>();

  /** Registers the events; returns what forgets them again, to be called once their commit settled. */
  add(events: readonly ScoreEvent[]): () => void {
    const keys: string[] = [];
    for (const event of events) {
      if (event.eventId === null) continue;
      const key = eventKey(event.boardId, event.eventId);
      if (this.byKey.has(key)) continue;
      this.byKey.set(key, event);
      keys.push(key);
    }
    return () => {
      for (const key of keys) this.byKey.delete(key);
    };
  }

  get(boardId: string, eventId: string): ScoreEvent | null {
    return this.byKey.get(eventKey(boardId, eventId)) ?? null;
  }
}

function eventKey(boardId: string, eventId: string): string {
  return `${boardId}\n${eventId}`;
}
