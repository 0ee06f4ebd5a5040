"""A small WSGI app instrumented with prometheus_client in multiprocess mode.

Served by gunicorn in the end-to-end tests. Every metric is created at import,
in the worker (no --preload), so each worker writes its own files into
$PROMETHEUS_MULTIPROC_DIR. Observed values are deterministic (taken from the
request) so a test can predict every total.

  GET /<page>?ms=N   counts the request, observes N/1000 s and N*10 bytes
  GET /healthz       readiness probe, not counted
"""

import os
import urllib.parse

from prometheus_client import Counter, Gauge, Histogram, Summary

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    raise RuntimeError("app.py needs PROMETHEUS_MULTIPROC_DIR")

# Label values that exercise the key encoding end to end: non-ASCII, an
# emoji, a quote and a backslash.
VIEWS = {"/a": "home", "/b": "caf\u00e9 \u2615", "/c": 'quo"te\\back'}

REQUESTS = Counter("app_requests", "Requests served.", ["view", "method", "status"])
LATENCY = Histogram("app_request_duration_seconds", "Request duration.", ["view"])
SIZE = Summary("app_response_bytes", "Response body size.")
INFLIGHT = Gauge("app_inflight_requests", "Requests in flight.",
                 multiprocess_mode="livesum")
LONGEST = Gauge("app_longest_request_seconds", "Longest request seen.",
                multiprocess_mode="max")
WORKER = Gauge("app_worker_up", "1 per worker process.", multiprocess_mode="all")
WORKER.set(1)
_longest = 0.0


def app(environ, start_response):
    global _longest
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    view = VIEWS.get(path)
    if view is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    with INFLIGHT.track_inprogress():
        qs = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        ms = int(qs.get("ms", ["0"])[0])
        seconds = ms / 1000
        REQUESTS.labels(view, environ["REQUEST_METHOD"], "200").inc()
        LATENCY.labels(view).observe(seconds)
        SIZE.observe(ms * 10)
        _longest = max(_longest, seconds)
        LONGEST.set(_longest)
        body = b"x" * (ms * 10)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
