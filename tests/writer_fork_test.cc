// The writer as a guest in a preforking worker, with real processes: fork()
// makes no file (the child's first write does), fork()+exec() leaves
// nothing, a child that never writes does not keep its parent looking alive,
// a worker under an address-space limit, and files that grow past their
// first mapping while threads and forked children keep counting.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/src/env.h"
#include "lib/src/writer/metrics_file.h"
#include "promdir/promdir.h"
#include "tests/test_util.h"
#include "tests/writer_util.h"

namespace promdir {
namespace {

using test::FileValues;
using test::Key;
using test::TempDir;

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

std::string File(const TempDir& dir, const std::string& prefix, pid_t pid) {
  return dir.File(prefix + "_" + std::to_string(pid) + ".db");
}

// This process's VmSize in bytes.
uint64_t AddressSpace() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmSize:", 0) == 0) {
      return std::stoull(line.substr(7)) * 1024;
    }
  }
  return 0;
}

// A registry with one series in a file of every kind (13 files).
struct EveryKind {
  explicit EveryKind(const TempDir& dir)
      : registry(test::WriterOptions(dir.path())) {
    c = BuildCounter().Name("c").Register(registry).Add({});
    h = BuildHistogram().Name("h").Register(registry).Add({});
    s = BuildSummary().Name("s").Register(registry).Add({});
    using M = GaugeMode;
    int i = 0;
    for (M m :
         {M::kAll, M::kLiveAll, M::kMin, M::kLiveMin, M::kMax, M::kLiveMax,
          M::kSum, M::kLiveSum, M::kMostRecent, M::kLiveMostRecent}) {
      std::string name = "g" + std::to_string(i++);
      gauges.push_back(
          BuildGauge().Name(name).Mode(m).Register(registry).Add({}));
    }
  }
  Registry registry;
  Counter c;
  Histogram h;
  Summary s;
  std::vector<Gauge> gauges;
};

TEST_CASE("fork: fork()+exec() and fork()+_exit() leave no file behind") {
  TempDir dir;
  EveryKind w(dir);
  w.c.Inc(7);
  std::vector<std::string> before = test::DbFiles(dir.path());
  REQUIRE(before.size() == 13);
  for (int i = 0; i < 5; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/true", "true", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    CHECK(test::WaitChild(pid) == 0);
    // A child that reads its handles (its own values: 0) and exits.
    CHECK(test::RunInChild(
              [&] { return w.c.Value() == 0 && w.h.Sum() == 0 ? 0 : 2; }) == 0);
  }
  CHECK(test::DbFiles(dir.path()) == before);
  CHECK(w.c.Value() == 7);
}

TEST_CASE("fork: a child that never writes does not keep its parent alive") {
  TempDir dir;
  int ready[2], done[2], gone[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(done) == 0);
  REQUIRE(::pipe(gone) == 0);  // the helper holds the write end until exit
  // parent: a worker that forks a long-lived helper, then exits.
  pid_t parent = test::StartChild([&] {
    EveryKind w(dir);
    w.c.Inc();
    if (::fork() == 0) {
      // Running: fork() has returned here, after the fork handler.
      pid_t me = ::getpid();
      ::write(ready[1], &me, sizeof(me));
      char b;
      ::read(done[0], &b, 1);  // outlives the worker, writes nothing
      ::_exit(0);
    }
    return 0;
  });
  pid_t helper = 0;
  REQUIRE(::read(ready[0], &helper, sizeof(helper)) == sizeof(helper));
  REQUIRE(test::WaitChild(parent) == 0);
  // The worker is dead: no lock on any of its files, though its child
  // still has everything it inherited.
  for (const std::string& name : test::DbFiles(dir.path())) {
    CAPTURE(name);
    CHECK(!test::IsLocked(dir.File(name)));
  }
  CHECK(test::DbFiles(dir.path()).size() == 13);
  // The helper is not our child (its parent died): wait for its exit by
  // the end of the pipe it holds.
  ::close(gone[1]);
  ::write(done[1], "x", 1);
  char b;
  CHECK(::read(gone[0], &b, 1) == 0);
  for (int fd : {ready[0], ready[1], done[0], done[1], gone[0]}) ::close(fd);
}

