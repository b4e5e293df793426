/**
 * Participants' profiles as answers show them: a bounded cache in front of
 * the store, so that a page of rankings or a live view's window gets its
 * display names and avatars without a store query per entry. A read asks
 * the cache for every participant it shows and the store, in one batched
 * query, for those the cache misses; participants without a profile are
 * remembered too, as most have none.
 *
 * Every process keeps its own cache, and the bus keeps them right: a
 * profile that changes or is erased is announced (`profile_changed`, which
 * the Redis bus carries to every process) and each process forgets it, so
 * its next read asks the store. A read that was already asking the store
 * when the announcement came does not put what it got in the cache. Redis
 * pub/sub delivers at most once, so a copy is also trusted only for
 * PROFILE_CACHE_MS: that bounds how long a process that missed an
 * announcement (its connection was down) shows an old name.
 *
 * Eviction is least recently used: a Map keeps insertion order, and a hit
 * moves the entry to the end.
 */
import type { Profile, RankedEntry, ShownEntry } from '../core/types.js';
import type { ChangeBus } from '../feed/bus.js';
import type { RankPage, RankRead } from '../index/index.js';
import type { Store } from '../store/store.js';

/** Participants whose profile (or lack of one) each process keeps in memory. */
export const PROFILE_CACHE_SIZE = 100_000;

/** How long a cached profile is trusted without an announcement. */
export const PROFILE_CACHE_MS = 60_000;

interface Cached {
  readonly profile: Profile | null;
  /** performance.now() after which it is asked for again. */
  readonly until: number;
}

export class ProfileCache {
  readonly #store: Store;
  readonly #capacity: number;
  /** Participant id → profile, or null for one without. */
  readonly #cached = new Map<string, Cached>();
  /** Store queries under way. */
  #asking = 0;
  /** Bumped on every announcement. */
  #changes = 0;
  /** While queries are under way: the change count at which each participant was last announced. */
  readonly #changedAt = new Map<string, number>();
  readonly #unsubscribe: () => void;

  constructor(store: Store, bus: ChangeBus, capacity = PROFILE_CACHE_SIZE) {
    this.#store = store;
    this.#capacity = capacity;
    this.#unsubscribe = bus.subscribe((message) => {
      if (message.kind === 'profile_changed') this.forget(message.participantId);
    });
  }

  /** Participants in the cache now (tests, metrics). */
  get size(): number {
    return this.#cached.size;
  }

  /**
   * The profiles of these participants (null for those without one), from
   * the cache, and from one store query for the ones it misses. Complexity:
   * O(k) for k ids, plus that query.
   */
  async profiles(participantIds: Iterable<string>): Promise<Map<string, Profile | null>> {
    const found = new Map<string, Profile | null>();
    const missing: string[] = [];
    const now = performance.now();
    for (const id of participantIds) {
      if (found.has(id)) continue;
      const cached = this.#cached.get(id);
      if (cached !== undefined) this.#cached.delete(id);
      if (cached === undefined || cached.until < now) {
        missing.push(id);
        found.set(id, null);
        continue;
      }
      this.#cached.set(id, cached);
      found.set(id, cached.profile);
    }
    if (missing.length === 0) return found;
    const since = this.#changes;
    this.#asking += 1;
    try {
      for (const profile of await this.#store.getProfiles(missing)) found.set(profile.participantId, profile);
      for (const id of missing) {
        // Announced while the query ran: what it read may be older than what the store has now.
        if ((this.#changedAt.get(id) ?? 0) <= since) this.#remember(id, found.get(id) ?? null);
      }
    } finally {
      this.#asking -= 1;
      if (this.#asking === 0) this.#changedAt.clear();
    }
    return found;
  }

  /** Forgets the participant's profile (it changed or was erased), here only; the bus tells the other processes. */
  forget(participantId: string): void {
    this.#changes += 1;
    this.#cached.delete(participantId);
    if (this.#asking > 0) this.#changedAt.set(participantId, this.#changes);
  }

  /**
   * The pages' entries with the display names and avatars their profiles
   * set; an entry without either is handed on as it is. One profiles() call
   * for every entry of every page.
   */
  async show(read: RankRead): Promise<RankRead<ShownEntry>> {
    const ids = new Set<string>();
    for (const page of read.pages) {
      for (const entry of page.entries) ids.add(entry.participantId);
      if (page.focus !== null) ids.add(page.focus.participantId);
    }
    if (ids.size === 0) return read;
    const profiles = await this.profiles(ids);
    let named = false;
    for (const profile of profiles.values()) if (profile !== null && (profile.displayName !== null || profile.avatarUrl !== null)) named = true;
    if (!named) return read;
    const shown = (entry: RankedEntry): ShownEntry => {
      const profile = profiles.get(entry.participantId);
      if (profile === null || profile === undefined || (profile.displayName === null && profile.avatarUrl === null)) return entry;
      const decorated: { -readonly [K in keyof ShownEntry]: ShownEntry[K] } = { ...entry };
      if (profile.displayName !== null) decorated.displayName = profile.displayName;
      if (profile.avatarUrl !== null) decorated.avatarUrl = profile.avatarUrl;
      return decorated;
    };
    const pages = read.pages.map((page): RankPage<ShownEntry> => ({ ...page, entries: page.entries.map(shown), focus: page.focus === null ? null : shown(page.focus) }));
    return { ...read, pages };
  }

  close(): void {
    this.#unsubscribe();
  }

  #remember(participantId: string, profile: Profile | null): void {
    this.#cached.delete(participantId);
    this.#cached.set(participantId, { profile, until: performance.now() + PROFILE_CACHE_MS });
    if (this.#cached.size > this.#capacity) this.#cached.delete(this.#cached.keys().next().value as string);
  }
}
