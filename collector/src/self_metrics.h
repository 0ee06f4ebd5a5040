// SelfMetrics: the collector's own metrics, under `promdir_collector_`, so
// that a user sees at a glance whether the directory is healthy: how long
// scrapes take, how many files of each type are live, dead or bad (and why),
// how many entries and bytes a scrape reads, what was pruned, how well the
// per-file cache works, and what background compaction did.
//
// They are appended to every /metrics body, in the body's format, after the
// merged directory metrics.
//
// Threads: every method is safe from any number of threads; a short mutex
// guards the counters, and Snapshot() copies them out under it.

#ifndef PROMDIR_COLLECTOR_SRC_SELF_METRICS_H_
#define PROMDIR_COLLECTOR_SRC_SELF_METRICS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "promdir/exposition.h"
#include "promdir/merge.h"

namespace promdir::http {

// What one background compaction run did.
struct CompactionRun {
  bool ok = true;
  bool busy = false;  // another compactor held the directory's lock
  uint64_t files_folded = 0;
  uint64_t files_removed = 0;
  uint64_t archives_written = 0;
  uint64_t errors = 0;
  double duration_seconds = 0;
  double finished_unix_seconds = 0;
};

class SelfMetrics {
 public:
  // `version` goes into promdir_collector_build_info. With
  // `compaction_enabled`, the compaction families are reported too.
  SelfMetrics(std::string version, bool compaction_enabled);

  // Records one /metrics scrape. `ok` is false when the directory could not
  // be listed; `stats` then describes nothing and only counts the error.
  void RecordScrape(const ScrapeStats& stats, bool ok);
  void RecordCompaction(const CompactionRun& run);

  // The families, in a fixed order, with every value as of now.
  std::vector<MetricFamily> Snapshot() const;

  // The upper bounds of the scrape duration histogram, in seconds.
  static const std::vector<double>& DurationBuckets();

 private:
  // Parts of Snapshot(); REQUIRES: mu_ held.
  void AppendScrapeFamilies(std::vector<MetricFamily>* out) const;
  void AppendFileFamilies(std::vector<MetricFamily>* out) const;
  void AppendCompactionFamilies(std::vector<MetricFamily>* out) const;

  const std::string version_;
  const bool compaction_enabled_;

  mutable std::mutex mu_;
  uint64_t scrapes_ = 0;
  uint64_t scrape_errors_ = 0;
  std::vector<uint64_t> duration_counts_;  // per bucket, not cumulative
  double duration_sum_ = 0;
  double last_duration_ = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> files_;
  uint64_t entries_ = 0;
  uint64_t bytes_read_ = 0;
  std::map<std::string, uint64_t> bad_files_;
  uint64_t pruned_series_ = 0;
  uint64_t pruned_files_ = 0;
  uint64_t lock_timeouts_ = 0;
  uint64_t cache_hits_ = 0;
  uint64_t cache_misses_ = 0;
  uint64_t files_unchanged_ = 0;
  std::map<std::string, uint64_t> read_errors_;  // by errno name, total
  uint64_t invalid_series_ = 0;
  std::map<std::string, uint64_t> compaction_runs_;  // by result
  uint64_t compaction_folded_ = 0;
  uint64_t compaction_removed_ = 0;
  uint64_t compaction_archives_ = 0;
  double compaction_last_success_ = 0;
  double compaction_last_duration_ = 0;
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_SELF_METRICS_H_
