--[[
  wrk script of the HTTP benchmark: POSTs score submissions with varied
  participants and random scores, one per request or `batch` per request.

  Arguments (after `--` on the wrk command line):
    1  path           e.g. /v1/leaderboards/bench/scores
    2  mode           single | batch
    3  participants   participant ids are p-0 .. p-<participants - 1>
    4  batch          items per request in batch mode
    5  key            API key sent as `Authorization: Bearer <key>` ('' for none)

  Output: one line `WRK_RESULT {json}` on stdout at the end, with requests,
  duration_us, bytes, errors and latency percentiles in microseconds.
]]

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

local path, mode, participants, batch

function init(args)
  path = args[1]
  mode = args[2] or "single"
  participants = tonumber(args[3]) or 100000
  batch = tonumber(args[4]) or 1000
  local key = args[5] or ""
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
  end
end

local function item()
  return string.format('{"participant_id":"p-%d","score":%d}', math.random(0, participants - 1), math.random(0, 999999999))
end

local items = {}

function request()
  local body
  if mode == "batch" then
    for i = 1, batch do
      items[i] = item()
    end
    body = '{"scores":[' .. table.concat(items, ",", 1, batch) .. ']}'
  else
    body = item()
  end
  return wrk.format(nil, path, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
