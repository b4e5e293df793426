/**
 * Writes to a board with derived rankings (core/derived.ts), in one step
 * with the board's own: every in-process caller (MemoryIndex, the embedded
 * backend) runs applyWithDerived, and the Redis index runs the same rules in
 * one script call (lua/applyDerived-7.lua), so each write is atomic across
 * the board and its derived rankings in both modes.
 *
 * Per accepted submission (not a duplicate, not an error):
 * - all-time: the submission is applied to `<id>#all` with the board's
 *   operator. An increment that would overflow the all-time total is refused
 *   (score_overflow) before anything is applied.
 * - each scope the board declares: the participant's value is the one the
 *   submission names, else the one they had. The scope ranking of that value
 *   gets the board's entry as it now is (same score and times: it is a copy,
 *   not a second application of the operator), and the ranking of the value
 *   they had before, when it differs, loses them. A participant who never
 *   named a value of the scope is in none of its rankings.
 */
import { scoreOverflow } from '../core/operators.js';
import { allTimeBoardId, scopeBoardId, scopeOfBoardId } from '../core/derived.js';
import { LadderError } from '../core/errors.js';
import { MAX_SCORE } from '../core/ordering.js';
import type { RankTies, Submission } from '../core/types.js';
import type { SubmitOutcome } from './index.js';
import type { BoardRanking } from './memory.js';

/** What a write to a board with derived rankings asks for. */
export interface DerivedSpec {
  /** The board's scopes (BoardConfig.scopes). */
  readonly scopes: readonly string[];
  /** The board keeps an all-time ranking (keep_all_time). */
  readonly allTime: boolean;
}

/** Where each participant stands in the scope rankings: value by participant, per scope name. */
export type ScopeMembers = Map<string, Map<string, string>>;

/** What a write did to one derived ranking: each is an event of that ranking's log. */
export interface DerivedStep {
  readonly boardId: string;
  /** The submission applied to the all-time ranking; null for a scope ranking's copy or removal (a removal's entry has rank 0). */
  readonly submission: Submission | null;
  readonly outcome: SubmitOutcome;
}

/** Where a derived ranking stands after a write that changed it. */
export interface DerivedChange {
  readonly boardId: string;
  readonly epoch: string;
  readonly version: number;
  /** True when its ranking changed (its version went up). */
  readonly changed: boolean;
}

/** The board's outcomes, as RankIndex.apply answers them, and what the write did to its derived rankings. */
export interface DerivedApplied {
  readonly outcomes: (SubmitOutcome | LadderError)[];
  readonly derived: readonly DerivedChange[];
}

/** A derived ranking that the write must change is not open; nothing was applied. */
export class DerivedRankingsMissing extends Error {
  constructor(readonly boardIds: readonly string[]) {
    super(`the derived rankings ${boardIds.join(', ')} are not open`);
  }
}

/**
 * The derived rankings a write of `submissions` to `boardId` touches: the
 * all-time one, the scope rankings the submissions name and those their
 * participants are in now. Complexity: O(k · scopes).
 */
export function derivedTargets(boardId: string, submissions: readonly Submission[], spec: DerivedSpec, members: ScopeMembers): Set<string> {
  const targets = new Set<string>();
  if (spec.allTime) targets.add(allTimeBoardId(boardId));
  for (const submission of submissions) {
    for (const name of spec.scopes) {
      const named = submission.scope?.[name];
      if (named !== undefined) targets.add(scopeBoardId(boardId, { name, value: named }));
      const current = members.get(name)?.get(submission.participantId);
      if (current !== undefined) targets.add(scopeBoardId(boardId, { name, value: current }));
    }
  }
  return targets;
}

/** The scope members of a board, from its open scope rankings (by id). Complexity: O(entries of those rankings). */
export function scopeMembersOf(rankings: Iterable<readonly [string, BoardRanking]>): ScopeMembers {
  const members: ScopeMembers = new Map();
  for (const [boardId, ranking] of rankings) {
    const scope = scopeOfBoardId(boardId);
    if (scope === null) continue;
    let values = members.get(scope.name);
    if (values === undefined) members.set(scope.name, (values = new Map()));
    for (const participantId of ranking.participantIds()) values.set(participantId, scope.value);
  }
  return members;
}

