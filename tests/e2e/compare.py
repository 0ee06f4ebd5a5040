#!/usr/bin/python3
"""Checks that promdir's merge equals Python's MultiProcessCollector on one
directory, as data: families, types, help, and every sample's name, labels
and value.

  compare.py --dir D --promdir build/bin/promdir

Run it on a quiet directory (no writer or compactor changing it meanwhile).
Exits 0 when equal; otherwise prints the differences and exits 1.
"""

import argparse
import math
import subprocess
import sys

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families


def as_data(text):
    fams = {}
    for f in text_string_to_metric_families(text):
        samples = {}
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in samples:
                raise ValueError("duplicate sample %r" % (key,))
            samples[key] = s.value
        fams[f.name] = (f.type, f.documentation, samples)
    return fams


def same(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--promdir", required=True)
    args = ap.parse_args()

    reg = CollectorRegistry()
    MultiProcessCollector(reg, path=args.dir)
    py = as_data(generate_latest(reg).decode("utf-8"))

    run = subprocess.run([args.promdir, "collect", "--dir", args.dir],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print("promdir collect exited %d: %s" % (run.returncode, run.stderr), file=sys.stderr)
        return 1
    pd = as_data(run.stdout)

    diffs = []
    for name in sorted(set(py) | set(pd)):
        if name not in pd:
            diffs.append("family %s only in Python's output" % name)
            continue
        if name not in py:
            diffs.append("family %s only in promdir's output" % name)
            continue
        (pt, ph, ps), (dt, dh, ds) = py[name], pd[name]
        if pt != dt:
            diffs.append("%s: type %s (Python) vs %s (promdir)" % (name, pt, dt))
        if ph != dh:
            diffs.append("%s: help %r (Python) vs %r (promdir)" % (name, ph, dh))
        for key in sorted(set(ps) | set(ds)):
            if key not in ds:
                diffs.append("%s: sample %r only in Python's output" % (name, key))
            elif key not in ps:
                diffs.append("%s: sample %r only in promdir's output" % (name, key))
            elif not same(ps[key], ds[key]):
                diffs.append("%s: %r = %r (Python) vs %r (promdir)" % (name, key, ps[key], ds[key]))
    if diffs:
        print("promdir and MultiProcessCollector differ on %s:" % args.dir, file=sys.stderr)
        for d in diffs[:50]:
            print("  " + d, file=sys.stderr)
        return 1
    n = sum(len(v[2]) for v in py.values())
    print("compare: promdir == MultiProcessCollector (%d families, %d samples)" % (len(py), n),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
