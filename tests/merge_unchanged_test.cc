// The merge engine serves files that no process has open for writing from
// memory, without reading them (CollectorOptions::reuse_unchanged). These
// tests make the cases where that would go wrong happen with real
// processes: a Python writer that reopens a gone writer's file (pid reuse)
// and stays alive, one that reopens, writes and exits between two scrapes,
// one killed with SIGKILL, a promdir writer reusing its worker id, and a
// directory whose watch or lease probe fails.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "lib/src/env.h"
#include "promdir/builder.h"
#include "promdir/counter.h"
#include "promdir/merge.h"
#include "promdir/registry.h"
#include "tests/exposition_parse.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

// A Python prometheus_client worker writing under a fixed process id (as a
// reused pid would): `reopen_events_total{k="a"}` goes up by `step` at
// start and at every "inc" line on stdin; it answers "ok" and exits at EOF.
const char kWorker[] = R"PY(
import os, sys
d, ident, step = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
os.environ["PROMETHEUS_MULTIPROC_DIR"] = d
from prometheus_client import values, Counter
values.ValueClass = values.MultiProcessValue(process_identifier=lambda: ident)
c = Counter("reopen_events", "Events.", ["k"])
c.labels(k="a").inc(step)
print("ok", flush=True)
for line in sys.stdin:
    c.labels(k="a").inc(step)
    print("ok", flush=True)
)PY";

