// promdir-fork-bench: what the writer costs a preforking worker.
//
// A worker registers metrics of every file kind (counter, histogram,
// summary and the ten gauge modes: 13 files, 40 series each), then:
//   - its VSZ and RSS (from /proc/self/status) before the Registry and after;
//   - fork() + _exit() in the child, timed in the parent until waitpid
//     returns, averaged over --forks rounds; the same with no Registry
//     (the floor) is printed first;
//   - fork() + exec("/bin/true"), the same way;
//   - the *.db files those forks left behind in the directory;
//   - the cost of a child's first write after fork (fork, one Inc, _exit).
//
//   promdir-fork-bench [--forks N]      (default 200)
//
// The directory is a fresh one under $TMPDIR, removed at exit.

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "promdir/promdir.h"

namespace {

// VmSize and VmRSS of this process in KiB.
void Memory(long* vsz_kib, long* rss_kib) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmSize:", 0) == 0) *vsz_kib = std::atol(line.c_str() + 7);
    if (line.rfind("VmRSS:", 0) == 0) *rss_kib = std::atol(line.c_str() + 6);
  }
}

// Mean microseconds of `rounds` forks whose child runs `child`.
double TimeForks(int rounds, const std::function<void()>& child) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      std::exit(1);
    }
    if (pid == 0) {
      child();
      ::_exit(0);
    }
    int st;
    ::waitpid(pid, &st, 0);
  }
  std::chrono::duration<double, std::micro> d =
      std::chrono::steady_clock::now() - start;
  return d.count() / rounds;
}

size_t CountDb(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    n += e.path().extension() == ".db";
  }
  return n;
}

void Exec() {
  ::execl("/bin/true", "true", static_cast<char*>(nullptr));
  ::_exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--forks") == 0 && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--forks N]\n", argv[0]);
      return 2;
    }
  }
  if (rounds <= 0) {
    std::fprintf(stderr, "--forks must be a positive number\n");
    return 2;
  }
  const char* base = std::getenv("TMPDIR");
  std::string dir =
      std::string(base && *base ? base : "/tmp") + "/promdir-fork-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return 1;

  double floor_fork = TimeForks(rounds, [] {});
  double floor_exec = TimeForks(rounds, Exec);
  long vsz0 = 0, rss0 = 0, vsz1 = 0, rss1 = 0;
  Memory(&vsz0, &rss0);
  size_t files_before, files_fork, files_exec;
  double fork_us, exec_us, first_write_us;
  {
    promdir::Options o;
    o.directory = dir;
    promdir::Registry registry(o);
    std::vector<std::string> names = {"c", "h", "s"};
    auto& c =
        promdir::BuildCounter().Name("c").Labels({"i"}).Register(registry);
    auto& h =
        promdir::BuildHistogram().Name("h").Labels({"i"}).Register(registry);
    auto& s =
        promdir::BuildSummary().Name("s").Labels({"i"}).Register(registry);
    std::vector<promdir::Family<promdir::Gauge>*> gauges;
    using M = promdir::GaugeMode;
    for (M m :
         {M::kAll, M::kLiveAll, M::kMin, M::kLiveMin, M::kMax, M::kLiveMax,
          M::kSum, M::kLiveSum, M::kMostRecent, M::kLiveMostRecent}) {
      std::string name = "g" + std::to_string(gauges.size());
      gauges.push_back(
          &promdir::BuildGauge().Name(name).Labels({"i"}).Mode(m).Register(
              registry));
    }
    promdir::Counter first = c.WithLabelValues("0");
    for (int i = 0; i < 40; ++i) {
      std::string v = std::to_string(i);
      c.WithLabelValues(v).Inc();
      h.WithLabelValues(v).Observe(0.1);
      s.WithLabelValues(v).Observe(1);
      for (auto* g : gauges) g->WithLabelValues(v).Set(1);
    }
    Memory(&vsz1, &rss1);
    files_before = CountDb(dir);
    fork_us = TimeForks(rounds, [] {});
    files_fork = CountDb(dir);
    exec_us = TimeForks(rounds, Exec);
    files_exec = CountDb(dir);
    first_write_us = TimeForks(rounds, [&] { first.Inc(); });
  }
  std::printf("worker: 13 files, 40 series each\n");
  std::printf("  VSZ %8ld KiB -> %8ld KiB (+%ld KiB)\n", vsz0, vsz1,
              vsz1 - vsz0);
  std::printf("  RSS %8ld KiB -> %8ld KiB (+%ld KiB)\n", rss0, rss1,
              rss1 - rss0);
  std::printf(
      "fork()+_exit(), mean of %d:        %8.1f us (no registry: %.1f)\n",
      rounds, fork_us, floor_fork);
  std::printf(
      "fork()+exec(/bin/true), mean of %d: %8.1f us (no registry: %.1f)\n",
      rounds, exec_us, floor_exec);
  std::printf("fork()+Inc()+_exit(), mean of %d:  %8.1f us\n", rounds,
              first_write_us);
  std::printf(
      "*.db files: %zu before; %zu after the fork()+_exit() rounds; "
      "%zu after the fork()+exec() rounds\n",
      files_before, files_fork, files_exec);
  std::filesystem::remove_all(dir);
  return 0;
}
