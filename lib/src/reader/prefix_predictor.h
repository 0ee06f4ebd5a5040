// PrefixPredictor: for each file name prefix ("counter", "gauge_all"...),
// the entries of the longest file of that prefix parsed from the start.
// Workers create their series in the same order, so entry i of the next
// file of that prefix is most likely the same key at the same offset (one
// memcmp, no hashing), and any of its keys most likely one of these.
// MatchPrediction parses a whole new file against one without any lock.
//
// A Prediction is published as soon as its file's entries are walked, so
// other reader threads match their files against it while its keys are
// still being interned: raw, layout, entry_offsets, value_offsets and
// index never change once published; `entries`, `complete` and `failed`
// are set once, by the thread that parses its file, under the key table's
// exclusive lock (the engine's KeyTable lock; readers of them hold it
// shared, or run after the scrape's reads are done).
//
// Threads: PrefixPredictor's members are safe from any thread (one mutex).

#ifndef PROMDIR_LIB_SRC_READER_PREFIX_PREDICTOR_H_
#define PROMDIR_LIB_SRC_READER_PREFIX_PREDICTOR_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/src/reader/file_cache.h"
#include "lib/src/reader/key_table.h"

namespace promdir::merge_detail {

struct Prediction {
  ValueLayout layout = ValueLayout::k16;
  std::string raw;                      // its bytes in use
  std::vector<uint32_t> entry_offsets;  // where its entries start
  std::vector<uint32_t> value_offsets;  // where their values are
  bool complete = false;                // entries is set
  bool failed = false;                  // the file is bad: no entries
  std::shared_ptr<EntryTable> entries;  // its file's table, shared
  // Its entries by the hash of their key (KeyHash), made before it is
  // published, so files that list the same keys in another order match.
  reader::FlatIndex index;
  // The index of an entry of this file with the key of the entry at `entry`
  // (its length field, then key_size key bytes), or kNoId.
  uint32_t Find(const char* entry, size_t key_size) const;
  // Complete, not failed: its entries' key ids may be used.
  bool usable() const { return complete && !failed; }
};

// The prediction's entry whose key the entry at `off` (at `entry`, entry
// number `index` of its file) holds, or kNoId: the one after the last
// match (*next), else entry `index` itself at the same offset, else by the
// prediction's index. Sets *next to the entry after the match.
uint32_t MatchEntry(const Prediction& p, size_t index, uint64_t off,
                    const char* entry, size_t key_size, uint32_t* next);

// Parses the whole file `data` into a fresh *cf without any lock when
// every entry's key is one of the prediction's: in its order at the same
// offsets (cf->entries left null, to share the prediction's), or in
// another (cf->entries its own, holding for now the prediction's entry
// index of each key: TakeKeys turns them into key ids once it completes).
// False if a key is not the prediction's, or the file is malformed.
bool MatchPrediction(const std::string& path, std::string_view data,
                     const Prediction& predicted, CachedFile* cf);

// A prediction of the file in *buf (its bytes move there, *buf is left
// with the prediction's old buffer), walked and indexed; null (and *buf
// untouched) if the file does not walk in either layout.
std::shared_ptr<Prediction> MakePrediction(const std::string& path,
                                           std::string* buf);

class PrefixPredictor {
 public:
  std::shared_ptr<Prediction> Get(const std::string& prefix) const;
  // Publishes `made` if the prefix has none yet (true). Else false, and
  // *newer is the prefix's prediction if it is not `seen` (published by
  // another thread since `seen` was looked up).
  bool PublishIfNone(const std::string& prefix,
                     const std::shared_ptr<Prediction>& made,
                     const std::shared_ptr<Prediction>& seen,
                     std::shared_ptr<Prediction>* newer);
  // After `made`'s file was parsed (ok or not): a good one becomes the
  // prefix's prediction (the longest file parsed from the start); a bad
  // one published early is withdrawn.
  void Settle(const std::string& prefix,
              const std::shared_ptr<Prediction>& made, bool ok,
              bool published);
  // Calls f(entries) for each prediction's table (may be null).
  template <typename F>
  void ForEachTable(F&& f) const {
    std::lock_guard<std::mutex> g(mu_);
    for (const auto& [prefix, p] : by_prefix_) f(p->entries.get());
  }
  void Clear() {
    std::lock_guard<std::mutex> g(mu_);
    by_prefix_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Prediction>> by_prefix_;
};

}  // namespace promdir::merge_detail

#endif  // PROMDIR_LIB_SRC_READER_PREFIX_PREDICTOR_H_
