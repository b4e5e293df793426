-- 002_reserved: a stand-in for the lead's migration 002 (board lifecycle),
-- which is written in parallel; it keeps the numbering without gaps on this
-- branch until the merge replaces it. It changes nothing.
SELECT 1;
