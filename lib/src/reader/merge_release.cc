// Releasing what no file on disk references any more: the key table and
// every part built on it (ReleaseUnused).
#include <malloc.h>

#include <algorithm>
#include <unordered_set>

#include "lib/src/reader/merge_internal.h"

namespace promdir {

void DirectoryCollector::Impl::ReleaseUnused(ScrapeStats* stats) {
  const size_t keys = parser_.table()->key_count();
  if (keys >= kReleaseMinKeys && keys >= 2 * live_keys_) {
    // The keys the cached files (and the predictions) hold. Tables shared
    // by many files are counted once.
    std::vector<uint8_t> live(keys, 0);
    std::unordered_set<const merge_detail::EntryTable*> seen;
    auto mark = [&](const merge_detail::EntryTable* t) {
      if (t == nullptr || !seen.insert(t).second) return;
      for (uint32_t id : t->keys) {
        if (id < keys) live[id] = 1;
      }
    };
    for (const auto& [id, cf] : cache_.files()) mark(cf.entries.get());
    predictor_.ForEachTable(mark);
    live_keys_ = static_cast<size_t>(std::count(live.begin(), live.end(), 1));
    if (live_keys_ * 2 <= keys) {
      // Most keys are gone from disk: start again. The plans of scrapes
      // still rendering hold the old table until they are done.
      parser_.Reset();
      cache_.Clear();  // (and the names it read last: that cache is gone)
      tracker_.Clear();
      predictor_.Clear();
      acc_.Clear();
      builder_.Clear();  // by series id, which the new table reuses
      live_keys_ = 0;
      stats->key_releases = 1;
      malloc_trim(0);  // hand the freed blocks back to the system
    }
  }
  const reader::KeyTable& table = *parser_.table();
  stats->keys_held = table.key_count();
  stats->series_held = table.series_count();
  stats->key_table_bytes = table.memory_bytes();
}

}  // namespace promdir