/**
 * Applies the submissions to `board` in order, and each accepted one to the
 * derived rankings (the file's comment), synchronously. `ranking(id)` gives
 * each derived ranking derivedTargets named; `members` is updated. Returns
 * the board's outcomes and the derived rankings' steps, in order.
 * Complexity: O(k (log n + B) · (1 + scopes)).
 */
export function applyWithDerived(
  board: BoardRanking,
  ranking: (boardId: string) => BoardRanking,
  members: ScopeMembers,
  submissions: readonly Submission[],
  spec: DerivedSpec,
  ties: RankTies = 'unique',
): { outcomes: (SubmitOutcome | LadderError)[]; steps: DerivedStep[] } {
  const boardId = board.rules.id;
  const allTimeId = spec.allTime ? allTimeBoardId(boardId) : null;
  const allTime = allTimeId === null ? null : ranking(allTimeId);
  const outcomes: (SubmitOutcome | LadderError)[] = [];
  const steps: DerivedStep[] = [];
  for (const submission of submissions) {
    // A remembered event id (duplicate or conflict): its first write did the rest.
    if (submission.eventId !== null && board.recalls(submission.eventId)) {
      outcomes.push(board.applyMany([submission], ties)[0]!);
      continue;
    }
    if (allTime !== null && board.rules.operator === 'increment') {
      const total = allTime.get(submission.participantId);
      if (total !== null && Math.abs(total.score + submission.score) > MAX_SCORE) {
        outcomes.push(scoreOverflow(submission, total.score));
        continue;
      }
    }
    const outcome = board.applyMany([submission], ties)[0]!;
    outcomes.push(outcome);
    if (outcome instanceof LadderError) continue;
    if (allTime !== null) {
      const applied = allTime.applyMany([submission], ties)[0]!;
      if (!(applied instanceof LadderError) && !applied.duplicate) steps.push({ boardId: allTimeId!, submission, outcome: applied });
    }
    for (const name of spec.scopes) {
      let values = members.get(name);
      const before = values?.get(submission.participantId);
      const value = submission.scope?.[name] ?? before;
      if (value === undefined) continue;
      const placed = ranking(scopeBoardId(boardId, { name, value })).place(outcome.entry, ties);
      if (placed !== null) steps.push({ boardId: scopeBoardId(boardId, { name, value }), submission: null, outcome: placed });
      if (before !== undefined && before !== value) {
        const from = ranking(scopeBoardId(boardId, { name, value: before }));
        // Under shared ties the removed entry's rank is its shared one, taken before it leaves.
        const held = ties === 'shared' ? from.get(submission.participantId) : null;
        const sharedRank = held === null ? null : from.sharedRankOf(held.score);
        const { removed, version } = from.remove(submission.participantId);
        // A removal is logged with new rank 0 (store/store.ts ScoreEvent) and the rank it had as the old one.
        if (removed !== null) {
          const previous = sharedRank === null ? removed : { ...removed, rank: sharedRank };
          steps.push({ boardId: scopeBoardId(boardId, { name, value: before }), submission: null, outcome: { entry: { ...removed, rank: 0 }, previous, changed: true, version, duplicate: false } });
        }
      }
      if (before !== value) {
        if (values === undefined) members.set(name, (values = new Map()));
        values.set(submission.participantId, value);
      }
    }
  }
  return { outcomes, steps };
}

/** The last state of each derived ranking the steps touched. */
export function derivedChanges(steps: readonly DerivedStep[], epochOf: (boardId: string) => string): DerivedChange[] {
  const byBoard = new Map<string, { version: number; changed: boolean }>();
  for (const { boardId, outcome } of steps) {
    const seen = byBoard.get(boardId);
    byBoard.set(boardId, { version: outcome.version, changed: (seen?.changed ?? false) || outcome.changed });
  }
  return [...byBoard].map(([boardId, { version, changed }]) => ({ boardId, epoch: epochOf(boardId), version, changed }));
}
