/**
 * What a store tells whoever measures it (the metrics of http/metrics.ts),
 * without the store knowing how it is measured.
 */
export interface StoreObserver {
  /** A group commit committed one transaction that held `events` score events (at least one). */
  committed(events: number): void;
  /** A call failed in the store itself (I/O, a lost or refused connection, a timeout), not because of what it was given. */
  failed(): void;
}

export const NO_STORE_OBSERVER: StoreObserver = { committed: () => undefined, failed: () => undefined };
