/**
 * The bus carries what every process must hear at once (DESIGN.md "bus"):
 * committed changes of a board, and changes to the registry of boards and
 * keys, and to participants' profiles. Embedded mode uses LocalBus, in the same process; cluster mode puts
 * Redis behind the same interface.
 */
import type { BoardConfig } from '../core/types.js';

export type BusMessage =
  /**
   * Changes of one board were committed; `version` is the board's version
   * after them. Listeners read the board again for what changed (the feed
   * reads its views' windows), so the message carries no entries and costs
   * the same over Redis as in-process.
   */
  | { readonly kind: 'changes'; readonly boardId: string; readonly epoch: string; readonly version: number }
  /** The board's live state was replaced (a reload after a failed commit, a rebuild): viewers resync. */
  | { readonly kind: 'board_reset'; readonly boardId: string }
  /**
   * A period of the board closed and was archived (`periodId`); its live
   * standings start again empty (`next` is the new period's id), or, with
   * `next` null, the board was finalized. Viewers hear it, then resync.
   */
  | { readonly kind: 'period_closed'; readonly boardId: string; readonly periodId: string; readonly next: string | null }
  | { readonly kind: 'board_created'; readonly config: BoardConfig }
  | { readonly kind: 'board_changed'; readonly config: BoardConfig }
  | { readonly kind: 'board_deleted'; readonly boardId: string }
  /** Cluster mode: a persister committed the board's events at these log positions (inclusive ranges) to PostgreSQL; LADDER_ACK=durable waits for it. */
  | { readonly kind: 'persisted'; readonly boardId: string; readonly ranges: readonly (readonly [number, number])[] }
  /**
   * A participant's profile was set or deleted (an erasure): every process
   * forgets what it cached of it (service/profiles.ts), and the feed reads
   * again the live views that show the participant.
   */
  | { readonly kind: 'profile_changed'; readonly participantId: string }
  /** An API key was revoked: every process forgets it at once. */
  | { readonly kind: 'key_revoked'; readonly keyId: string; readonly hash: string };

export type BusListener = (message: BusMessage) => void;

export interface ChangeBus {
  publish(message: BusMessage): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: BusListener): () => void;
  /**
   * Asks for the board's `changes` published by other processes too, until
   * the returned function is called; resolves once they are delivered. Other
   * messages reach every process unasked.
   */
  watch(boardId: string): Promise<() => void>;
}

export class LocalBus implements ChangeBus {
  private readonly listeners = new Set<BusListener>();

  /** `onListenerError` hears what a listener threw, so that one failing listener never stops the publisher or the others. */
  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  publish(message: BusMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One process: every change is published here, so there is nothing to ask for. */
  watch(): Promise<() => void> {
    return Promise.resolve(() => undefined);
  }
}
