// Releasing what no file on disk references any more: the key table and
// the per-key and per-series state built on it (ReleaseUnused).
#include <malloc.h>

#include <algorithm>
#include <unordered_set>

#include "lib/src/reader/merge_internal.h"

namespace promdir {

void DirectoryCollector::Impl::ReleaseUnused(ScrapeStats* stats) {
  const size_t keys = table_->key_count();
  if (keys >= kReleaseMinKeys && keys >= 2 * live_keys_) {
    // The keys the cached files (and the predictions) hold. Tables shared
    // by many files are counted once.
    std::vector<uint8_t> live(keys, 0);
    std::unordered_set<const EntryTable*> seen;
    auto mark = [&](const EntryTable* t) {
      if (t == nullptr || !seen.insert(t).second) return;
      for (uint32_t id : t->keys) {
        if (id < keys) live[id] = 1;
      }
    };
    for (const auto& [id, cf] : cache_) mark(cf.entries.get());
    for (const auto& [prefix, p] : predicted_) mark(p->entries.get());
    live_keys_ = static_cast<size_t>(std::count(live.begin(), live.end(), 1));
    if (live_keys_ * 2 <= keys) {
      // Most keys are gone from disk: start again. The plans of scrapes
      // still rendering hold the old table until they are done.
      table_ = std::make_shared<reader::KeyTable>();
      cache_.clear();
      frozen_.clear();
      predicted_.clear();
      key_merge_ = {};
      acc_ = {};
      acc_ts_ = {};
      stamp_ = {};
      touched_ = {};
      rank_mark_ = {};
      pid_split_ = {};
      series_utf8_ = {};  // by series id, which the new table reuses
      last_ids_.clear();  // the cache it names is gone
      live_keys_ = 0;
      stats->key_releases = 1;
      malloc_trim(0);  // hand the freed blocks back to the system
    }
  }
  stats->keys_held = table_->key_count();
  stats->series_held = table_->series_count();
  stats->key_table_bytes = table_->memory_bytes();
}

}  // namespace promdir
