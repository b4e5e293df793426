/**
 * The Redis rank engine (DESIGN.md "index", cluster mode): RankIndex over a
 * sorted set per board, driven by the Lua scripts in index/lua/. Every call
 * is one script call on the board's keys (one hash tag, so one cluster
 * slot): `apply` for a whole batch, `read` for all its queries, `open`,
 * `drop`, and the final step of `load`, whose entries go in beforehand under
 * temporary keys. The layout is in index/redis-keys.ts; the change log that
 * `apply` appends to, for a persister and for viewers, in index/redis-log.ts.
 *
 * What it asks of the server: Redis 5.0 or newer (RedisIndex.create checks),
 * and no eviction of these keys (`maxmemory-policy noeviction`): a board that
 * lost its state or a bucket hash would answer wrongly. The scripts name the
 * bucket and event-id keys from prefixes passed in KEYS; those keys carry the
 * board's hash tag, so on a cluster they live in the declared keys' slot.
 */
import { randomBytes } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { boardNotFound, eventIdConflict, LadderError } from '../core/errors.js';
import { isParticipantId } from '../core/ids.js';
import { scoreOverflow } from '../core/operators.js';
import { MAX_SCORE } from '../core/ordering.js';
import { submissionFingerprint } from '../core/submission.js';
import { sharedRanksOf } from '../core/ties.js';
import { parentBoardId, scopeOfBoardId } from '../core/derived.js';
import type { BoardRules, Entry, RankedEntry, RankTies, Submission } from '../core/types.js';
import { DerivedRankingsMissing, type DerivedApplied, type DerivedSpec } from './derived.js';
import type { BoardState, RankIndex, RankOptions, RankPage, RankQuery, RankRead, RemoveOutcome, SubmitOutcome } from './index.js';
import {
  BUCKET_FILL,
  bucketCount,
  bucketIndex,
  bucketShape,
  boardKeys,
  DEFAULT_PREFIX,
  loadKeys,
  participantHash,
  TIME_BYTES,
  writeTime,
  type BoardKeys,
  type BucketShape,
} from './redis-keys.js';
import { metadataOf } from './redis-log.js';
import { assertRedisVersion, ReplyCode, scripts, type RedisClient, type ScriptArg } from './redis-scripts.js';

export interface RedisIndexOptions {
  /** Put before every key: `${prefix}{${boardId}}:…`. Default 'ladder:'. */
  readonly prefix?: string;
}

/** What one apply did, with the epoch the board had then (the same script call). */
export interface AppliedBatch {
  readonly epoch: string;
  /** The board's log position after the batch: its logged submissions (not duplicates, not errors) took the last ones, in order. */
  readonly seq: number;
  readonly outcomes: (SubmitOutcome | LadderError)[];
}

type Reply = readonly (string | number | Reply)[];

/** What submitDerived did to one derived ranking that logged events. */
export interface DerivedLogged {
  readonly boardId: string;
  readonly epoch: string;
  /** Its log position after the batch: its logged events took the last `logged` ones. */
  readonly seq: number;
  readonly logged: number;
  readonly version: number;
  /** True when its ranking changed (its version went up). */
  readonly changed: boolean;
}

/** submitDerived: a scope ranking's live standings belong to the period starting at `periodStart`, not the batch's; nothing was applied. */
export class DerivedPeriodMismatch extends Error {
  constructor(
    readonly boardId: string,
    readonly periodStart: number,
  ) {
    super(`the live standings of '${boardId}' belong to the period starting at ${periodStart}`);
  }
}

/** submit's period guard refused the batch: the live standings belong to the period starting at `periodStart`. */
export class PeriodMismatch extends Error {
  constructor(readonly periodStart: number) {
    super(`the live standings belong to the period starting at ${periodStart}`);
  }
}

/** What one removal did (RedisIndex.erase), with the board's state in the same script call. */
export interface Removal extends RemoveOutcome {
  readonly epoch: string;
  /** The board's log position: the removal takes none, the events up to it are the participant's past. */
  readonly seq: number;
  readonly total: number;
}

/** A load's entries go to Redis in pipelines of this many commands, each of up to LOAD_CHUNK entries. */
const LOAD_PIPELINE = 64;
const LOAD_IN_FLIGHT = 3;
const LOAD_CHUNK = 2_000;
/** A load's temporary keys expire after this long, should the loader die before its last step. */
const LOAD_TTL_MS = 3_600_000;

