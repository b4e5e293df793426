/**
 * The bus carries committed changes from the service to the feed (DESIGN.md
 * "bus"). Embedded mode uses LocalBus, in the same process; cluster mode will
 * put Redis Streams behind the same interface.
 */
import type { Change } from '../core/types.js';

export type BusMessage =
  /** Changes of one board were committed; `version` is the board's version after them. */
  | { readonly kind: 'changes'; readonly boardId: string; readonly version: number; readonly changes: readonly Change[] }
  /** The board was deleted. */
  | { readonly kind: 'dropped'; readonly boardId: string };

export type BusListener = (message: BusMessage) => void;

export interface ChangeBus {
  publish(message: BusMessage): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: BusListener): () => void;
}

export class LocalBus implements ChangeBus {
  private readonly listeners = new Set<BusListener>();

  publish(message: BusMessage): void {
    for (const listener of this.listeners) listener(message);
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
