// Files served without reading: the directory watch, the lease probe, and
// freezing what a scrape read (CollectorOptions::reuse_unchanged).
#include "lib/src/reader/merge_internal.h"

#include <unordered_set>

#include "lib/src/reader/liveness_internal.h"

namespace promdir {

void DirectoryCollector::Impl::Unfreeze(CachedFile* cf) {
  if (!cf->frozen) return;
  frozen_.erase(cf->name);
  cf->Unfreeze();
}

void DirectoryCollector::Impl::UnfreezeNamed(const std::string& name) {
  auto it = frozen_.find(name);
  if (it == frozen_.end()) return;
  auto f = cache_.find(it->second);
  frozen_.erase(it);
  if (f != cache_.end()) f->second.Unfreeze();
}

bool DirectoryCollector::Impl::ApplyChanges() {
  if (!opt_.reuse_unchanged) return false;
  auto unfreeze_all = [&] {
    for (auto& [id, cf] : cache_) cf.Unfreeze();
    frozen_.clear();
  };
  if (watch_ < 0) {
    // Nothing frozen before the watch existed can be trusted.
    unfreeze_all();
    if (!env_->OpenChangeWatch(opt_.directory, &watch_).ok()) {
      watch_ = -1;
      return false;
    }
    return true;
  }
  std::vector<Env::Change> changes;
  bool everything = false;
  Status s = env_->ReadChanges(watch_, &changes, &everything);
  if (!s.ok() || everything) {
    // Events were lost, or the directory was replaced: start over.
    env_->CloseChangeWatch(watch_);
    watch_ = -1;
    return ApplyChanges();
  }
  // Every open since the last scrape's Freeze is another process's.
  for (const Env::Change& c : changes) UnfreezeNamed(c.name);
  return true;
}

void DirectoryCollector::Impl::Freeze(const std::vector<std::string>& names,
                                      std::vector<Slot>* slots) {
  std::unordered_set<std::string> changed;  // not to be frozen now
  std::unordered_set<std::string> read_now;
  bool any = false;
  for (size_t i = 0; i < slots->size(); ++i) {
    if ((*slots)[i].keep_fd >= 0) {
      read_now.insert(names[i]);
      any = true;
    }
  }
  std::vector<Env::Change> changes;
  bool everything = false;
  Status s = watch_ >= 0 && (any || !frozen_.empty())
                 ? env_->ReadChanges(watch_, &changes, &everything)
                 : Status::OK();
  if (!s.ok() || everything) {
    env_->CloseChangeWatch(watch_);
    watch_ = -1;  // the next scrape starts over
  }
  for (const Env::Change& c : changes) {
    // This scrape's own opens of the files it read are expected; an open
    // by another process before the lease probe below is seen by it.
    if (c.open_only && read_now.count(c.name)) continue;
    changed.insert(c.name);
    UnfreezeNamed(c.name);
  }
  for (size_t i = 0; i < slots->size(); ++i) {
    Slot& slot = (*slots)[i];
    if (slot.keep_fd < 0) continue;
    bool open = true;
    if (watch_ >= 0 && !changed.count(names[i]) &&
        slot.file.cache != nullptr) {
      if (!env_->WritersOpen(slot.keep_fd, &open).ok()) open = true;
    }
    env_->Close(slot.keep_fd);
    slot.keep_fd = -1;
    if (open) continue;
    CachedFile* cf = slot.file.cache;
    ScrapeFile& sf = slot.file;
    cf->frozen = true;
    cf->frozen_values = std::move(sf.own_values);
    cf->frozen_timestamps = std::move(sf.own_timestamps);
    sf.values = cf->frozen_values;
    sf.timestamps = cf->frozen_timestamps;
    frozen_[cf->name] = slot.id;
  }
  kept_fds_ = 0;
}

void DirectoryCollector::Impl::ServeUnchanged(CachedFile* cf,
                                              format::FileName name,
                                              Slot* slot) {
  Verdict verdict =
      reader::ProbeUnopened(env_, name.id, opt_.liveness, cf->magic);
  slot->state = verdict.state;
  ++slot->stats.cache_hits;
  ++slot->stats.files_unchanged;
  ScrapeFile* sf = &slot->file;
  sf->cache = cf;
  sf->values = cf->frozen_values;
  sf->timestamps = cf->frozen_timestamps;
  if (verdict.state == WriterState::kDead && format::IsLiveMode(name.mode)) {
    slot->stats.pruned_series += cf->count;
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  sf->name = std::move(name);
  slot->stats.entries += cf->frozen_values.size();
  slot->outcome = Outcome::kMerged;
}

}  // namespace promdir
