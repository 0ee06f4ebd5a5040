#include "lib/src/reader/prefix_predictor.h"

#include <cstring>

namespace promdir::merge_detail {

using reader::kNoId;

namespace {

// True iff the entry at `entry` (its key length field, then `key_size` key
// bytes) holds the key of entry `index` of `p`'s file, wherever it is.
bool SameKey(const Prediction& p, size_t index, const char* entry,
             size_t key_size) {
  if (index >= p.entry_offsets.size()) return false;
  const size_t at = p.entry_offsets[index];
  return p.raw.size() >= at + 4 + key_size &&
         std::memcmp(p.raw.data() + at, entry, 4 + key_size) == 0;
}

// True iff the entry at `off` (at `entry`) is entry `index` of `p`'s file,
// byte for byte and at the same offset.
bool SameEntry(const Prediction& p, size_t index, uint64_t off,
               const char* entry, size_t key_size) {
  return index < p.entry_offsets.size() && p.entry_offsets[index] == off &&
         SameKey(p, index, entry, key_size);
}

// A table of its own for a file whose first n entries were the
// prediction's own: their prediction indexes and value offsets.
std::shared_ptr<EntryTable> OwnTable(const Prediction& p, size_t n) {
  auto own = std::make_shared<EntryTable>();
  own->keys.reserve(p.entry_offsets.size());
  own->offsets.reserve(p.entry_offsets.size());
  for (uint32_t i = 0; i < n; ++i) {
    own->keys.push_back(i);
    own->offsets.push_back(p.value_offsets[i]);
  }
  return own;
}

}  // namespace

uint32_t Prediction::Find(const char* entry, size_t key_size) const {
  uint32_t j = index.Find(
      reader::KeyHash(std::string_view(entry + 4, key_size)),
      [&](uint32_t i) { return SameKey(*this, i, entry, key_size); });
  return j == reader::FlatIndex::kAbsent ? kNoId : j;
}

// Each guess costs a memcmp, so the likelier comes first, and none is tried
// twice (files made in another order still list their series in runs of
// the prediction's order).
uint32_t MatchEntry(const Prediction& p, size_t index, uint64_t off,
                    const char* entry, size_t key_size, uint32_t* next) {
  uint32_t j;
  if (*next != kNoId && SameKey(p, *next, entry, key_size)) {
    j = *next;
  } else if (*next != index && SameEntry(p, index, off, entry, key_size)) {
    j = static_cast<uint32_t>(index);
  } else {
    j = p.Find(entry, key_size);
  }
  *next = j == kNoId ? kNoId : j + 1;
  return j;
}

bool MatchPrediction(const std::string& path, std::string_view data,
                     const Prediction& predicted, CachedFile* cf) {
  // DetectLayout's choice without its walks: the prediction's layout if
  // it walks the file, where the 16-byte one is preferred when both do.
  const ValueLayout layout = predicted.layout;
  if (layout == ValueLayout::k8 &&
      reader::WalkEntries(data, format::kHeaderSize, ValueLayout::k16, path,
                          [](uint64_t, std::string_view, uint64_t) {})
          .ok()) {
    return false;  // (the 16-byte walk of an 8-byte file fails at once)
  }
  // Entry i is most often the prediction's entry i, at the same offset.
  // From the first one that is not, the file gets a table of its own.
  size_t n = 0;
  std::shared_ptr<EntryTable> own;
  uint32_t next = kNoId;
  bool matched = true;
  reader::ReadError e = reader::WalkEntries(
      data, format::kHeaderSize, layout, path,
      [&](uint64_t off, std::string_view key, uint64_t voff) {
        const char* entry = data.data() + off;
        if (!own) {
          if (SameEntry(predicted, n, off, entry, key.size())) {
            ++n;  // (its value is at predicted.value_offsets[n])
            return true;
          }
          own = OwnTable(predicted, n);
          next = static_cast<uint32_t>(n);
        }
        uint32_t j = MatchEntry(predicted, n, off, entry, key.size(), &next);
        if (j == kNoId) {
          matched = false;
          return false;  // a key the prediction lacks: parse it
        }
        own->keys.push_back(j);
        own->offsets.push_back(static_cast<uint32_t>(voff));
        ++n;
        return true;
      });
  if (!e.ok() || !matched) return false;
  cf->entries = std::move(own);  // null: the prediction's, in its order
  cf->layout = layout;
  cf->layout_known = true;
  cf->parsed = data.size();
  cf->count = static_cast<uint32_t>(n);
  return true;
}

std::shared_ptr<Prediction> MakePrediction(const std::string& path,
                                           std::string* buf) {
  auto made = std::make_shared<Prediction>();
  const std::string_view data = *buf;
  if (!reader::DetectLayout(data, format::kHeaderSize, ValueLayout::k16, path,
                            &made->layout)
           .ok()) {
    return nullptr;
  }
  reader::ReadError e = reader::WalkEntries(
      data, format::kHeaderSize, made->layout, path,
      [&](uint64_t off, std::string_view key, uint64_t voff) {
        made->index.Insert(reader::KeyHash(key), static_cast<uint32_t>(
                                                     made->entry_offsets.size()));
        made->entry_offsets.push_back(static_cast<uint32_t>(off));
        made->value_offsets.push_back(static_cast<uint32_t>(voff));
      });
  if (!e.ok()) return nullptr;
  std::swap(made->raw, *buf);  // the bytes move, no copy
  return made;
}

std::shared_ptr<Prediction> PrefixPredictor::Get(
    const std::string& prefix) const {
  std::lock_guard<std::mutex> g(mu_);
  auto p = by_prefix_.find(prefix);
  return p == by_prefix_.end() ? nullptr : p->second;
}

bool PrefixPredictor::PublishIfNone(const std::string& prefix,
                                    const std::shared_ptr<Prediction>& made,
                                    const std::shared_ptr<Prediction>& seen,
                                    std::shared_ptr<Prediction>* newer) {
  std::lock_guard<std::mutex> g(mu_);
  auto p = by_prefix_.find(prefix);
  if (p == by_prefix_.end()) {
    by_prefix_[prefix] = made;
    return true;
  }
  if (p->second != seen) *newer = p->second;
  return false;
}

void PrefixPredictor::Settle(const std::string& prefix,
                             const std::shared_ptr<Prediction>& made, bool ok,
                             bool published) {
  std::lock_guard<std::mutex> g(mu_);
  auto p = by_prefix_.find(prefix);
  if (ok && !published) {
    by_prefix_[prefix] = made;  // the longest file parsed from the start
  } else if (!ok && p != by_prefix_.end() && p->second == made) {
    by_prefix_.erase(p);
  }
}

}  // namespace promdir::merge_detail
