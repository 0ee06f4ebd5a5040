// The on-disk format of one metrics file, shared by writer, reader and
// compactor. docs/FORMAT.md states it in prose; this header is its code.
//
//   offset 0  int32  used: bytes in use, header included (8 for a new file)
//   offset 4  4 bytes of zero padding
//   offset 8  entries back to back up to `used`:
//             int32 key_len | key (UTF-8 JSON) | 1..8 spaces | double value
//             [| double timestamp, 16-byte layout only]
//
// Native byte order. A writer appends an entry's bytes first and publishes
// the new `used` after, so a reader that honours `used` never sees a torn
// entry. Values are updated in place as whole 8-byte stores.

#ifndef PROMDIR_LIB_SRC_FORMAT_H_
#define PROMDIR_LIB_SRC_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
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
