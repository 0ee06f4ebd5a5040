// CollectorServer: promdir-collector's HTTP server. It serves the merged
// metrics of one multiprocess directory at the telemetry path, with the
// collector's self-metrics appended, plus a landing page, /-/healthy and
// /-/ready, following Prometheus exporter conventions.
//
// Hardening: only GET and HEAD are served; any other method gets 405 from a
// pre-routing handler, before the library reads a body. Requests with too
// many or too large headers get 431. Bodies, timeouts and the worker pool are
// bounded by ServerOptions. The socket is bound with SO_REUSEADDR only (the
// library's default SO_REUSEPORT would let a second collector share the
// port), so a second collector on a taken port fails to bind.
//
// Threads: Bind and Serve run on one thread; Stop may be called from any
// other thread at any time, even before Serve starts. Requests run on the
// worker pool; scrapes may run concurrently (the merge engine and the
// self-metrics are thread-safe).
//
// Processes: the collector reads the directory without locking out writers;
// with prune on it deletes dead writers' live* gauge files.

#ifndef PROMDIR_COLLECTOR_SRC_SERVER_H_
#define PROMDIR_COLLECTOR_SRC_SERVER_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "collector/src/logger.h"
#include "collector/src/options.h"
#include "collector/src/self_metrics.h"
#include "promdir/merge.h"
#include "promdir/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace promdir::http {

class CollectorServer {
 public:
  // `logger` must outlive the server.
  CollectorServer(const ServerOptions& options, Logger* logger);
  ~CollectorServer();
  CollectorServer(const CollectorServer&) = delete;
  CollectorServer& operator=(const CollectorServer&) = delete;

  // Binds the listen address. Returns IOError naming the address and why
  // (e.g. in use by another process) on failure.
  Status Bind();
  // The bound port (the chosen one for port 0). REQUIRES: Bind() succeeded.
  int port() const { return port_; }

  // Serves until Stop(). REQUIRES: Bind() succeeded. Returns IOError if the
  // listener fails for another reason than Stop().
  Status Serve();
  // Makes Serve() return after in-flight requests finish. Idempotent.
  void Stop();

  SelfMetrics* self_metrics() { return &self_metrics_; }

 private:
  void Install();
  void HandleMetrics(const httplib::Request& req, httplib::Response* res);
  void HandleLanding(const httplib::Request& req, httplib::Response* res);
  void HandleReady(const httplib::Request& req, httplib::Response* res);

  const ServerOptions options_;
  Logger* const logger_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<DirectoryCollector> collector_;
  SelfMetrics self_metrics_;
  int port_ = -1;

  std::mutex mu_;
  bool stop_requested_ = false;
  bool serving_ = false;
  std::atomic<bool> serve_done_{false};
  std::atomic<bool> directory_failing_{false};
  std::atomic<size_t> last_body_size_{0};
};

// Runs promdir-collector: binds, serves, and shuts down cleanly on SIGTERM
// or SIGINT (logged). Runs background compaction if the options ask for it.
// Returns the process exit status: 0 after a signal, 1 if it cannot serve.
// REQUIRES: called on the main thread before any other thread exists (it
// blocks SIGTERM and SIGINT for the whole process and waits for them).
int RunCollector(const ServerOptions& options);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_SERVER_H_
