-- 005_key_boards: an API key may be limited to a list of boards; NULL is every board.
ALTER TABLE api_keys ADD COLUMN boards text[];
