/**
 * The persister of cluster mode (DESIGN.md "Cluster durability"): the events
 * that the Redis scripts appended to the boards' streams go to PostgreSQL in
 * batches, through the Store port, by a consumer group that every Ladder
 * process joins.
 *
 * - A process drains the streams of the boards it wrote to, at once
 *   (`touched`): its events reach PostgreSQL within a commit or two.
 * - Every `sweepMs` it also looks at every board: entries no one read yet
 *   (their writer died before it could) are read, and entries that another
 *   consumer read but did not acknowledge for `claimIdleMs` (it died
 *   mid-batch) are claimed (XAUTOCLAIM). So a process that dies loses
 *   nothing: the others finish its work.
 * - appendEvents is idempotent on (board, seq) and on event ids, so an
 *   entry persisted twice (claimed from a consumer that had committed but not
 *   yet acknowledged) is kept once.
 * - An entry is acknowledged only after its commit, and a stream is trimmed
 *   only below its oldest entry that is not acknowledged.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ScoreEvent, Store } from '../store/store.js';

type Client = Redis | Cluster;

/** The consumer group every Ladder process joins. */
export const PERSISTER_GROUP = 'ladder-persister';

/** Batches whose commits may be under way while the next one is read. */
const PERSIST_AHEAD = 4;

/** A stream entry as XREADGROUP and XAUTOCLAIM return it: id and flat field list. */
type StreamEntry = [id: string, fields: string[]];

export interface PersisterOptions {
  /** This process's consumer name in the group (unique per process). */
  readonly consumer: string;
  /** The key of a board's stream. */
  readonly streamKey: (boardId: string) => string;
  /** Turns a stream entry into the event it logged. */
  readonly decode: (boardId: string, id: string, fields: readonly string[]) => ScoreEvent;
  /** Every board id, for the sweep. */
  readonly boardIds: () => Promise<readonly string[]>;
  /** Entries read per call. */
  readonly batchSize?: number;
  readonly sweepMs?: number;
  /** An entry read by another consumer and not acknowledged for this long is claimed. */
  readonly claimIdleMs?: number;
  /** Called after events of a board are committed, with their log positions as inclusive ranges, ascending. */
  readonly onPersisted?: (boardId: string, ranges: readonly (readonly [number, number])[]) => void;
  readonly onError?: (err: unknown, boardId: string | null) => void;
  /** Told the lag after each sweep. */
  readonly onSwept?: (lag: PersisterLag) => void;
}

export interface PersisterLag {
  /** Stream entries not committed to PostgreSQL yet, as of the last sweep. */
  readonly events: number;
  /** Age of the oldest of them (ms), as of the last sweep; 0 when none. */
  readonly ms: number;
}

export class Persister {
  readonly #redis: Client;
  readonly #store: Store;
  readonly #options: PersisterOptions;
  readonly #batchSize: number;
  /** Boards to drain; a board being drained is drained again when touched meanwhile. */
  readonly #touched = new Set<string>();
  readonly #draining = new Map<string, Promise<void>>();
  readonly #groups = new Set<string>();
  /**
   * The boards the sweep goes over: the last listing that succeeded, and the
   * boards touched since. While the listing fails (it comes from PostgreSQL,
   * which may be down) the sweep goes on over these, so the lag it measures
   * shows what waits for PostgreSQL instead of staying at its last value.
   */
  #known = new Set<string>();
  /**
   * Boards whose last drain failed: what it read is pending under this
   * consumer, and XREADGROUP '>' never returns it again. The next drain reads
   * it again first (from id 0), so that it is retried at the next sweep, not
   * only once XAUTOCLAIM finds it idle for claimIdleMs.
   */
  readonly #unfinished = new Set<string>();
  readonly #sweeper: NodeJS.Timeout;
  #sweeping: Promise<void> | null = null;
  #lag: PersisterLag = { events: 0, ms: 0 };
  #closed = false;

  constructor(redis: Client, store: Store, options: PersisterOptions) {
    this.#redis = redis;
    this.#store = store;
    this.#options = options;
    this.#batchSize = options.batchSize ?? 1000;
    this.#sweeper = setInterval(() => void this.sweep(), options.sweepMs ?? 2000);
    this.#sweeper.unref();
  }

  get lag(): PersisterLag {
    return this.#lag;
  }

