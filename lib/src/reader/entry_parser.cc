#include "lib/src/reader/entry_parser.h"

#include <algorithm>
#include <mutex>
#include <unordered_set>

namespace promdir::merge_detail {

using reader::BadReason;
using reader::kNoId;

bool EntryParser::LookUp(const std::string& path, std::string_view data,
                         const Prediction* predicted, CachedFile* cf,
                         EntryTable* table, std::vector<Miss>* misses,
                         reader::ReadError* err) {
  // A file's layout is the stride that walks it to `used`, the 16-byte one
  // if both do (DetectLayout): the walk tries it as it goes, rather than
  // walking the file once more first.
  const bool probe = !cf->layout_known;
  if (probe) cf->layout = ValueLayout::k16;
  const size_t base = table->keys.size();
  for (bool retry = true; retry;) {
    retry = false;
    std::shared_lock<std::shared_mutex> t(mu_);
    const Prediction* use = predicted && predicted->usable() ? predicted : nullptr;
    if (base == 0 && use) {  // most likely as many entries as the prediction
      table->keys.reserve(use->entry_offsets.size());
      table->offsets.reserve(use->entry_offsets.size());
    }
    uint32_t next = kNoId;
    *err = reader::WalkEntries(
        data, cf->parsed, cf->layout, path,
        [&](uint64_t off, std::string_view key, uint64_t voff) {
          const size_t index = table->keys.size();
          uint32_t j = use ? MatchEntry(*use, index, off, data.data() + off,
                                        key.size(), &next)
                           : kNoId;
          uint32_t id;
          if (j != kNoId) {
            id = use->entries->keys[j];
          } else {
            id = table_->Find(key);
            if (id == kNoId) misses->push_back({index, off, key.size()});
          }
          table->keys.push_back(id);
          table->offsets.push_back(static_cast<uint32_t>(voff));
        });
    if (!err->ok() && probe && cf->layout == ValueLayout::k16) {
      cf->layout = ValueLayout::k8;  // the other stride, from the start
      table->keys.resize(base);
      table->offsets.resize(base);
      misses->clear();
      retry = true;
    }
  }
  if (err->ok()) return true;
  // Neither stride walks it: DetectLayout says why as it always does.
  if (probe) {
    reader::ReadError e = reader::DetectLayout(data, cf->parsed,
                                               ValueLayout::k16, path,
                                               &cf->layout);
    if (!e.ok()) *err = e;
  }
  return false;
}

bool EntryParser::CheckKeys(const std::string& path, const EntryTable& table,
                            size_t from, FileType type,
                            reader::ReadError* err) const {
  for (size_t i = from; i < table.keys.size(); ++i) {
    const uint32_t id = table.keys[i];
    if (!table_->bad_in(id, type)) continue;
    const reader::KeyInfo& k = table_->key(id);
    std::string why = k.bad == BadReason::kNone
                          ? "histogram bucket has a non-numeric le"
                          : k.why;
    // (The entry starts with its key's length, 4 bytes before the key.)
    uint64_t at = table.offsets[i] - format::PadLength(k.bytes.size()) -
                  k.bytes.size() - 4;
    *err = reader::Bad(k.bad != BadReason::kNone ? k.bad : BadReason::kBadLe,
                       path,
                       why + " (entry at offset " + std::to_string(at) + ")");
    return false;
  }
  return true;
}

bool EntryParser::Parse(const std::string& path, std::string_view data,
                        FileType type, const Prediction* predicted,
                        CachedFile* cf, reader::ReadError* err) {
  if (data.size() <= cf->parsed) return true;
  EntryTable& table = cf->Own();
  const size_t base = table.keys.size();
  // 1. Each entry's key id, looked up under the shared lock.
  std::vector<Miss> misses;
  if (!LookUp(path, data, predicted, cf, &table, &misses, err)) return false;
  cf->layout_known = true;
  // 2. New keys, under the exclusive lock (a bad one ends the file).
  if (!misses.empty()) {
    std::unique_lock<std::shared_mutex> t(mu_);
    for (const Miss& m : misses) {
      uint32_t id = table_->Intern(data.substr(m.off + 4, m.size));
      table.keys[m.index] = id;
      if (table_->bad_in(id, type)) break;
    }
  }
  // 3. Bad keys, then the families, in entry order.
  std::shared_lock<std::shared_mutex> t(mu_);
  if (!CheckKeys(path, table, base, type, err)) return false;
  AddFamilies(&table, base);
  cf->parsed = data.size();
  cf->count = static_cast<uint32_t>(table.keys.size());
  return true;
}

void EntryParser::Complete(Prediction* made,
                           const std::shared_ptr<EntryTable>& entries,
                           bool ok) {
  std::unique_lock<std::shared_mutex> t(mu_);
  if (ok) made->entries = entries;  // shared with the file
  (ok ? made->complete : made->failed) = true;
}

void EntryParser::AddFamilies(EntryTable* t, size_t from) const {
  // A file has a few families, so a short list is searched; past that
  // they go into a hash set, so a file of many families stays linear.
  constexpr size_t kListMax = 16;
  std::vector<uint32_t> seen;
  std::unordered_set<uint32_t> many;
  auto add = [&](uint32_t family) {  // false if already there
    if (!many.empty()) return many.insert(family).second;
    if (std::find(seen.begin(), seen.end(), family) != seen.end()) return false;
    seen.push_back(family);
    if (seen.size() > kListMax) many.insert(seen.begin(), seen.end());
    return true;
  };
  for (const FamilyEntry& f : t->families) add(f.family);
  for (size_t i = from; i < t->keys.size(); ++i) {
    const uint32_t id = t->keys[i];
    const uint32_t family = table_->family_of(id);
    if (add(family)) {
      t->families.push_back({family, id, static_cast<uint32_t>(i)});
    }
  }
}

}  // namespace promdir::merge_detail
