#include "self_metrics.h"

#include <limits>
#include <utility>

#include "promdir/text.h"

namespace promdir::http {
namespace {

constexpr const char* kPrefix = "promdir_collector_";

MetricFamily Family(std::string name, MetricType type, std::string help) {
  MetricFamily f;
  f.name = kPrefix + std::move(name);
  f.type = type;
  f.help = std::move(help);
  return f;
}

void Add(MetricFamily* f, std::string suffix, Labels labels, double value) {
  Sample s;
  s.name = f->name + suffix;
  s.labels = std::move(labels);
  s.value = value;
  f->samples.push_back(std::move(s));
}

MetricFamily Counter(std::string name, std::string help, double value) {
  MetricFamily f = Family(std::move(name), MetricType::kCounter, std::move(help));
  Add(&f, "_total", {}, value);
  return f;
}

MetricFamily Gauge(std::string name, std::string help, double value) {
  MetricFamily f = Family(std::move(name), MetricType::kGauge, std::move(help));
  Add(&f, "", {}, value);
  return f;
}

}  // namespace

const std::vector<double>& SelfMetrics::DurationBuckets() {
  static const std::vector<double> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
      std::numeric_limits<double>::infinity()};
  return kBuckets;
}

SelfMetrics::SelfMetrics(std::string version, bool compaction_enabled)
    : version_(std::move(version)),
      compaction_enabled_(compaction_enabled),
      duration_counts_(DurationBuckets().size(), 0) {}

void SelfMetrics::RecordScrape(const ScrapeStats& stats, bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++scrapes_;
  if (!ok) {
    ++scrape_errors_;
    return;
  }
  const std::vector<double>& buckets = DurationBuckets();
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (stats.duration_seconds <= buckets[i]) {
      ++duration_counts_[i];
      break;
    }
  }
  duration_sum_ += stats.duration_seconds;
  last_duration_ = stats.duration_seconds;
  files_ = stats.files;
  entries_ = stats.entries;
  bytes_read_ += stats.bytes_read;
  bad_files_ = stats.bad_files_by_reason;
  pruned_series_ = stats.pruned_series;
  pruned_files_ += stats.pruned_files;
  lock_timeouts_ += stats.lock_timeouts;
  cache_hits_ += stats.cache_hits;
  cache_misses_ += stats.cache_misses;
  files_unchanged_ = stats.files_unchanged;
  for (const auto& [reason, n] : stats.read_errors_by_reason) {
    read_errors_[reason] += n;
  }
  invalid_series_ = stats.invalid_series;
}

void SelfMetrics::RecordCompaction(const CompactionRun& run) {
  std::lock_guard<std::mutex> lock(mu_);
  ++compaction_runs_[run.busy ? "busy" : run.ok ? "ok" : "error"];
  compaction_folded_ += run.files_folded;
  compaction_removed_ += run.files_removed;
  compaction_archives_ += run.archives_written;
  compaction_last_duration_ = run.duration_seconds;
  if (run.ok && !run.busy) compaction_last_success_ = run.finished_unix_seconds;
}

std::vector<MetricFamily> SelfMetrics::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<MetricFamily> out;
  AppendScrapeFamilies(&out);
  AppendFileFamilies(&out);
  if (compaction_enabled_) AppendCompactionFamilies(&out);
  return out;
}

void SelfMetrics::AppendScrapeFamilies(std::vector<MetricFamily>* outp) const {
  std::vector<MetricFamily>& out = *outp;
  MetricFamily info = Family("build_info", MetricType::kGauge,
                             "promdir-collector's version; always 1.");
  Add(&info, "", {{"version", version_}}, 1);
  out.push_back(std::move(info));

  out.push_back(Counter("scrapes", "Scrapes of the metrics path served.",
                        static_cast<double>(scrapes_)));
  out.push_back(Counter("scrape_errors",
                        "Scrapes that failed because the directory could not "
                        "be listed.",
                        static_cast<double>(scrape_errors_)));

  MetricFamily duration =
      Family("scrape_duration_seconds", MetricType::kHistogram,
             "Time to read and merge the directory, per scrape.");
  const std::vector<double>& buckets = DurationBuckets();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += duration_counts_[i];
    Add(&duration, "_bucket", {{"le", GoFloat(buckets[i])}},
        static_cast<double>(cumulative));
  }
  Add(&duration, "_count", {}, static_cast<double>(cumulative));
  Add(&duration, "_sum", {}, duration_sum_);
  out.push_back(std::move(duration));
  out.push_back(Gauge("last_scrape_duration_seconds",
                      "Time the latest successful scrape took to read and "
                      "merge the directory.",
                      last_duration_));
}

