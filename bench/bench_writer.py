#!/usr/bin/python3
"""Times promdir's hot path against Python prometheus_client's, in one run.

Runs promdir-bench (Google Benchmark) and, in this process, Python's
multiprocess-mode Counter.inc(), Histogram.observe(), Gauge.set() and
labels().inc() against a fresh PROMETHEUS_MULTIPROC_DIR, then prints a table
of CPU time per operation and the ratios. Both sides are measured in CPU time
so that other load on the machine affects them alike.

Targets: Inc and Observe at least 100x faster than Python's; Inc within 2x of
BM_AtomicBaseline (a bare atomic_ref<double> fetch_add). With --check the
exit status is 1 when a target is missed.

Usage: /usr/bin/python3 bench/bench_writer.py [--bench build/bin/promdir-bench]
           [--min-time 0.5] [--python-ops 200000] [--check]
Run it with Debian's /usr/bin/python3, which sees python3-prometheus-client.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def run_promdir_bench(path, min_time):
    out = subprocess.run(
        [path, "--benchmark_format=json", "--benchmark_min_time=%g" % min_time],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    times = {}
    for b in json.loads(out)["benchmarks"]:
        assert b["time_unit"] == "ns", b
        times[b["name"]] = b["cpu_time"]
    return times


def time_python(ops):
    tmp = tempfile.mkdtemp(prefix="promdir-pybench-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tmp
    try:
        # Imported after the variable is set: that selects multiprocess mode.
        import prometheus_client
        from prometheus_client import Counter, Gauge, Histogram
        from prometheus_client import values
        assert values.ValueClass.__name__ != "MutexValue", "not in multiprocess mode"
        c = Counter("py_bench_total", "c")
        h = Histogram("py_bench_seconds", "h")
        g = Gauge("py_bench_level", "g", multiprocess_mode="livesum")
        lc = Counter("py_bench_requests_total", "c", ["method", "route"])

        def measure(fn):
            fn(1000)  # warm up
            start = time.process_time()
            fn(ops)
            return (time.process_time() - start) / ops * 1e9

        def inc(n):
            for _ in range(n):
                c.inc()

        def observe(n):
            v = 0.0
            for _ in range(n):
                h.observe(v)
                v = 0.0 if v >= 0.99 else v + 0.01

        def gset(n):
            v = 0.0
            for _ in range(n):
                v += 1
                g.set(v)

        def labels_inc(n):
            for _ in range(n):
                lc.labels("GET", "/api/v1/items").inc()

        return {
            "version": getattr(prometheus_client, "__version__", "0.16 (Debian)"),
            "inc": measure(inc),
            "observe": measure(observe),
            "set": measure(gset),
            "labels_inc": measure(labels_inc),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(here, "..", "build", "bin", "promdir-bench"))
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--python-ops", type=int, default=200000)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    cpp = run_promdir_bench(args.bench, args.min_time)
    py = time_python(args.python_ops)

    rows = [
        ("Counter.Inc (cached handle)", "BM_CounterInc", "inc"),
        ("Histogram.Observe", "BM_HistogramObserve", "observe"),
        ("Gauge.Set", "BM_GaugeSet", "set"),
        ("WithLabelValues(..).Inc", "BM_CounterWithLabelValues", "labels_inc"),
    ]
    print("promdir writer vs Python prometheus_client %s (multiprocess mode), "
          "CPU ns per operation, one thread" % py["version"])
    print("%-30s %12s %12s %10s" % ("operation", "promdir ns", "python ns", "speed-up"))
    for label, bm, key in rows:
        print("%-30s %12.2f %12.1f %9.0fx" % (label, cpp[bm], py[key], py[key] / cpp[bm]))
    base = cpp["BM_AtomicBaseline"]
    print("%-30s %12.2f" % ("atomic_ref fetch_add (floor)", base))
    print()
    print("multi-thread (2 threads, per-thread CPU ns per operation):")
    for name in sorted(cpp):
        if "threads:" in name:
            print("  %-42s %8.2f" % (name, cpp[name]))
    print()
    checks = [
        ("Inc >= 100x faster than Python", py["inc"] / cpp["BM_CounterInc"], 100, ">="),
        ("Observe >= 100x faster than Python",
         py["observe"] / cpp["BM_HistogramObserve"], 100, ">="),
        ("Inc within 2x of BM_AtomicBaseline", cpp["BM_CounterInc"] / base, 2, "<="),
    ]
    ok = True
    for label, value, target, op in checks:
        good = value >= target if op == ">=" else value <= target
        ok &= good
        print("%-40s %8.2f (target %s %g)  %s" % (label, value, op, target,
                                                   "PASS" if good else "FAIL"))
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
