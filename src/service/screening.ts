/**
 * What a submission to a board must pass besides its shape and the board's
 * schedule: the participant is not hidden (participant_hidden), within the
 * board's per-participant rate limit (rate_limited) and within its
 * anti-cheat rules (core/score-rules.ts, the rule_* codes). Boards without
 * any of them skip this entirely.
 *
 * The rules that compare with the current score read it once for the whole
 * batch, in one backend read, and follow it through the batch (each passing
 * submission applied as the operator would), so that the items of a batch
 * are judged as if sent one by one. A submission refused by a later check
 * (the write port's) has taken its share of the windows all the same: a
 * limit counts attempts.
 */
import { LadderError } from '../core/errors.js';
import { applySubmission } from '../core/operators.js';
import { checkSubmissionRules, needsCurrentScore, participantRateLimited, windowAmount, windowExceeded } from '../core/score-rules.js';
import type { BoardConfig, Entry, Submission } from '../core/types.js';
import type { Backend } from '../backend/backend.js';
import { hiddenSet } from './hiding.js';
import type { WindowCounters } from './window-counters.js';

/** True when the board has anything to screen submissions for. */
export function screens(config: BoardConfig): boolean {
  return config.hidden.length > 0 || config.rateLimit !== null || config.scoreRules !== null;
}

function participantHidden(config: BoardConfig, participantId: string): LadderError {
  return new LadderError('participant_hidden', `participant '${participantId}' is hidden on leaderboard '${config.id}': their submissions are refused until an admin unhides them`, {
    participant_id: participantId,
    leaderboard_id: config.id,
  });
}

/** Each submission's refusal, or null when it passed. */
export async function screen(config: BoardConfig, submissions: readonly Submission[], backend: Backend, counters: WindowCounters): Promise<(LadderError | null)[]> {
  const hidden = hiddenSet(config.hidden);
  let current: Map<string, Entry> | null = null;
  if (needsCurrentScore(config)) {
    const participantIds = [...new Set(submissions.map((submission) => submission.participantId))].filter((id) => !hidden.has(id));
    const read = await backend.read(config, [{ kind: 'participants', participantIds }]);
    current = new Map(read.pages[0]!.entries.map((entry) => [entry.participantId, entry]));
  }
  const window = config.scoreRules?.maxIncreasePerWindow ?? null;
  const verdicts: (LadderError | null)[] = [];
  for (const submission of submissions) {
    const id = submission.participantId;
    try {
      if (hidden.has(id)) throw participantHidden(config, id);
      const rate = config.rateLimit;
      if (rate !== null) {
        const take = await counters.take(`${config.id}\u0000rate\u0000${id}`, 1, rate.max, rate.windowMs);
        if (!take.taken) throw participantRateLimited(config, id, take.resetInMs);
      }
      const entry = current?.get(id) ?? null;
      const { gain } = checkSubmissionRules(config, entry?.score ?? null, submission.score, id);
      if (window !== null && gain > 0) {
        const take = await counters.take(`${config.id}\u0000gain\u0000${id}`, gain, windowAmount(config), window.windowMs);
        if (!take.taken) throw windowExceeded(config, id, gain, take.used, take.resetInMs);
      }
      current?.set(id, applySubmission(config, entry, submission).entry);
      verdicts.push(null);
    } catch (err) {
      if (!(err instanceof LadderError)) throw err;
      verdicts.push(err);
    }
  }
  return verdicts;
}
