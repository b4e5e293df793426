/**
 * One board driven the way the embedded backend drives it, for the store's
 * own tests and fixtures: a live BoardRanking applies submissions, each
 * accepted one becomes a ScoreEvent with the board's next seq, and a
 * checkpoint is the ranking's columns once every event up to its seq is
 * committed. Only the store is under test here, so this stays small.
 */
import { submissionFingerprint } from '../../src/core/submission.js';
import type { BoardRules, Entry, Submission } from '../../src/core/types.js';
import { BoardRanking } from '../../src/index/memory.js';
import type { LoadedBoard, ScoreEvent, Store } from '../../src/store/store.js';

export class BoardDriver {
  /** The seq of the last event handed to the store. */
  seq: number;
  #lastAppend: Promise<void> = Promise.resolve();

  private constructor(
    readonly store: Store,
    readonly ranking: BoardRanking,
    seq: number,
  ) {
    this.seq = seq;
  }

  /** The board as the store loads it (its latest checkpoint and the log after it). */
  static async load(store: Store, rules: BoardRules): Promise<BoardDriver> {
    const loaded = await store.loadBoard(rules.id);
    if (loaded === null) throw new Error(`no board '${rules.id}'`);
    return new BoardDriver(store, rankingOf(rules, loaded), loaded.seq);
  }

  /** Applies the submissions and appends the events of those accepted; resolves once committed. */
  submit(submissions: readonly Submission[], receivedAt = Date.now()): { events: ScoreEvent[]; committed: Promise<void> } {
    const events: ScoreEvent[] = [];
    this.ranking.applyMany(submissions).forEach((outcome, i) => {
      if (outcome instanceof Error || outcome.duplicate) return;
      const submission = submissions[i]!;
      const { rank: _rank, ...entry } = outcome.entry;
      events.push({
        boardId: this.ranking.rules.id,
        seq: ++this.seq,
        eventId: submission.eventId,
        participantId: submission.participantId,
        submitted: submission.score,
        timestamp: submission.timestamp,
        receivedAt,
        oldScore: outcome.previous?.score ?? null,
        newScore: outcome.entry.score,
        oldRank: outcome.previous?.rank ?? null,
        newRank: outcome.entry.rank,
        version: outcome.version,
        changed: outcome.changed,
        metadata: submission.metadata,
        entry,
        fingerprint: submission.eventId === null ? null : submissionFingerprint(submission),
      });
    });
    const committed = events.length === 0 ? this.#lastAppend : this.store.appendEvents(events);
    this.#lastAppend = committed;
    return { events, committed };
  }

  /**
   * Checkpoints the state as it is now, once the events up to it are
   * committed (the backend's rule). Resolves with the seq it covers, or null
   * when the store refused it.
   */
  async checkpoint(): Promise<number | null> {
    const seq = this.seq;
    const checkpoint = { seq, version: this.ranking.version, columns: this.ranking.rankedColumns() };
    await this.#lastAppend;
    return (await this.store.saveCheckpoint(this.ranking.rules.id, checkpoint)) ? seq : null;
  }
}

/** A fresh ranking of the loaded board, as the backend builds it. */
export function rankingOf(rules: BoardRules, loaded: LoadedBoard): BoardRanking {
  const ranking = new BoardRanking(rules);
  ranking.loadSorted(loaded.ranked, { epoch: loaded.board.epoch, version: loaded.board.version }, loaded.changed);
  return ranking;
}

/** Every entry of the ranking, in rank order. */
export function entriesOfRanking(ranking: BoardRanking): Entry[] {
  return ranking.range(0, ranking.total).map(({ rank: _rank, ...entry }) => entry);
}