/**
 * The entry of a reply at `at`: participant id, score, achievedAt, updatedAt
 * (these three decimal strings: ioredis's decoder rounds integer replies near
 * 2^53), metadata JSON, rank.
 */
function rankedAt(reply: Reply, at: number): RankedEntry {
  return {
    participantId: reply[at] as string,
    score: Number(reply[at + 1]),
    achievedAt: Number(reply[at + 2]),
    updatedAt: Number(reply[at + 3]),
    metadata: metadataOf(reply[at + 4] as string),
    rank: reply[at + 5] as number,
  };
}

function outcomeOf(reply: Reply, submission: Submission): SubmitOutcome | LadderError {
  switch (reply[0]) {
    case ReplyCode.ok:
      return {
        entry: rankedAt(reply, 4),
        previous: reply.length > 10 ? rankedAt(reply, 10) : null,
        changed: reply[2] === 1,
        version: reply[3] as number,
        duplicate: reply[1] === 1,
      };
    case ReplyCode.scoreOverflow:
      return scoreOverflow(submission, Number(reply[1]));
    case ReplyCode.eventIdConflict:
      return eventIdConflict(submission.eventId!);
    default:
      throw new Error(`applyScores answered the unknown code ${String(reply[0])}`);
  }
}

/** A page of readRanks' reply; with shared ranks, `better` holds the counts of strictly better entries (the script's header). */
function pageOf(reply: Reply, query: RankQuery, shared: boolean): RankPage {
  let at = 2;
  let focus: RankedEntry | null = null;
  if (reply[0] === 1) {
    focus = rankedAt(reply, 2);
    at = 8;
  }
  const entries: RankedEntry[] = [];
  for (; at < reply.length; at += 6) entries.push(rankedAt(reply, at));
  if (!shared) return { entries, focus };
  const better = reply[1] as readonly number[];
  const sharedRanks = query.kind === 'participants' ? better.map((count) => count + 1) : entries.length === 0 ? [] : sharedRanksOf(entries, better[0]! + 1);
  return { entries, focus, sharedRanks };
}