class PyWorker {
 public:
  PyWorker(const std::string& dir, int ident, double step) {
    int in[2], out[2];
    REQUIRE(pipe(in) == 0);
    REQUIRE(pipe(out) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      std::string id = std::to_string(ident), st = std::to_string(step);
      execl(test::kPython, test::kPython, "-c", kWorker, dir.c_str(),
            id.c_str(), st.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    Expect();
  }
  ~PyWorker() {
    if (pid_ > 0) Finish();
  }
  void Inc() {
    std::fputs("inc\n", to_);
    std::fflush(to_);
    Expect();
  }
  void Finish() {  // EOF: the worker exits normally
    std::fclose(to_);
    Reap();
  }
  void Kill() {
    kill(pid_, SIGKILL);
    std::fclose(to_);
    Reap();
  }

 private:
  void Expect() {
    char line[16] = {0};
    REQUIRE(std::fgets(line, sizeof line, from_) != nullptr);
    REQUIRE(std::string(line) == "ok\n");
  }
  void Reap() {
    int status = 0;
    waitpid(pid_, &status, 0);
    std::fclose(from_);
    pid_ = -1;
  }
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

struct Scrape {
  std::map<std::string, double> samples;
  ScrapeStats stats;
};

Scrape Run(DirectoryCollector* c) {
  Scrape s;
  std::string text;
  REQUIRE(c->Render(ExpositionFormat::kText004, &text, &s.stats).ok());
  for (auto& [name, f] : test::ParseExposition(text).families) {
    for (auto& [k, v] : f.samples) s.samples[k] = v;
  }
  return s;
}

const char kEvents[] = "reopen_events_total{k=\"a\"}";

CollectorOptions OptionsFor(const std::string& dir) {
  CollectorOptions opt;
  opt.directory = dir;
  return opt;
}
// Far above any pid, so no process of this machine has it.
constexpr int kIdent = 4190001;

TEST_CASE("a gone writer's file is served unread until a process opens it again") {
  for (LivenessMode mode : {LivenessMode::kAuto, LivenessMode::kNone}) {
    CAPTURE(static_cast<int>(mode));
    test::TempDir d;
    PyWorker(d.path(), kIdent, 1).Finish();
    CollectorOptions opt = OptionsFor(d.path());
    opt.liveness = mode;
    DirectoryCollector c(opt);
    Scrape s = Run(&c);
    CHECK(s.samples.at(kEvents) == 1);
    CHECK(s.stats.files_unchanged == 0);
    CHECK(s.stats.bytes_read > 0);
    s = Run(&c);
    CHECK(s.samples.at(kEvents) == 1);
    CHECK(s.stats.files_unchanged == 1);
    CHECK(s.stats.bytes_read == 0);

    // A new process with the same id reopens the file and stays alive:
    // every scrape reads it.
    {
      PyWorker w(d.path(), kIdent, 2);
      s = Run(&c);
      CHECK(s.samples.at(kEvents) == 3);
      CHECK(s.stats.files_unchanged == 0);
      w.Inc();
      s = Run(&c);
      CHECK(s.samples.at(kEvents) == 5);
      CHECK(s.stats.files_unchanged == 0);
      w.Inc();
      w.Finish();
    }
    s = Run(&c);
    CHECK(s.samples.at(kEvents) == 7);
    s = Run(&c);
    CHECK(s.samples.at(kEvents) == 7);
    CHECK(s.stats.files_unchanged == 1);

    // One that opens, writes and exits between two scrapes.
    PyWorker(d.path(), kIdent, 10).Finish();
    s = Run(&c);
    CHECK(s.samples.at(kEvents) == 17);
    CHECK(s.stats.files_unchanged == 0);

    // One killed with SIGKILL after it wrote.
    Run(&c);
    {
      PyWorker w(d.path(), kIdent, 100);
      w.Kill();
    }
    s = Run(&c);
    CHECK(s.samples.at(kEvents) == 117);

    // A plain write and close by this process.
    s = Run(&c);
    CHECK(s.stats.files_unchanged == 1);
    std::string path = d.File("counter_" + std::to_string(kIdent) + ".db");
    std::string bytes = test::ReadFile(path);
    test::WriteFile(path, bytes);  // same bytes: still a change to reread
    s = Run(&c);
    CHECK(s.stats.files_unchanged == 0);
    CHECK(s.samples.at(kEvents) == 117);
  }
}

TEST_CASE("a promdir writer that reuses its worker id is seen") {
  test::TempDir d;
  auto child = [&](int times, bool sigkill) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      Options o;
      o.directory = d.path();
      o.worker_id = "w1";
      Registry registry(o);
      Counter n = BuildCounter().Name("jobs").Register(registry).Add({});
      n.Inc(times);
      if (sigkill) raise(SIGKILL);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
  };
  child(1, false);
  DirectoryCollector c(OptionsFor(d.path()));
  CHECK(Run(&c).samples.at("jobs_total{}") == 1);
  Scrape s = Run(&c);
  CHECK(s.stats.files_unchanged == 1);
  child(2, false);
  s = Run(&c);
  CHECK(s.samples.at("jobs_total{}") == 3);
  Run(&c);
  child(4, true);
  s = Run(&c);
  CHECK(s.samples.at("jobs_total{}") == 7);
  s = Run(&c);
  CHECK(s.samples.at("jobs_total{}") == 7);
  CHECK(s.stats.files_unchanged == 1);
}

// Breaks the watch or the lease probe.
class NoWatchEnv : public EnvWrapper {
 public:
  NoWatchEnv() : EnvWrapper(Env::Default()) {}
  bool fail_watch = false;
  bool fail_lease = false;
  bool lose_events = false;  // every drain reports lost events
  Status OpenChangeWatchAt(int d, const std::string& dir, int* w) override {
    if (fail_watch) return Status::IOError(dir + ": no inotify here");
    return EnvWrapper::OpenChangeWatchAt(d, dir, w);
  }
  Status WritersOpen(int fd, bool* open) override {
    if (fail_lease) return Status::IOError("lease: not the owner");
    return EnvWrapper::WritersOpen(fd, open);
  }
  Status ReadChanges(int w, std::vector<Change>* c, bool* everything) override {
    Status s = EnvWrapper::ReadChanges(w, c, everything);
    if (lose_events) {
      c->clear();
      *everything = true;
    }
    return s;
  }
};

TEST_CASE("without a watch or a lease probe every file is read every scrape") {
  for (int broken = 0; broken < 3; ++broken) {
    CAPTURE(broken);
    test::TempDir d;
    PyWorker(d.path(), kIdent, 1).Finish();
    NoWatchEnv env;
    env.fail_watch = broken == 0;
    env.fail_lease = broken == 1;
    env.lose_events = broken == 2;
    CollectorOptions opt = OptionsFor(d.path());
    opt.env = &env;
    DirectoryCollector c(opt);
    for (int i = 0; i < 3; ++i) {
      Scrape s = Run(&c);
      CHECK(s.samples.at(kEvents) == 1 + 5 * i);
      CHECK(s.stats.files_unchanged == 0);
      CHECK(s.stats.bytes_read > 0);
      PyWorker(d.path(), kIdent, 5).Finish();
    }
  }
}

TEST_CASE("reuse_unchanged = false reads every file every scrape") {
  test::TempDir d;
  PyWorker(d.path(), kIdent, 1).Finish();
  CollectorOptions opt = OptionsFor(d.path());
  opt.reuse_unchanged = false;
  DirectoryCollector c(opt);
  Run(&c);
  Scrape s = Run(&c);
  CHECK(s.stats.files_unchanged == 0);
  CHECK(s.stats.bytes_read > 0);
}

}  // namespace
}  // namespace promdir
