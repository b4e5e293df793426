-- 002_epochs: board epochs and entry counts, event fingerprints, the
-- clean-shutdown marker and revocable API keys.
--
-- boards.epoch changes whenever versions could be issued again (a restart
-- after an unclean stop, a board created again, a reload after a failed
-- commit); '' until the store first opens after this migration, which
-- finds no clean-shutdown marker and gives every board one.
ALTER TABLE boards ADD COLUMN epoch TEXT NOT NULL DEFAULT '';
-- Entries of the board as of its committed version, kept by the writer so
-- that a board answers its count without being loaded into memory.
ALTER TABLE boards ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
UPDATE boards SET total = (SELECT count(*) FROM entries WHERE entries.board_id = boards.id);

-- What a retry with the same event id must repeat (core/submission.ts);
-- NULL for events without an event id.
ALTER TABLE score_events ADD COLUMN fingerprint TEXT;

-- Small facts about the database itself, such as `clean_shutdown`: '1' once
-- the writer closed after its last commit, '0' while a process has it open.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) STRICT;

-- A revoked key is kept (its id stays taken and its row explains 401s) but
-- never authorizes again.
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
