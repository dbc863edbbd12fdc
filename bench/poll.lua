-- People sitting on the queue page, for wrk: load.lua's requests (one per line of the file in
-- argument 1), but each connection waits between its requests as the page's script does
-- (argument 3: milliseconds, +-20 % jitter), so N connections play N people polling.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "load.lua")

local load_init = init

function init(args)
  load_init(args)
  pause_ms = tonumber(args[3])
  math.randomseed(thread_index + 1)
end

function delay()
  return math.floor(pause_ms * (0.8 + 0.4 * math.random()))
end
