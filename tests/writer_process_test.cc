// The writer with real processes: fork, SIGKILL, worker ids, liveness locks
// and a full disk.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "lib/src/env.h"
#include "promdir/promdir.h"
#include "tests/fault_env.h"
#include "tests/test_util.h"
#include "tests/writer_util.h"

namespace promdir {
namespace {

using test::FileValues;
using test::IsLocked;
using test::Key;
using test::TempDir;

Options Opts(const TempDir& dir, std::string worker_id = "") {
  return test::WriterOptions(dir.path(), std::move(worker_id));
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

TEST_CASE(
    "fork: children write their own files; totals are exact; the parent is "
    "untouched") {
  TempDir dir;
  Registry registry(Opts(dir));
  auto& f = BuildCounter().Name("jobs").Labels({"q"}).Register(registry);
  auto& hf = BuildHistogram().Name("dur").Register(registry);
  Counter c = f.WithLabelValues("a");
  Histogram h = hf.Add({});
  c.Inc(5);
  h.Observe(0.2);
  std::string parent_file =
      dir.File("counter_" + std::to_string(::getpid()) + ".db");

  constexpr int kChildren = 4, kIncs = 20000;
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    pids.push_back(test::StartChild([&] {
      if (c.Value() != 0)
        return 2;  // the inherited handle sees the child's file
      for (int k = 0; k < kIncs; ++k) {
        c.Inc();
        h.Observe(1.5);
      }
      f.WithLabelValues("child-only").Inc();  // a series created after fork
      return 0;
    }));
  }
  for (pid_t p : pids) CHECK(test::WaitChild(p) == 0);

  std::string key_a = Key("jobs", "jobs_total", {{"q", "a"}}, "");
  std::string key_child = Key("jobs", "jobs_total", {{"q", "child-only"}}, "");
  auto parent = FileValues(parent_file);
  CHECK(parent.size() == 1);
  CHECK(parent[key_a] == 5);
  CHECK(c.Value() == 5);
  for (pid_t p : pids) {
    std::string child_file = dir.File("counter_" + std::to_string(p) + ".db");
    REQUIRE(Exists(child_file));
    Status st;
    auto v = FileValues(child_file, &st);
    REQUIRE(st.ok());
    CHECK(v[key_a] == kIncs);
    CHECK(v[key_child] == 1);
    auto hv = FileValues(dir.File("histogram_" + std::to_string(p) + ".db"));
    CHECK(hv[Key("dur", "dur_bucket", {{"le", "2.5"}}, "")] == kIncs);
    CHECK(hv[Key("dur", "dur_bucket", {{"le", "0.25"}}, "")] ==
          0);  // parent's not copied
  }
  CHECK(test::SumOver(dir.path(), "counter", key_a) == 5 + kChildren * kIncs);
  CHECK(IsLocked(parent_file));
}

TEST_CASE("fork: a worker-id process's child writes under its own pid") {
  TempDir dir;
  int rc = test::RunInChild([&] {
    Registry registry(Opts(dir, "w9"));
    Counter c = BuildCounter().Name("n").Register(registry).Add({});
    c.Inc();
    pid_t grandchild = test::StartChild([&] {
      c.Inc(10);
      Registry own(Opts(dir, "w10"));  // a registry of its own uses its options
      BuildCounter().Name("n").Register(own).Add({}).Inc(100);
      return 0;
    });
    if (test::WaitChild(grandchild) != 0) return 3;
    return c.Value() == 1 ? 0 : 4;
  });
  REQUIRE(rc == 0);
  std::string key = Key("n", "n_total", {}, "");
  CHECK(FileValues(dir.File("counter_w9.db"))[key] == 1);
  CHECK(FileValues(dir.File("counter_w10.db"))[key] == 100);
  CHECK(test::SumOver(dir.path(), "counter", key) == 111);
  CHECK(test::DbFiles(dir.path()).size() == 3);
}

TEST_CASE(
    "fork: while another thread creates series, the child neither deadlocks "
    "nor shares") {
  TempDir dir;
  Registry registry(Opts(dir));
  auto& f = BuildCounter().Name("busy").Labels({"i"}).Register(registry);
  std::atomic<bool> stop{false};
  std::thread creator([&] {
    for (int i = 0; !stop; ++i)
      f.WithLabelValues(std::to_string(i % 3000)).Inc();
  });
  std::vector<pid_t> pids;
  for (int k = 0; k < 20; ++k) {
    pids.push_back(test::StartChild([&] {
      // The child has one thread; creating series must not block on a
      // mutex the creator thread held at the fork.
      f.WithLabelValues("child").Inc();
      f.WithLabelValues(std::to_string(k)).Inc(1000);
      return 0;
    }));
  }
  stop = true;
  creator.join();
  for (pid_t p : pids) {
    CHECK(test::WaitChild(p) == 0);
    Status st;
    auto v = FileValues(dir.File("counter_" + std::to_string(p) + ".db"), &st);
    CHECK(st.ok());
    CHECK(v[Key("busy", "busy_total", {{"i", "child"}}, "")] == 1);
  }
  auto parent =
      FileValues(dir.File("counter_" + std::to_string(::getpid()) + ".db"));
  CHECK(parent.count(Key("busy", "busy_total", {{"i", "child"}}, "")) == 0);
  for (const auto& [key, value] : parent) CHECK(value < 1000);
}

TEST_CASE(
    "fork: if the child cannot map its own file, it logs and never writes the "
    "parent's") {
  TempDir dir;
  test::FaultEnv env;
  Options o = Opts(dir);
  o.env = &env;
  Registry registry(o);
  Counter c = BuildCounter().Name("m").Register(registry).Add({});
  c.Inc(3);
  env.fail_map = true;
  std::string log = dir.File("stderr.txt");
  pid_t pid;
  {
    // The child logs inside fork(), so stderr is redirected around it.
    test::StderrToFile redirect(log);
    pid = test::StartChild([&] {
      c.Inc(100);  // private memory now
      return c.Value() == 100 ? 0 : 2;
    });
  }
  CHECK(test::WaitChild(pid) == 0);
  env.fail_map = false;
  CHECK(FileValues(dir.File("counter_" + std::to_string(::getpid()) +
                            ".db"))[Key("m", "m_total", {}, "")] == 3);
  CHECK(!Exists(dir.File("counter_" + std::to_string(pid) + ".db")));
  std::string text = test::ReadFile(log);
  CHECK(text.find("after fork") != std::string::npos);
  CHECK(text.find("counter_" + std::to_string(pid) + ".db") !=
        std::string::npos);
}

TEST_CASE(
    "a reader listing the directory never sees an empty or partial new file") {
  TempDir dir;
  std::string stop = dir.File("stop");
  pid_t reader = test::StartChild([&] {
    int scans = 0;
    while (!Exists(stop) || scans < 10) {
      for (const std::string& name : test::DbFiles(dir.path())) {
        if (name.size() < 3 || name.substr(name.size() - 3) != ".db") continue;
        Status st;
        FileValues(dir.File(name), &st);
        if (!st.ok() && !st.IsNotFound()) {
          std::fprintf(stderr, "%s\n", st.ToString().c_str());
          return 1;
        }
      }
      ++scans;
    }
    return 0;
  });
  std::vector<pid_t> writers;
  for (int w = 0; w < 40; ++w) {
    writers.push_back(test::StartChild([&] {
      Registry registry(Opts(dir));
      BuildCounter().Name("c").Register(registry).Add({}).Inc();
      BuildGauge().Name("g").Register(registry).Add({}).Set(1);
      BuildHistogram().Name("h").Register(registry).Add({}).Observe(1);
      BuildSummary().Name("s").Register(registry).Add({}).Observe(1);
      return 0;
    }));
  }
  for (pid_t p : writers) CHECK(test::WaitChild(p) == 0);
  test::WriteFile(stop, "");
  CHECK(test::WaitChild(reader) == 0);
  CHECK(test::DbFiles(dir.path()).size() == 40 * 4 + 1);  // and "stop"
}

TEST_CASE("SIGKILL mid-run leaves a file the reader accepts, unlocked") {
  TempDir dir;
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = test::StartChild([&] {
    // The 8-byte layout, which Debian's Python 0.16 reads as well.
    Registry registry(test::WriterOptions(dir.path(), "", ValueLayout::k8));
    auto& f = BuildCounter().Name("spin").Labels({"i"}).Register(registry);
    for (long i = 0;; ++i) {
      f.WithLabelValues(std::to_string(i % 20000)).Inc();
      if (i == 30000) {
        ssize_t w = ::write(pipefd[1], "x", 1);
        (void)w;
      }
    }
    return 0;
  });
  char buf;
  REQUIRE(::read(pipefd[0], &buf, 1) == 1);
  ::kill(pid, SIGKILL);
  CHECK(test::WaitChild(pid) == 128 + SIGKILL);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
  std::string path = dir.File("counter_" + std::to_string(pid) + ".db");
  Status st;
  auto v = FileValues(path, &st);
  CHECK_MESSAGE(st.ok(), st.ToString());
  CHECK(v.size() == 20000);
  CHECK(!IsLocked(path));
  // Python's collector reads it too.
  int rc;
  std::string out = test::RunCommand(
      "PROMETHEUS_MULTIPROC_DIR=" + dir.path() + " " + test::kPython +
          " -c 'from prometheus_client import CollectorRegistry, multiprocess\n"
          "r = CollectorRegistry()\nmultiprocess.MultiProcessCollector(r)\n"
          "print(sum(len(f.samples) for f in r.collect()))'",
      "", &rc);
  CHECK(rc == 0);
  CHECK(out == "20000\n");
}

TEST_CASE("worker id: a restarted worker continues from the stored values") {
  TempDir dir;
  for (int run = 0; run < 3; ++run) {
    CHECK(test::RunInChild([&] {
            Registry registry(Opts(dir, "7"));
            BuildCounter()
                .Name("restarts")
                .Labels({"k"})
                .Register(registry)
                .WithLabelValues("v")
                .Inc(5);
            Gauge g = BuildGauge().Name("level").Register(registry).Add({});
            g.Inc(2);
            Histogram h =
                BuildHistogram().Name("lat").Register(registry).Add({});
            h.Observe(0.01);
            return h.BucketCount(1) == run + 1 ? 0 : 5;
          }) == 0);
  }
  CHECK(test::DbFiles(dir.path()) ==
        std::vector<std::string>{"counter_7.db", "gauge_all_7.db",
                                 "histogram_7.db"});
  CHECK(FileValues(dir.File("counter_7.db"))[Key("restarts", "restarts_total",
                                                 {{"k", "v"}}, "")] == 15);
  CHECK(FileValues(dir.File("gauge_all_7.db"))[Key("level", "level", {}, "")] ==
        6);
}

// Moves a file away just before the writer locks it, as a compactor may.
class MoveBeforeLockEnv : public EnvWrapper {
 public:
  MoveBeforeLockEnv(std::string from, std::string to)
      : EnvWrapper(Env::Default()), from_(std::move(from)), to_(std::move(to)) {}
  Status TryLock(int fd) override {
    if (!moved_) {
      moved_ = true;
      Env::Default()->Rename(from_, to_);
    }
    return EnvWrapper::TryLock(fd);
  }

