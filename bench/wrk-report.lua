-- Loaded by bench/run with `wrk -s`. It does not change the requests wrk
-- sends; it only prints one machine-readable line when the run ends, with the
-- exact counters and percentiles (wrk's own text output rounds them).
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH-RESULT requests=%d bytes=%d duration_us=%d"
         .. " err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d"
         .. " lat_p50_us=%d lat_p99_us=%d lat_mean_us=%.1f lat_max_us=%d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