function isTime(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function checkSubmissionShape(submission: Submission, i: number): void {
  if (!Number.isSafeInteger(submission.score) || !isTime(submission.timestamp)) {
    throw new RangeError(`submission ${i}: RedisIndex takes integer scores and timestamps of 0 .. 2^53 − 1 (core/submission.ts checks them)`);
  }
}

function checkEntry(entry: Entry, i: number): void {
  if (!isParticipantId(entry.participantId)) throw new RangeError(`entry ${i}: '${entry.participantId}' is no participant id`);
  if (!Number.isSafeInteger(entry.score) || Math.abs(entry.score) > MAX_SCORE || !isTime(entry.achievedAt) || !isTime(entry.updatedAt)) {
    throw new RangeError(`entry ${i} ('${entry.participantId}'): score, achievedAt and updatedAt must be integers, the times 0 .. 2^53 − 1`);
  }
}

function queryArgs(query: RankQuery): ScriptArg[] {
  const integers = (...values: number[]) => {
    for (const value of values) if (!Number.isSafeInteger(value)) throw new RangeError(`${query.kind} query: ${value} is not an integer`);
    return values.map(String);
  };
  switch (query.kind) {
    case 'page':
      return ['page', ...integers(query.offset, query.limit)];
    case 'around':
      return ['around', query.participantId, ...integers(query.size)];
    case 'neighbors':
      return ['neighbors', query.participantId, ...integers(query.radius)];
    case 'participants':
      return ['participants', String(query.participantIds.length), ...query.participantIds];
  }
}

/** Throws the first error of a pipeline's answers. */
function settled(results: [Error | null, unknown][] | null): void {
  for (const [err] of results ?? []) if (err !== null) throw err;
}

/**
 * The pipelines of a load: up to LOAD_IN_FLIGHT of them on their way at a
 * time, so that Redis applies one while the next is built.
 */
class PipelineQueue {
  readonly #client: RedisClient;
  #pipeline: ChainableCommander;
  #queued = 0;
  readonly #inFlight: Promise<void>[] = [];

  constructor(client: RedisClient) {
    this.#client = client;
    this.#pipeline = client.pipeline();
  }

  async add(write: (pipeline: ChainableCommander) => void): Promise<void> {
    write(this.#pipeline);
    if (++this.#queued < LOAD_PIPELINE) return;
    this.#send();
    if (this.#inFlight.length >= LOAD_IN_FLIGHT) await this.#inFlight.shift();
  }

  /** Sends what is queued and waits for every pipeline; throws the first error. */
  async finish(): Promise<void> {
    if (this.#queued > 0) this.#send();
    await Promise.all(this.#inFlight.splice(0));
  }

  #send(): void {
    const sent = this.#pipeline.exec().then(settled);
    // Awaited later (add, finish); until then a failure must not count as unhandled.
    sent.catch(() => undefined);
    this.#inFlight.push(sent);
    this.#pipeline = this.#client.pipeline();
    this.#queued = 0;
  }
}

/**
 * Checks a load's entries and puts them in bucket order (a counting sort),
 * so that each bucket is written once: `order` holds indexes into `list`,
 * `buckets` the bucket of each entry. Throws RangeError on an invalid entry
 * or a participant that appears twice.
 */
function sortByBucket(list: readonly Entry[], shape: BucketShape): { order: Int32Array; buckets: Int32Array } {
  const seen = new Set<string>();
  const buckets = new Int32Array(list.length);
  const starts = new Int32Array(bucketCount(shape) + 1);
  list.forEach((entry, i) => {
    checkEntry(entry, i);
    if (seen.has(entry.participantId)) throw new RangeError(`participant '${entry.participantId}' appears twice`);
    seen.add(entry.participantId);
    buckets[i] = bucketIndex(participantHash(entry.participantId), shape);
    starts[buckets[i]! + 1]!++;
  });
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
  const order = new Int32Array(list.length);
  for (let i = 0; i < list.length; i++) order[starts[buckets[i]!]!++] = i;
  return { order, buckets };
}

export class RedisIndex implements RankIndex {
  readonly prefix: string;
  readonly dedupRetention =
    "each event id for at least 24 hours after it was applied, and up to 48, by the caller's clock: a board keeps one hash of event ids per UTC day, which expires at the end of the next day (a load or drop forgets them all)";

  readonly #client: RedisClient;

  constructor(client: RedisClient, options: RedisIndexOptions = {}) {
    this.#client = client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  /** A RedisIndex over the client, once every server (every master of a cluster) is known to be new enough. */
  static async create(client: RedisClient, options: RedisIndexOptions = {}): Promise<RedisIndex> {
    await assertRedisVersion(client);
    return new RedisIndex(client, options);
  }

  /** The board's keys (index/redis-keys.ts), e.g. its change log for a persister. */
  keys(boardId: string): BoardKeys {
    return boardKeys(this.prefix, boardId);
  }

  /**
   * Makes the board known unless it is (RankIndex.open): one small hash.
   * `seq` is the log position its change log continues after (the store's
   * last seq of the board), `periodStart` the period of its live standings
   * (submit's period guard). Complexity: O(1).
   */
  async open(rules: BoardRules, state: BoardState, seq = 0, periodStart = 0): Promise<void> {
    const keys = this.keys(rules.id);
    await scripts.openBoard.run(this.#client, [keys.state], [state.epoch, String(state.version), rules.sortOrder, rules.operator, String(seq), String(BUCKET_FILL), String(periodStart)]);
  }

  /**
   * Forgets the board, its entries, change log and event ids (a board's
   * scope members too; a scope ranking's participants leave the members
   * hash). Idempotent. Complexity: O(n) to free, O(n / BUCKET_FILL) in the script.
   */
  async drop(boardId: string): Promise<void> {
    const keys = this.keys(boardId);
    const scope = scopeOfBoardId(boardId);
    if (scope !== null) await scripts.forgetMembers.run(this.#client, [keys.ranking, keys.members], [`${scope.name}:`, scope.value]);
    await scripts.dropBoard.run(this.#client, [keys.state, keys.ranking, keys.metadata, keys.log, keys.buckets, keys.events], []);
    if (parentBoardId(boardId) === null) await this.#client.unlink(keys.members);
  }

  /**
   * Replaces the board's entries and state, and forgets its change log and
   * event ids (RankIndex.load). The entries go in first under temporary keys,
   * in pipelines, and one script then swaps them in: reads and applies see
   * the board before or after, never between. An apply that lands during the
   * load is lost with the old entries, as with any rebuild: the caller
   * rebuilds a board it has stopped writing. `seq`: where the change log
   * continues (default: where it was). Throws RangeError, before writing
   * anything, on an entry that is no valid entry or a participant that
   * appears twice. Complexity: O(n log n) in Redis, O(n) round trips / LOAD_CHUNK.
   */
  async load(boardId: string, entries: Iterable<Entry>, state: BoardState, seq?: number): Promise<void> {
    const keys = this.keys(boardId);
    const order = await this.#client.hget(keys.state, 'order');
    if (order === null) throw boardNotFound(boardId);
    const list = Array.isArray(entries) ? (entries as readonly Entry[]) : [...entries];
    const shape = bucketShape(list.length, BUCKET_FILL);
    const { order: sorted, buckets } = sortByBucket(list, shape);
    const temp = loadKeys(this.prefix, boardId, randomBytes(8).toString('hex'));

    const writes = new PipelineQueue(this.#client);
    let ranking: ScriptArg[] = [];
    let metadata: ScriptArg[] = [];
    let bucket: ScriptArg[] = [];
    const writeRanking = (args: ScriptArg[]) => writes.add((pipeline) => pipeline.zadd(temp.ranking, ...args).pexpire(temp.ranking, LOAD_TTL_MS));
    const writeMetadata = (args: ScriptArg[]) => writes.add((pipeline) => pipeline.hset(temp.metadata, ...args).pexpire(temp.metadata, LOAD_TTL_MS));
    for (let k = 0; k < sorted.length; k++) {
      const entry = list[sorted[k]!]!;
      const member = Buffer.allocUnsafe(TIME_BYTES + entry.participantId.length);
      writeTime(entry.achievedAt, member, 0);
      member.write(entry.participantId, TIME_BYTES, 'latin1');
      ranking.push(String(order === 'desc' ? 0 - entry.score : entry.score), member);
      const time = member.subarray(0, TIME_BYTES);
      const delta = entry.updatedAt - entry.achievedAt;
      bucket.push(entry.participantId, delta === 0 ? time : Buffer.concat([time, Buffer.from(String(delta))]));
      if (entry.metadata !== null) metadata.push(entry.participantId, JSON.stringify(entry.metadata));
      if (ranking.length >= 2 * LOAD_CHUNK) {
        await writeRanking(ranking);
        ranking = [];
      }
      if (metadata.length >= 2 * LOAD_CHUNK) {
        await writeMetadata(metadata);
        metadata = [];
      }
      const index = buckets[sorted[k]!]!;
      if (k + 1 === sorted.length || buckets[sorted[k + 1]!] !== index) {
        const key = `${temp.buckets}${index}`;
        const fields = bucket;
        bucket = [];
        await writes.add((pipeline) => pipeline.hset(key, ...fields).pexpire(key, LOAD_TTL_MS));
      }
    }
    if (ranking.length > 0) await writeRanking(ranking);
    if (metadata.length > 0) await writeMetadata(metadata);
    await writes.finish();

    const scope = scopeOfBoardId(boardId);
    const code = await scripts.loadBoard.run(
      this.#client,
      [keys.state, keys.ranking, keys.metadata, keys.log, keys.buckets, keys.events, temp.ranking, temp.metadata, temp.buckets, keys.members],
      [
        state.epoch,
        String(state.version),
        seq === undefined ? '' : String(seq),
        String(shape.level),
        String(shape.split),
        String(BUCKET_FILL),
        scope === null ? '' : `${scope.name}:`,
        scope === null ? '' : scope.value,
      ],
    );
    if (code === ReplyCode.boardNotFound) throw boardNotFound(boardId);
  }

  /** RankIndex.apply; `receivedAt` is the caller's clock, as in submit. */
  async apply(boardId: string, submissions: readonly Submission[], options: RankOptions & { readonly receivedAt?: number } = {}): Promise<(SubmitOutcome | LadderError)[]> {
    return (await this.submit(boardId, submissions, options.receivedAt ?? Date.now(), null, options.ties)).outcomes;
  }

  async applyDerived(boardId: string, submissions: readonly Submission[], spec: DerivedSpec, options: RankOptions & { readonly receivedAt?: number } = {}): Promise<DerivedApplied> {
    const { outcomes, derived } = await this.submitDerived(boardId, submissions, spec, options.receivedAt ?? Date.now(), null, options.ties);
    return { outcomes, derived: derived.map(({ boardId: id, epoch, version, changed }) => ({ boardId: id, epoch, version, changed })) };
  }

  /**
   * submit for a board with derived rankings (index/derived.ts), in one
   * script call on the board's slot, which all of its derived rankings
   * share: RankIndex.applyDerived with submit's period guard, which its
   * scope rankings pass too (DerivedPeriodMismatch). Throws
   * DerivedRankingsMissing, applying nothing, naming the derived rankings
   * Redis does not hold. Complexity: O(k log n · (1 + scopes)).
   */
  async submitDerived(
    boardId: string,
    submissions: readonly Submission[],
    spec: DerivedSpec,
    receivedAt = Date.now(),
    periodStart: number | null = null,
    ties: RankTies = 'unique',
  ): Promise<AppliedBatch & { readonly derived: readonly DerivedLogged[] }> {
    const keys = this.keys(boardId);
    const args: ScriptArg[] = [String(receivedAt), periodStart === null ? '' : String(periodStart), ties, spec.allTime ? '1' : '', String(spec.scopes.length), ...spec.scopes];
    submissions.forEach((submission, i) => {
      checkSubmissionShape(submission, i);
      const { eventId, metadata } = submission;
      args.push(
        submission.participantId,
        String(submission.score),
        String(submission.timestamp),
        eventId ?? '',
        metadata === null ? '' : JSON.stringify(metadata),
        eventId === null ? '' : submissionFingerprint(submission),
      );
      for (const name of spec.scopes) args.push(submission.scope?.[name] ?? '');
    });
    const reply = (await scripts.applyDerived.run(this.#client, [keys.state, keys.ranking, keys.metadata, keys.log, keys.buckets, keys.events, keys.derived], args)) as Reply;
    const derivedId = (suffix: string) => `${boardId}#${suffix}`;
    switch (reply[0]) {
      case ReplyCode.boardNotFound:
        throw boardNotFound(boardId);
      case ReplyCode.periodMismatch:
        throw new PeriodMismatch(Number(reply[1]));
      case ReplyCode.derivedPeriodMismatch:
        throw new DerivedPeriodMismatch(derivedId(reply[1] as string), Number(reply[2]));
      case ReplyCode.derivedNotFound:
        throw new DerivedRankingsMissing(reply.slice(1).map((suffix) => derivedId(suffix as string)));
      case ReplyCode.boardBusy:
        throw new LadderError('board_rebuilding', `leaderboard '${boardId}' or one of its derived rankings is being rebuilt or closed; nothing was applied, retry in a moment`, { leaderboard_id: boardId });
    }
    const written = reply[3] as Reply;
    const derived: DerivedLogged[] = [];
    for (let at = 0; at < written.length; at += 6) {
      derived.push({
        boardId: derivedId(written[at] as string),
        epoch: written[at + 1] as string,
        seq: Number(written[at + 2]),
        logged: written[at + 3] as number,
        version: written[at + 4] as number,
        changed: written[at + 5] === 1,
      });
    }
    return { epoch: reply[1] as string, seq: Number(reply[2]), outcomes: submissions.map((submission, i) => outcomeOf(reply[i + 4] as Reply, submission)), derived };
  }

  /** Where the board's live standings say their period starts (the state field the period guard of submit checks). */
  async setPeriodStart(boardId: string, periodStart: number): Promise<void> {
    await this.#client.hset(this.keys(boardId).state, 'period_start', String(periodStart));
  }

  /**
   * RankIndex.apply, with the board's epoch read in the same script call,
   * for a backend to publish the changes under. `receivedAt` is the
   * caller's clock (ms), logged with every event and deciding the day its
   * event id is kept under. With `periodStart`, nothing is applied unless the
   * live standings belong to the period starting then (PeriodMismatch says
   * which they belong to). With `ties` 'shared' the outcomes' ranks are
   * shared ones (RankOptions). Complexity: O(k log n) for k submissions.
   */
  async submit(
    boardId: string,
    submissions: readonly Submission[],
    receivedAt = Date.now(),
    periodStart: number | null = null,
    ties: RankTies = 'unique',
  ): Promise<AppliedBatch> {
    const keys = this.keys(boardId);
    const args: ScriptArg[] = [String(receivedAt), periodStart === null ? '' : String(periodStart), ties];
    submissions.forEach((submission, i) => {
      checkSubmissionShape(submission, i);
      const { eventId, metadata } = submission;
      args.push(
        submission.participantId,
        String(submission.score),
        String(submission.timestamp),
        eventId ?? '',
        metadata === null ? '' : JSON.stringify(metadata),
        eventId === null ? '' : submissionFingerprint(submission),
      );
    });
    const reply = (await scripts.applyScores.run(this.#client, [keys.state, keys.ranking, keys.metadata, keys.log, keys.buckets, keys.events], args)) as Reply;
    if (reply[0] === ReplyCode.boardNotFound) throw boardNotFound(boardId);
    if (reply[0] === ReplyCode.periodMismatch) throw new PeriodMismatch(Number(reply[1]));
    if (reply[0] === ReplyCode.boardBusy) {
      throw new LadderError('board_rebuilding', `leaderboard '${boardId}' is being rebuilt from the durable store (ladder rebuild); nothing was applied, retry in a moment`, { leaderboard_id: boardId });
    }
    return { epoch: reply[1] as string, seq: Number(reply[2]), outcomes: submissions.map((submission, i) => outcomeOf(reply[i + 3] as Reply, submission)) };
  }

  async remove(boardId: string, participantId: string): Promise<RemoveOutcome> {
    const { removed, version } = await this.erase(boardId, participantId);
    return { removed, version };
  }

  /**
   * RankIndex.remove, with the board's epoch, log position and total read
   * in the same script call (removeEntry-4.lua). The change log keeps what
   * it holds of the participant: drain it into the durable store first.
   * Complexity: O(log n).
   */
  async erase(boardId: string, participantId: string): Promise<Removal> {
    if (!isParticipantId(participantId)) throw new RangeError(`'${participantId}' is no participant id`);
    const keys = this.keys(boardId);
    const reply = (await scripts.removeEntry.run(this.#client, [keys.state, keys.ranking, keys.metadata, keys.buckets], [participantId])) as Reply;
    if (reply[0] === ReplyCode.boardNotFound) throw boardNotFound(boardId);
    const scope = scopeOfBoardId(boardId);
    if (scope !== null) {
      // Out of a scope ranking, out of its value in the members hash too, or the next write would place them there again.
      // The caller holds the ranking frozen (Backend.erase), so no write that reads this field lands in between.
      const field = `${scope.name}:${participantId}`;
      if ((await this.#client.hget(keys.members, field)) === scope.value) await this.#client.hdel(keys.members, field);
    }
    return {
      epoch: reply[1] as string,
      seq: Number(reply[2]),
      version: reply[3] as number,
      total: reply[4] as number,
      removed: reply[5] === 1 ? rankedAt(reply, 6) : null,
    };
  }

  /**
   * Refuses the board's writes (board_rebuilding) until `untilMs` by the
   * writers' clocks, or until thaw: a rebuild drains the board's change log,
   * then loads it, and no write may land between the two.
   */
  async freeze(boardId: string, untilMs: number): Promise<void> {
    await this.#client.hset(this.keys(boardId).state, 'frozen_until', String(untilMs));
  }

  async thaw(boardId: string): Promise<void> {
    await this.#client.hdel(this.keys(boardId).state, 'frozen_until');
  }

  /** True when Redis holds the board (its state hash). */
  async exists(boardId: string): Promise<boolean> {
    return (await this.#client.exists(this.keys(boardId).state)) === 1;
  }

  /** RankIndex.read: one script call for every query. Complexity: O(log n + entries returned) per query. */
  async read(boardId: string, queries: readonly RankQuery[], options: RankOptions = {}): Promise<RankRead> {
    const keys = this.keys(boardId);
    const shared = options.ties === 'shared';
    const args: ScriptArg[] = [shared ? 'shared' : 'unique', ...queries.flatMap(queryArgs)];
    const reply = (await scripts.readRanks.run(this.#client, [keys.state, keys.ranking, keys.metadata, keys.buckets], args)) as Reply;
    if (reply[0] === ReplyCode.boardNotFound) throw boardNotFound(boardId);
    return {
      epoch: reply[1] as string,
      version: reply[2] as number,
      total: reply[3] as number,
      pages: reply.slice(4).map((page, i) => pageOf(page as Reply, queries[i]!, shared)),
    };
  }

}
