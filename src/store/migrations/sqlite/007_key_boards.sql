-- 007_key_boards: an API key may be limited to a list of boards (JSON array
-- of board ids); NULL is every board.
ALTER TABLE api_keys ADD COLUMN boards TEXT;
