#include "compaction_loop.h"

#include <chrono>

namespace promdir::http {

CompactionLoop::CompactionLoop(double interval_seconds, RunFunction run,
                               SelfMetrics* metrics, Logger* logger)
    : interval_(interval_seconds),
      run_(std::move(run)),
      metrics_(metrics),
      logger_(logger) {}

CompactionLoop::~CompactionLoop() { Stop(); }

void CompactionLoop::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void CompactionLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CompactionLoop::Loop() {
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(interval_));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, interval, [this] { return stop_; })) return;
    lock.unlock();
    RunOnce();
    lock.lock();
  }
}

void CompactionLoop::RunOnce() {
  auto start = std::chrono::steady_clock::now();
  CompactionOutcome outcome = run_();
  outcome.run.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.run.finished_unix_seconds =
      std::chrono::duration<double>(
          std::chrono::system_clock::now().time_since_epoch()).count();
  metrics_->RecordCompaction(outcome.run);
  for (const std::string& error : outcome.errors) {
    logger_->Warn("compaction could not handle a file", {{"error", error}});
  }
  if (outcome.run.busy) {
    logger_->Info("compaction skipped: another compactor is running");
  } else if (!outcome.run.ok) {
    logger_->Error("compaction failed", {{"error", outcome.failure}});
  } else if (outcome.run.files_folded > 0 || outcome.run.files_removed > 0) {
    logger_->Info("compacted",
                  {{"folded_files", std::to_string(outcome.run.files_folded)},
                   {"removed_files", std::to_string(outcome.run.files_removed)},
                   {"archives_written", std::to_string(outcome.run.archives_written)},
                   {"duration_seconds", std::to_string(outcome.run.duration_seconds)}});
  } else {
    logger_->Debug("compaction found nothing to fold");
  }
}

}  // namespace promdir::http
