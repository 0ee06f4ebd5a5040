#include "promdir/merge.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/merge_internal.h"
#include "lib/src/reader/reprove.h"

namespace promdir {

using merge_detail::Plan;
using merge_detail::PlanFamily;
using merge_detail::RenderPlan;
using merge_detail::ToModel;

void DirectoryCollector::Impl::NoteLiveness(const Slot& slot,
                                            ScrapeStats* stats) {
  if (slot.liveness_problem.empty() || liveness_reported_) return;
  liveness_reported_ = true;
  stats->liveness_unavailable =
      slot.liveness_problem +
      ": files without a promdir writer lock are shown but never deleted or "
      "folded. Run the collector as the files' owner, or grant it "
      "CAP_LEASE, on a local file system; or choose --liveness pid (pids "
      "of one pid namespace) or none";
}

void DirectoryCollector::Impl::KeepLastGood(std::vector<ScrapeFile>& files) {
  for (ScrapeFile& sf : files) {
    CachedFile* cf = sf.cache;
    if (cf == nullptr || cf->frozen) continue;
    if (sf.values.data() == sf.own_values.data()) {
      cf->last_values = std::move(sf.own_values);
      cf->last_timestamps = std::move(sf.own_timestamps);
    }
  }
}

Status DirectoryCollector::Impl::Collect(Plan* plan, ScrapeStats* stats_out) {
  uint64_t start = env_->NowMonotonicNanos();
  ScrapeStats local;
  ScrapeStats* stats = stats_out ? stats_out : &local;
  *stats = ScrapeStats();

  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  freeze_ok_ = ApplyChanges();
  std::vector<ScrapeFile> files;
  std::vector<std::unique_ptr<CachedFile>> owned;  // hard links' own parses
  std::vector<std::string> dead_live_files;
  std::set<std::string> bad_now;
  std::unordered_map<std::string, FileId> ids_now;
  std::unordered_set<std::string> failing_now;
  {
    ReadGuard guard(env_, opt_.directory);
    if (guard.timed_out()) {
      stats->lock_timeouts = 1;
      stats->lock_timeout_message =
          opt_.directory + "/" + kDirLockName + " held by another process " +
          "for more than " + std::to_string(kReadLockTimeoutMs / 1000) +
          " s; read without the lock";
    }
    std::vector<std::string> names;
    Status s = env_->ListDir(opt_.directory, &names);
    if (!s.ok()) {
      // Out of descriptors or memory for a moment: the files of the last
      // scrape are still the best answer (each then serves its last good
      // values if it cannot be read either).
      const char* code = merge_detail::TransientErrorName(s.os_error());
      if (code == nullptr || last_ids_.empty()) return s;
      ++stats->read_errors_by_reason[code];
      names.clear();
      for (const auto& [name, id] : last_ids_) names.push_back(name);
    }
    std::erase_if(names, [](const std::string& n) {
      return n.size() <= 3 || !n.ends_with(".db");
    });
    std::sort(names.begin(), names.end());
    std::set<std::string> hidden;
    HiddenByCompaction(env_, opt_.directory, names, &hidden);
    std::erase_if(names, [&](const std::string& n) { return hidden.count(n); });
    files.reserve(names.size());
    // Files are read on several threads: reading the bytes in use is most
    // of a scrape. Parsing and the cache are serialized by cache_mu_.
    std::vector<Slot> slots(names.size());
    std::atomic<size_t> next{0};
    size_t threads = std::min<size_t>(executor_.threads(),
                                      (names.size() + 7) / 8);
    // Each thread's buffer lives on between scrapes: no fresh pages to
    // fault in for every file of every scrape.
    if (read_bufs_.size() < threads) read_bufs_.resize(threads);
    auto worker = [&](size_t t) {
      for (size_t i; (i = next.fetch_add(1)) < names.size();) {
        ReadFile(names[i], &read_bufs_[t], &slots[i]);
      }
    };
    executor_.ForEachThread(threads, worker);
    TakeKeys(names, &slots);
    if (freeze_ok_) Freeze(names, &slots);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& base = names[i];
      Slot& slot = slots[i];
      stats->bytes_read += slot.stats.bytes_read;
      stats->entries += slot.stats.entries;
      stats->cache_hits += slot.stats.cache_hits;
      stats->cache_misses += slot.stats.cache_misses;
      stats->pruned_series += slot.stats.pruned_series;
      stats->files_unchanged += slot.stats.files_unchanged;
      Outcome o = slot.outcome;
      const ReadError& err = slot.err;
      WriterState state = slot.state;
      ScrapeFile& sf = slot.file;
      std::optional<format::FileName> fname = format::ParseFileName(base);
      std::string prefix = fname ? fname->Prefix() : "unknown";
      if (o == Outcome::kVanished) continue;
      NoteLiveness(slot, stats);
      if (slot.transient_error != nullptr) {
        ++stats->read_errors_by_reason[slot.transient_error];
        failing_now.insert(base);
        if (!failing_.count(base)) {
          stats->new_read_errors.push_back(
              BadFile{opt_.directory + "/" + base, slot.transient_error,
                      slot.transient_message +
                          "; serving its last good values"});
        }
      }
      if (o == Outcome::kStarting) {
        ++stats->files[{prefix, "live"}];
        continue;
      }
      if (o == Outcome::kBad) {
        std::string code(reader::BadReasonCode(err.reason));
        ++stats->files[{prefix, "bad"}];
        ++stats->bad_files_by_reason[code];
        std::string path = opt_.directory + "/" + base;
        bad_now.insert(path);
        RememberBad(base, slot);
        FileInfo info;
        env_->LinkStat(path, &info);
        std::pair<FileId, BadReason> seen{{info.device, info.inode}, err.reason};
        auto r = reported_.find(path);
        if (r == reported_.end() || !(r->second == seen)) {
          reported_[path] = seen;
          stats->new_bad_files.push_back(
              BadFile{path, code, err.status.message()});
        }
        continue;
      }
      ++stats->files[{prefix, std::string(WriterStateName(state))}];
      if (o == Outcome::kLeftOut) {
        dead_live_files.push_back(base);
        continue;
      }
      if (!slot.own) ids_now[base] = slot.id;
      files.push_back(std::move(sf));
      if (slot.own) owned.push_back(std::move(slot.own));
    }
    if (opt_.prune) {
      // Each is proved dead once more, under a staging name, right before
      // the delete: a worker that reused the id keeps its file.
      for (const std::string& name : dead_live_files) {
        reader::Deed deed;
        std::string how;
        if (reader::RemoveIfDead(env_, opt_.directory, name, opt_.liveness,
                                 /*remove_unknown=*/false, &deed, &how)
                .ok() &&
            deed == reader::Deed::kDone) {
          ++stats->pruned_files;
        }
      }
    }
  }
  std::erase_if(reported_,
                [&](const auto& r) { return !bad_now.count(r.first); });
  std::erase_if(bad_memo_, [&](const auto& m) {
    return !bad_now.count(opt_.directory + "/" + m.first);
  });
  std::erase_if(cache_, [&](const auto& c) {
    if (c.second.generation == generation_) return false;
    auto f = frozen_.find(c.second.name);
    if (f != frozen_.end() && f->second == c.first) frozen_.erase(f);
    return true;
  });
  Merge(files, plan, stats);
  KeepLastGood(files);
  last_ids_ = std::move(ids_now);
  failing_ = std::move(failing_now);
  ReleaseUnused(stats);
  stats->duration_seconds =
      static_cast<double>(env_->NowMonotonicNanos() - start) / 1e9;
  return Status::OK();
}

DirectoryCollector::DirectoryCollector(CollectorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

DirectoryCollector::~DirectoryCollector() = default;

Status DirectoryCollector::Collect(std::vector<MetricFamily>* families,
                                   ScrapeStats* stats) {
  Plan plan;
  Status s = impl_->Collect(&plan, stats);
  families->clear();
  if (!s.ok()) return s;
  families->reserve(plan.families.size());
  for (const PlanFamily& pf : plan.families) {
    families->push_back(ToModel(plan, pf));
  }
  return Status::OK();
}

Status DirectoryCollector::Render(Exposition format, std::string* out,
                                  ScrapeStats* stats) {
  Plan plan;
  Status s = impl_->Collect(&plan, stats);
  if (!s.ok()) return s;
  RenderPlan(plan, format, impl_->executor(), out);
  return Status::OK();
}

}  // namespace promdir
