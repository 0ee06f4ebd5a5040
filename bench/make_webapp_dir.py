#!/usr/bin/python3
"""Writes a web-app multiprocess directory with Debian's prometheus_client.

Each worker is a real forked process using the client in multiprocess mode,
as gunicorn workers would. Per view it serves, a worker holds:
  http_requests_total{view,method,status}          counter    4 x 3
  http_request_duration_seconds{view,method}       histogram  4 x 16
  http_response_size_bytes{view,method}            summary    4 x 2
  http_requests_inprogress{view}                   livesum    1
  worker_last_request_size_bytes{view}             all        1
which is 86 entries per view; the number of views is entries / 86.

By default every worker creates its series in the same order. With
--shuffle, each serves the views in its own random order, as workers
serving real requests do, so no two files list their entries alike.

Usage: make_webapp_dir.py DIR --workers 64 --entries 9000 [--parallel 2]
                          [--shuffle]
DIR is emptied of *.db files first. Run with /usr/bin/python3.
"""

import argparse
import glob
import os
import random
import sys

METHODS = ["GET", "POST", "PUT", "DELETE"]
STATUSES = ["200", "404", "500"]
ENTRIES_PER_VIEW = 86


def worker(index, views, shuffle):
    from prometheus_client import Counter, Gauge, Histogram, Summary

    rnd = random.Random(index)
    requests = Counter("http_requests", "Requests served, by view, method and status.",
                       ["view", "method", "status"])
    latency = Histogram("http_request_duration_seconds", "Request latency in seconds.",
                        ["view", "method"])
    size = Summary("http_response_size_bytes", "Response sizes in bytes.", ["view", "method"])
    inprogress = Gauge("http_requests_inprogress", "Requests in progress.", ["view"],
                       multiprocess_mode="livesum")
    last = Gauge("worker_last_request_size_bytes", "Size of the last request of each worker.",
                 ["view"], multiprocess_mode="all")
    order = list(range(views))
    if shuffle:
        rnd.shuffle(order)
    for v in order:
        view = "app.views.view_%04d" % v
        for method in METHODS:
            for status in STATUSES:
                requests.labels(view, method, status).inc(rnd.randint(1, 50))
            latency.labels(view, method).observe(rnd.random() * 3)
            size.labels(view, method).observe(rnd.randint(100, 100000))
        inprogress.labels(view).set(rnd.randint(0, 3))
        last.labels(view).set(rnd.randint(100, 100000))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--entries", type=int, default=9000,
                    help="entries per worker (approximate)")
    ap.add_argument("--parallel", type=int, default=2, help="workers forked at once")
    ap.add_argument("--shuffle", action="store_true",
                    help="each worker creates its series in its own order")
    args = ap.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    for f in glob.glob(os.path.join(args.dir, "*.db")):
        os.remove(f)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = args.dir
    views = max(1, args.entries // ENTRIES_PER_VIEW)
    running = set()
    for i in range(args.workers):
        if len(running) >= args.parallel:
            pid, status = os.wait()
            running.discard(pid)
            if status != 0:
                sys.exit("a worker failed")
        pid = os.fork()
        if pid == 0:
            try:
                worker(i, views, args.shuffle)
            finally:
                os._exit(0)
        running.add(pid)
    for pid in running:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit("a worker failed")
    files = glob.glob(os.path.join(args.dir, "*.db"))
    print("%s: %d workers x %d entries (%d views) in %d files" %
          (args.dir, args.workers, views * ENTRIES_PER_VIEW, views, len(files)))


if __name__ == "__main__":
    main()
