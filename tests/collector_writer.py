#!/usr/bin/python3
"""A Python multiprocess worker for promdir-collector's tests: writes with
Debian's prometheus_client into DIR until it is killed.

  collector_writer.py DIR
Counts e2e_events_total{kind} up by one per step (kinds 0..4, plus a new
kind every 50 steps so files keep growing), sets a livesum gauge, observes
a histogram, and touches DIR/ready.<pid> after its first step.
"""
import os
import sys

os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]

from prometheus_client import Counter, Gauge, Histogram  # noqa: E402

events = Counter("e2e_events", "Events seen by e2e workers", ["kind"])
busy = Gauge("e2e_busy", "Busy workers", multiprocess_mode="livesum")
latency = Histogram("e2e_latency_seconds", "Step latency")

step = 0
while True:
    events.labels(kind=str(step % 5)).inc()
    if step % 50 == 0:
        events.labels(kind="k%d_%d" % (os.getpid(), step)).inc(0)
    busy.set(1)
    latency.observe((step % 7) / 10.0)
    if step == 0:
        open(os.path.join(sys.argv[1], "ready.%d" % os.getpid()), "w").close()
    step += 1
