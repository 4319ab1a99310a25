-- wrk script for the benchmark: POSTs pre-signed LINE webhooks, each request a different line of the file.
-- Usage: wrk ... -s bench/line.lua URL -- FILE THREADS [HEADER]
-- Each line of FILE is a header value TAB body; the value is sent in HEADER (default X-Line-Signature, where the
-- lines of gen_line.py carry their base64 signature; the ledger section sends gen_8x8.py's in Authorization).
-- Thread k of n sends lines k, k+n, k+2n, ... of FILE, so no two requests repeat
-- until a thread runs out of lines; it then starts its slice again, and `done` reports those repeats.
-- The URL's path is the path posted to. At the end one line is printed for run.sh:
--   BENCH_JSON {"requests":..,"duration_s":..,"rps":..,"non2xx":..,"p50_ms":..,...}

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads, header = args[1], tonumber(args[2]), args[3] or "X-Line-Signature"
   assert(file and nthreads, "usage: -- FILE THREADS [HEADER]")
   local path = wrk.path
   requests, n, i, sent = {}, 0, 0, 0
   local line_no = 0
   for line in io.lines(file) do
      if line_no % nthreads == id then
         local value, body = line:match("^([^\t]+)\t(.*)$")
         n = n + 1
         requests[n] = wrk.format("POST", path, {
            ["Content-Type"] = "application/json",
            [header] = value,
         }, body)
      end
      line_no = line_no + 1
   end
   assert(n > 0, "no requests for thread " .. id .. " in " .. file)
end

function request()
   i = i + 1
   if i > n then i = 1 end
   sent = sent + 1
   return requests[i]
end

function done(summary, latency, _)
   local sent_total, repeats, lines = 0, 0, 0
   for _, t in ipairs(threads) do
      local s, n = t:get("sent"), t:get("n")
      sent_total = sent_total + s
      lines = lines + n
      if s > n then repeats = repeats + (s - n) end
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   local ms = function(p) return latency:percentile(p) / 1000 end
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"non2xx":%d,"connect_errors":%d,' ..
      '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
      '"p999_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"sent":%d,"lines":%d,"repeats":%d}\n',
      summary.requests, seconds, summary.requests / seconds, e.status, e.connect, e.read, e.write, e.timeout,
      ms(50), ms(90), ms(99), ms(99.9), latency.max / 1000, latency.mean / 1000, sent_total, lines, repeats))
end
