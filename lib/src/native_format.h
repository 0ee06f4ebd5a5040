// The on-disk form of native (exponential) histograms, shared by the writer,
// the reader and the compactor. docs/FORMAT.md section 7 states it in prose;
// this header is its code.
//
// A native file `histogram_native_<id>.ndb` has the header of a metrics file
// (int32 used, "pdir") and entries laid out as a metrics file's, except that
// the value is a payload whose first uint32 is its own size:
//
//   int32 key_len | key (JSON, as Python's) | 1..8 spaces | payload
//
//   payload (8-aligned, native byte order):
//   +0   uint32  payload size in bytes (kTableOffset + 16 * slots)
//   +4   int32   schema of the finest buckets (kMinSchema..kMaxSchema)
//   +8   double  zero threshold (>= 0)
//   +16  uint32  slots of the bucket table (a power of two, or 0)
//   +20  uint32  max bucket count (0: no limit)
//   +24  uint64  count              } updated with atomic adds
//   +32  double  sum                } (sum: compare-and-swap)
//   +40  uint64  zero bucket count  }
//   +48  uint64  dense[2 * kDensePerSign]: schema -4 counts, positive
//                buckets kDenseMin..kDenseMax first, then negative ones
//   +kTableOffset  slots x {uint64 bucket key, uint64 count}
//
// A bucket key (PackKey) names schema, sign and index; 0 is an empty slot.
// A writer claims a slot by compare-and-swap of its key from 0 and never
// changes it again. An observation whose bucket finds no slot within kProbe
// probes tries the bucket that holds it at schema - 1, then - 2, ..., and
// at schema -4 lands in the dense array, which has room for every double:
// nothing is lost, only resolution. Readers reduce a series to the coarsest
// schema it holds.
//
// Pure functions and constants; safe from any thread.

#ifndef PROMDIR_LIB_SRC_NATIVE_FORMAT_H_
#define PROMDIR_LIB_SRC_NATIVE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace promdir::native {

inline constexpr char kPrefix[] = "histogram_native";
inline constexpr char kSuffix[] = ".ndb";
// The id of the archive compaction folds dead writers' native files into
// (lib/src/maintenance/compact_native.h).
inline constexpr char kArchiveId[] = "archive";

inline constexpr int32_t kMinSchema = -4;
inline constexpr int32_t kMaxSchema = 8;
// Bucket indexes of schema -4 that doubles reach (+Inf included).
inline constexpr int32_t kDenseMin = -68;
inline constexpr int32_t kDenseMax = 67;
inline constexpr size_t kDensePerSign = kDenseMax - kDenseMin + 1;
inline constexpr uint32_t kMaxSlots = uint32_t{1} << 16;
inline constexpr uint32_t kProbe = 8;

inline constexpr size_t kSizeOffset = 0;
inline constexpr size_t kSchemaOffset = 4;
inline constexpr size_t kZeroThresholdOffset = 8;
inline constexpr size_t kSlotsOffset = 16;
inline constexpr size_t kMaxBucketsOffset = 20;
inline constexpr size_t kCountOffset = 24;
inline constexpr size_t kSumOffset = 32;
inline constexpr size_t kZeroCountOffset = 40;
inline constexpr size_t kDenseOffset = 48;
inline constexpr size_t kTableOffset = kDenseOffset + 8 * 2 * kDensePerSign;
// The configuration part of a payload (what a new entry starts with).
inline constexpr size_t kConfigSize = 24;

inline constexpr size_t PayloadSize(uint32_t slots) {
  return kTableOffset + 16 * size_t{slots};
}

struct Config {
  int32_t schema = 3;
  double zero_threshold = 0;
  uint32_t slots = 0;
  uint32_t max_buckets = 0;
};

// The kConfigSize bytes a new payload starts with.
std::string ConfigBytes(const Config& c);
// Reads and checks the configuration of a payload of `avail` bytes. Returns
// "" or why it is not one ("schema 9 is out of range", ...).
std::string ParseConfig(const char* payload, size_t avail, Config* out);

// Table slots for a maximum bucket count: twice as many, a power of two,
// at least 16 and at most kMaxSlots (a max of 0, no limit, gets 512).
uint32_t SlotsFor(uint32_t max_buckets);

// The schema client_golang picks for a bucket factor (> 1): the largest
// whose bucket growth 2^(2^-schema) does not exceed it, in [-4, 8].
int32_t SchemaForFactor(double factor);

// The index of the bucket of `abs_value` (> 0, +Inf allowed) at `schema`, as
// client_golang computes it: bucket i holds (2^((i-1)/2^s), 2^(i/2^s)].
int32_t BucketIndex(double abs_value, int32_t schema);
// The index that holds bucket `index` at a schema `by` lower: ceil(index /
// 2^by).
inline int32_t ReduceIndex(int32_t index, int by) {
  if (by <= 0) return index;
  if (by >= 31) return index > 0 ? 1 : 0;
  return static_cast<int32_t>(
      (static_cast<int64_t>(index) + (int64_t{1} << by) - 1) >> by);
}
// The upper bound of bucket `index` at `schema` (2^(index / 2^schema)).
double BucketUpperBound(int32_t schema, int32_t index);

inline uint64_t PackKey(int32_t schema, bool negative, int32_t index) {
  return 1u | (uint64_t{negative} << 1) |
         (static_cast<uint64_t>(schema - kMinSchema) << 2) |
         (static_cast<uint64_t>(static_cast<uint32_t>(index)) << 32);
}
// False for a key no writer makes (bit 0 clear, schema out of range, bits
// 7-31 set).
bool UnpackKey(uint64_t key, int32_t* schema, bool* negative, int32_t* index);
inline uint32_t SlotHash(uint64_t key) {
  key ^= key >> 29;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 32;
  return static_cast<uint32_t>(key);
}

// One entry of a native file.
struct EntryRef {
  uint64_t offset = 0;          // of its key_len field
  std::string_view key;         // JSON key bytes (checked by DecodeKey)
  uint64_t payload_offset = 0;  // 8-aligned
  Config config;
};

// Walks whole entries of data (a native file's bytes from offset 0) from
// *pos (an entry boundary >= 8), calling fn for each and advancing *pos past
// it. An entry that runs past data.size() stops the walk without an error
// unless `final` (data then ends at `used`). Returns "" or why the entry at
// *pos is bad ("bad key length 0 at offset 8", ...).
std::string WalkEntries(std::string_view data, uint64_t* pos, bool final,
                        const std::function<void(const EntryRef&)>& fn);

// "histogram_native_<id>.ndb".
std::string FileName(std::string_view id);
// The id of a native file's base name, or nullopt for other names.
std::optional<std::string> ParseFileName(std::string_view base);

}  // namespace promdir::native

#endif  // PROMDIR_LIB_SRC_NATIVE_FORMAT_H_
