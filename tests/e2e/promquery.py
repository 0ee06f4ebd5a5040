#!/usr/bin/python3
"""Polls a Prometheus server's HTTP API until queries return expected values.

  promquery.py --url http://127.0.0.1:9090 --timeout 90 \
      --expect 'sum(app_requests_total)' 1200 \
      --expect 'sum by (path) (app_requests_total)' '{"/a": 400, "/b": 800}'

EXPECTED is JSON: a number means the result is one sample with that value; an
object maps the value of the result's only label to its value (every series
must match and no series may be missing or extra). Exits 0 when every query
matched at the same poll, 1 (printing the last results) on timeout.
"""

import argparse
import json
import math
import sys
import time
import urllib.parse
import urllib.request


def query(url, q):
    full = url + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(full, timeout=5) as resp:
        body = json.load(resp)
    if body.get("status") != "success":
        raise RuntimeError("query %r failed: %r" % (q, body))
    data = body["data"]
    if data["resultType"] == "scalar":
        return float(data["result"][1])
    out = {}
    for r in data["result"]:
        labels = {k: v for k, v in r["metric"].items() if k != "__name__"}
        if not labels:
            key = None
        elif len(labels) == 1:
            key = next(iter(labels.values()))
        else:
            key = json.dumps(labels, sort_keys=True)
        out[key] = float(r["value"][1])
    if list(out) == [None]:
        return out[None]
    return out


def close(a, b):
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def matches(got, want):
    if isinstance(want, (int, float)):
        return isinstance(got, float) and close(got, float(want))
    if not isinstance(got, dict) or set(got) != set(want):
        return False
    return all(close(got[k], float(v)) for k, v in want.items())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--expect", nargs=2, action="append", required=True,
                    metavar=("QUERY", "EXPECTED"))
    args = ap.parse_args()
    checks = [(q, json.loads(e)) for q, e in args.expect]
    deadline = time.monotonic() + args.timeout
    last = {}
    while True:
        ok = True
        for q, want in checks:
            try:
                last[q] = query(args.url, q)
            except Exception as e:  # server still starting, or a bad query
                last[q] = "error: %s" % e
            if not matches(last[q], want):
                ok = False
        if ok:
            for q, want in checks:
                print("ok  %s = %s" % (q, json.dumps(want)), file=sys.stderr)
            return 0
        if time.monotonic() > deadline:
            for q, want in checks:
                status = "ok " if matches(last[q], want) else "BAD"
                print("%s %s\n      want %s\n      got  %s" %
                      (status, q, json.dumps(want), last[q]), file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