void SelfMetrics::AppendFileFamilies(std::vector<MetricFamily>* outp) const {
  std::vector<MetricFamily>& out = *outp;
  MetricFamily files = Family(
      "files", MetricType::kGauge,
      "Files in the directory at the latest scrape, by type (file name "
      "prefix) and writer state (live, dead, unknown, bad).");
  for (const auto& [key, count] : files_) {
    Add(&files, "", {{"type", key.first}, {"state", key.second}},
        static_cast<double>(count));
  }
  out.push_back(std::move(files));

  MetricFamily bad = Family(
      "bad_files", MetricType::kGauge,
      "Files skipped at the latest scrape because they are unreadable, by "
      "reason. Each is logged once, by name.");
  for (const auto& [reason, count] : bad_files_) {
    Add(&bad, "", {{"reason", reason}}, static_cast<double>(count));
  }
  out.push_back(std::move(bad));

  MetricFamily read_errors = Family(
      "read_errors", MetricType::kCounter,
      "Times a file read before could not be read again for a reason that "
      "passes (EMFILE, ENFILE, ENOMEM, EIO, EACCES...), by errno; its last "
      "good values were served instead. Logged once per file and burst.");
  for (const auto& [reason, count] : read_errors_) {
    Add(&read_errors, "_total", {{"reason", reason}}, static_cast<double>(count));
  }
  out.push_back(std::move(read_errors));
  out.push_back(Gauge("invalid_series",
                      "Series left out of the latest scrape because their "
                      "name, labels or writer id are not valid UTF-8 (each "
                      "logged once).",
                      static_cast<double>(invalid_series_)));

  out.push_back(Gauge("entries", "Entries in the files merged by the latest scrape.",
                      static_cast<double>(entries_)));
  out.push_back(Counter("read_bytes", "Bytes read from metrics files.",
                        static_cast<double>(bytes_read_)));
  out.push_back(Gauge("pruned_series",
                      "live* gauge series of dead writers left out of the "
                      "latest scrape.",
                      static_cast<double>(pruned_series_)));
  out.push_back(Counter("pruned_files",
                        "live* gauge files of dead writers deleted.",
                        static_cast<double>(pruned_files_)));
  out.push_back(Counter("dir_lock_timeouts",
                        "Scrapes that read without the directory's lock "
                        "because another process held it for more than 2 s.",
                        static_cast<double>(lock_timeouts_)));
  out.push_back(Counter("cache_hits",
                        "Files whose earlier parse a scrape reused.",
                        static_cast<double>(cache_hits_)));
  out.push_back(Counter("cache_misses",
                        "Files a scrape had to parse from the start.",
                        static_cast<double>(cache_misses_)));
  out.push_back(Gauge("files_unchanged",
                      "Files the latest scrape served from its cache without "
                      "reading them: no process has had them open for "
                      "writing since they were read.",
                      static_cast<double>(files_unchanged_)));
}

void SelfMetrics::AppendCompactionFamilies(
    std::vector<MetricFamily>* outp) const {
  std::vector<MetricFamily>& out = *outp;
  MetricFamily runs = Family(
      "compaction_runs", MetricType::kCounter,
      "Background compaction runs, by result (ok, error, busy: another "
      "compactor held the directory).");
  for (const char* result : {"ok", "error", "busy"}) {
    auto it = compaction_runs_.find(result);
    Add(&runs, "_total", {{"result", result}},
        it == compaction_runs_.end() ? 0 : static_cast<double>(it->second));
  }
  out.push_back(std::move(runs));
  out.push_back(Counter("compaction_folded_files",
                        "Dead writers' files folded into archives.",
                        static_cast<double>(compaction_folded_)));
  out.push_back(Counter("compaction_removed_files",
                        "Files removed by compaction (folded sources and "
                        "dead writers' per-process gauges).",
                        static_cast<double>(compaction_removed_)));
  out.push_back(Counter("compaction_written_archives",
                        "Archive files written by compaction.",
                        static_cast<double>(compaction_archives_)));
  out.push_back(Gauge("compaction_last_duration_seconds",
                      "Time the latest compaction run took.",
                      compaction_last_duration_));
  out.push_back(Gauge("compaction_last_success_timestamp_seconds",
                      "Unix time of the latest successful compaction run; "
                      "0 before the first.",
                      compaction_last_success_));
}

}  // namespace promdir::http
