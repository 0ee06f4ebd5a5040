// KeyTable: every distinct entry key of a directory, parsed once.
//
// Files of one directory repeat the same keys (every worker writes the same
// series), so the merge engine interns key bytes to a key id, parses each
// distinct key once, and interns what merging needs: the family (metric
// name), and the series (metric name, sample name, sorted labels; help left
// out, as Python merges samples whose help differs). Memory is bounded by
// the distinct keys and series, not by files x series.
//
// Threads: not thread-safe; the merge engine holds its lock while it uses
// the table (a shared lock suffices for the const members, which only
// read). Ids are stable for the table's life, and so are the addresses
// of Series, KeyInfo, family names and every string and label list they
// view (chunked storage and an arena), so a renderer may read a Series'
// name, labels and text without the lock: those never change once made.
// Interning allocates nothing per key: bytes go to the arena, and the
// indexes are flat tables of ids.

#ifndef PROMDIR_LIB_SRC_READER_KEY_TABLE_H_
#define PROMDIR_LIB_SRC_READER_KEY_TABLE_H_

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/src/key_codec.h"
#include "lib/src/reader/arena.h"
#include "lib/src/reader/exposition_internal.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/seeded_hash.h"

namespace promdir::reader {

inline constexpr uint32_t kNoId = 0xffffffffu;

struct Series {
  uint32_t family = kNoId;
  std::string_view sample_name;   // the head of `text`
  // Sorted by name, unique; views of bytes in the table's arena.
  std::span<const LabelView> labels;
  // Derived series (ids into the same table), made when first needed:
  uint32_t without_pid = kNoId;  // labels without `pid` (gauge merging)
  uint32_t bucket = kNoId;       // with `le` a number: the canonical bucket
                                 // series <family>_bucket{..., le=GoFloat}
  uint32_t group = kNoId;        // a bucket's labels without `le`
  uint32_t count = kNoId;        // a group's <family>_count series
  double le = 0;                 // a canonical bucket's upper bound
  bool has_le = false;           // labels hold a numeric `le`
  // Every name is a legacy one, so `text` is how every escaping but dots
  // writes it (else `text` quotes them: {"a.b",x="1"}, and sample_name and
  // labels are copies).
  bool legacy = true;
  std::string_view text;         // `sample_name{labels}` as exposed
};

struct KeyInfo {
  std::string_view bytes;            // the key (owned by the table)
  BadReason bad = BadReason::kNone;  // kBadKey / kOldKeyFormat
  bool bad_le = false;  // has an `le` label that is not a number
  std::string why;      // for a bad key
  uint32_t family = kNoId;
  uint32_t series = kNoId;
  const std::string* help = nullptr;  // shared by keys with the same help
};

// The 32-bit hash the table indexes keys (and other strings) by: seeded
// per process, so crafted keys cannot be made to collide (seeded_hash.h).
inline uint32_t KeyHash(std::string_view s) { return SeededHash32(s); }

class KeyTable {
 public:
  KeyTable() = default;
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  // Returns the id of `key`, parsing it if it is new.
  uint32_t Intern(std::string_view key);
  // The id of `key` if it was interned, else kNoId. Only reads the table.
  uint32_t Find(std::string_view key) const;
  const KeyInfo& key(uint32_t id) const { return keys_[id]; }
  // Compact per-key facts for the hot parse loop (small arrays that stay in
  // cache): the family, and whether the key is bad in a file of `type`.
  uint32_t family_of(uint32_t id) const { return key_family_[id]; }
  bool bad_in(uint32_t id, FileType type) const {
    uint8_t f = key_flags_[id];
    return (f & kBadFlag) || ((f & kBadLeFlag) && type == FileType::kHistogram);
  }
  const Series& series(uint32_t id) const { return series_[id]; }
  size_t series_count() const { return series_.size(); }
  const std::string& family_name(uint32_t id) const { return families_[id]; }
  size_t family_count() const { return families_.size(); }
  size_t key_count() const { return keys_.size(); }
  // Bytes the table holds, roughly (its arena, records and indexes).
  size_t memory_bytes() const;

  // The series without its `pid` labels (itself if it has none).
  uint32_t WithoutPid(uint32_t series);

  // The position of every series in exposition order: by family name, then
  // labels without `le`, then (a family with buckets) sum < bucket < count
  // or (others) count < sum, then other sample names, then numeric `le`. Recomputed only when series were added.
  const std::vector<uint32_t>& Ranks();
  // Whether Ranks() would return without sorting.
  bool RanksCurrent() const { return ranks_.size() == series_.size(); }
  // The inverse of Ranks(): series ids in rank order.
  const std::vector<uint32_t>& RankOrder() {
    Ranks();
    return order_;
  }

 private:
  // Find with the key's KeyHash already made.
  uint32_t FindHashed(uint32_t h, std::string_view key) const;
  uint32_t InternFamily(std::string_view name);
  // The series of (family, sample, labels without the label `skip`).
  uint32_t InternSeries(uint32_t family, std::string_view sample,
                        std::span<const LabelView> labels,
                        std::string_view skip = {});
  void DeriveBucket(uint32_t series);

  static constexpr uint8_t kBadFlag = 1, kBadLeFlag = 2;
  // Key bytes, series text and labels: stored once, never moved.
  Arena arena_;
  FlatIndex key_index_;
  ChunkedVector<KeyInfo> keys_;
  std::vector<uint32_t> key_family_;
  std::vector<uint8_t> key_flags_;
  FlatIndex family_index_;
  std::deque<std::string> families_;
  FlatIndex series_index_;
  ChunkedVector<Series> series_;
  // Each distinct help once (KeyInfo::help points here), found by view.
  const std::string* Help(std::string_view help);
  std::deque<std::string> helps_;
  std::unordered_map<std::string_view, const std::string*, SeededStringHash>
      help_index_;
  DecodedKeyView scratch_;          // Intern's decode buffer
  std::string text_;                // InternSeries' text buffer
  std::vector<LabelView> kept_;     // InternSeries' labels without `skip`
  std::string count_name_, bucket_name_;  // DeriveBucket's
  std::vector<bool> bucketed_;  // per family: has a numeric `le` series
  std::vector<uint32_t> ranks_;
  std::vector<uint32_t> order_;
};

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_KEY_TABLE_H_
