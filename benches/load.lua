-- wrk script for benches/run.sh: a realistic mix of signed Tencent callbacks.
--
-- Every request: one of the three seed callback kinds (Live.CallbackAfterMemberStateChanged,
-- Group.CallbackOnMemberStateChange, Room.CallbackAfterMemberEnter) at random, for a random
-- room among BENCH_ROOMS, with a member account unique to the run:
-- BENCH_MARKER .. "." .. BENCH_PHASE .. <thread> .. "." .. <counter>, so the events of a run
-- can be counted on Kafka afterwards. The query is signed like Tencent signs it: the shell
-- computes Sign = sha256_hex(token .. RequestTime) once, just before the load starts.
--
-- BENCH_RATE > 0 paces the load at that many requests/s in total (split across the wrk
-- threads) through wrk's delay() hook: each call claims the next slot of a per-thread
-- schedule, so the rate holds whatever the connection count. 0 = as fast as possible.
--
-- BENCH_DRAIN_MS: the last that many ms of the run (BENCH_SECS long) send nothing: delay()
-- parks every connection, so each request sent is answered (or timed out) before wrk stops.
-- Without this, requests in flight when wrk stops would reach Kafka uncounted, and could mask
-- a lost acknowledged event. req/s is computed over the sending window only.
--
-- done() prints one line starting with BENCH_RESULT that run.sh parses.

local app_id   = os.getenv("BENCH_APP_ID") or "1400000000"
local rtime    = os.getenv("BENCH_REQUEST_TIME") or "0"
local sign     = os.getenv("BENCH_SIGN") or ""
local marker   = os.getenv("BENCH_MARKER") or "bench"
local phase    = os.getenv("BENCH_PHASE") or "p"
local rooms    = tonumber(os.getenv("BENCH_ROOMS") or "5000")
local rate     = tonumber(os.getenv("BENCH_RATE") or "0")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
local secs     = tonumber(os.getenv("BENCH_SECS") or "10")
local drain    = tonumber(os.getenv("BENCH_DRAIN_MS") or "0")

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

-- Globals: setup() sets tid, done() reads n (requests sent) through thread:set / thread:get.
tid, n = 0, 0
local headers = { ["Content-Type"] = "application/json" }
local prefix = "/callback?SdkAppid=" .. app_id .. "&CallbackCommand="
local suffix = "&contenttype=json&ClientIP=10.0.0.7&OptPlatform=iOS&RequestTime=" .. rtime .. "&Sign=" .. sign
local paths = {
   prefix .. "Live.CallbackAfterMemberStateChanged" .. suffix,
   prefix .. "Group.CallbackOnMemberStateChange" .. suffix,
   prefix .. "Room.CallbackAfterMemberEnter" .. suffix,
}
-- The seed bodies, cut where the per-request values go in (room or operator first).
local live_a = '{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room-'
local group_a = '{"CallbackCommand":"Group.CallbackOnMemberStateChange","GroupId":"@TGS#room-'
local room_a = '{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"'
local random = math.random
local states = { "Online", "Offline" }
local causes = { "Enter", "Leave", "HeartbeatInterrupt", "HeartbeatRecover", "Kicked" }

local now_ms
local interval, next_slot, stop_at = 0, 0, math.huge
local PARK = 3600 * 1000

function init(args)
   math.randomseed(os.time() * 1000 + tid)
   local ffi = require("ffi")
   ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clk, bench_timespec *ts);
   ]]
   local ts = ffi.new("bench_timespec")
   now_ms = function()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
   end
   next_slot = now_ms()
   if drain > 0 then stop_at = next_slot + secs * 1000 - drain end
   if rate > 0 then interval = 1000 * nthreads / rate end
end

if rate > 0 or drain > 0 then
   function delay()
      local t = now_ms()
      if t >= stop_at then return PARK end
      if rate <= 0 then return 0 end
      -- Open loop: a late slot is sent at once (catch up), unless more than a second late
      -- (then the schedule restarts rather than bursting).
      if next_slot < t - 1000 then next_slot = t end
      local slot = next_slot
      next_slot = next_slot + interval
      local d = slot - t
      if d < 0 then return 0 end
      return math.floor(d)
   end
end

function request()
   n = n + 1
   local member = marker .. "." .. phase .. tid .. "." .. n
   local room = random(rooms)
   local kind = random(3)
   local body
   if kind == 1 then
      body = live_a .. room .. '","EventType":"' .. states[random(2)] .. '","EventCause":"' .. causes[random(5)]
         .. '","MemberList":[{"Member_Account": "' .. member .. '"},{"Member_Account": "tommy"}],"EventTime":1703589922780}'
   elseif kind == 2 then
      body = group_a .. room .. '","EventType": "' .. states[random(2)]
         .. '","MemberList": [{"Member_Account": "' .. member .. '"},{"Member_Account": "tommy"}]}'
   else
      body = room_a .. member .. '","RoomId":"room-' .. room
         .. '","MemberCount":20,"Type":"Enter","MemberList_Account":["' .. member .. '"],"EventTime":1670574414123}'
   end
   return wrk.format("POST", paths[kind], headers, body)
end

-- No response() hook: it would cost a Lua call (and a header table) per answer. The bridge
-- answers 200 or 4xx/5xx only, so 200s = summary.requests - summary.errors.status (wrk
-- counts every status > 399 there).

function done(summary, latency, requests)
   local e = summary.errors
   local oks, others = summary.requests - e.status, e.status
   local sent = 0
   for _, t in ipairs(threads) do sent = sent + t:get("n") end
   -- req/s over the sending window (the drain at the end sends nothing); ok_rps counts 200s
   -- only, so a target answering 503 fast does not look faster.
   local secs = math.max(0.001, summary.duration / 1e6 - drain / 1000)
   io.write(string.format(
      "BENCH_RESULT sent=%d requests=%d ok=%d non200=%d seconds=%.2f rps=%.1f ok_rps=%.1f p50_us=%d p99_us=%d " ..
      "p999_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
      sent, summary.requests, oks, others, secs, summary.requests / secs, oks / secs,
      latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
      e.connect, e.read, e.write, e.timeout, e.status))
end
