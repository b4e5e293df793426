/**
 * The one place that records refused submissions for the participants'
 * histories (GET .../participants/{pid}/events). Every cause of a refusal
 * calls it with the submissions and their errors, wherever it refuses them:
 * the HTTP schema, the service's validation, the write port's checks
 * (score_overflow, event_id_conflict), and whatever refuses submissions
 * later (a closed board, rate limits).
 *
 * Recorded are the submissions to an existing board that name a valid
 * participant and were refused with a 4xx: a verdict on the submission.
 * A 5xx (storage_failed, index_unavailable, not_durable_yet, ...) says the
 * server could not take it, and a retry may succeed, so it is not kept.
 *
 * Recording is write-behind: nobody's answer waits for it, it adds nothing
 * to an accepted submission's path, and its failure fails no submission
 * (it is logged). The store batches the records with its other writes
 * (store.ts recordRejections). While the store is slow or down, at most
 * MAX_PENDING_REJECTIONS wait; more are dropped, and counted in a warning.
 */
import type { LadderError } from '../core/errors.js';
import { EVENT_ID_PATTERN, isParticipantId } from '../core/ids.js';
import type { Rejection, Store } from '../store/store.js';

/** Rejections on their way to the store at most; beyond, new ones are dropped. */
export const MAX_PENDING_REJECTIONS = 10_000;

/** At most one warning about lost rejections per this long. */
const WARNING_INTERVAL_MS = 60_000;

/** A submission as it came, before or after validation: any field may be missing or malformed. */
export interface RefusedInput {
  readonly participantId?: unknown;
  readonly score?: unknown;
  readonly timestamp?: unknown;
  readonly eventId?: unknown;
}

export interface RefusedSubmission {
  readonly input: RefusedInput;
  readonly error: LadderError;
}

const eventIdPattern = new RegExp(EVENT_ID_PATTERN);

export class RejectionRecorder {
  readonly #store: Store;
  readonly #warn: (message: string) => void;
  #pending = 0;
  /** Rejections lost (dropped, or their write failed) since the last warning. */
  #lost = 0;
  #lastCause = '';
  #warnedAt = -Infinity;

  constructor(store: Store, warn: (message: string) => void) {
    this.#store = store;
    this.#warn = warn;
  }

  /** Rejections handed to the store and not settled yet. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Records those of the refused submissions that the history keeps (see
   * the file's comment), received at `receivedAt`. Resolves once the store
   * has committed them, or lost them (with a warning); never rejects, so
   * callers need not wait. The board is not checked here: the store drops
   * the rejections of a board it does not have.
   */
  record(boardId: string, refused: readonly RefusedSubmission[], receivedAt = Date.now()): Promise<void> {
    const rejections: Rejection[] = [];
    for (const { input, error } of refused) {
      if (error.status < 400 || error.status >= 500 || !isParticipantId(input.participantId)) continue;
      rejections.push({
        boardId,
        participantId: input.participantId,
        code: error.code,
        message: error.message,
        submitted: finite(input.score),
        timestamp: input.timestamp === undefined || input.timestamp === null ? receivedAt : finite(input.timestamp),
        eventId: typeof input.eventId === 'string' && eventIdPattern.test(input.eventId) ? input.eventId : null,
        receivedAt,
      });
    }
    if (rejections.length === 0) return Promise.resolve();
    if (this.#pending + rejections.length > MAX_PENDING_REJECTIONS) {
      this.#lose(rejections.length, `more than ${MAX_PENDING_REJECTIONS} were waiting for the store`);
      return Promise.resolve();
    }
    this.#pending += rejections.length;
    return this.#store.recordRejections(rejections).then(
      () => {
        this.#pending -= rejections.length;
      },
      (err: unknown) => {
        this.#pending -= rejections.length;
        this.#lose(rejections.length, err instanceof Error ? err.message : String(err));
      },
    );
  }

  #lose(count: number, cause: string): void {
    this.#lost += count;
    this.#lastCause = cause;
    const now = Date.now();
    if (now - this.#warnedAt < WARNING_INTERVAL_MS) return;
    this.#warn(`${this.#lost} refused submission(s) were not recorded in the participants' histories (${this.#lastCause}); the submissions themselves were answered`);
    this.#warnedAt = now;
    this.#lost = 0;
  }
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