TEST_CASE(
    "fork: the child's first write makes its file, only of the kind it "
    "writes; racing first writes of four threads are all counted") {
  TempDir dir;
  EveryKind w(dir);
  w.c.Inc(5);
  constexpr int kThreads = 4, kIncs = 25000;
  pid_t pid = test::StartChild([&] {
    pid_t me = ::getpid();
    if (Exists(File(dir, "counter", me))) return 2;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        while (!go) {
        }
        for (int k = 0; k < kIncs; ++k) w.c.Inc();
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    return w.c.Value() == kThreads * kIncs ? 0 : 3;
  });
  REQUIRE(test::WaitChild(pid) == 0);
  std::string key = Key("c", "c_total", {}, "");
  Status st;
  auto child = FileValues(File(dir, "counter", pid), &st);
  REQUIRE(st.ok());
  CHECK(child[key] == kThreads * kIncs);
  CHECK(child.size() == 1);
  CHECK(!Exists(File(dir, "histogram", pid)));
  CHECK(!Exists(File(dir, "gauge_livesum", pid)));
  CHECK(test::DbFiles(dir.path()).size() == 14);
  CHECK(FileValues(File(dir, "counter", ::getpid()))[key] == 5);
  CHECK(test::SumOver(dir.path(), "counter", key) == 5 + kThreads * kIncs);
}

TEST_CASE("fork: a new series in the child makes the child's file") {
  TempDir dir;
  Registry registry(test::WriterOptions(dir.path()));
  auto& f = BuildGauge()
                .Name("g")
                .Labels({"k"})
                .Mode(GaugeMode::kSum)
                .Register(registry);
  f.WithLabelValues("parent").Set(1);
  pid_t pid = test::StartChild([&] {
    Gauge g = f.WithLabelValues("child");  // an append: makes the file
    if (!Exists(File(dir, "gauge_sum", ::getpid()))) return 2;
    g.Set(4);
    f.WithLabelValues("parent").Inc(2);
    return 0;
  });
  REQUIRE(test::WaitChild(pid) == 0);
  auto child = FileValues(File(dir, "gauge_sum", pid));
  CHECK(child[Key("g", "g", {{"k", "child"}}, "")] == 4);
  CHECK(child[Key("g", "g", {{"k", "parent"}}, "")] == 2);
  auto parent = FileValues(File(dir, "gauge_sum", ::getpid()));
  CHECK(parent[Key("g", "g", {{"k", "parent"}}, "")] == 1);
  CHECK(parent.size() == 1);
}

TEST_CASE(
    "a worker under a 256 MiB address-space limit registers many "
    "metrics") {
  TempDir dir;
#ifdef __SANITIZE_ADDRESS__
  // AddressSanitizer's heap (redzones, quarantine) needs room of its own.
  constexpr int kSeries = 20000;  // a counter file of about 1.5 MiB
  constexpr uint64_t kHeadroom = uint64_t{1} << 30, kSlack = 16 << 20;
  constexpr uint64_t kMinFile = writer::kInitialReserve * 4;
#else
  constexpr int kSeries = 100000;  // a counter file of about 8 MiB
  constexpr uint64_t kHeadroom = uint64_t{96} << 20, kSlack = 2 << 20;
  constexpr uint64_t kMinFile = writer::kInitialReserve * 16;
#endif
  int rc = test::RunInChild([&] {
    uint64_t start = AddressSpace();
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max =
        std::max<uint64_t>(uint64_t{256} << 20, start + kHeadroom);
    if (::setrlimit(RLIMIT_AS, &lim) != 0) return 2;
    EveryKind w(dir);
    // 13 files of one series: their first mappings only.
    uint64_t files = AddressSpace() - start;
    std::fprintf(stderr, "address space: +%llu KiB for 13 files\n",
                 static_cast<unsigned long long>(files >> 10));
    if (files > 13 * writer::kInitialReserve + kSlack) {
      return 4;
    }
    auto& f = BuildCounter().Name("many").Labels({"i"}).Register(w.registry);
    for (int i = 0; i < kSeries; ++i) {
      auto r = f.TryWithLabelValues(std::to_string(i));
      if (!r.ok()) {
        std::fprintf(stderr, "series %d: %s\n", i,
                     r.status().ToString().c_str());
        return 3;
      }
      r.value().Inc();
    }
    w.h.Observe(1);
    for (Gauge& g : w.gauges) g.Set(2);
    return 0;
  });
  REQUIRE(rc == 0);
  CHECK(test::DbFiles(dir.path()).size() == 13);
  std::string pidfile;
  for (const std::string& n : test::DbFiles(dir.path())) {
    if (n.rfind("counter_", 0) == 0) pidfile = dir.File(n);
  }
  Status st;
  auto v = FileValues(pidfile, &st);
  REQUIRE(st.ok());
  CHECK(v.size() == kSeries + 1);
  CHECK(
      v[Key("many", "many_total", {{"i", std::to_string(kSeries - 1)}}, "")] ==
      1);
  CHECK(std::filesystem::file_size(pidfile) > kMinFile);
}

