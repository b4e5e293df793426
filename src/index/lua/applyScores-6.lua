--[[
  Applies a batch of score submissions to one board, in order and
  atomically: deduplicates event ids, applies the board's operator
  (core/operators.ts), re-ranks (core/ordering.ts: the score is the sorted
  set's score, the tie-break is in the member), bumps the version on every
  change and appends each applied submission to the board's change log
  (the writing itself is in includes/apply.lua).

  Layout (src/index/redis-keys.ts): the member of an entry is achievedAt's
  7 bytes then the participant id; the participant's bucket hash maps the id
  to achievedAt's 7 bytes and updatedAt - achievedAt; metadata is in its own
  hash. Log ids and event ids: includes/apply.lua.

  Input:
    KEYS[1]  board state (hash)
    KEYS[2]  ranking (sorted set)
    KEYS[3]  entry metadata (hash)
    KEYS[4]  change log (stream)
    KEYS[5]  prefix of the bucket hashes (KEYS[5] .. i)
    KEYS[6]  prefix of the event-id hashes (KEYS[6] .. day)
    ARGV[1]  receivedAt: the caller's clock, ms since 1970
    ARGV[2]  the start (ms) of the period the submissions belong to, or ''
             for a board without resets: checked against the state field
             period_start, which a period's close sets
    ARGV[3]  'shared': the outcomes' ranks (and the logged old_rank and
             new_rank) are shared ranks, 1 + the entries with a strictly
             better score (a ZCOUNT); 'unique': places in the order
    ARGV[6i + 4 .. 6i + 9], submission i (0-based):
             participant id, score (a delta under increment), timestamp,
             event id ('' for none), metadata JSON ('' for none),
             fingerprint ('' without an event id)

  Output:
    {BOARD_NOT_FOUND} when the board does not exist,
    {BOARD_BUSY} while a rebuild holds it (state field frozen_until, ms,
    later than receivedAt; index/redis.ts freeze),
    {PERIOD_MISMATCH, period_start} when the live standings belong to
    another period than ARGV[2] (nothing is applied), else
    {OK, epoch, seq, outcome 1, outcome 2, ...}: seq (decimal) is the board's
    log position after the batch, whose logged submissions (those not
    duplicate) took the positions up to it in order; an outcome per submission:
      {OK, duplicate 0|1, changed 0|1, version, <entry>[, <previous>]}
      {SCORE_OVERFLOW, current score}
      {EVENT_ID_CONFLICT}
    <entry> and <previous> are 6 values each: participant id, score,
    achievedAt, updatedAt (these three in decimal), metadata JSON ('' for
    none), rank; <previous> is left out for a new participant.
]]
--- @include "board"
--- @include "apply"

local board = openWrite(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1])
if not board then return {BOARD_NOT_FOUND} end
if isFrozen(board, ARGV[1]) then return {BOARD_BUSY} end
if ARGV[2] ~= '' and board.periodStart ~= ARGV[2] then return {PERIOD_MISMATCH, board.periodStart} end

board.shared = ARGV[3] == 'shared'

local reply = {OK, board.epoch, ''}
for i = 4, #ARGV - 5, 6 do
  reply[#reply + 1] = applySubmission(board, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[1])
end
closeWrite(board)
reply[3] = decimal(board.seq)
return reply
