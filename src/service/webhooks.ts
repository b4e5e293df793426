/**
 * Webhook delivery. A close that owes the board's webhook leaves a row in
 * the store's outbox (webhook_deliveries, written in the close's own
 * transaction). This worker claims the rows that are due, with a lease, so
 * that of all the processes sharing the store one at a time delivers each;
 * builds the body from the period's final rankings; POSTs it, signed
 * (webhook-signature.ts); and records a 2xx as delivered, once, or anything
 * else (another status, a network error, a timeout) as a failure that is
 * due again after an exponential backoff with jitter (core/webhooks.ts),
 * until a receiver answers 2xx or the delivery is WEBHOOK_MAX_AGE_MS old.
 *
 * Delivery is at least once: a process that stops or dies after the
 * receiver got the body but before the 2xx was recorded leaves the row to
 * be delivered again (at once after a stop, after the lease ran out after a
 * crash), with the same Ladder-Delivery id for the receiver to deduplicate by.
 *
 * Due times and leases are on the service's clock (tests move it by hand);
 * the signature's time is the wall clock, which receivers compare with
 * theirs. Rows are picked up every POLL_MS, and at once when a period closes
 * anywhere (the bus's period_closed).
 */
import { withSharedRanks } from '../core/ties.js';
import { deliveryId, nextAttempt, webhookBody, webhookEvent } from '../core/webhooks.js';
import type { ShownEntry } from '../core/types.js';
import type { ChangeBus } from '../feed/bus.js';
import type { RankQuery, RankRead } from '../index/index.js';
import type { Store, WebhookDelivery } from '../store/store.js';
import type { Clock } from './clock.js';
import { hiddenSet, widenQueries, withoutHidden } from './hiding.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

/** How often due deliveries are looked for. */
export const WEBHOOK_POLL_MS = 500;
/** How long a claim holds a delivery: longer than building and sending it can take (the POST times out after WEBHOOK_TIMEOUT_MS). */
export const WEBHOOK_LEASE_MS = 60_000;
/** A receiver that has not answered this long after the POST began fails the attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Deliveries claimed (and sent concurrently) at a time. */
const CLAIM_BATCH = 10;
/** Characters of a failed answer's body kept in last_error. */
const ERROR_EXCERPT = 200;

/** A failed attempt, as the worker tells it. */
export interface WebhookFailure {
  readonly delivery: WebhookDelivery;
  readonly error: string;
  /** When it is tried again; null when it was given up. */
  readonly nextAttemptAt: number | null;
}

export interface WebhookWorkerParts {
  readonly store: Store;
  readonly bus: ChangeBus;
  readonly clock: Clock;
  /** Adds the participants' display names and avatars to the entries, as rankings answers show them (ProfileCache.show). */
  readonly show?: (read: RankRead) => Promise<RankRead<ShownEntry>>;
  /** The wait before the first retry (LADDER_WEBHOOK_RETRY_MS); it doubles with each. */
  readonly retryMs: number;
  /** Hears every failed attempt. */
  readonly onFailure?: (failure: WebhookFailure) => void;
  /** Hears what went wrong in the worker itself (the store failed): the deliveries it held are retried once their leases run out. */
  readonly onError?: (err: unknown) => void;
}

export type WebhookState = 'pending' | 'delivering' | 'retrying' | 'delivered' | 'failed';

/**
 * A delivery's state at `now`: delivered (a receiver answered 2xx), failed
 * (given up), delivering (a process holds it), retrying (an attempt failed,
 * another is due), or pending (not tried yet).
 */
export function webhookState(delivery: WebhookDelivery, now: number): WebhookState {
  if (delivery.deliveredAt !== null) return 'delivered';
  if (delivery.nextAttemptAt === null) return 'failed';
  if (delivery.leasedUntil > now) return 'delivering';
  return delivery.attempts === 0 ? 'pending' : 'retrying';
}

export class WebhookWorker {
  readonly #parts: WebhookWorkerParts;
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  /** The pass under way, and the one asked for while it runs. */
  #running: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  /** Aborts the POSTs under way when the worker stops. */
  readonly #stopping = new AbortController();

  constructor(parts: WebhookWorkerParts) {
    this.#parts = parts;
  }

