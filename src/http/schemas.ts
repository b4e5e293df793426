/** JSON schemas of the v1 API. Bodies are validated strictly; query strings are coerced from text. */
import { MAX_SCOPES } from '../core/board.js';
import { BOARD_ID_PATTERN, EVENT_ID_PATTERN, PARTICIPANT_ID_PATTERN } from '../core/ids.js';
import { IMPORT_SOURCE_PATTERN } from '../core/import-records.js';
import { SCOPE_VALUE_PATTERN } from '../core/scopes.js';
import { MAX_SCORE } from '../core/ordering.js';
import { MAX_AVATAR_URL, MAX_DISPLAY_NAME } from '../core/profile.js';
import { RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_MAX_MS } from '../core/rate-limit.js';
import { MAX_METADATA_KEYS } from '../core/submission.js';

export const MAX_BATCH = 1000;
export const MAX_LIMIT = 1000;
export const MAX_NEIGHBORS = 100;
const metadata = { type: 'object', maxProperties: MAX_METADATA_KEYS } as const;

export const boardParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: BOARD_ID_PATTERN } },
} as const;

export const participantParams = {
  type: 'object',
  required: ['id', 'pid'],
  properties: { id: boardParams.properties.id, pid: { type: 'string', pattern: PARTICIPANT_ID_PATTERN } },
} as const;

const time = { type: 'integer', minimum: 0, maximum: MAX_SCORE } as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

/** A period id: readable, e.g. 2026-12-02, 2026-W49, 2026-12-02T16:05:10Z, or 'final'; 'all' names the all-time ranking. */
export const PERIOD_ID_PATTERN = '^[A-Za-z0-9:._-]{1,40}$';

/** `<scope>:<value>` of ?scope=; the service checks it against the board's scopes (core/scopes.ts). */
const scopeRef = { type: 'string', minLength: 1, maxLength: 100 } as const;

/** A window of a rate limit or a rule: up to a day. */
const windowMs = { type: 'integer', minimum: 1, maximum: RATE_LIMIT_WINDOW_MAX_MS } as const;

/** At most `max` requests (or submissions) per `window_ms`. */
export const rateLimit = {
  type: 'object',
  required: ['max', 'window_ms'],
  additionalProperties: false,
  properties: { max: { type: 'integer', minimum: 1, maximum: RATE_LIMIT_MAX }, window_ms: windowMs },
} as const;

/** The settings of a board that PATCH may change too. */
const boardSettings = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  metadata: nullable(metadata),
  starts_at: nullable(time),
  ends_at: nullable(time),
  reset: nullable({
    anyOf: [
      { enum: ['hourly', 'daily', 'weekly', 'monthly'] },
      {
        type: 'object',
        required: ['cron'],
        additionalProperties: false,
        properties: { cron: { type: 'string', minLength: 1, maxLength: 200 }, timezone: { type: 'string', minLength: 1, maxLength: 64 } },
      },
    ],
  }),
  keep_all_time: { type: 'boolean' },
  scopes: { type: 'array', maxItems: 4, items: { type: 'string', minLength: 1, maxLength: 32 } },
  rank_ties: { enum: ['unique', 'shared'] },
  score_decimals: { type: 'integer', minimum: 0, maximum: 6 },
  webhook_url: nullable({ type: 'string', minLength: 1, maxLength: 2048 }),
  webhook_top: { type: 'integer', minimum: 1, maximum: 1000 },
  // Scores in the board's decimals, checked against them by the service (core/score-rules.ts), which names the field.
  rules: nullable({
    type: 'object',
    additionalProperties: false,
    properties: {
      min_score: nullable({ type: 'number' }),
      max_score: nullable({ type: 'number' }),
      max_increase: nullable({ type: 'number', minimum: 0 }),
      max_increase_per_window: nullable({
        type: 'object',
        required: ['amount', 'window_ms'],
        additionalProperties: false,
        properties: { amount: { type: 'number', minimum: 0 }, window_ms: windowMs },
      }),
      monotonic: { type: 'boolean' },
    },
  }),
  rate_limit: nullable(rateLimit),
} as const;

export const profileParams = {
  type: 'object',
  required: ['pid'],
  properties: { pid: participantParams.properties.pid },
} as const;

/** What core/profile.ts checks beyond types and lengths (control characters, the URL's scheme) it refuses with the same field names. */
export const profileBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    display_name: { anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_DISPLAY_NAME }, { type: 'null' }] },
    avatar_url: { anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_AVATAR_URL }, { type: 'null' }] },
    metadata: { anyOf: [metadata, { type: 'null' }] },
  },
} as const;

