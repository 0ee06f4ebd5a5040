// CollectorServer: promdir-collector's HTTP server. It serves the merged
// metrics of one multiprocess directory at the telemetry path, with the
// collector's self-metrics appended, plus a landing page, /-/healthy and
// /-/ready, following Prometheus exporter conventions.
//
// The network side (listeners, TLS, request-head limits and deadlines,
// connection cap, basic auth, fair queueing) is FrontServer's; it hands
// complete, checked requests to cpp-httplib's routing and handlers here.
// Only GET and HEAD without a body are served. Concurrent scrapes for the
// same format share one merge (single flight): a scrape that arrives while
// one runs waits for it and sends the same body.
//
// Threads: Bind and Serve run on one thread; Stop may be called from any
// other thread at any time, even before Serve starts. Requests run on the
// front server's workers.
//
// Processes: the collector reads the directory without locking out writers;
// with prune on it deletes dead writers' live* gauge files.

#ifndef PROMDIR_COLLECTOR_SRC_SERVER_H_
#define PROMDIR_COLLECTOR_SRC_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "basic_auth.h"
#include "front_server.h"
#include "listeners.h"
#include "logger.h"
#include "net_metrics.h"
#include "tls_context.h"
#include "options.h"
#include "self_metrics.h"
#include "promdir/directory_env.h"
#include "promdir/merge.h"
#include "promdir/status.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace promdir::http {

class HttplibBridge;

class CollectorServer {
 public:
  // `logger` must outlive the server.
  CollectorServer(const ServerOptions& options, Logger* logger);
  ~CollectorServer();
  CollectorServer(const CollectorServer&) = delete;
  CollectorServer& operator=(const CollectorServer&) = delete;

  // Binds every listen address (or takes systemd's sockets) and loads the
  // TLS files. Returns an error naming the address or file and why (e.g. in
  // use by another process) on failure.
  Status Bind();
  // The first listener's port (the chosen one for port 0).
  // REQUIRES: Bind() succeeded.
  int port() const { return port_; }
  // What Bind() listens on, for the log.
  const std::vector<std::string>& listening() const { return listening_; }

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

  // One merge and render of the directory, shared by the scrapes that ask
  // for the same format while it runs.
  struct Rendered {
    Status status;
    std::string body;
  };
  std::shared_ptr<const Rendered> RenderShared(Exposition format);
  std::shared_ptr<const Rendered> RenderNow(Exposition format);

  const ServerOptions options_;
  Logger* const logger_;
  std::unique_ptr<HttplibBridge> http_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<BasicAuth> auth_;
  std::unique_ptr<FrontServer> front_;
  NetMetrics net_metrics_;
  std::vector<std::string> listening_;
  std::unique_ptr<DirectoryEnv> dir_env_;  // before collector_, which uses it
  std::unique_ptr<DirectoryCollector> collector_;
  SelfMetrics self_metrics_;
  int port_ = -1;

  std::mutex mu_;
  bool stop_requested_ = false;
  bool serving_ = false;
  std::atomic<bool> serve_done_{false};
  std::atomic<bool> directory_failing_{false};
  std::atomic<size_t> last_body_size_{0};

  struct Flight {
    bool running = false;
    uint64_t generation = 0;
    std::shared_ptr<const Rendered> result;
  };
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  // By (ExpositionFormat, NameEscaping): scrapes share a render only when
  // they ask for the same bytes.
  static constexpr size_t kFormats = 5;
  static constexpr size_t kEscapings = 4;
  Flight flights_[kFormats * kEscapings];
};

// Runs promdir-collector: binds, serves, and shuts down cleanly on SIGTERM
// or SIGINT (logged). Runs background compaction if the options ask for it.
// Returns the process exit status: 0 after a signal, 1 if it cannot serve.
// REQUIRES: called on the main thread before any other thread exists (it
// blocks SIGTERM and SIGINT for the whole process and waits for them).
int RunCollector(const ServerOptions& options);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_SERVER_H_
