// Interop with Debian's prometheus_client 0.16 (/usr/bin/python3): the same
// bytes for the same metrics, one directory shared by Python and C++
// workers, and Python's MultiProcessCollector reading C++ workers' files.

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "lib/src/env.h"
#include "promdir/promdir.h"
#include "tests/test_util.h"
#include "tests/writer_util.h"

namespace promdir {
namespace {

using test::FileValues;
using test::Key;
using test::TempDir;

Options Opts8(const TempDir& dir, std::string id = "") {
  return test::WriterOptions(dir.path(), std::move(id), ValueLayout::k8);
}

// Runs a Python script with PROMETHEUS_MULTIPROC_DIR=dir; returns stdout.
std::string Python(const std::string& dir, const std::string& script, int* rc) {
  std::string cmd = "PROMETHEUS_MULTIPROC_DIR='" + dir + "' " +
                    std::string(test::kPython) + " -";
  return test::RunCommand(cmd, script, rc);
}

// Prints "<sample name><labels as sorted json> <value>" lines, sorted, from
// Python's MultiProcessCollector.
const char* kCollect = R"(
import json
from prometheus_client import CollectorRegistry, multiprocess
r = CollectorRegistry()
multiprocess.MultiProcessCollector(r)
lines = []
for fam in r.collect():
    for s in fam.samples:
        lines.append('%s%s %r' % (s.name, json.dumps(s.labels, sort_keys=True), s.value))
print('\n'.join(sorted(lines)))
)";

// Hard label values, as C++ bytes and as Python literals.
struct Hard {
  std::string cpp;
  const char* py;
};
const std::vector<Hard> kHard = {
    {"plain", "'plain'"},
    {"", "''"},
    {"caf\xc3\xa9", "'caf\\u00e9'"},
    {"\xf0\x9f\x98\x80 emoji", "'\\U0001F600 emoji'"},
    {"say \"hi\"", "'say \"hi\"'"},
    {"back\\slash", "'back\\\\slash'"},
    {"new\nline\ttab\r", "'new\\nline\\ttab\\r'"},
    {std::string("ctl\x01\x1f\x7f", 6), "'ctl\\x01\\x1f\\x7f'"},
    {"\xe2\x80\xa8 sep / slash", "'\\u2028 sep / slash'"},
    {"\xe4\xb8\xad\xe6\x96\x87", "'\\u4e2d\\u6587'"},
};

TEST_CASE(
    "python interop: the files are byte-identical to Python's for hard label "
    "values") {
  TempDir py_dir, cpp_dir;
  std::string values = "[";
  for (const Hard& h : kHard) values += std::string(h.py) + ",";
  values += "]";
  std::string script = R"(
from prometheus_client import values, Counter, Gauge, Histogram, Summary
values.ValueClass = values.MultiProcessValue(lambda: 'w1')
V = )" + values + R"(
c = Counter('hard_total', 'Help "quoted" \\ back\nslash caf\u00e9', ['a', 'b'])
g = Gauge('level', 'gauge help', ['a'], multiprocess_mode='livesum')
h = Histogram('lat_seconds', 'h', ['a'], buckets=[0.1, 1, 2.5, 1e6])
s = Summary('size', 's', ['a'])
for v in V:
    c.labels(a=v, b='x').inc(2)
    g.labels(a=v).set(1.5)
    h.labels(a=v).observe(0.5)
    s.labels(a=v).observe(3)
)";
  int rc;
  std::string out = Python(py_dir.path(), script, &rc);
  REQUIRE_MESSAGE(rc == 0, out);

