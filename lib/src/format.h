// The on-disk format of one metrics file, shared by writer, reader and
// compactor. docs/FORMAT.md states it in prose; this header is its code.
//
//   offset 0  int32  used: bytes in use, header included (8 for a new file)
//   offset 4  4 bytes of zero padding, or "pdir" (kWriterMark) in a file a
//             promdir writer made or took over
//   offset 8  entries back to back up to `used`:
//             int32 key_len | key (UTF-8 JSON) | 1..8 spaces | double value
//             [| double timestamp, 16-byte layout only]
//
// Native byte order. A writer appends an entry's bytes first and publishes
// the new `used` after, so a reader that honours `used` never sees a torn
// entry. Values are updated in place as whole 8-byte stores.
//
// Everything that writes a header or an entry's key (writer, fork image,
// archives) encodes it here, and everything that walks entries (reader,
// merge engine, writer taking over a file) walks them with WalkEntries.
//
// Threads: constants and pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_FORMAT_H_
#define PROMDIR_LIB_SRC_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

#include "promdir/file_format.h"

namespace promdir::format {

inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kInitialFileSize = 64 * 1024;
// A key longer than this is corruption (Python's keys are far shorter).
inline constexpr int32_t kMaxKeyLength = 1 << 20;
// The largest file a writer makes (the promdir writer maps at most this
// much; Python's would need millions of series): a reader refuses a `used`
// past it rather than read, say, 2 GiB of a sparse file.
inline constexpr uint64_t kMaxFileSize = uint64_t{1} << 30;

// The two value layouts (see promdir/file_format.h).
using Layout = ValueLayout;

inline constexpr size_t ValueSize(Layout layout) {
  return static_cast<size_t>(layout);
}

// Spaces after the key so that (4 + key_len + pad) % 8 == 0; never 0.
inline constexpr size_t PadLength(size_t key_len) {
  return 8 - (key_len + 4) % 8;
}

// Offset of the value from the start of the entry.
inline constexpr size_t ValueOffset(size_t key_len) {
  return 4 + key_len + PadLength(key_len);
}

// Total bytes of one entry.
inline constexpr size_t EntrySize(size_t key_len, Layout layout) {
  return ValueOffset(key_len) + ValueSize(layout);
}

// The bytes at offset 4 of a file a promdir writer holds: its liveness is
// its lock (Python writes zeros there, and takes no lock).
inline constexpr char kWriterMark[4] = {'p', 'd', 'i', 'r'};

// Reads a native int32 / double at p (no alignment needed).
inline int32_t LoadInt32(const char* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline double LoadDouble(const char* p) {
  double v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Writes the kHeaderSize bytes of a header at `out`: `used`, then the
// writer's mark or zeros.
void EncodeHeader(uint32_t used, bool writer_mark, char* out);
// True iff the header at `header` (kHeaderSize bytes) holds kWriterMark.
inline bool HasWriterMark(const char* header) {
  return std::memcmp(header + 4, kWriterMark, sizeof kWriterMark) == 0;
}

// Writes an entry's key_len, key and padding at `at` (ValueOffset(key
// size) bytes) and returns that offset, where the value goes.
size_t EncodeEntryKey(std::string_view key, char* at);

// Why WalkEntries stopped before `used`.
enum class WalkStop : uint8_t {
  kEnd,              // walked to used exactly (or the callback stopped it)
  kCutOff,           // fewer than 4 bytes left for a key length
  kNegativeLength,   // key_len < 0
  kOversizedLength,  // key_len > kMaxKeyLength
  kPastUsed,         // the entry ends past used
  kNotList,          // the key does not start with '[' and end with ']'
};
struct WalkProblem {
  WalkStop stop = WalkStop::kEnd;
  uint64_t pos = 0;     // offset of the entry
  int64_t key_len = 0;  // its key length, where read
  bool ok() const { return stop == WalkStop::kEnd; }
};
// "negative key length -5 at offset 8", ... for a walk of `used` bytes.
std::string DescribeWalkProblem(const WalkProblem& problem, uint64_t used);

// The one walker of entries: walks entries of `layout` in data[start, used)
// with used = data.size(), checking the structure only (key length in
// [0, kMaxKeyLength], every entry inside used, the last ending exactly at
// used, each key starting with '[' and ending with ']').
// REQUIRES: start is an entry boundary, start >= kHeaderSize.
// Calls fn(entry_offset, key, value_offset) for each entry; if fn returns
// bool, false stops the walk there (with no problem).
template <typename Fn>
WalkProblem WalkEntries(std::string_view data, uint64_t start, Layout layout,
                        Fn&& fn) {
  const uint64_t used = data.size();
  const size_t vsize = ValueSize(layout);
  uint64_t pos = start;
  const char* base = data.data();
  while (pos < used) {
    if (pos + 4 > used) return {WalkStop::kCutOff, pos, 0};
    int32_t len = LoadInt32(base + pos);
    if (len < 0) return {WalkStop::kNegativeLength, pos, len};
    if (len > kMaxKeyLength) return {WalkStop::kOversizedLength, pos, len};
    uint64_t voff = pos + ValueOffset(static_cast<size_t>(len));
    uint64_t end = voff + vsize;
    if (end > used) return {WalkStop::kPastUsed, pos, len};
    if (len < 2 || base[pos + 4] != '[' || base[pos + 4 + len - 1] != ']') {
      return {WalkStop::kNotList, pos, len};
    }
    std::string_view key(base + pos + 4, static_cast<size_t>(len));
    using R = std::invoke_result_t<Fn&, uint64_t, std::string_view, uint64_t>;
    if constexpr (std::is_same_v<R, bool>) {
      if (!fn(pos, key, voff)) return {};
    } else {
      fn(pos, key, voff);
    }
    pos = end;
  }
  return {};
}

using promdir::FileType;
using promdir::GaugeMode;

inline constexpr GaugeMode kAllGaugeModes[] = {
    GaugeMode::kAll,        GaugeMode::kLiveAll, GaugeMode::kMin,
    GaugeMode::kLiveMin,    GaugeMode::kMax,     GaugeMode::kLiveMax,
    GaugeMode::kSum,        GaugeMode::kLiveSum, GaugeMode::kMostRecent,
    GaugeMode::kLiveMostRecent};

// "all", "liveall", ...; "" for kNone.
std::string_view GaugeModeName(GaugeMode mode);
// Returns the mode for a name such as "livesum", or nullopt.
std::optional<GaugeMode> ParseGaugeMode(std::string_view name);
// True iff the mode's series belong to live processes only (live*).
bool IsLiveMode(GaugeMode mode);
// The plain mode a live mode merges as (kLiveSum -> kSum); others unchanged.
GaugeMode BaseMode(GaugeMode mode);

// "counter", "gauge", "histogram", "summary".
std::string_view FileTypeName(FileType type);

// What a file name says: type, gauge mode and the writer id.
struct FileName {
  FileType type = FileType::kCounter;
  GaugeMode mode = GaugeMode::kNone;
  std::string id;  // "1234", "archive", "7-1234", ...

  // The file's prefix: "counter", "gauge_livesum", ...
  std::string Prefix() const;
  // "<prefix>_<id>.db".
  std::string ToString() const;
};

// Parses a base name such as "gauge_livesum_123.db" the way Python's reader
// splits it. Returns nullopt for a name that is not "*.db" or whose type or
// gauge mode no client writes.
std::optional<FileName> ParseFileName(std::string_view base_name);

// Builds a file name for a prefix such as "counter" or "gauge_livesum".
std::string MakeFileName(std::string_view prefix, std::string_view id);

// The hidden name a promdir writer creates `base` under before renaming it
// into place: ".<base>.tmp-<pid>" (not *.db, so no reader lists it). The
// writer holds its lock on it from the moment it is created.
std::string WriterTempName(std::string_view base, int pid);
// True iff `name` has that shape.
bool IsWriterTempName(std::string_view name);

}  // namespace promdir::format

#endif  // PROMDIR_LIB_SRC_FORMAT_H_