TEST_CASE(
    "growth: files grow past their first mapping while threads count "
    "through old and new handles and a child forks mid-growth; totals are "
    "exact in promdir's reader and Python's collector") {
  TempDir dir;
  constexpr int kWorkers = 3, kSeries = 20000, kHot = 200000;
  constexpr int kGrandchild = 1000;
  const std::string help(100, 'h');  // long keys: a file of about 3 MiB
  std::vector<pid_t> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(test::StartChild([&] {
      Registry registry(test::WriterOptions(dir.path(), "", ValueLayout::k8));
      auto& f =
          BuildCounter().Name("g").Help(help).Labels({"i"}).Register(registry);
      Counter hot = f.WithLabelValues("hot");  // in the first mapping
      std::thread counter([&] {
        for (int k = 0; k < kHot; ++k) hot.Inc();
      });
      int rc = 0;
      for (int i = 0; i < kSeries; ++i) {
        f.WithLabelValues(std::to_string(i)).Inc();
        if (i % 100 == 0) f.WithLabelValues("hot").Inc();  // newest mapping
        if (i == kSeries / 2) {
          pid_t grandchild = test::StartChild([&] {
            for (int k = 0; k < kGrandchild; ++k) hot.Inc();
            f.WithLabelValues("grandchild").Inc();
            return 0;
          });
          rc |= test::WaitChild(grandchild);
        }
      }
      counter.join();
      return rc;
    }));
  }
  for (pid_t p : workers) REQUIRE(test::WaitChild(p) == 0);
  double want_hot = kWorkers * (kHot + kSeries / 100 + kGrandchild);
  std::string hot_key = Key("g", "g_total", {{"i", "hot"}}, help);
  CHECK(test::SumOver(dir.path(), "counter", hot_key) == want_hot);
  CHECK(test::SumOver(dir.path(), "counter",
                      Key("g", "g_total", {{"i", "12345"}}, help)) == kWorkers);
  CHECK(test::DbFiles(dir.path()).size() == 2 * kWorkers);
  for (pid_t p : workers) {
    CHECK(std::filesystem::file_size(File(dir, "counter", p)) >
          writer::kInitialReserve * 8);
  }
  int rc = 0;
  std::string out =
      test::RunCommand("PROMETHEUS_MULTIPROC_DIR='" + dir.path() + "' " +
                           std::string(test::kPython) + " -",
                       R"(
from prometheus_client import CollectorRegistry, multiprocess
r = CollectorRegistry()
multiprocess.MultiProcessCollector(r)
n = 0
for fam in r.collect():
    for s in fam.samples:
        n += 1
        if s.labels['i'] in ('hot', '0', 'grandchild'):
            print(s.labels['i'], int(s.value), s.value == int(s.value))
print('samples', n)
)",
                       &rc);
  REQUIRE(rc == 0);
  CHECK(out.find("hot " + std::to_string(static_cast<int>(want_hot)) +
                 " True") != std::string::npos);
  CHECK(out.find("\n0 " + std::to_string(kWorkers) + " True") !=
        std::string::npos);
  CHECK(out.find("grandchild " + std::to_string(kWorkers) + " True") !=
        std::string::npos);
  CHECK(out.find("samples " + std::to_string(kSeries + 2)) !=
        std::string::npos);
  MESSAGE(out);
}

}  // namespace
}  // namespace promdir