  /** The board's stream has new entries written by this process: drain it soon. */
  touched(boardId: string): void {
    if (this.#closed) return;
    this.#known.add(boardId);
    this.#touched.add(boardId);
    if (!this.#draining.has(boardId)) this.#startDrain(boardId);
  }

  /**
   * Moves everything the board's stream holds to PostgreSQL now: entries no
   * one read, and those other consumers read and did not acknowledge yet,
   * however recent (a rebuild, which must not lose them).
   */
  async drainBoard(boardId: string): Promise<void> {
    await this.#claim(boardId, 0);
    this.touched(boardId);
    await this.#draining.get(boardId);
  }

  /**
   * Entries of the board's stream that PostgreSQL does not hold yet: unread
   * ones and those read but not acknowledged. After drainBoard on a board
   * no one writes to, 0 unless the drain failed.
   */
  async backlog(boardId: string): Promise<number> {
    return (await this.#boardLag(boardId)).events;
  }

  /** Resolves once every board touched so far is drained (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#draining.size > 0) await Promise.all(this.#draining.values());
  }

  /** One pass over every board: unread entries, stale pending ones, the lag. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepAll().finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  /** Stops sweeping and waits for the drains under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await this.flush();
    await this.#sweeping;
  }

  #startDrain(boardId: string): void {
    const drain = (async () => {
      while (this.#touched.delete(boardId)) {
        try {
          if (this.#unfinished.has(boardId)) {
            while ((await this.#persistOwnPending(boardId)) === this.#batchSize);
            this.#unfinished.delete(boardId);
          }
          await this.#persistUnread(boardId);
        } catch (err) {
          if (isNoGroup(err)) {
            // The stream was deleted and written again (a rebuild): make the group anew and read on.
            this.#groups.delete(boardId);
            this.#unfinished.delete(boardId);
            this.#touched.add(boardId);
          } else {
            this.#unfinished.add(boardId);
            this.#options.onError?.(err, boardId);
          }
        }
      }
    })().finally(() => this.#draining.delete(boardId));
    this.#draining.set(boardId, drain);
  }

  async #sweepAll(): Promise<void> {
    let events = 0;
    let oldest = Infinity;
    const drains: Promise<void>[] = [];
    try {
      this.#known = new Set(await this.#options.boardIds());
    } catch (err) {
      this.#options.onError?.(err, null);
    }
    for (const boardId of [...this.#known]) {
      if (this.#closed) return;
      try {
        await this.#claim(boardId, this.#options.claimIdleMs ?? 10_000);
      } catch (err) {
        if (isNoGroup(err)) this.#groups.delete(boardId);
        else this.#options.onError?.(err, boardId);
      }
      // Measured before the drain it starts, so that it counts what waits, not what is left after
      // catching up; and even when the events could not be moved, which is when the lag matters.
      try {
        const lag = await this.#boardLag(boardId);
        events += lag.events;
        if (lag.events > 0) {
          oldest = Math.min(oldest, lag.oldest);
          this.touched(boardId);
          const drain = this.#draining.get(boardId);
          if (drain !== undefined) drains.push(drain);
        }
      } catch (err) {
        if (isNoGroup(err)) this.#groups.delete(boardId);
        else this.#options.onError?.(err, boardId);
      }
    }
    this.#lag = { events, ms: events === 0 ? 0 : Math.max(0, Date.now() - oldest) };
    this.#options.onSwept?.(this.#lag);
    // The sweep ends with the drains it started (a caller of sweep() sees their work done), but
    // waits at most one sweep interval: a busy board's drain goes on as long as writes arrive.
    await Promise.race([Promise.all(drains), new Promise((resolve) => setTimeout(resolve, this.#options.sweepMs ?? 2000).unref())]);
  }

  /**
   * Moves the entries no one read to PostgreSQL, reading the next batch while
   * the commits of up to PERSIST_AHEAD others are under way: the store
   * applies its calls in order and group-commits those that meet, so a
   * backlog goes out in larger transactions with no round trip waiting on
   * another. The stream is trimmed once, after the last commit.
   */
  async #persistUnread(boardId: string): Promise<void> {
    const key = this.#options.streamKey(boardId);
    await this.#ensureGroup(boardId, key);
    const commits = new Set<Promise<void>>();
    let failure: { err: unknown } | null = null;
    for (;;) {
      const entries = await this.#read(key, '>');
      if (entries.length === 0) break;
      const commit: Promise<void> = this.#persist(boardId, key, entries as StreamEntry[], false).then(
        () => void commits.delete(commit),
        (err: unknown) => {
          commits.delete(commit);
          failure ??= { err };
        },
      );
      commits.add(commit);
      if (commits.size >= PERSIST_AHEAD) await Promise.race(commits);
      if (failure !== null || entries.length < this.#batchSize) break;
    }
    await Promise.all(commits);
    // What was read and not committed stays pending for this consumer: the next drain reads it again.
    if (failure !== null) throw (failure as { err: unknown }).err;
    await this.#trim(key);
  }

  async #read(key: string, from: '>' | '0'): Promise<(StreamEntry | [string, null])[]> {
    const reply = (await this.#redis.xreadgroup('GROUP', PERSISTER_GROUP, this.#options.consumer, 'COUNT', this.#batchSize, 'STREAMS', key, from)) as
      | [string, (StreamEntry | [string, null])[]][]
      | null;
    return reply?.[0]?.[1] ?? [];
  }

  /**
   * Reads up to a batch of the entries this consumer read and did not
   * acknowledge ('0'), commits it, acknowledges it. Returns how many it read.
   */
  async #persistOwnPending(boardId: string): Promise<number> {
    const key = this.#options.streamKey(boardId);
    await this.#ensureGroup(boardId, key);
    const entries = await this.#read(key, '0');
    // Re-reading pending entries, one trimmed away comes back without fields: it is gone, and is
    // acknowledged so that it stops holding the trim back (XAUTOCLAIM drops such entries the same way).
    const gone = entries.filter(([, fields]) => fields === null).map(([id]) => id);
    if (gone.length > 0) await this.#redis.xack(key, PERSISTER_GROUP, ...gone);
    await this.#persist(boardId, key, entries.filter((entry): entry is StreamEntry => entry[1] !== null));
    return entries.length;
  }

  /** Takes over (and persists) the entries another consumer read and left unacknowledged for `minIdleMs`. */
  async #claim(boardId: string, minIdleMs: number): Promise<void> {
    const key = this.#options.streamKey(boardId);
    await this.#ensureGroup(boardId, key);
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.#redis.xautoclaim(key, PERSISTER_GROUP, this.#options.consumer, minIdleMs, cursor, 'COUNT', this.#batchSize)) as [
        string,
        (StreamEntry | null)[],
        ...unknown[],
      ];
      // Entries trimmed away meanwhile come back as null.
      await this.#persist(boardId, key, entries.filter((entry): entry is StreamEntry => entry !== null));
      cursor = next;
    } while (cursor !== '0-0' && !this.#closed);
  }

  /** Commits the entries' events, acknowledges them, and (unless `trim` is false) trims the stream. */
  async #persist(boardId: string, key: string, entries: readonly StreamEntry[], trim = true): Promise<void> {
    if (entries.length === 0) return;
    const events = entries.map(([id, fields]) => this.#options.decode(boardId, id, fields));
    await this.#store.appendEvents(events);
    const ids = entries.map(([id]) => id);
    await this.#redis.xack(key, PERSISTER_GROUP, ...ids);
    this.#options.onPersisted?.(boardId, seqRanges(events.map((event) => event.seq)));
    if (trim) await this.#trim(key);
  }

  /** Trims the stream below its oldest entry that is not acknowledged. */
  async #trim(key: string): Promise<void> {
    // last-delivered-id is read before the pending entries. Read after them, it could take in
    // entries another consumer read in between and has not acknowledged, which were then trimmed
    // away: if that consumer dies, the claim finds them deleted and they never reach PostgreSQL.
    const group = await this.#groupInfo(key);
    if (group === null) return;
    const [pending, smallest] = (await this.#redis.xpending(key, PERSISTER_GROUP)) as [number, string | null, ...unknown[]];
    // With none pending, everything up to that last-delivered-id is acknowledged; the entries after it are unread.
    const below = pending > 0 && smallest !== null ? smallest : group.lastDelivered;
    await this.#redis.xtrim(key, 'MINID', below);
  }

  /** Unread plus unacknowledged entries, and the receipt time of the oldest of them. */
  async #boardLag(boardId: string): Promise<{ events: number; oldest: number }> {
    const key = this.#options.streamKey(boardId);
    const group = await this.#groupInfo(key);
    if (group === null) return { events: 0, oldest: 0 };
    const [pending, smallest] = (await this.#redis.xpending(key, PERSISTER_GROUP)) as [number, string | null, ...unknown[]];
    const events = pending + group.lag;
    if (events === 0) return { events: 0, oldest: 0 };
    const first = (await this.#redis.xrange(key, pending > 0 && smallest !== null ? smallest : `(${group.lastDelivered}`, '+', 'COUNT', 1)) as StreamEntry[];
    const entry = first[0];
    return { events, oldest: entry === undefined ? Date.now() : this.#options.decode(boardId, entry[0], entry[1]).receivedAt };
  }

  async #groupInfo(key: string): Promise<{ lastDelivered: string; lag: number } | null> {
    let groups: unknown[][];
    try {
      groups = (await this.#redis.xinfo('GROUPS', key)) as unknown[][];
    } catch (err) {
      if (isNoSuchKey(err)) return null;
      throw err;
    }
    for (const fields of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
      if (info.get('name') !== PERSISTER_GROUP) continue;
      const lag = info.get('lag');
      return { lastDelivered: String(info.get('last-delivered-id')), lag: typeof lag === 'number' ? lag : Number(lag ?? 0) };
    }
    return null;
  }

  /** Creates the group on the board's stream (and the stream) unless it exists. */
  async #ensureGroup(boardId: string, key: string): Promise<void> {
    if (this.#groups.has(boardId)) return;
    try {
      await this.#redis.xgroup('CREATE', key, PERSISTER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
    }
    this.#groups.add(boardId);
  }

  /** The board's stream was deleted (a rebuild, a deleted board): its group goes with it. */
  forget(boardId: string): void {
    this.#groups.delete(boardId);
    this.#unfinished.delete(boardId);
    // Not swept while the listing fails (a deleted board's stream must not be made anew); a board in use is known again once listed or touched.
    this.#known.delete(boardId);
  }
}

/** The positions as inclusive ranges of consecutive ones, ascending. */
function seqRanges(seqs: number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const seq of seqs.sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && seq <= last[1] + 1) last[1] = Math.max(last[1], seq);
    else ranges.push([seq, seq]);
  }
  return ranges;
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOGROUP');
}

function isNoSuchKey(err: unknown): boolean {
  return err instanceof Error && /no such key/i.test(err.message);
}
