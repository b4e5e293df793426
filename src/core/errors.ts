/**
 * The one catalogue of Ladder errors. Each cause has a stable `code`, an HTTP
 * status and a message. Domain code throws LadderError; only the edges
 * (HTTP, WebSocket, SSE) turn it into a wire shape.
 */

export const ErrorCodes = {
  malformed_json: { status: 400, doc: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, doc: 'A field is missing, of the wrong type or out of range; details.field names it.' },
  invalid_score: { status: 400, doc: 'score is not an integer within ±(2^53−1), or on a board with score_decimals not a number with at most that many decimals within that range once scaled.' },
  score_overflow: { status: 400, doc: 'An increment would take the score outside ±(2^53−1).' },
  invalid_message: { status: 400, doc: 'Real time: the message is not JSON, or not a known message type with its fields.' },
  invalid_view: { status: 400, doc: 'Real time: the view is not one of {top}, {around, radius} or {participant}, or out of range.' },
  missing_api_key: { status: 401, doc: 'The request needs `Authorization: Bearer <key>`.' },
  invalid_api_key: { status: 401, doc: 'The API key is unknown or revoked.' },
  forbidden: { status: 403, doc: 'The API key lacks the scope this request needs, is limited to other boards, or is a player token acting for another participant or board.' },
  invalid_token: { status: 401, doc: 'The player token (JWT) is malformed, badly signed, expired, or for another audience or issuer.' },
  participant_hidden: { status: 403, doc: 'An admin hid this participant on this board; their submissions are refused (and recorded) until unhidden.' },
  route_not_found: { status: 404, doc: 'No such endpoint.' },
  board_not_found: { status: 404, doc: 'No board has this id.' },
  participant_not_found: { status: 404, doc: 'The participant has no entry on this board (or, for GET /v1/participants/{pid}, no profile).' },
  key_not_found: { status: 404, doc: 'No API key has this id.' },
  unknown_subscription: { status: 404, doc: 'Real time: the connection has no subscription with this `sub`.' },
  period_not_found: { status: 404, doc: 'The board has no closed period with this id (GET .../periods lists them).' },
  board_exists: { status: 409, doc: 'A board with this id exists already.' },
  event_id_conflict: { status: 409, doc: 'This event_id was used before with a different submission (participant, score, timestamp or metadata).' },
  board_not_started: { status: 409, doc: 'The board is scheduled: it accepts scores from its starts_at on.' },
  board_closed: { status: 409, doc: 'The board is closed (its ends_at passed, or an admin closed it); it accepts no scores until reopened.' },
  period_closed: { status: 409, doc: "The submission's timestamp lies in a period of the board that has closed; its final rankings are kept under GET .../periods." },
  board_finalized: { status: 409, doc: 'The board is closed and its final rankings archived; answers come from the archive. Reopen it to change it.' },
  immutable_field: { status: 409, doc: "PATCH: this field of a board cannot change (id, sort_order, operator, reset; score_decimals once the board has entries)." },
  export_interrupted: { status: 409, doc: "An export was cut off because the board's epoch changed while it streamed (deleted and created again, rebuilt or reloaded): the connection is closed before the end of the file, so that no partial file looks whole. Export again." },
  duplicate_subscription: { status: 409, doc: 'Real time: the connection already has a subscription with this `sub`.' },
  payload_too_large: { status: 413, doc: 'The request body exceeds LADDER_BODY_LIMIT.' },
  unsupported_media_type: { status: 415, doc: 'Send `Content-Type: application/json`.' },
  rule_min_score: { status: 422, doc: "Anti-cheat: the score (on an increment board, the total after it) is below the board's rules.min_score." },
  rule_max_score: { status: 422, doc: "Anti-cheat: the score (on an increment board, the total after it) is above the board's rules.max_score." },
  rule_max_increase: { status: 422, doc: "Anti-cheat: the submission improves the participant's score by more than the board's rules.max_increase (on an asc board, improving is going down)." },
  rule_max_increase_per_window: { status: 422, doc: "Anti-cheat: the participant's improvements within rules.max_increase_per_window.window_ms would pass its amount." },
  rule_monotonic: { status: 422, doc: 'Anti-cheat: the board is monotonic (rules.monotonic) and the submission would make the score worse.' },
  upgrade_required: { status: 426, doc: 'The subscribe endpoint speaks WebSocket; send `Upgrade: websocket`.' },
  rate_limited: { status: 429, doc: "A rate limit was exceeded: the key's (rate_limit, or LADDER_RATE_LIMIT_DEFAULT) or the board's per participant (rate_limit). Retry-After and RateLimit-* say when to retry; a refused submission is recorded in the participant's history. Real time: the connection sent more than LADDER_WS_MESSAGES_PER_SECOND messages this second (the message was ignored)." },
  too_many_connections: { status: 429, doc: 'Real time: the key (or, without a key, the client IP) holds LADDER_WS_MAX_CONNECTIONS WebSocket connections already; the new one is closed with code 4029.' },
  too_many_subscriptions: { status: 429, doc: 'Real time: the connection holds LADDER_MAX_SUBSCRIPTIONS subscriptions already.' },
  too_many_views: { status: 429, doc: 'Real time: the board has LADDER_MAX_VIEWS distinct views with subscribers already; subscribe to a view others watch (e.g. a top-N) or retry later.' },
  headers_too_large: { status: 431, doc: 'The request line and headers exceed the server limit (16 KiB).' },
  internal_error: { status: 500, doc: 'A bug in Ladder. The log has the details.' },
  storage_failed: { status: 503, doc: 'A commit to the durable store failed; the submissions in it were not applied (retry them). The log has the cause.' },
  not_durable_yet: { status: 503, doc: 'Cluster mode, LADDER_ACK=durable: the submission was applied to the live ranking, but PostgreSQL did not commit it in time; retry with the same event_id.' },
  index_unavailable: { status: 503, doc: 'Cluster mode: Redis (the live ranking) cannot be reached or failed. Retry; a submission with an event_id is applied once however often it is retried.' },
  board_rebuilding: { status: 503, doc: 'Cluster mode: the board is being rebuilt from PostgreSQL (ladder rebuild); nothing was applied, retry in a moment.' },
  store_unavailable: { status: 503, doc: 'The durable store (PostgreSQL, or SQLite) cannot be reached or failed. Retry after Retry-After; Ladder reconnects by itself.' },
  token_keys_unavailable: { status: 503, doc: 'LADDER_JWT_JWKS_URL did not answer with a usable JWKS in time, so a player token could not be checked. Retry; the JWKS is fetched again.' },
  shutting_down: { status: 503, doc: 'The server is shutting down; retry on another instance.' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export class LadderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'LadderError';
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.details = details;
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** A 400 that names the offending field, e.g. `invalidField('score', 'must be an integer')`. */
export function invalidField(field: string, problem: string): LadderError {
  return new LadderError('invalid_request', `${field} ${problem}`, { field });
}

export function boardNotFound(boardId: string): LadderError {
  return new LadderError('board_not_found', `leaderboard '${boardId}' does not exist`, { leaderboard_id: boardId });
}

export function participantNotFound(boardId: string, participantId: string): LadderError {
  return new LadderError('participant_not_found', `participant '${participantId}' has no entry on leaderboard '${boardId}'`, {
    leaderboard_id: boardId,
    participant_id: participantId,
  });
}

export function profileNotFound(participantId: string): LadderError {
  return new LadderError('participant_not_found', `participant '${participantId}' has no profile`, { participant_id: participantId });
}

export function eventIdConflict(eventId: string): LadderError {
  return new LadderError('event_id_conflict', `event_id '${eventId}' was used before with a different submission`, { field: 'event_id', event_id: eventId });
}
