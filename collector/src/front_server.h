// FrontServer: the collector's own accept and read layer, in front of
// cpp-httplib's request handling. cpp-httplib 0.11 reads request heads on
// its worker threads with per-recv timeouts and unbounded lines, and holds a
// worker for each kept-alive connection; so promdir does the network side
// itself and hands cpp-httplib only complete, checked request heads.
//
//   - One event-loop thread accepts on every listener and reads request
//     heads from every connection with poll(), never blocking. Limits
//     (request line, each header line, header count, total head size) are
//     enforced as bytes arrive: 431, then close. A connection must finish
//     its TLS handshake and its head within read_timeout of being accepted
//     (or of its first byte after an idle keep-alive), whatever the pace
//     of its bytes; an idle kept-alive connection is closed after
//     keep_alive_timeout. At max_connections, a new connection takes the
//     place of the oldest one that has sent no complete request for a
//     second or more; if there is none, it gets 503 and is closed at once.
//     So a flood of stalled clients cannot lock out a real one for longer
//     than a second.
//   - /-/healthy is answered on the event loop itself, so scrapes, locks
//     and stalled clients never delay it (and it needs no credentials).
//   - Every other complete request joins one FIFO queue served by a fixed
//     pool of workers; a worker checks basic auth, runs the handler into a
//     buffer, sends what the socket takes at once, and gives the connection
//     back to the event loop, which sends the rest as the client reads it
//     (within write_timeout) and then waits for the next request. Idle,
//     slow-sending and slow-reading connections hold no worker, and each
//     request waits its turn in arrival order, so keep-alive clients are
//     served fairly.
//
// Threads: Run() runs the loop on the calling thread and owns the workers;
// Stop() may be called from any thread, before or during Run().

#ifndef PROMDIR_COLLECTOR_SRC_FRONT_SERVER_H_
#define PROMDIR_COLLECTOR_SRC_FRONT_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "basic_auth.h"
#include "http_head.h"
#include "listeners.h"
#include "logger.h"
#include "net_conn.h"
#include "net_metrics.h"
#include "tls_context.h"

namespace promdir::http {

struct FrontOptions {
  HeadLimits limits;
  double read_timeout = 5;        // seconds: handshake and head
  double write_timeout = 30;      // seconds: one response
  double keep_alive_timeout = 5;  // seconds idle between requests
  size_t keep_alive_max_requests = 1000;
  size_t max_connections = 512;
  size_t workers = 4;
  // Added to every response (the web config's http_server_config.headers).
  std::vector<std::pair<std::string, std::string>> headers;
};

class FrontServer {
 public:
  // Serves one complete request: appends its response to conn->out()
  // (`head` is the request head as received, also parsed in `request`).
  // With `close`, the response says so. Sets *closed when the connection
  // must not be reused. Returns false if the request could not be served.
  using Handler = std::function<bool(Conn* conn, std::string_view head,
                                     const RequestHead& request, bool close,
                                     bool* closed)>;

  // `tls` and `auth` may be null (plain HTTP, no authentication); both, the
  // metrics and the logger must outlive the server. Takes the listeners.
  FrontServer(FrontOptions options, std::vector<Listener> listeners,
              TlsContext* tls, BasicAuth* auth, NetMetrics* metrics,
              Logger* logger, Handler handler);
  ~FrontServer();

  // Serves until Stop(). In-flight requests finish before it returns.
  void Run();
  void Stop();

 private:
  enum class Step { kKeep, kClose, kQueued };

  void Wake();
  void AcceptAll(int listen_fd);
  // At the connection cap: closes the oldest connection that has been open
  // for a second or more without a request being served (a stalled or slow
  // client, or an idle keep-alive one). False if there is none.
  bool EvictOneSlow();
  Step Progress(Conn* conn);
  Step Dispatch(Conn* conn);
  void Expire(Clock::time_point now);
  void WorkerLoop();
  void Serve(std::unique_ptr<Conn> conn);
  void Reject(Conn* conn, int status, const std::string& reason,
              const std::string& metric, std::string_view extra_headers = {});
  void Respond(Conn* conn, int status, std::string_view body, bool keep_alive,
               bool head_only, std::string_view extra_headers);
  // Flushes the response; kKeep when the rest must wait for the client
  // (the connection is then in kWriting until its write deadline).
  Step SendResponse(Conn* conn);
  void FinishRequest(Conn* conn);

  const FrontOptions options_;
  std::vector<Listener> listeners_;
  TlsContext* const tls_;
  BasicAuth* const auth_;
  NetMetrics* const metrics_;
  Logger* const logger_;
  const Handler handler_;
  RejectLog reject_log_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};

  // Owned by the loop thread.
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::unique_ptr<Conn>> queue_;     // waiting for a worker
  std::vector<std::unique_ptr<Conn>> returned_;  // kept alive, back to the loop
  std::vector<std::thread> workers_;
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_FRONT_SERVER_H_