  {
    Registry registry(Opts8(cpp_dir, "w1"));
    auto& c = BuildCounter()
                  .Name("hard_total")
                  .Help("Help \"quoted\" \\ back\nslash caf\xc3\xa9")
                  .Labels({"a", "b"})
                  .Register(registry);
    auto& g = BuildGauge()
                  .Name("level")
                  .Help("gauge help")
                  .Labels({"a"})
                  .Mode(GaugeMode::kLiveSum)
                  .Register(registry);
    auto& h = BuildHistogram()
                  .Name("lat_seconds")
                  .Help("h")
                  .Labels({"a"})
                  .Buckets({0.1, 1, 2.5, 1e6})
                  .Register(registry);
    auto& s =
        BuildSummary().Name("size").Help("s").Labels({"a"}).Register(registry);
    for (const Hard& v : kHard) {
      c.WithLabelValues(v.cpp, "x").Inc(2);
      g.WithLabelValues(v.cpp).Set(1.5);
      h.WithLabelValues(v.cpp).Observe(0.5);
      s.WithLabelValues(v.cpp).Observe(3);
    }
  }
  std::vector<std::string> names = test::DbFiles(py_dir.path());
  CHECK(names == std::vector<std::string>{"counter_w1.db",
                                          "gauge_livesum_w1.db",
                                          "histogram_w1.db", "summary_w1.db"});
  CHECK(test::DbFiles(cpp_dir.path()) == names);
  for (const std::string& name : names) {
    CAPTURE(name);
    std::string py = test::ReadFile(py_dir.File(name));
    std::string cpp = test::ReadFile(cpp_dir.File(name));
    REQUIRE(py.size() == cpp.size());
    CHECK(py.substr(4, 4) == std::string(4, '\0'));
    CHECK(cpp.substr(4, 4) == "pdir");
    // The reader returns the same entries for both.
    FileContents from_py, from_cpp;
    REQUIRE(ReadMetricsFile(Env::Default(), py_dir.File(name), &from_py).ok());
    REQUIRE(
        ReadMetricsFile(Env::Default(), cpp_dir.File(name), &from_cpp).ok());
    CHECK(from_py.layout == ValueLayout::k8);
    REQUIRE(from_py.entries.size() == from_cpp.entries.size());
    for (size_t i = 0; i < from_py.entries.size(); ++i) {
      CHECK(from_py.entries[i].key == from_cpp.entries[i].key);
      CHECK(from_py.entries[i].value == from_cpp.entries[i].value);
    }
    py.replace(4, 4, "pdir");
    if (py != cpp) {
      size_t i = 0;
      while (py[i] == cpp[i]) ++i;
      FAIL("first difference at offset "
           << i << ": python \"" << py.substr(i > 40 ? i - 40 : 0, 100)
           << "\" c++ \"" << cpp.substr(i > 40 ? i - 40 : 0, 100) << "\"");
    }
  }
}

