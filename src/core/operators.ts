/**
 * Operator semantics (DESIGN.md "operator"). Each is convergent: applying the
 * same submissions in any order gives the same score, so retries, rebuilds and
 * replays agree.
 *
 * - best: keep the better score; among submissions of that score the earliest
 *   timestamp is achievedAt.
 * - latest: the submission with the greatest timestamp wins (a tie on
 *   timestamp goes to the better score), and its timestamp is achievedAt,
 *   even when it repeats the current score: keeping an earlier achievedAt
 *   would depend on which earlier submissions arrived first.
 * - increment: add the delta; achievedAt is the greatest timestamp that
 *   contributed, which is when the total was reached. Deduplication by
 *   event id happens before this, in the service.
 */
import { LadderError } from './errors.js';
import { isBetterScore, MAX_SCORE, MIN_SCORE } from './ordering.js';
import type { BoardRules, Entry, Submission } from './types.js';

export interface Applied {
  /** The entry after the submission (the same object as `current` when nothing changed). */
  readonly entry: Entry;
  /** True when the ranking key (score or achievedAt) changed: the version goes up. */
  readonly changed: boolean;
}

export function applySubmission(rules: BoardRules, current: Entry | null, sub: Submission): Applied {
  if (current === null) {
    return {
      entry: {
        participantId: sub.participantId,
        score: sub.score,
        achievedAt: sub.timestamp,
        updatedAt: sub.timestamp,
        metadata: sub.metadata,
      },
      changed: true,
    };
  }
  switch (rules.operator) {
    case 'best':
      return applyBest(rules, current, sub);
    case 'latest':
      return applyLatest(rules, current, sub);
    case 'increment':
      return applyIncrement(current, sub);
  }
}

function applyBest(rules: BoardRules, current: Entry, sub: Submission): Applied {
  const updatedAt = Math.max(current.updatedAt, sub.timestamp);
  if (isBetterScore(rules.sortOrder, sub.score, current.score)) {
    return { entry: { ...current, score: sub.score, achievedAt: sub.timestamp, updatedAt, metadata: sub.metadata ?? current.metadata }, changed: true };
  }
  if (sub.score === current.score && sub.timestamp < current.achievedAt) {
    return { entry: { ...current, achievedAt: sub.timestamp, updatedAt }, changed: true };
  }
  return unchanged(current, updatedAt);
}

function applyLatest(rules: BoardRules, current: Entry, sub: Submission): Applied {
  const newer = sub.timestamp > current.updatedAt;
  const sameTimeButBetter = sub.timestamp === current.updatedAt && isBetterScore(rules.sortOrder, sub.score, current.score);
  if (!newer && !sameTimeButBetter) return unchanged(current, current.updatedAt);
  return {
    entry: { ...current, score: sub.score, achievedAt: sub.timestamp, updatedAt: sub.timestamp, metadata: sub.metadata ?? current.metadata },
    changed: true,
  };
}

function applyIncrement(current: Entry, sub: Submission): Applied {
  const updatedAt = Math.max(current.updatedAt, sub.timestamp);
  if (sub.score === 0) {
    // A zero delta still counts towards achievedAt, or the result would depend on arrival order.
    const achievedAt = Math.max(current.achievedAt, sub.timestamp);
    if (achievedAt === current.achievedAt) return unchanged(current, updatedAt);
    return { entry: { ...current, achievedAt, updatedAt }, changed: true };
  }
  const score = current.score + sub.score;
  // Both operands are safe integers, so an out-of-range sum is detected exactly
  // (|sum| < 2^54 and the comparison against ±(2^53−1) is exact).
  if (score > MAX_SCORE || score < MIN_SCORE) throw scoreOverflow(sub, current.score);
  return {
    entry: { ...current, score, achievedAt: Math.max(current.achievedAt, sub.timestamp), updatedAt, metadata: sub.metadata ?? current.metadata },
    changed: true,
  };
}

/** The error of an increment `sub` that would take the score `current` outside ±(2^53−1). */
export function scoreOverflow(sub: Submission, current: number): LadderError {
  return new LadderError('score_overflow', `score increment of ${sub.score} would take participant '${sub.participantId}' outside ±(2^53−1)`, {
    field: 'score',
    current,
  });
}

function unchanged(current: Entry, updatedAt: number): Applied {
  if (updatedAt === current.updatedAt) return { entry: current, changed: false };
  return { entry: { ...current, updatedAt }, changed: false };
}
