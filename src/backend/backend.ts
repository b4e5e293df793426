/**
 * The ports a backend plugs into (DESIGN.md "Ports, not call sequences"). A
 * backend owns the live state of boards and how it is made durable: one
 * write call per board and batch, one read call per query, each atomic per
 * board. Embedded mode (backend/embedded.ts) runs them over the in-process
 * index, SQLite group commit and the local bus; cluster mode runs each as one
 * Lua script call over Redis, with a persister into PostgreSQL.
 *
 * The service is a thin orchestrator over this interface: it validates,
 * looks up the board's rules in the registry and maps results to answers.
 */
import { LadderError } from '../core/errors.js';
import { checkSubmission } from '../core/submission.js';
import type { BoardConfig, BoardRules, RankedEntry, Submission } from '../core/types.js';
import type { DerivedSpec } from '../index/derived.js';
import type { RankQuery, RankRead, SubmitOutcome } from '../index/index.js';
import type { Store } from '../store/store.js';

export interface SubmitBatch {
  /** The board's epoch when the submissions were applied. */
  readonly epoch: string;
  /** One per submission, in order. */
  readonly outcomes: readonly (SubmitOutcome | LadderError)[];
}

/** Where a board stands, without its entries. */
export interface BoardStanding {
  readonly epoch: string;
  readonly version: number;
  readonly total: number;
}

/** What closing a board's live period asks of a backend (Backend.closePeriod). */
export interface PeriodCloseRequest {
  /** The archive's id: the period's, or 'final' for a board without resets. */
  readonly periodId: string;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly closedAt: number;
  /** The board's configuration after the close; with `reset`, its periodStart is the next period's start. */
  readonly next: BoardConfig;
  /** true: the live standings start again, empty, in a new epoch; false: the board is finalized, its live state released. */
  readonly reset: boolean;
  readonly webhook: { readonly url: string; readonly top: number } | null;
}

/**
 * What a write to a board with derived rankings (core/derived.ts) names:
 * which ones it feeds, and the configuration of each that exists (every
 * scope ranking of the board, since a participant's current value may be in
 * any; those the write names are created beforehand by the service).
 */
export interface DerivedTargets {
  readonly spec: DerivedSpec;
  readonly boards: ReadonlyMap<string, BoardConfig>;
}

/** submit: a scope ranking of the board still holds an earlier period than the submissions; its close is due first (nothing was applied). */
export class DerivedPeriodPassed extends Error {
  constructor(readonly boardId: string) {
    super(`the live period of derived ranking '${boardId}' has ended and is not closed yet`);
  }
}

/** submit: the live standings belong to an earlier period than the submissions, whose close is due first. */
export class PeriodPassed extends Error {
  constructor(boardId: string) {
    super(`the live period of leaderboard '${boardId}' has ended and is not closed yet`);
  }
}

/** The answer for submissions whose period has closed (the live standings belong to a later one). */
export function periodClosed(boardId: string, field = 'timestamp'): LadderError {
  return new LadderError('period_closed', `${field} lies in a period of leaderboard '${boardId}' that has closed`, { leaderboard_id: boardId, field });
}

/** What erasing a participant from one board did (Backend.erase). */
export interface BoardErasure {
  /** The board's epoch and version after it. */
  readonly epoch: string;
  readonly version: number;
  /** Their entry, with the rank it had; null when they had none on the live ranking (then its version did not move). */
  readonly removed: RankedEntry | null;
}

export interface Backend {
  /**
   * The write port. Atomically per board: validates each submission (the
   * same checks and codes as HTTP, core/submission.ts), deduplicates event
   * ids, applies the operator, assigns versions, logs the events and makes
   * the changes available to the feed. Resolves once they are acknowledged
   * under the backend's contract (embedded: committed to SQLite). Each item
   * fails alone with its own LadderError; none latches the board or the store.
   * The outcomes' ranks follow `rules.rankTies` (RankOptions).
   *
   * With `derived`, the same step writes the board's derived rankings
   * (index/derived.ts) and logs their events; the answer waits for all of
   * them, and each changed one is announced on the bus like a board. Its
   * scope rankings are period-guarded like the board (DerivedPeriodPassed).
   */
  submit(rules: BoardRules, submissions: readonly Submission[], periodStart?: number | null, derived?: DerivedTargets): Promise<SubmitBatch>;