TEST_CASE(
    "python interop: Python's MultiProcessCollector sums C++ and Python "
    "workers") {
  TempDir dir;
  constexpr int kWorkers = 3, kIters = 1000;
  std::vector<pid_t> pids;
  for (int w = 0; w < kWorkers; ++w) {
    pids.push_back(test::StartChild([&] {
      Options o;
      o.directory = dir.path();
      o.layout = ValueLayout::k8;
      Registry registry(o);
      auto& req = BuildCounter()
                      .Name("app_requests_total")
                      .Help("Requests")
                      .Labels({"route"})
                      .Register(registry);
      auto& lat = BuildHistogram()
                      .Name("app_latency_seconds")
                      .Help("Latency")
                      .Labels({"route"})
                      .Register(registry);
      auto& inflight = BuildGauge()
                           .Name("app_inflight")
                           .Help("In flight")
                           .Mode(GaugeMode::kLiveSum)
                           .Register(registry);
      Gauge g = inflight.Add({});
      for (int i = 0; i < kIters; ++i) {
        std::string route = "r" + std::to_string(i % 4);
        g.Inc();
        req.WithLabelValues(route).Inc();
        lat.WithLabelValues(route).Observe(((i % 100) + 0.5) / 100);
        g.Dec();
      }
      g.Inc(w);  // a live gauge: each worker holds w
      return 0;
    }));
  }
  for (pid_t p : pids) REQUIRE(test::WaitChild(p) == 0);
  // A Python worker writes the same families into the same directory.
  std::string script = R"(
from prometheus_client import Counter, Histogram, Gauge
req = Counter('app_requests_total', 'Requests', ['route'])
lat = Histogram('app_latency_seconds', 'Latency', ['route'])
g = Gauge('app_inflight', 'In flight', multiprocess_mode='livesum')
for i in range(1000):
    req.labels(route='r%d' % (i % 4)).inc()
    lat.labels(route='r%d' % (i % 4)).observe(((i % 100) + 0.5) / 100)
g.inc(10)
)";
  int rc;
  std::string out = Python(dir.path(), script, &rc);
  REQUIRE_MESSAGE(rc == 0, out);
  out = Python(dir.path(), kCollect, &rc);
  REQUIRE_MESSAGE(rc == 0, out);
  constexpr int kAll = kWorkers + 1;
  // Each route gets 250 iterations per worker.
  for (int r = 0; r < 4; ++r) {
    std::string route = "{\"route\": \"r" + std::to_string(r) + "\"}";
    CHECK(out.find("app_requests_total" + route + " " +
                   std::to_string(kAll * 250) + ".0\n") != std::string::npos);
    CHECK(out.find("app_latency_seconds_count" + route + " " +
                   std::to_string(kAll * 250) + ".0\n") != std::string::npos);
  }
  // Latencies of route r0 are 0.005, 0.045, ... : le=0.05 holds 0.005 and
  // 0.045 (2 of every 25 iterations of the route).
  CHECK(out.find(
            "app_latency_seconds_bucket{\"le\": \"0.05\", \"route\": \"r0\"} " +
            std::to_string(kAll * 20) + ".0\n") != std::string::npos);
  // livesum of the workers that wrote it: 0 + 1 + 2 + 10 (dead ones count
  // until mark_process_dead, as in Python).
  CHECK(out.find("app_inflight{} 13.0\n") != std::string::npos);
  MESSAGE(out.substr(0, 400));
}

TEST_CASE(
    "python interop: a C++ worker continues a file Python 0.16 wrote under its "
    "id") {
  TempDir dir;
  std::string script = R"(
from prometheus_client import values, Counter, Histogram
values.ValueClass = values.MultiProcessValue(lambda: 'w5')
c = Counter('jobs_total', 'Jobs', ['q'])
c.labels(q='mail').inc(7)
c.labels(q='sms').inc(1)
h = Histogram('t', 'T')
h.observe(0.3)
)";
  int rc;
  std::string out = Python(dir.path(), script, &rc);
  REQUIRE_MESSAGE(rc == 0, out);
  REQUIRE(
      test::RunInChild([&] {
        Options o;  // the default 16-byte layout: the file's 8 wins
        o.directory = dir.path();
        o.worker_id = "w5";
        Registry registry(o);
        auto& c = BuildCounter()
                      .Name("jobs_total")
                      .Help("Jobs")
                      .Labels({"q"})
                      .Register(registry);
        Counter mail = c.WithLabelValues("mail");
        if (mail.Value() != 7) return 2;
        mail.Inc(3);
        c.WithLabelValues("push").Inc();
        BuildHistogram().Name("t").Help("T").Register(registry).Add({}).Observe(
            0.3);
        return 0;
      }) == 0);
  CHECK(test::DbFiles(dir.path()) ==
        std::vector<std::string>{"counter_w5.db", "histogram_w5.db"});
  out = Python(dir.path(), kCollect, &rc);
  REQUIRE_MESSAGE(rc == 0, out);
  CHECK(out.find("jobs_total{\"q\": \"mail\"} 10.0\n") != std::string::npos);
  CHECK(out.find("jobs_total{\"q\": \"sms\"} 1.0\n") != std::string::npos);
  CHECK(out.find("jobs_total{\"q\": \"push\"} 1.0\n") != std::string::npos);
  CHECK(out.find("t_count{} 2.0\n") != std::string::npos);
  CHECK(out.find("t_sum{} 0.6\n") != std::string::npos);
}

}  // namespace
}  // namespace promdir
