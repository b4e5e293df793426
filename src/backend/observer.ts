/**
 * What the parts behind the service tell whoever measures them (the metrics
 * of http/metrics.ts): each store's commits and failures, Redis's failed
 * commands, and the persister's lag, without knowing how they are measured.
 */
import { NO_STORE_OBSERVER, type StoreObserver } from '../store/observer.js';
import type { PersisterLag } from './persister.js';

/** The services Ladder stores in: SQLite (embedded), PostgreSQL and Redis (cluster). */
export type StoreKind = 'sqlite' | 'postgres' | 'redis';

export interface BackendObserver {
  /** The observer one store (or Redis) reports to. */
  store(kind: StoreKind): StoreObserver;
  /** The persister measured its lag (a sweep, every couple of seconds). */
  persisterSwept(lag: PersisterLag): void;
}

export const NO_BACKEND_OBSERVER: BackendObserver = { store: () => NO_STORE_OBSERVER, persisterSwept: () => undefined };
