#!/usr/bin/python3
"""A prometheus_client worker that names its files by a worker id, as
django-prometheus does under uWSGI (counter_<id>.db), instead of its pid.

  idworker.py --id 3 --incs 500 --seconds 2 [--hold FILE]

Increments idworker_requests_total --incs times, spread over --seconds, with
a livesum gauge idworker_live of 1 while it runs; then exits, or with
--hold, waits until FILE exists, then exits. Prints nothing.
"""

import argparse
import os
import time

from prometheus_client import Counter, Gauge, values

parser = argparse.ArgumentParser()
parser.add_argument("--id", required=True)
parser.add_argument("--incs", type=int, required=True)
parser.add_argument("--seconds", type=float, default=1.0)
parser.add_argument("--hold", default="")
args = parser.parse_args()

# django-prometheus' uWSGI recipe: the worker id, not the pid, names files.
values.ValueClass = values.MultiProcessValue(process_identifier=lambda: args.id)

REQUESTS = Counter("idworker_requests", "Increments by id workers.")
LIVE = Gauge("idworker_live", "1 per running id worker.", multiprocess_mode="livesum")
LIVE.set(1)
pause = args.seconds / max(args.incs, 1)
for _ in range(args.incs):
    REQUESTS.inc()
    time.sleep(pause)
while args.hold and not os.path.exists(args.hold):
    time.sleep(0.05)
