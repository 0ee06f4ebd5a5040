// Churn: Python writers (Debian's client) and promdir writers
// (promdir-loadgen) start and die while a compactor runs in a loop and a
// reader scrapes; the totals are checked against the known sums after
// every round, with promdir's view and with Python's.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "promdir/maintenance.h"
#include "tests/compact_util.h"

namespace promdir {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

constexpr const char kPyWriter[] = R"(
import os, sys, time
os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]
from prometheus_client import Counter, Histogram, Gauge
c = Counter('py_requests', 'Requests', ['w'])
h = Histogram('py_latency', 'Latency')
g = Gauge('py_inflight', 'In flight', multiprocess_mode='livesum')
g.set(1)
for i in range(int(sys.argv[2])):
    c.labels(w=str(i % 3)).inc()
    h.observe(0.01 * (i % 10))
open(os.path.join(sys.argv[3], 'done_%d' % os.getpid()), 'w').close()
if sys.argv[4] == 'stay':
    while not os.path.exists(os.path.join(sys.argv[3], 'release')):
        time.sleep(0.005)
)";

pid_t Spawn(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

double SumOf(const std::map<std::string, double>& view,
             const std::string& prefix) {
  double total = 0;
  for (const auto& [k, v] : view) {
    if (k.rfind(prefix, 0) == 0) total += v;
  }
  return total;
}

void WaitFor(const std::string& path) {
  while (!fs::exists(path)) ::usleep(2000);
}

TEST_CASE("churn: writers of both kinds come and go while compact runs") {
  TempDir metrics;
  TempDir marks;
  test::WriteFile(marks.File("writer.py"), kPyWriter);
  const std::string loadgen = std::string(PROMDIR_BIN_DIR) + "/promdir-loadgen";
  REQUIRE(fs::exists(loadgen));

  // The compactor: runs back to back until told to stop.
  pid_t compactor = ::fork();
  if (compactor == 0) {
    size_t folded = 0;
    while (!fs::exists(marks.File("stop"))) {
      MaintenanceOptions o;
      o.directory = metrics.path();
      MaintenanceResult r;
      Status s = Compact(o, &r);
      if (!s.ok() && !s.IsBusy()) ::_exit(1);
      folded += r.folded.size();
    }
    test::WriteFile(marks.File("folded"), std::to_string(folded));
    ::_exit(0);
  }

  const int kPerWriter = 50;
  int py_writers = 0;
  int loadgen_requests = 0;
  std::vector<pid_t> stayers;
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    std::vector<pid_t> py;
    for (int j = 0; j < 4; ++j) {
      py.push_back(Spawn({test::kPython, marks.File("writer.py"),
                          metrics.path(), std::to_string(kPerWriter),
                          marks.path(), j % 2 == 0 ? "stay" : "go"}));
    }
    // promdir writers: 3 workers x 40 iterations, each dies at the end.
    pid_t lg = Spawn({loadgen, "--dir", metrics.path(), "--workers", "3",
                      "--iterations", "40", "--layout", "8"});
    // Scrape while they run: totals only grow.
    double last = 0;
    for (int k = 0; k < 5; ++k) {
      auto view = test::PromdirView(metrics.path());
      double now = SumOf(view, "py_requests_total{") +
                   SumOf(view, "loadgen_requests_total{");
      CHECK(now >= last);
      last = now;
    }
    for (pid_t p : py) WaitFor(marks.File("done_" + std::to_string(p)));
    for (size_t j = 0; j < py.size(); ++j) {
      if (j % 2 == 0) {
        stayers.push_back(py[j]);
      } else {
        int st = 0;
        REQUIRE(::waitpid(py[j], &st, 0) == py[j]);
        REQUIRE(WIFEXITED(st));
        REQUIRE(WEXITSTATUS(st) == 0);
      }
    }
    int st = 0;
    REQUIRE(::waitpid(lg, &st, 0) == lg);
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
    py_writers += 4;
    loadgen_requests += 3 * 40;

    // Every writer of the round is done: the totals are known exactly,
    // whatever the compactor is doing right now.
    for (int k = 0; k < 3; ++k) {
      auto view = test::PromdirView(metrics.path());
      CHECK(SumOf(view, "py_requests_total{") == py_writers * kPerWriter);
      CHECK(SumOf(view, "py_latency_count{") == py_writers * kPerWriter);
      CHECK(SumOf(view, "loadgen_requests_total{") == loadgen_requests);
      CHECK(SumOf(view, "py_inflight{") == static_cast<double>(stayers.size()));
      CHECK(SumOf(view, "loadgen_inflight{") == 0);
    }
  }

  test::WriteFile(marks.File("stop"), "");
  int st = 0;
  REQUIRE(::waitpid(compactor, &st, 0) == compactor);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  const int folded = std::stoi(test::ReadFile(marks.File("folded")));
  MESSAGE("files folded while writers came and went: " << folded);
  CHECK(folded > 20);
  test::WriteFile(marks.File("release"), "");
  for (pid_t p : stayers) ::waitpid(p, &st, 0);

  MaintenanceOptions o;
  o.directory = metrics.path();
  MaintenanceResult r;
  REQUIRE(Compact(o, &r).ok());
  auto view = test::PromdirView(metrics.path());
  CHECK(SumOf(view, "py_requests_total{") == py_writers * kPerWriter);
  CHECK(SumOf(view, "loadgen_requests_total{") == loadgen_requests);
  CHECK(SumOf(view, "py_inflight{") == 0);
  // Python's own collector agrees (every file is 8-byte layout).
  auto py = test::PythonView(metrics.path());
  CHECK(SumOf(py, "py_requests_total{") == py_writers * kPerWriter);
  CHECK(SumOf(py, "loadgen_requests_total{") == loadgen_requests);
  // Only archives remain: one per (type, mode, layout).
  for (const auto& e : fs::directory_iterator(metrics.path())) {
    std::string n = e.path().filename().string();
    if (!n.ends_with(".db")) continue;
    CHECK(n.find("_archive8.db") != std::string::npos);
  }
}

}  // namespace
}  // namespace promdir
