-- 005_participants: participants' profiles, shared by every board
-- (PUT /v1/participants/{pid}). Answers and live views show the display
-- name and avatar with the participant's entries; the service keeps the
-- profiles it needs in a bounded cache (service/profiles.ts), so this table
-- is read once per cache miss, in batches.
--
-- An erasure (DELETE /v1/participants/{pid}) deletes the row, and the
-- participant's entries and log rows on every board.

CREATE TABLE participants (
  participant_id  TEXT     PRIMARY KEY,
  display_name    TEXT,
  avatar_url      TEXT,
  -- JSON text or NULL, as entries' metadata
  metadata        TEXT,
  updated_at      INTEGER  NOT NULL
) STRICT, WITHOUT ROWID;
