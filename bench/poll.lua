-- People sitting on the queue page, for wrk: like load.lua (one request per line of the file
-- in argument 1, METHOD <tab> PATH <tab> HEADERS <tab> -), but each connection waits between
-- its requests as the page's script does (argument 3: milliseconds, +-20 % jitter), so
-- N connections play N people polling. done() prints one JSON line with the figures.

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
  pause_ms = tonumber(args[3])
  lines = {}
  for line in io.lines(args[1]) do
    local f = split(line)
    local headers = {}
    for pair in string.gmatch(f[3], "([^|]+)") do
      local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
      headers[name] = value
    end
    table.insert(lines, { method = f[1], path = f[2], headers = headers })
  end
  position = thread_index
  statuses = {}
  math.randomseed(thread_index + 1)
end

function delay()
  return math.floor(pause_ms * (0.8 + 0.4 * math.random()))
end

function request()
  local line = lines[(position % #lines) + 1]
  position = position + thread_count
  return wrk.format(line.method, line.path, line.headers, nil)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
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