export const newBoardBody = {
  type: 'object',
  required: ['id', 'sort_order', 'operator'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: BOARD_ID_PATTERN },
    sort_order: { enum: ['desc', 'asc'] },
    operator: { enum: ['best', 'latest', 'increment'] },
    ...boardSettings,
  },
} as const;

/** id, sort_order and operator are named so that trying to change them is a clear 409, not "unknown property". */
export const boardPatchBody = {
  type: 'object',
  additionalProperties: false,
  properties: { ...boardSettings, id: {}, sort_order: {}, operator: {} },
} as const;

export const periodsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 },
    /** periods: before this start; placements: closed before this. */
    before: time,
    key: { type: 'string' },
  },
} as const;

export const webhooksQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 },
    before: time,
    key: { type: 'string' },
  },
} as const;

export const scoreBody = {
  type: 'object',
  required: ['participant_id', 'score'],
  additionalProperties: false,
  properties: {
    participant_id: { type: 'string', pattern: PARTICIPANT_ID_PATTERN },
    // Checked against the board's score_decimals by the route (core/fixed-point.ts), which names the field too.
    score: {},
    timestamp: { type: 'integer', minimum: 0, maximum: MAX_SCORE },
    event_id: { type: 'string', pattern: EVENT_ID_PATTERN },
    metadata: { anyOf: [metadata, { type: 'null' }] },
    scope: { type: 'object', maxProperties: MAX_SCOPES, additionalProperties: { type: 'string', pattern: SCOPE_VALUE_PATTERN } },
  },
} as const;

/** Items are validated one by one (scoreBody), so that a bad item fails alone. */
export const batchBody = {
  type: 'object',
  required: ['scores'],
  additionalProperties: false,
  properties: { scores: { type: 'array', minItems: 1, maxItems: MAX_BATCH } },
} as const;

export const rankingsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
    offset: { type: 'integer', minimum: 0, maximum: MAX_SCORE, default: 0 },
    around: { type: 'string', pattern: PARTICIPANT_ID_PATTERN },
    participants: { type: 'string', minLength: 1, maxLength: 140_000 },
    wait_for_version_after: { type: 'integer', minimum: 0, maximum: MAX_SCORE },
    epoch: { type: 'string', maxLength: 64 },
    timeout_ms: { type: 'integer', minimum: 0, maximum: 3_600_000 },
    period: { type: 'string', pattern: PERIOD_ID_PATTERN },
    scope: scopeRef,
    key: { type: 'string' },
  },
} as const;

export const participantQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    neighbors: { type: 'integer', minimum: 0, maximum: MAX_NEIGHBORS, default: 4 },
    period: { type: 'string', pattern: PERIOD_ID_PATTERN },
    scope: scopeRef,
    key: { type: 'string' },
  },
} as const;

/** A participant's history (http/history.ts). The cursor is what an earlier page answered as next_cursor. */
export const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 },
    cursor: { type: 'string', minLength: 1, maxLength: 200 },
    key: { type: 'string' },
  },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: MAX_LIMIT },
    offset: { type: 'integer', minimum: 0, maximum: MAX_SCORE, default: 0 },
    key: { type: 'string' },
  },
} as const;

export const exportQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: { enum: ['csv', 'ndjson'], default: 'csv' },
    period: { type: 'string', pattern: PERIOD_ID_PATTERN },
    key: { type: 'string' },
  },
} as const;

export const importQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    source: { type: 'string', pattern: IMPORT_SOURCE_PATTERN },
  },
} as const;

export const readQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { key: { type: 'string' } },
} as const;

export const keyParams = {
  type: 'object',
  required: ['keyId'],
  properties: { keyId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const newKeyBody = {
  type: 'object',
  required: ['scope'],
  additionalProperties: false,
  properties: {
    scope: { enum: ['admin', 'write', 'read'] },
    name: { type: 'string', maxLength: 200 },
    // The boards the key may act on; absent: every board.
    boards: { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: { type: 'string', pattern: BOARD_ID_PATTERN } },
    // The key's own request rate limit; absent: LADDER_RATE_LIMIT_DEFAULT.
    rate_limit: rateLimit,
  },
} as const;

/** POST .../participants/{pid}/hide and /flag: why, for the moderation listing. The body may be left out. */
export const moderationBody = nullable({
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
});
