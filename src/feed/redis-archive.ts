/**
 * The window archive of cluster mode (feed/archive.ts) in Redis: one key per
 * view and chain point, `<prefix>{<board>}:w:<view key>:<epoch>:<version>`,
 * holding the window as JSON and expiring after `ttlMs`. Processes serving
 * the same view write the same window at the same version (a window is what
 * the board holds at that version), so a key written twice holds one value.
 *
 * It costs one SET per view and tick in which the view's window changed, so
 * the windows kept in one event-loop turn (a fan-out tick) go out together,
 * in one pipeline per board (a pipeline stays in one slot of a Redis Cluster).
 */
import type { Cluster, Redis } from 'ioredis';
import type { WindowArchive } from './archive.js';
import type { ViewWindow } from './window.js';

export class RedisWindowArchive implements WindowArchive {
  /** Windows to keep at the end of this turn, by board: key → JSON. */
  readonly #pending = new Map<string, Map<string, string>>();

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    /** How long a window is kept: as long as a view lingers for resumes (LADDER_VIEW_LINGER_MS), bounded. */
    private readonly ttlMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  keep(boardId: string, viewKey: string, epoch: string, version: number, window: ViewWindow): void {
    if (this.ttlMs <= 0) return;
    if (this.#pending.size === 0) setImmediate(() => this.#flush());
    let board = this.#pending.get(boardId);
    if (board === undefined) {
      board = new Map();
      this.#pending.set(boardId, board);
    }
    board.set(this.#key(boardId, viewKey, epoch, version), JSON.stringify(window));
  }

  #flush(): void {
    for (const windows of this.#pending.values()) {
      const pipeline = this.redis.pipeline();
      for (const [key, json] of windows) pipeline.set(key, json, 'PX', this.ttlMs);
      pipeline.exec().catch(this.onError);
    }
    this.#pending.clear();
  }

  async find(boardId: string, viewKey: string, epoch: string, version: number): Promise<ViewWindow | null> {
    const kept = await this.redis.get(this.#key(boardId, viewKey, epoch, version));
    return kept === null ? null : (JSON.parse(kept) as ViewWindow);
  }

  #key(boardId: string, viewKey: string, epoch: string, version: number): string {
    return `${this.prefix}{${boardId}}:w:${viewKey}:${epoch}:${version}`;
  }
}
