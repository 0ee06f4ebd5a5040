// NetMetrics: the front server's own metrics (connections open, accepted,
// rejected by reason, timed out by phase, authentication failures by
// reason), reported with the other promdir_collector_* self-metrics; and
// RejectLog, which logs a rejected client's address once per burst.
//
// Threads: every method is safe from any number of threads.

#ifndef PROMDIR_COLLECTOR_SRC_NET_METRICS_H_
#define PROMDIR_COLLECTOR_SRC_NET_METRICS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "logger.h"
#include "promdir/exposition.h"

namespace promdir::http {

class NetMetrics {
 public:
  void Opened() { open_.fetch_add(1); accepted_.fetch_add(1); }
  void Closed() { open_.fetch_sub(1); }
  int64_t open() const { return open_.load(); }
  void Rejected(const std::string& reason) { Count(&rejected_, reason); }
  void TimedOut(const std::string& phase) { Count(&timed_out_, phase); }
  void AuthFailed(const std::string& reason) { Count(&auth_failures_, reason); }

  // The families, named promdir_collector_http_*.
  std::vector<MetricFamily> Families() const;

 private:
  void Count(std::map<std::string, uint64_t>* m, const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(*m)[key];
  }

  std::atomic<int64_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> rejected_;
  std::map<std::string, uint64_t> timed_out_;
  std::map<std::string, uint64_t> auth_failures_;
};

// Logs "client rejected" naming the peer's address the first time a
// (reason, address) pair is seen, then at most once per `window`, with the
// number of rejections left unlogged in between.
class RejectLog {
 public:
  RejectLog(Logger* logger, std::chrono::seconds window)
      : logger_(logger), window_(window) {}
  // `peer` is "ip:port"; the port is left out of the key.
  void Note(const std::string& reason, const std::string& peer);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point logged;
    uint64_t suppressed = 0;
  };
  Logger* const logger_;
  const std::chrono::seconds window_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> seen_;
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_NET_METRICS_H_
