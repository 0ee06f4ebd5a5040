#include "lib/src/reader/change_tracker.h"

namespace promdir::merge_detail {

void ChangeTracker::CloseWatch() {
  env_->CloseChangeWatch(watch_);
  watch_ = -1;
}

void ChangeTracker::Unfreeze(CachedFile* cf) {
  if (!cf->frozen) return;
  frozen_.erase(cf->name);
  cf->Unfreeze();
}

void ChangeTracker::UnfreezeNamed(const std::string& name, FileCache* cache) {
  auto it = frozen_.find(name);
  if (it == frozen_.end()) return;
  CachedFile* cf = cache->Find(it->second);
  frozen_.erase(it);
  if (cf != nullptr) cf->Unfreeze();
}

bool ChangeTracker::BeginScrape(FileCache* cache) {
  may_freeze_ = false;
  if (!enabled_) return false;
  if (watch_ < 0) {
    // Nothing frozen before the watch existed can be trusted.
    for (auto& [id, cf] : cache->files()) cf.Unfreeze();
    frozen_.clear();
    if (!env_->OpenChangeWatch(dir_, &watch_).ok()) {
      watch_ = -1;
      return false;
    }
    return may_freeze_ = true;
  }
  std::vector<Env::Change> changes;
  bool everything = false;
  Status s = env_->ReadChanges(watch_, &changes, &everything);
  if (!s.ok() || everything) {
    // Events were lost, or the directory was replaced: start over.
    CloseWatch();
    return BeginScrape(cache);
  }
  // Every open since the last scrape's FreezeRead is another process's.
  for (const Env::Change& c : changes) UnfreezeNamed(c.name, cache);
  return may_freeze_ = true;
}

CachedFile* ChangeTracker::ClaimFrozen(const std::string& base,
                                       FileCache* cache, FileId* id) {
  auto it = frozen_.find(base);
  if (it == frozen_.end()) return nullptr;
  CachedFile* cf = cache->Find(it->second);
  if (cf == nullptr || !cf->frozen ||
      cf->generation == cache->generation()) {
    return nullptr;
  }
  *id = it->second;
  cf->generation = cache->generation();  // claimed by this scrape
  return cf;
}

void ChangeTracker::FreezeRead(const std::vector<Candidate>& candidates,
                               FileCache* cache) {
  std::unordered_set<std::string> read_now;
  for (const Candidate& c : candidates) read_now.insert(*c.name);
  std::vector<Env::Change> changes;
  bool everything = false;
  Status s = watch_ >= 0 && (!candidates.empty() || !frozen_.empty())
                 ? env_->ReadChanges(watch_, &changes, &everything)
                 : Status::OK();
  if (!s.ok() || everything) CloseWatch();  // the next scrape starts over
  std::unordered_set<std::string> changed;  // not to be frozen now
  for (const Env::Change& c : changes) {
    // This scrape's own opens of the files it read are expected; an open
    // by another process before the lease probe below is seen by it.
    if (c.open_only && read_now.count(c.name)) continue;
    changed.insert(c.name);
    UnfreezeNamed(c.name, cache);
  }
  for (const Candidate& c : candidates) {
    bool open = true;
    if (watch_ >= 0 && !changed.count(*c.name) && c.file->cache != nullptr) {
      if (!env_->WritersOpen(*c.fd, &open).ok()) open = true;
    }
    env_->Close(*c.fd);
    *c.fd = -1;
    if (open) continue;
    ScrapeFile& sf = *c.file;
    CachedFile* cf = sf.cache;
    cf->frozen = true;
    cf->frozen_values = std::move(sf.own_values);
    cf->frozen_timestamps = std::move(sf.own_timestamps);
    sf.values = cf->frozen_values;
    sf.timestamps = cf->frozen_timestamps;
    frozen_[cf->name] = c.id;
  }
  kept_fds_ = 0;
}

void ChangeTracker::Forget(const std::string& name, const FileId& id) {
  auto f = frozen_.find(name);
  if (f != frozen_.end() && f->second == id) frozen_.erase(f);
}

}  // namespace promdir::merge_detail
