// RunCollector: the process lifecycle of promdir-collector (signals, the
// server, background compaction). Declared in server.h.

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>

#include "compaction_loop.h"
#include "server.h"
#include "version.h"

namespace promdir::http {

namespace {

std::string_view LivenessModeName(LivenessMode mode) {
  switch (mode) {
    case LivenessMode::kAuto: return "auto";
    case LivenessMode::kLock: return "lock";
    case LivenessMode::kPid: return "pid";
    case LivenessMode::kNone: return "none";
  }
  return "auto";
}

}  // namespace

int RunCollector(const ServerOptions& options) {
  Logger logger(options.log_level, options.log_format);
  // Block the shutdown signals in every thread (threads inherit the mask);
  // one thread waits for them with sigwait. A peer that hangs up mid-response
  // must not kill the process.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  logger.Info("starting promdir-collector",
              {{"version", kPromdirVersion},
               {"dir", options.directory},
               {"liveness", std::string(LivenessModeName(options.liveness))},
               {"prune", options.prune ? "true" : "false"},
               {"reread_all", options.reuse_unchanged ? "false" : "true"}});
  CollectorServer server(options, &logger);
  Status s = server.Bind();
  if (!s.ok()) {
    logger.Error("cannot start", {{"error", s.message()}});
    return 1;
  }
  const bool tls = options.web_config.tls.enabled;
  for (const std::string& address : server.listening()) {
    logger.Info("listening", {{"address", address},
                              {"telemetry_path", options.telemetry_path},
                              {"tls", tls ? "true" : "false"},
                              {"basic_auth", options.web_config.users.empty() ? "false" : "true"}});
  }
  bool everywhere = false;
  for (const ListenAddress& a : options.listen) everywhere = everywhere || a.host.empty();
  if (everywhere && !options.systemd_socket && !tls && options.web_config.users.empty()) {
    logger.Warn("listening on every interface without TLS or authentication; "
                "pass --web.listen-address 127.0.0.1:PORT or --web.config.file "
                "to restrict who can read the metrics");
  }

  std::atomic<bool> signalled{false};
  std::atomic<bool> exiting{false};
  std::thread signal_thread([&] {
    int sig = 0;
    while (sigwait(&signals, &sig) == 0) {
      if (exiting) return;
      signalled = true;
      logger.Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      server.Stop();
      return;
    }
  });

  std::unique_ptr<CompactionLoop> compaction;
  if (options.compact_interval > 0) {
    compaction = std::make_unique<CompactionLoop>(
        options.compact_interval, DirectoryCompaction(options),
        server.self_metrics(), &logger);
    compaction->Start();
    logger.Info("background compaction on",
                {{"interval_seconds", std::to_string(options.compact_interval)}});
  }

  s = server.Serve();
  if (compaction) compaction->Stop();
  if (!signalled) {
    exiting = true;
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  if (!s.ok()) {
    logger.Error("server failed", {{"error", s.message()}});
    return 1;
  }
  logger.Info("stopped");
  return 0;
}

}  // namespace promdir::http
