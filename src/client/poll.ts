/**
 * The last resort: long-polls the rankings endpoint (`wait_for_version_after`
 * with the `epoch` that version belongs to, and `If-None-Match` so an
 * unchanged board costs a 304) and hands each new state to the subscription
 * as a snapshot. Works through any proxy that passes plain HTTP.
 *
 * The ETag is the server's business (its format changes between server
 * versions), so the poller never builds one: it sends back exactly the tag
 * the server sent with the state the local copy holds.
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { errorFromResponse } from './errors.js';
import { LoopFeed, sleep, type FeedListener, type ResumePoint } from './feed.js';
import { boardPath, send, type HttpContext, type Query } from './http.js';
import { rankingFields, type RankingOf, type SnapshotMessage, type View, type ViewEntry } from './protocol.js';
import type { Board, Rankings } from './types.js';

/** A poll that brings nothing new sooner than this waits out the rest, so a server that does not hold requests is not hammered. */
const minPollIntervalMs = 1000;

export class PollFeed extends LoopFeed {
  /** The ETag the server sent with the last state handed on, and where that state stands. */
  private lastTag: (ResumePoint & { readonly etag: string }) | null = null;
  /** The last answer came with another tag than the state before it at the same version. */
  private retagged = false;

  constructor(
    private readonly http: HttpContext,
    private readonly boardId: string,
    private readonly view: View,
    listener: FeedListener,
    private readonly backoff: BackoffOptions,
    /** How long the server may hold each request. */
    private readonly waitMs: number,
    private readonly ranking: RankingOf = {},
  ) {
    super(listener);
    this.start();
  }

  protected async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const startedAt = Date.now();
      const since = this.listener.resumePoint();
      let snapshot: SnapshotMessage | null;
      try {
        snapshot = await this.poll(since, signal);
      } catch (err) {
        if (signal.aborted || this.stopOnFatal(err)) return;
        failures += 1;
        this.listener.down(failures);
        await sleep(backoffDelay(failures, this.backoff), signal);
        continue;
      }
      failures = 0;
      if (signal.aborted) return;
      // The same version in another epoch is another state, which replaces the local copy too; so does
      // an answer whose tag changed at the same version (what profiles show, e.g. a rename).
      if (snapshot !== null && (since === null || snapshot.version !== since.version || snapshot.epoch !== since.epoch || this.retagged)) {
        this.listener.message(snapshot);
      } else {
        await sleep(minPollIntervalMs - (Date.now() - startedAt), signal);
      }
    }
  }

  /**
   * The view's state once the board moved on from `since` (a higher version,
   * or another epoch: the server then answers at once); null when it did not in time.
   */
  private async poll(since: ResumePoint | null, signal: AbortSignal): Promise<SnapshotMessage | null> {
    this.retagged = false;
    const query: Query = { ...viewQuery(this.view), ...rankingFields(this.ranking) };
    const headers: Record<string, string> = {};
    if (since !== null) {
      query.wait_for_version_after = since.version;
      query.epoch = since.epoch;
      query.timeout_ms = this.waitMs;
      // Only when the tag belongs to the state the local copy holds; a copy from elsewhere gets a full answer.
      if (this.lastTag !== null && this.lastTag.version === since.version && this.lastTag.epoch === since.epoch) {
        headers['if-none-match'] = this.lastTag.etag;
      }
    }
    const response = await send(this.http, boardPath(this.boardId, '/rankings'), { query, headers, signal });
    if (response.status === 304) return null;
    if (!response.ok) {
      const error = await errorFromResponse(response);
      // An around view of a participant without an entry is empty, as it is over WebSocket.
      if (error.code !== 'participant_not_found') throw error;
      // The state of the ranking the view is of: the board's, or (a scope's, all-time) its first page's.
      if (this.ranking.scope !== undefined || this.ranking.period !== undefined) {
        const page = await send(this.http, boardPath(this.boardId, '/rankings'), { query: { limit: 1, ...rankingFields(this.ranking) }, signal });
        if (!page.ok) throw await errorFromResponse(page);
        const read = (await page.json()) as Rankings;
        return { type: 'snapshot', sub: 'poll', epoch: read.epoch, version: read.version, total: read.total, first_rank: 0, entries: [] };
      }
      const board = await send(this.http, boardPath(this.boardId), { signal });
      if (!board.ok) throw await errorFromResponse(board);
      const read = (await board.json()) as Board;
      return { type: 'snapshot', sub: 'poll', epoch: read.epoch, version: read.version, total: read.total, first_rank: 0, entries: [] };
    }
    const snapshot = snapshotOf((await response.json()) as Rankings);
    const etag = response.headers.get('etag');
    const last = this.lastTag;
    this.retagged = last !== null && etag !== null && etag !== last.etag && last.version === snapshot.version && last.epoch === snapshot.epoch;
    this.lastTag = etag === null ? null : { etag, version: snapshot.version, epoch: snapshot.epoch };
    return snapshot;
  }
}

function viewQuery(view: View): Query {
  if ('top' in view) return { limit: view.top };
  if ('around' in view) return { around: view.around, limit: 2 * view.radius + 1 };
  return { participants: view.participant };
}

/**
 * The rankings answer as the view's snapshot. REST `around` with limit 2k+1
 * is the same window as a live around view of radius k (README "Windows").
 */
export function snapshotOf(rankings: Rankings): SnapshotMessage {
  const entries: ViewEntry[] = rankings.entries.map(({ rank, participant_id, score, achieved_at, display_name, avatar_url }) => ({
    rank,
    participant_id,
    score,
    achieved_at,
    ...(display_name === undefined ? {} : { display_name }),
    ...(avatar_url === undefined ? {} : { avatar_url }),
  }));
  const first_rank = entries[0]?.rank ?? 0;
  return { type: 'snapshot', sub: 'poll', epoch: rankings.epoch, version: rankings.version, total: rankings.total, first_rank, entries };
}
