#!/usr/bin/python3
"""32 kept-alive clients scrape /metrics for SECONDS; prints what each got.

  net_fairness.py PORT SECONDS

Unlike wrk, which reports only the requests that completed, this counts per
connection: a connection that waits behind others and is never served
shows up as served 0 times. Exits 1 if any request failed or timed out
(5 s), or if any connection was served less than a third as often as the
busiest one.
"""

import http.client
import sys
import threading
import time

CONNS = 32


def main():
    port, secs = int(sys.argv[1]), float(sys.argv[2])
    latencies, counts, failures = [], [0] * CONNS, [0]
    end = time.monotonic() + secs

    def run(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while time.monotonic() < end:
            t = time.monotonic()
            try:
                c.request("GET", "/metrics")
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError(r.status)
                latencies.append(time.monotonic() - t)
                counts[i] += 1
            except Exception:
                failures[0] += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    n = len(latencies)
    p50 = 1000 * latencies[n // 2] if n else 0
    p99 = 1000 * latencies[min(n - 1, int(n * 0.99))] if n else 0
    print("%d keep-alive connections: %d requests, %d failed or timed out, p50 %.0f ms, "
          "p99 %.0f ms, served per connection min %d max %d, never served %d"
          % (CONNS, n, failures[0], p50, p99, min(counts), max(counts), counts.count(0)))
    ok = n > 0 and failures[0] == 0 and min(counts) * 3 >= max(counts) and p99 <= 10 * p50
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
