/**
 * How a board lives in Redis (RedisIndex, index/redis.ts). Every key of a
 * board carries the hash tag `{<board id>}`, so on a Redis Cluster they all
 * sit in one slot and each script call touches one node.
 *
 *   <prefix>{<board>}:s          state (hash): epoch, version, seq (last log
 *                                position), log_n, order, operator,
 *                                bucket_level, bucket_split, bucket_fill, event_day
 *   <prefix>{<board>}:z          ranking (sorted set): member = achievedAt's 7
 *                                bytes, big-endian, then the participant id;
 *                                score = the score, negated on desc boards
 *   <prefix>{<board>}:h:<i>      bucket i of the participant map (hash):
 *                                participant id → achievedAt's 7 bytes, then
 *                                updatedAt − achievedAt in decimal unless 0
 *   <prefix>{<board>}:m          metadata (hash): participant id → JSON, only
 *                                for entries that have some
 *   <prefix>{<board>}:log        change log (stream), ids <version>-<n> (index/redis-log.ts)
 *   <prefix>{<board>}:e:<day>    event ids applied on that UTC day by the
 *                                caller's clock (hash): id → msgpack of the
 *                                fingerprint and first outcome; expires at the
 *                                end of the next day
 *   <prefix>{<board>}:load:<t>:… a load's new entries until they replace the board's
 *   <prefix>{<board>}:#members   a board with scopes (hash): `<scope>:<participant
 *                                id>` → the scope value whose ranking holds the
 *                                participant (index/derived.ts)
 *
 * A derived ranking of a board (core/derived.ts: `<board>#all`,
 * `<board>#<scope>=<value>`) has the same keys under its board's hash tag,
 * `<prefix>{<board>}:#<scope>=<value>:s` and so on, so that one script call
 * writes a board and its derived rankings atomically, in one cluster slot.
 *
 * Why this shape: the sorted set keeps the score exact (an integer, never a
 * timestamp packed into the double) and breaks ties in the member, whose
 * fixed-width time prefix makes byte order equal core/ordering.ts. Finding a
 * participant's member needs its achievedAt, which the participant map
 * holds. One hash for all participants would cost a hash-table entry per
 * participant (about as much as the sorted set's own); small bucket hashes
 * stay in Redis's compact listpack encoding instead, at ~20 bytes per
 * participant. The buckets grow by linear hashing: with bucket_level L and
 * bucket_split S there are 2^L + S buckets; a participant goes to
 * hash mod 2^L, or hash mod 2^(L+1) when that is below S; and each time the
 * board outgrows bucket_fill entries per bucket, bucket S splits in two. A
 * bucket whose ids or values exceed `hash-max-listpack-value` (64 bytes by
 * default: ids longer than that) or that outgrows `hash-max-listpack-entries`
 * (128 by default) becomes a plain hash: correct, only larger.
 */
import * as crypto from 'node:crypto';
import { parentBoardId } from '../core/derived.js';

export const DEFAULT_PREFIX = 'ladder:';

/**
 * Entries per bucket hash on average. An unsplit bucket holds up to twice
 * as many just before its round of splits ends, still well under the
 * default listpack limit of 128 entries. Stored per board (bucket_fill), so
 * changing it here changes only boards made or loaded afterwards.
 */
export const BUCKET_FILL = 40;

/** Bytes of the order-preserving time prefix: enough for every timestamp in 0 .. 2^53 − 1. */
export const TIME_BYTES = 7;

export interface BoardKeys {
  readonly state: string;
  readonly ranking: string;
  readonly metadata: string;
  readonly log: string;
  /** Prefix of the bucket hashes: bucket i is `${buckets}${i}`. */
  readonly buckets: string;
  /** Prefix of the event-id hashes: day d is `${events}${d}`. */
  readonly events: string;
  /** The scope members of the board (of its board, for a derived ranking). */
  readonly members: string;
  /** What the keys of the board's derived rankings start with (`${derived}<scope>=<value>:s`, …); the board's own base for a derived ranking. */
  readonly derived: string;
}

function tagged(prefix: string, boardId: string): string {
  return `${prefix}{${boardId}}:`;
}

/** Where the board's keys start: under its own hash tag, or, for a derived ranking, under its board's. */
function baseOf(prefix: string, boardId: string): { base: string; board: string } {
  const parent = parentBoardId(boardId);
  if (parent === null) return { base: tagged(prefix, boardId), board: tagged(prefix, boardId) };
  return { base: `${tagged(prefix, parent)}${boardId.slice(parent.length)}:`, board: tagged(prefix, parent) };
}

export function boardKeys(prefix: string, boardId: string): BoardKeys {
  const { base, board } = baseOf(prefix, boardId);
  return {
    state: `${base}s`,
    ranking: `${base}z`,
    metadata: `${base}m`,
    log: `${base}log`,
    buckets: `${base}h:`,
    events: `${base}e:`,
    members: `${board}#members`,
    derived: `${board}#`,
  };
}

/** The temporary keys of one load of the board. */
export function loadKeys(prefix: string, boardId: string, token: string): Pick<BoardKeys, 'ranking' | 'metadata' | 'buckets'> {
  const base = `${baseOf(prefix, boardId).base}load:${token}:`;
  return { ranking: `${base}z`, metadata: `${base}m`, buckets: `${base}h:` };
}

/** The board id of one of its keys (e.g. a change log named by XREAD), a derived ranking's included, or null for another key. */
export function boardIdOfKey(prefix: string, key: string): string | null {
  if (!key.startsWith(`${prefix}{`)) return null;
  const end = key.indexOf('}', prefix.length + 1);
  if (end === -1) return null;
  const boardId = key.slice(prefix.length + 1, end);
  if (key[end + 1] !== ':' || key[end + 2] !== '#') return boardId;
  const suffixEnd = key.indexOf(':', end + 2);
  return suffixEnd === -1 ? null : boardId + key.slice(end + 2, suffixEnd);
}

/** Writes `time` (0 .. 2^53 − 1) as TIME_BYTES big-endian bytes at `at`. */
export function writeTime(time: number, target: Buffer, at: number): void {
  let rest = time;
  for (let i = TIME_BYTES - 1; i >= 0; i--) {
    const byte = rest % 256;
    target[at + i] = byte;
    rest = (rest - byte) / 256;
  }
}

/** SHA-1 in hex; crypto.hash (Node 20.12) is several times faster than a Hash object for short inputs. */
const sha1Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha1', text) : (text) => crypto.createHash('sha1').update(text).digest('hex');

/** The first 32 bits of the id's SHA-1, as the scripts' hashOf computes them. */
export function participantHash(participantId: string): number {
  return Number.parseInt(sha1Hex(participantId).slice(0, 8), 16);
}

export interface BucketShape {
  readonly level: number;
  readonly split: number;
}

/** The buckets for `entries` at `fill` per bucket: what the scripts' splits reach as the board grows to that size. */
export function bucketShape(entries: number, fill: number): BucketShape {
  const buckets = Math.max(1, Math.ceil(entries / fill));
  const level = 31 - Math.clz32(buckets);
  return { level, split: buckets - 2 ** level };
}

export function bucketCount(shape: BucketShape): number {
  return 2 ** shape.level + shape.split;
}

export function bucketIndex(hash: number, shape: BucketShape): number {
  const width = 2 ** shape.level;
  const bucket = hash % width;
  return bucket < shape.split ? hash % (2 * width) : bucket;
}