 private:
  std::string from_, to_;
  bool moved_ = false;
};

TEST_CASE("worker id: a file moved away between open and lock is not kept") {
  TempDir dir;
  auto inc = [&](Env* env, double by) {
    return test::RunInChild([&] {
      Options o = Opts(dir, "7");
      o.env = env;
      Registry registry(o);
      BuildCounter().Name("moved").Register(registry).Add({}).Inc(by);
      return 0;
    });
  };
  REQUIRE(inc(nullptr, 5) == 0);
  MoveBeforeLockEnv env(dir.File("counter_7.db"), dir.File("counter_7.compacting.db"));
  REQUIRE(inc(&env, 1) == 0);
  // The moved copy keeps its 5 untouched; the increment went to the file
  // that has the name now.
  std::string key = Key("moved", "moved_total", {}, "");
  CHECK(FileValues(dir.File("counter_7.compacting.db"))[key] == 5);
  CHECK(FileValues(dir.File("counter_7.db"))[key] == 1);
}

TEST_CASE(
    "worker id: a second live process with the same id gets a distinct file") {
  TempDir dir;
  int hold[2], ready[2];
  REQUIRE(::pipe(hold) == 0);
  REQUIRE(::pipe(ready) == 0);
  pid_t first = test::StartChild([&] {
    ::close(hold[1]);
    Registry registry(Opts(dir, "same"));
    BuildCounter().Name("c").Register(registry).Add({}).Inc(1);
    ssize_t w = ::write(ready[1], "r", 1);
    (void)w;
    char b;
    ssize_t r = ::read(hold[0], &b, 1);  // until the parent closes the pipe
    (void)r;
    return 0;
  });
  ::close(hold[0]);
  char b;
  REQUIRE(::read(ready[0], &b, 1) == 1);
  CHECK(IsLocked(dir.File("counter_same.db")));
  std::string log = dir.File("stderr.txt");
  pid_t second = test::StartChild([&] {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    Registry registry(Opts(dir, "same"));
    BuildCounter().Name("c").Register(registry).Add({}).Inc(10);
    return 0;
  });
  CHECK(test::WaitChild(second) == 0);
  ::close(hold[1]);
  CHECK(test::WaitChild(first) == 0);
  ::close(ready[0]);
  ::close(ready[1]);
  std::string key = Key("c", "c_total", {}, "");
  std::string other = "counter_same-" + std::to_string(second) + ".db";
  CHECK(FileValues(dir.File("counter_same.db"))[key] == 1);
  CHECK(FileValues(dir.File(other))[key] == 10);
  std::string text = test::ReadFile(log);
  CHECK(text.find("counter_same.db") != std::string::npos);
  CHECK(text.find(other) != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK(!IsLocked(dir.File("counter_same.db")));
}

TEST_CASE(
    "worker id: a lock-free writer's file of a live pid is not taken over") {
  TempDir dir;
  // A file as Python writes it (no magic), named by a live pid: the parent.
  std::string live = std::to_string(::getppid());
  std::string python_file(65536, '\0');
  python_file[0] = 8;
  test::WriteFile(dir.File("counter_" + live + ".db"), python_file);
  std::string log = dir.File("stderr.txt");
  {
    test::StderrToFile redirect(log);
    Registry registry(Opts(dir, live));
    BuildCounter().Name("c").Register(registry).Add({}).Inc();
  }
  CHECK(test::ReadFile(dir.File("counter_" + live + ".db")) == python_file);
  std::string other =
      "counter_" + live + "-" + std::to_string(::getpid()) + ".db";
  CHECK(FileValues(dir.File(other))[Key("c", "c_total", {}, "")] == 1);
  CHECK(test::ReadFile(log).find("live process " + live) != std::string::npos);
}

TEST_CASE("ENOSPC: series creation fails visibly, the process keeps running") {
  TempDir dir;
  test::FaultEnv env;
  env.fail_allocate_after = 0;
  Options o = Opts(dir);
  o.env = &env;
  Registry registry(o);
  auto& f = BuildCounter().Name("full").Labels({"k"}).Register(registry);
  Result<Counter> r = f.TryWithLabelValues("a");
  REQUIRE(!r.ok());
  CHECK(r.status().IsNoSpace());
  CHECK(r.status().message().find(dir.path() + "/counter_") !=
        std::string::npos);
  Counter dummy = f.WithLabelValues("a");  // bound to private memory
  dummy.Inc();
  CHECK(dummy.Value() == 1);

  // The disk fills while the file grows: the entry that needs the second
  // 64 KiB fails, the others stay readable, no SIGBUS.
  env.fail_allocate_after = -1;
  env.max_file_size = 65536;
  int created = 0;
  Status last;
  for (int i = 0; i < 5000; ++i) {
    Result<Counter> c = f.TryWithLabelValues(std::to_string(i));
    if (!c.ok()) {
      last = c.status();
      break;
    }
    c->Inc(i);
    ++created;
  }
  CHECK(last.IsNoSpace());
  CHECK(created > 500);
  CHECK(created < 5000);
  Status st;
  auto v = FileValues(dir.File("counter_" + std::to_string(::getpid()) + ".db"),
                      &st);
  REQUIRE(st.ok());
  CHECK(static_cast<int>(v.size()) == created);
  // Space comes back: creation works again.
  env.max_file_size = 0;
  CHECK(f.TryWithLabelValues("later").ok());
}

TEST_CASE("a failed map is an error at series creation") {
  TempDir dir;
  test::FaultEnv env;
  env.fail_map = true;
  Options o = Opts(dir);
  o.env = &env;
  Registry registry(o);
  auto& f = BuildGauge().Name("g").Labels({"k"}).Register(registry);
  CHECK(!f.TryWithLabelValues("a").ok());
  env.fail_map = false;
  CHECK(f.TryWithLabelValues("a").ok());
}

TEST_CASE("a limited address space: 300 MiB more is plenty") {
  TempDir dir;
  CHECK(test::RunInChild([&] {
          // Room for about 300 MiB more (a writer once reserved 1 GiB a file).
          long pages = 0;
          std::ifstream("/proc/self/statm") >> pages;
          struct rlimit lim;
          lim.rlim_cur = lim.rlim_max =
              static_cast<rlim_t>(pages) * 4096 + (300u << 20);
          if (::setrlimit(RLIMIT_AS, &lim) != 0) return 2;
          Registry registry(Opts(dir));
          auto& f =
              BuildCounter().Name("small").Labels({"i"}).Register(registry);
          for (int i = 0; i < 3000; ++i) {
            if (!f.TryWithLabelValues(std::to_string(i)).ok()) return 3;
          }
          auto& g = BuildGauge().Name("g").Register(registry);
          return g.Add({}).Value() == 0 ? 0 : 4;
        }) == 0);
  CHECK(test::DbFiles(dir.path()).size() == 2);
}

TEST_CASE("both layouts: an existing file keeps its layout") {
  TempDir dir;
  for (ValueLayout first : {ValueLayout::k8, ValueLayout::k16}) {
    std::string id = first == ValueLayout::k8 ? "eight" : "sixteen";
    for (ValueLayout now :
         {first,
          first == ValueLayout::k8 ? ValueLayout::k16 : ValueLayout::k8}) {
      CHECK(test::RunInChild([&] {
              Options o = Opts(dir, id);
              o.layout = now;
              Registry registry(o);
              auto& f =
                  BuildCounter().Name("l").Labels({"k"}).Register(registry);
              f.WithLabelValues("a").Inc();
              f.WithLabelValues(now == first ? "b" : "c").Inc();
              return 0;
            }) == 0);
    }
    Status st;
    ValueLayout layout;
    auto v = FileValues(dir.File("counter_" + id + ".db"), &st, &layout);
    REQUIRE(st.ok());
    CHECK(layout == first);
    CHECK(v[Key("l", "l_total", {{"k", "a"}}, "")] == 2);
    CHECK(v.size() == 3);
  }
}

}  // namespace
}  // namespace promdir
