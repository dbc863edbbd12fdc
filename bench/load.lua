-- The benchmark's requests for wrk: one line per request in a file (argument 1), as
--   METHOD <tab> PATH <tab> HEADERS (name: value, joined by " | ", or -) <tab> BODY (or -)
-- Thread k of n sends lines k, k+n, k+2n, ... and wraps around at the end (so threads never
-- send the same line at the same time). done() prints one JSON line with the figures.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "([^\t]*)\t?") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  thread_count = tonumber(args[2])
  lines = {}
  for line in io.lines(args[1]) do
    local f = split(line)
    local headers = {}
    if f[3] ~= "-" then
      for pair in string.gmatch(f[3], "([^|]+)") do
        local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
        headers[name] = value
      end
    end
    local body = nil
    if f[4] ~= "-" then
      body = f[4]
      headers["Content-Type"] = "application/json"
    end
    table.insert(lines, { method = f[1], path = f[2], headers = headers, body = body })
  end
  position = thread_index
  statuses = {}
end

function request()
  local line = lines[(position % #lines) + 1]
  position = position + thread_count
  return wrk.format(line.method, line.path, line.headers, line.body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    for status, n in pairs(seen) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status, table.concat(parts, ", ")))
end