  /**
   * With `periodStart` (boards with resets), submit applies nothing unless
   * the live standings belong to the period that starts then: each
   * submission is period_closed when they belong to a later one, and it
   * throws PeriodPassed when to an earlier one.
   *
   * closePeriod archives the board's live standings exactly as they are
   * (no write lands between the capture and the archive) with the store's
   * closePeriod, then resets or releases them (PeriodCloseRequest). Exactly
   * once: false when the period was closed already (by another process).
   */
  closePeriod(config: BoardConfig, close: PeriodCloseRequest): Promise<boolean>;

  /** The read port: answers the queries from one state of the board, with shared ranks when `rules.rankTies` is 'shared' (RankOptions). */
  read(rules: BoardRules, queries: readonly RankQuery[]): Promise<RankRead>;

  /**
   * Erases the participant from the board (the right to be forgotten): their
   * entry leaves the live ranking, the entries below move up, the version
   * goes up by one and the feed hears of it, as of any change; and it
   * leaves the durable store (Store.eraseParticipant: their logged events
   * and checkpoint entries), so that no restart, reload or rebuild brings it
   * back. Loads the board when it is not. Idempotent: a repeat removes
   * nothing more, and retries what a failure left undone (a failure rejects,
   * e.g. storage_failed; retry it).
   */
  erase(rules: BoardRules, participantId: string): Promise<BoardErasure>;

  /** Where the board stands, or null when it does not exist. Never loads its entries. */
  standing(boardId: string): Promise<BoardStanding | null>;

  /** Figures for the health answer (GET /healthz): the mode, and in cluster mode the persister's lag. */
  health(): Record<string, string | number>;

  /**
   * Readiness (GET /readyz): each dependency this process needs to answer,
   * checked now. Each check ends within READY_CHECK_MS, failing if its
   * dependency does not answer by then.
   */
  ready(): Promise<ReadyCheck[]>;

  /** Stops background work. The store is closed by its owner. */
  close(): Promise<void>;
}

/** One readiness check: what was checked, and why it failed (with the error code a request would get). */
export interface ReadyCheck {
  readonly name: 'store' | 'index' | 'persister';
  readonly ok: boolean;
  readonly code?: 'store_unavailable' | 'index_unavailable';
  readonly detail?: string;
}

/** How long a readiness check waits for its dependency. */
export const READY_CHECK_MS = 1000;

/**
 * Runs `check` bounded by READY_CHECK_MS: a dependency that hangs fails its
 * check instead of hanging the probe, which must answer fast to be useful.
 */
export async function readyCheck(name: ReadyCheck['name'], code: NonNullable<ReadyCheck['code']>, check: () => Promise<unknown>): Promise<ReadyCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_CHECK_MS} ms`)), READY_CHECK_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, code, detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The store's check: a read of a table the migrations made, which needs the store open, reachable and migrated. */
export function storeReady(store: Store): Promise<ReadyCheck> {
  return readyCheck('store', 'store_unavailable', () => store.countApiKeys('admin'));
}

/**
 * The write port's first step, for every backend: each submission passes
 * checkSubmission (and `also`, when given) or gets its LadderError at its
 * position of `outcomes`; `valid` are the others, `positions` where their
 * outcomes go.
 */
export function checkedSubmissions(
  submissions: readonly Submission[],
  also?: (submission: Submission) => void,
): { outcomes: (SubmitOutcome | LadderError)[]; valid: Submission[]; positions: number[] } {
  const outcomes: (SubmitOutcome | LadderError)[] = new Array(submissions.length);
  const valid: Submission[] = [];
  const positions: number[] = [];
  submissions.forEach((submission, i) => {
    try {
      checkSubmission(submission);
      also?.(submission);
      valid.push(submission);
      positions.push(i);
    } catch (err) {
      if (!(err instanceof LadderError)) throw err;
      outcomes[i] = err;
    }
  });
  return { outcomes, valid, positions };
}
