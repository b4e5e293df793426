-- 006_key_rate_limits: an API key may have its own request rate limit, at
-- most rate_limit_max requests per rate_limit_window_ms; NULL (both) is
-- LADDER_RATE_LIMIT_DEFAULT.
ALTER TABLE api_keys ADD COLUMN rate_limit_max integer;
ALTER TABLE api_keys ADD COLUMN rate_limit_window_ms integer;
