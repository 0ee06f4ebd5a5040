// promdir-loadgen: forks N worker processes that write metrics through the
// promdir library, with totals known in advance.
//
// Worker iteration i (from 0):
//   loadgen_inflight (livesum gauge)           += 1 while the iteration runs
//   loadgen_requests_total{route="r<i%4>"}     += 1
//   loadgen_latency_seconds{route="r<i%4>"}    observe ((i % 100) + 0.5) / 100
//                                              (Python's default buckets)
//   loadgen_latency_native_seconds{route=...}  the same observation, with
//                                              --native-histograms (a native
//                                              histogram, schema 3)
// so after N workers x K iterations, with K a multiple of 4, each route has
// N*K/4 requests and observations.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "promdir/promdir.h"

namespace {

struct Config {
  std::string dir;
  int workers = 1;
  long long iterations = -1;  // -1: until --duration ends
  int layout = 0;  // 0: PROMDIR_VALUE_LAYOUT, else 16
  bool worker_ids = false;
  double duration = 0;  // seconds; 0: no limit
  int sleep_ms = 0;
  bool respawn = false;
  bool native = false;
};

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

// One worker process: returns its exit code.
int RunWorker(const Config& cfg, int index, Clock::time_point deadline) {
  try {
    promdir::Options options;
    options.directory = cfg.dir;
    options.layout =
        cfg.layout == 8 ? promdir::ValueLayout::k8 : promdir::ValueLayout::k16;
    if (cfg.worker_ids) options.worker_id = std::to_string(index);
    promdir::Registry registry(options);
    auto& requests =
        promdir::BuildCounter()
            .Name("loadgen_requests_total")
            .Help("Iterations run by promdir-loadgen workers, by route.")
            .Labels({"route"})
            .Register(registry);
    auto& latency =
        promdir::BuildHistogram()
            .Name("loadgen_latency_seconds")
            .Help("Simulated latency of promdir-loadgen iterations.")
            .Labels({"route"})
            .Register(registry);
    auto& inflight =
        promdir::BuildGauge()
            .Name("loadgen_inflight")
            .Help("Iterations running now in promdir-loadgen workers.")
            .Mode(promdir::GaugeMode::kLiveSum)
            .Register(registry);
    std::array<promdir::Counter, 4> req;
    std::array<promdir::Histogram, 4> lat;
    std::array<promdir::NativeHistogram, 4> nat;
    auto* native =
        cfg.native
            ? &promdir::BuildNativeHistogram()
                   .Name("loadgen_latency_native_seconds")
                   .Help("Simulated latency of promdir-loadgen iterations "
                         "(native histogram).")
                   .Labels({"route"})
                   .Register(registry)
            : nullptr;
    for (int r = 0; r < 4; ++r) {
      std::string route = "r" + std::to_string(r);
      auto c = requests.TryWithLabelValues(route);
      auto h = latency.TryWithLabelValues(route);
      if (!c.ok() || !h.ok()) {
        std::fprintf(stderr, "promdir-loadgen: worker %d: %s\n", index,
                     (!c.ok() ? c.status() : h.status()).ToString().c_str());
        return 1;
      }
      req[r] = *c;
      lat[r] = *h;
      if (native) nat[r] = native->WithLabelValues(route);
    }
    promdir::Gauge busy = inflight.Add({});
    // With --respawn, a worker always finishes its iterations: the
    // duration only ends the respawning, so every generation is whole.
    bool timed = cfg.duration > 0 && !cfg.respawn;
    for (long long i = 0; cfg.iterations < 0 || i < cfg.iterations; ++i) {
      if (g_stop || (timed && Clock::now() >= deadline)) break;
      busy.Inc();
      req[i % 4].Inc();
      lat[i % 4].Observe(((i % 100) + 0.5) / 100);
      if (native) nat[i % 4].Observe(((i % 100) + 0.5) / 100);
      busy.Dec();
      if (cfg.sleep_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(cfg.sleep_ms));
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "promdir-loadgen: worker %d: %s\n", index, e.what());
    return 1;
  }
}

pid_t StartWorker(const Config& cfg, int index, Clock::time_point deadline) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGTERM, OnSignal);
    ::signal(SIGINT, OnSignal);
    std::_Exit(RunWorker(cfg, index, deadline));
  }
  if (pid < 0) std::perror("promdir-loadgen: fork");
  return pid;
}

// The flags, into *cfg.
void AddFlags(CLI::App* app, Config* cfg) {
  app->get_formatter()->column_width(34);
  cfg->dir = promdir::DirectoryFromEnvironment();
  app->add_option(
      "--dir", cfg->dir,
      "The multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR, else "
      "$prometheus_multiproc_dir)");
  app->add_option("--workers", cfg->workers, "Worker processes to fork")
      ->check(CLI::Range(1, 10000));
  app->add_option("--iterations", cfg->iterations,
                  "Iterations per worker (default: until --duration ends)")
      ->check(CLI::Range(0LL, 1LL << 50));
  app->add_option(
          "--layout", cfg->layout,
          "Value layout of new files: 16 (prometheus_client >= 0.18) or 8 "
          "(0.17 and older, Debian 12's 0.16) (default: "
          "$PROMDIR_VALUE_LAYOUT, else 16)")
      ->check(CLI::IsMember({8, 16}));
  app->add_flag("--worker-ids", cfg->worker_ids,
                "Write under worker ids 0..N-1 instead of pids");
  app->add_option("--duration", cfg->duration,
                  "Stop iterating after this many seconds (with --respawn: "
                  "start no new worker after them)")
      ->check(CLI::PositiveNumber);
  app->add_option("--sleep-ms", cfg->sleep_ms,
                  "Pause between iterations, in ms")
      ->check(CLI::Range(0, 3600000));
  app->add_flag(
      "--respawn", cfg->respawn,
      "Replace each worker that finishes its iterations with a new one "
      "until --duration ends; each runs all its iterations (needs "
      "--duration and --iterations)");
  app->add_flag("--native-histograms", cfg->native,
                "Also observe each latency into the native histogram "
                "loadgen_latency_native_seconds (schema 3)");
}