  /** Delivers what is due now (deliveries left pending by an earlier run too), then every `pollMs` and whenever a period closes. */
  start(pollMs = WEBHOOK_POLL_MS): void {
    if (this.#timer !== null || this.#stopping.signal.aborted) return;
    this.#timer = setInterval(() => {
      if (this.#running === null) void this.runDue();
    }, pollMs);
    this.#timer.unref();
    this.#unsubscribe = this.#parts.bus.subscribe((message) => {
      if (message.kind === 'period_closed') void this.runDue();
    });
    void this.runDue();
  }

  /**
   * Stops polling, aborts the POSTs under way and waits for them to be
   * recorded: an aborted attempt is due again at once, for the next start
   * (or another process) to deliver.
   */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#stopping.abort();
    await this.#queued;
    await this.#running;
  }

  /**
   * Delivers every delivery that is due by the service's clock and that no
   * other process holds, CLAIM_BATCH at a time, and resolves once each was
   * answered and recorded. A call while a pass runs gets the pass after it,
   * which sees what became due since. Never rejects (onError hears failures).
   */
  runDue(): Promise<void> {
    if (this.#running === null) return this.#startPass();
    this.#queued ??= this.#running.then(() => {
      this.#queued = null;
      return this.#startPass();
    });
    return this.#queued;
  }

  #startPass(): Promise<void> {
    const pass = this.#pass().finally(() => {
      if (this.#running === pass) this.#running = null;
    });
    this.#running = pass;
    return pass;
  }

  async #pass(): Promise<void> {
    const { store, clock } = this.#parts;
    try {
      while (!this.#stopping.signal.aborted) {
        const claimed = await store.claimWebhooks(clock.now(), WEBHOOK_LEASE_MS, CLAIM_BATCH);
        await Promise.all(claimed.map((delivery) => this.#deliver(delivery)));
        // Fewer than a batch: nothing more is due now; what becomes due soon is the next poll's.
        if (claimed.length < CLAIM_BATCH) return;
      }
    } catch (err) {
      this.#parts.onError?.(err);
    }
  }

  /** One attempt at a claimed delivery, recorded. */
  async #deliver(delivery: WebhookDelivery): Promise<void> {
    const { store, clock } = this.#parts;
    try {
      const { boardId, periodId } = delivery;
      // The board as stored, not as this process last heard it: its secret and finalized_at are the latest.
      const board = await store.getBoard(boardId);
      if (board === null) return; // deleted, and its deliveries with it
      const secret = board.config.webhookSecret;
      if (secret === null) {
        await this.#failed(delivery, 'the board has no webhook_url any more', null);
        return;
      }
      const queries: RankQuery[] = [{ kind: 'page', offset: 0, limit: delivery.top }];
      // The participants the board hides are left out, as in every read of it (service/hiding.ts).
      const hidden = board.config.hidden.length === 0 ? null : hiddenSet(board.config.hidden);
      const final = await store.readFinal(boardId, periodId, hidden === null ? queries : widenQueries(queries, [...hidden]), { ties: board.config.rankTies });
      if (final === null) return; // the period's archive was deleted (a reopen), and its delivery with it
      const event = webhookEvent(board.config, final.period);
      const archived: RankRead = { epoch: '', version: 0, total: final.period.total, pages: final.pages };
      const read = hidden === null ? archived : withoutHidden(archived, queries, hidden, board.config.sortOrder);
      const shown = this.#parts.show === undefined ? read : await this.#parts.show(read);
      const page = shown.pages[0]!;
      const body = JSON.stringify(webhookBody(event, final.period, withSharedRanks(page.entries, page.sharedRanks), delivery.attempts, board.config.scoreDecimals));
      const error = await this.#post(delivery.url, body, {
        'content-type': 'application/json',
        'user-agent': 'Ladder-Webhooks/1',
        [EVENT_HEADER]: event,
        [DELIVERY_HEADER]: deliveryId(boardId, periodId),
        [SIGNATURE_HEADER]: signWebhook(secret, body, Date.now()),
      });
      if (error === null) {
        await store.completeWebhook(boardId, periodId, clock.now());
        return;
      }
      const now = clock.now();
      // Cut short by a stop: due again at once, for the next start or another process.
      const next = this.#stopping.signal.aborted ? now : nextAttempt(delivery.createdAt, now, this.#parts.retryMs, delivery.attempts);
      await this.#failed(delivery, error, next);
    } catch (err) {
      this.#parts.onError?.(err);
    }
  }

  async #failed(delivery: WebhookDelivery, error: string, nextAttemptAt: number | null): Promise<void> {
    if (await this.#parts.store.retryWebhook(delivery.boardId, delivery.periodId, delivery.attempts, nextAttemptAt, error)) {
      this.#parts.onFailure?.({ delivery, error, nextAttemptAt });
    }
  }

  /** POSTs the body; null on a 2xx, else what went wrong. Redirects are not followed: a 3xx is a failure. */
  async #post(url: string, body: string, headers: Record<string, string>): Promise<string | null> {
    const signal = AbortSignal.any([AbortSignal.timeout(WEBHOOK_TIMEOUT_MS), this.#stopping.signal]);
    try {
      const response = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal });
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel().catch(() => undefined);
        return null;
      }
      const excerpt = await readExcerpt(response);
      return `HTTP ${response.status}${excerpt === '' ? '' : `: ${excerpt}`}`;
    } catch (err) {
      if (this.#stopping.signal.aborted) return 'Ladder stopped during the attempt';
      if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`;
      return networkError(err);
    }
  }
}

/** The start of a failed answer's body, for last_error; the rest is not read. */
async function readExcerpt(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < ERROR_EXCERPT) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // What arrived before the connection failed is excerpt enough.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, ERROR_EXCERPT).replace(/\s+/g, ' ').trim();
}

/** fetch's "fetch failed" says little; its cause says what (ECONNREFUSED, other side closed …). */
function networkError(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : null;
  const message = err instanceof Error ? err.message : String(err);
  return detail === null ? message : `${message}: ${detail}`;
}
