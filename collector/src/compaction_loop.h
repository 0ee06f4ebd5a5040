// CompactionLoop: runs compaction of the metrics directory in a background
// thread of the collector, every `interval` seconds (the first run one
// interval after Start), records each run in the self-metrics and logs what
// it did. A run that finds another compactor at work counts as "busy" and is
// not an error.
//
// Threads: Start and Stop from one thread (the server's); the run function
// executes on the loop's own thread. Stop wakes the loop and waits for a run
// in progress to finish.
//
// Processes: compaction itself is safe beside running writers, other
// compactors and scrapes of this collector (see promdir/maintenance.h).

#ifndef PROMDIR_COLLECTOR_SRC_COMPACTION_LOOP_H_
#define PROMDIR_COLLECTOR_SRC_COMPACTION_LOOP_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "logger.h"
#include "options.h"
#include "self_metrics.h"

namespace promdir::http {

// What a run function reports back.
struct CompactionOutcome {
  CompactionRun run;
  std::vector<std::string> errors;  // "path: reason", logged one by one
  std::string failure;              // a run-level error, empty if none
};

class CompactionLoop {
 public:
  using RunFunction = std::function<CompactionOutcome()>;

  // `metrics` and `logger` must outlive the loop.
  CompactionLoop(double interval_seconds, RunFunction run, SelfMetrics* metrics,
                 Logger* logger);
  ~CompactionLoop();  // Stop()s

  void Start();
  void Stop();

  // Runs once on the calling thread, records and logs it.
  void RunOnce();

 private:
  void Loop();

  const double interval_;
  const RunFunction run_;
  SelfMetrics* const metrics_;
  Logger* const logger_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// A run function that compacts options.directory with promdir::Compact
// under options.liveness.
CompactionLoop::RunFunction DirectoryCompaction(const ServerOptions& options);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_COMPACTION_LOOP_H_