// Checks the flags together, settles the layout from the environment if no
// --layout was given. Returns 0, or the exit code after naming the problem.
int CheckConfig(Config* cfg) {
  if (cfg->dir.empty()) {
    std::fprintf(stderr,
                 "promdir-loadgen: no directory: pass --dir or set "
                 "PROMETHEUS_MULTIPROC_DIR\n");
    return 2;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(cfg->dir, ec)) {
    std::fprintf(stderr, "promdir-loadgen: --dir %s is not a directory\n",
                 cfg->dir.c_str());
    return 2;
  }
  if (cfg->layout == 0) {
    // As every program using the library: the environment decides.
    promdir::Result<promdir::Options> env =
        promdir::Options::TryFromEnvironment();
    if (!env.ok()) {
      std::fprintf(stderr, "promdir-loadgen: %s\n",
                   env.status().message().c_str());
      return 2;
    }
    cfg->layout = env.value().layout == promdir::ValueLayout::k8 ? 8 : 16;
  }
  if (cfg->iterations < 0 && cfg->duration <= 0) {
    std::fprintf(stderr,
                 "promdir-loadgen: give --iterations, --duration, or both\n");
    return 2;
  }
  if (cfg->respawn && (cfg->duration <= 0 || cfg->iterations < 0)) {
    std::fprintf(
        stderr,
        "promdir-loadgen: --respawn needs --duration and --iterations\n");
    return 2;
  }
  return 0;
}

// Forks the workers (again with --respawn) and waits for every one.
int RunWorkers(const Config& cfg) {
  ::signal(SIGTERM, OnSignal);
  ::signal(SIGINT, OnSignal);
  Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(cfg.duration));
  std::map<pid_t, int> running;  // pid -> worker index
  int failed = 0;
  long long started = 0;
  for (int w = 0; w < cfg.workers; ++w) {
    pid_t pid = StartWorker(cfg, w, deadline);
    if (pid < 0) {
      ++failed;
      continue;
    }
    running[pid] = w;
    ++started;
  }
  bool forwarded = false;
  while (!running.empty()) {
    if (g_stop && !forwarded) {
      for (const auto& [pid, index] : running) ::kill(pid, SIGTERM);
      forwarded = true;
    }
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    int index = it->second;
    running.erase(it);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
      ++failed;
      std::fprintf(
          stderr, "promdir-loadgen: worker %d (pid %d) %s %d\n", index,
          static_cast<int>(pid),
          WIFSIGNALED(status) ? "was killed by signal" : "exited with",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    } else if (cfg.respawn && !g_stop && Clock::now() < deadline) {
      pid_t again = StartWorker(cfg, index, deadline);
      if (again > 0) {
        running[again] = index;
        ++started;
      } else {
        ++failed;
      }
    }
  }
  std::fprintf(stderr,
               "promdir-loadgen: %lld worker processes ran in %s, %d failed\n",
               started, cfg.dir.c_str(), failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{
      "promdir-loadgen: fork worker processes that write metrics with the "
      "promdir "
      "library, with totals known in advance.\n\n"
      "Each worker runs iterations i = 0, 1, ...: it holds the livesum gauge\n"
      "loadgen_inflight at 1 during the iteration, increments\n"
      "loadgen_requests_total{route=\"r<i%4>\"} by 1 and observes\n"
      "((i % 100) + 0.5) / 100 seconds into "
      "loadgen_latency_seconds{route=...}\n"
      "(Python's default buckets); with --native-histograms also into the\n"
      "native histogram loadgen_latency_native_seconds{route=...}.\n"
      "The parent waits for every worker and exits 0, or 1 if any worker\n"
      "failed.\n\n"
      "Examples:\n"
      "  promdir-loadgen --dir /tmp/metrics --workers 4 --iterations 1000\n"
      "      4 workers x 1000 iterations: 1000 requests per route in total.\n"
      "  promdir-loadgen --dir /tmp/metrics --workers 8 --duration 60 "
      "--sleep-ms 10\n"
      "      a steady load for a minute (for a demo with the collector).\n"
      "  promdir-loadgen --dir D --workers 4 --iterations 500 --duration 30 "
      "\\\n"
      "      --respawn --worker-ids\n"
      "      workers that exit after 500 iterations and are replaced, reusing\n"
      "      their ids (files continue) until 30 s have passed.\n"};
  AddFlags(&app, &cfg);
  CLI11_PARSE(app, argc, argv);
  if (int code = CheckConfig(&cfg); code != 0) return code;
  return RunWorkers(cfg);
}
