#!/usr/bin/python3
"""Sends a known number of requests to the e2e app and prints what the merged
metrics must then say, as arguments for promquery.py (one per line: QUERY
TAB EXPECTED-JSON).

  send.py --url http://127.0.0.1:8000 --requests 3000 --concurrency 8

Request i goes to /a, /b or /c (i % 3) with ms = i % 50. Any failed request
fails the run: a lost or retried request would make the totals unknowable.
"""

import argparse
import http.client
import json
import sys
import threading
import urllib.parse

PATHS = ["/a", "/b", "/c"]
VIEWS = {"/a": "home", "/b": "caf\u00e9 \u2615", "/c": 'quo"te\\back'}
BUCKETS = [.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0]


def plan(n, offset=0):
    return [(PATHS[(offset + i) % 3], (offset + i) % 50) for i in range(n)]


def expectations(requests, metric_prefix="app"):
    views, le_025 = {}, 0
    total_s = 0.0
    for path, ms in requests:
        views[VIEWS[path]] = views.get(VIEWS[path], 0) + 1
        total_s += ms / 1000
        if ms / 1000 <= 0.025:
            le_025 += 1
    n = len(requests)
    p = metric_prefix
    return [
        ("sum by (view) (%s_requests_total)" % p, views),
        ("sum(%s_request_duration_seconds_count)" % p, n),
        ('sum(%s_request_duration_seconds_bucket{le="+Inf"})' % p, n),
        ('sum(%s_request_duration_seconds_bucket{le="0.025"})' % p, le_025),
        ("sum(%s_request_duration_seconds_sum)" % p, total_s),
        ("sum(%s_response_bytes_count)" % p, n),
        ("sum(%s_response_bytes_sum)" % p, sum(ms * 10 for _, ms in requests)),
        ("max(%s_longest_request_seconds)" % p, 0.049 if n >= 50 else max(ms for _, ms in requests) / 1000),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--expect-only", action="store_true",
                    help="print the expectations without sending")
    args = ap.parse_args()
    reqs = plan(args.requests, args.offset)
    if not args.expect_only:
        u = urllib.parse.urlsplit(args.url)
        lock = threading.Lock()
        queue = list(reversed(reqs))
        errors = []

        def worker():
            while True:
                with lock:
                    if not queue or errors:
                        return
                    path, ms = queue.pop()
                try:
                    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                    c.request("GET", "%s?ms=%d" % (path, ms), headers={"Connection": "close"})
                    r = c.getresponse()
                    body = r.read()
                    c.close()
                    if r.status != 200 or len(body) != ms * 10:
                        raise RuntimeError("status %d, %d bytes" % (r.status, len(body)))
                except Exception as e:
                    with lock:
                        errors.append("%s?ms=%d: %s" % (path, ms, e))
                    return

        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            print("send.py: request failed: %s" % errors[0], file=sys.stderr)
            return 1
    for q, want in expectations(reqs):
        print("%s\t%s" % (q, json.dumps(want)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
