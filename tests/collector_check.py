#!/usr/bin/python3
"""Checks promdir-collector output with Debian's prometheus_client parsers.

  collector_check.py compare EXPECTED ACTUAL [--actual-openmetrics]
                    [--drop FAMILY]...
      Compares two expositions as data (families, types, help, samples,
      values), ignoring promdir_collector_* self-metrics and each FAMILY
      dropped from EXPECTED. EXPECTED is text 0.0.4; ACTUAL is text, or
      OpenMetrics with --actual-openmetrics.
      Exit 0 when equal, 1 with the differences on stderr.
  collector_check.py om-valid FILE
      Exit 0 iff FILE parses with the OpenMetrics parser (which requires
      '# EOF' and +Inf buckets).
  collector_check.py sum FILE SAMPLE [--openmetrics]
      Prints the sum of every sample named SAMPLE.
"""
import math
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics)
from prometheus_client.parser import text_string_to_metric_families as parse_text


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def families(text, openmetrics):
    parse = parse_openmetrics if openmetrics else parse_text
    return list(parse(text))


def value_key(v):
    if math.isnan(v):
        return "NaN"
    return float(v)


def same_value(a, b):
    """Equal, or within float rounding: sums over files may be added in
    another order than Python's collector adds them."""
    if a == b:
        return True
    if isinstance(a, str) or isinstance(b, str):
        return False
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def same_samples(expected, actual):
    if len(expected) != len(actual):
        return False
    for (en, el, ev), (an, al, av) in zip(expected, actual):
        if en != an or el != al or not same_value(ev, av):
            return False
    return True


def labels_key(labels):
    """Labels as sorted pairs; `le` and `quantile` as numbers, since clients
    spell the same bound differently (0.16 writes 1e+012, newer ones 1e+12)."""
    out = []
    for k, v in sorted(labels.items()):
        if k in ("le", "quantile"):
            try:
                v = float(v)
            except ValueError:
                pass
        out.append((k, v))
    return tuple(out)


def as_data(fams):
    data = {}
    for f in fams:
        if f.name.startswith("promdir_collector_"):
            continue
        samples = sorted(
            ((s.name, labels_key(s.labels), value_key(s.value))
             for s in f.samples), key=lambda x: (x[0], x[1]))
        if f.name in data:
            raise SystemExit("family %s appears twice" % f.name)
        data[f.name] = (f.type, f.documentation, samples)
    return data


def compare(expected_path, actual_path, actual_om, drop=()):
    expected = as_data(families(read(expected_path), False))
    for name in drop:
        expected.pop(name, None)
    actual = as_data(families(read(actual_path), actual_om))
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append("missing family %s" % name)
            continue
        if name not in expected:
            problems.append("unexpected family %s" % name)
            continue
        et, eh, es = expected[name]
        at, ah, as_ = actual[name]
        if et != at:
            problems.append("%s: type %s, expected %s" % (name, at, et))
        if eh != ah:
            problems.append("%s: help %r, expected %r" % (name, ah, eh))
        if not same_samples(es, as_):
            missing = sorted(set(es) - set(as_))[:5]
            extra = sorted(set(as_) - set(es))[:5]
            problems.append("%s: samples differ; missing %s; unexpected %s" %
                            (name, missing, extra))
    for p in problems[:20]:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "compare":
        rest = argv[3:]
        drop = [rest[i + 1] for i in range(len(rest) - 1) if rest[i] == "--drop"]
        return compare(argv[1], argv[2], "--actual-openmetrics" in rest, drop)
    if len(argv) == 2 and argv[0] == "om-valid":
        try:
            fams = families(read(argv[1]), True)
        except Exception as e:  # the parser raises ValueError and friends
            print("openmetrics parse error: %s" % e, file=sys.stderr)
            return 1
        print("%d families" % len(fams))
        return 0
    if len(argv) >= 3 and argv[0] == "sum":
        total = 0.0
        for f in families(read(argv[1]), "--openmetrics" in argv[3:]):
            for s in f.samples:
                if s.name == argv[2]:
                    total += s.value
        print(repr(total))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
