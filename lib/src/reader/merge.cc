// A scrape, as a sequence of the engine's parts (see merge_internal.h).
#include "promdir/merge.h"

#include <algorithm>
#include <atomic>

#include "lib/src/path.h"
#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/merge_internal.h"
#include "lib/src/reader/native_collect.h"

namespace promdir {

using merge_detail::Plan;
using merge_detail::PlanFamily;
using merge_detail::RenderPlan;
using merge_detail::ToModel;

void DirectoryCollector::Impl::ReadAll(const std::vector<std::string>& names,
                                       std::vector<Slot>* slots) {
  // Files are read on several threads: reading the bytes in use is most
  // of a scrape. Each thread's buffer lives on between scrapes: no fresh
  // pages to fault in for every file of every scrape.
  std::atomic<size_t> next{0};
  size_t threads =
      std::min<size_t>(executor_.threads(), (names.size() + 7) / 8);
  if (read_bufs_.size() < threads) read_bufs_.resize(threads);
  executor_.ForEachThread(threads, [&](size_t t) {
    for (size_t i; (i = next.fetch_add(1)) < names.size();) {
      ReadFile(names[i], &read_bufs_[t], &(*slots)[i]);
    }
  });
  TakeKeys(names, slots);
  if (!tracker_.may_freeze()) return;
  std::vector<merge_detail::ChangeTracker::Candidate> candidates;
  for (size_t i = 0; i < slots->size(); ++i) {
    Slot& slot = (*slots)[i];
    if (slot.keep_fd < 0) continue;
    candidates.push_back({&names[i], &slot.keep_fd, slot.id, &slot.file});
  }
  tracker_.FreezeRead(candidates, &cache_);
}

Status DirectoryCollector::Impl::Collect(Plan* plan, ScrapeStats* stats_out) {
  uint64_t start = env_->NowMonotonicNanos();
  ScrapeStats local;
  ScrapeStats* stats = stats_out ? stats_out : &local;
  *stats = ScrapeStats();

  std::lock_guard<std::mutex> lock(mu_);
  cache_.NextGeneration();
  tracker_.BeginScrape(&cache_);
  Tally tally;
  {
    ReadGuard guard(env_, opt_.directory);
    if (guard.timed_out()) {
      stats->lock_timeouts = 1;
      stats->lock_timeout_message =
          JoinPath(opt_.directory, kDirLockName) + " held by another process " +
          "for more than " + std::to_string(kReadLockTimeoutMs / 1000) +
          " s; read without the lock";
    }
    std::vector<std::string> names;
    Status s = ListFiles(&names, stats);
    if (!s.ok()) return s;
    std::vector<Slot> slots(names.size());
    ReadAll(names, &slots);
    tally.files.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      Count(names[i], slots[i], &tally, stats);
    }
    if (opt_.prune) Prune(tally.dead_live_files, stats);
  }
  cache_.EndScrape(opt_.directory, tally.bad_now,
                   [&](const CachedFile& cf, const FileId& id) {
                     tracker_.Forget(cf.name, id);
                   });
  Merge(tally.files, plan, stats);
  KeepLastGood(tally.files);
  cache_.last_ids() = std::move(tally.ids_now);
  failing_ = std::move(tally.failing_now);
  ReleaseUnused(stats);
  stats->duration_seconds =
      static_cast<double>(env_->NowMonotonicNanos() - start) / 1e9;
  return Status::OK();
}

namespace {

// The native histograms of a scrape (native_collect.h). A directory that
// cannot be listed now was listed a moment ago by the engine: the scrape
// goes on without them.
std::vector<reader::NativeFamily> CollectNative(
    reader::NativeCollector* native, ScrapeStats* stats) {
  ScrapeStats local;
  std::vector<reader::NativeFamily> natives;
  native->Collect(&natives, stats ? stats : &local);
  return natives;
}

void ToModels(const Plan& plan, std::vector<reader::NativeFamily> natives,
              std::vector<MetricFamily>* families) {
  families->clear();
  families->reserve(plan.families.size() + natives.size());
  for (const PlanFamily& pf : plan.families) {
    families->push_back(ToModel(plan, pf));
  }
  uint64_t dropped = 0;
  reader::AttachNative(std::move(natives), families, &dropped);
}

}  // namespace

DirectoryCollector::DirectoryCollector(CollectorOptions options)
    : impl_(std::make_unique<Impl>(options)),
      native_(std::make_unique<reader::NativeCollector>(impl_->env(),
                                                        options.directory)) {}

DirectoryCollector::~DirectoryCollector() = default;

Status DirectoryCollector::Collect(std::vector<MetricFamily>* families,
                                   ScrapeStats* stats) {
  Plan plan;
  Status s = impl_->Collect(&plan, stats);
  families->clear();
  if (!s.ok()) return s;
  ToModels(plan, CollectNative(native_.get(), stats), families);
  return Status::OK();
}

Status DirectoryCollector::Render(Exposition format, std::string* out,
                                  ScrapeStats* stats) {
  Plan plan;
  Status s = impl_->Collect(&plan, stats);
  if (!s.ok()) return s;
  std::vector<reader::NativeFamily> natives =
      CollectNative(native_.get(), stats);
  if (natives.empty()) {
    RenderPlan(plan, format, impl_->executor(), out);
    return Status::OK();
  }
  // With native histograms: rendered from the model they are attached to.
  std::vector<MetricFamily> families;
  ToModels(plan, std::move(natives), &families);
  AppendFamilies(format, families, out);
  return Status::OK();
}

}  // namespace promdir
