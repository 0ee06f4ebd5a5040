// Reading one metrics file: its layout, its entries, or a Status that says
// what is wrong with it and where.
//
// Files are read with read(), never mapped: a file truncated under a reader
// by another process would kill a mapping reader with SIGBUS. A file may be
// appended to while it is read; the reader honours the `used` it read first,
// so it sees a consistent prefix of the entries. Values may change while
// they are read; each is one aligned 8-byte store, so a value is either the
// old or the new one.
//
// Threads: free functions with no shared state; safe from any thread.

#ifndef PROMDIR_READER_H_
#define PROMDIR_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "promdir/exposition.h"
#include "promdir/file_format.h"
#include "promdir/status.h"

namespace promdir {

class Env;

// Why a file cannot be read. The codes (BadFileReasonCode) are the `reason`
// of `promdir check`, `promdir ls --json` and the collector's bad-file log
// lines and self-metric labels.
enum class BadFileReason : uint8_t {
  kNone,
  kEmpty,         // "empty": a zero-length file
  kTruncated,     // "truncated": used past the end of the file
  kBadLength,     // "bad_length": a negative or oversized key length, an
                  // entry past used
  kBadKey,        // "bad_key": a key not UTF-8, not JSON, not
                  // [str, str, {..}, str]
  kOldKeyFormat,  // "old_key_format": the 3-element key of clients < 0.16
  kBadLayout,     // "bad_layout": neither value layout walks to used
  kNotRegular,    // "not_regular": a directory, FIFO, device...
  kSymlink,       // "symlink": a symbolic link (never followed)
  kBadLe,         // "bad_le": a histogram bucket whose le is not a number
  kUnknownType,   // "unknown_type": a name with a type or gauge mode no
                  // client writes
  kIoError,       // "io_error": open or read failed (the file is there)
};

// "empty", "truncated", ... as above; "" for kNone.
std::string_view BadFileReasonCode(BadFileReason reason);

struct FileEntry {
  std::string key;         // the JSON key bytes
  double value = 0;
  double timestamp = 0;    // 0 in the 8-byte layout
  uint64_t offset = 0;     // of the entry's key_len field
  uint64_t value_offset = 0;
};

struct FileContents {
  ValueLayout layout = ValueLayout::k16;
  uint64_t used = 0;       // the file's `used` field
  uint64_t size = 0;       // the file's size on disk
  uint64_t device = 0;
  uint64_t inode = 0;
  std::vector<FileEntry> entries;
  // Set by a failed ReadMetricsFile: why (kNone if it succeeded, or if the
  // file vanished).
  BadFileReason bad_reason = BadFileReason::kNone;
};

// Reads the file at `path` and works out its value layout: the one stride
// that walks entries whose keys are JSON lists to end exactly at `used`.
// A file of only the header (used = 8, or used = 0) has no entries and the
// layout `preferred`. Refuses symlinks and anything that is not a regular
// file. Returns NotFound if the file vanished, Corruption naming the file,
// the offset and the reason otherwise ("zero-length file", "used (1000000)
// is past the end of the file (64 bytes)", "negative key length -5 at offset
// 8", "key at offset 8 is not JSON", ...). Every key is also checked with
// DecodeKey semantics (4-element list of the right types), with metric,
// sample and label names checked as Prometheus names, and in a histogram
// file every `le` checked to be a number. A base name ending in ".db" must
// name a type and gauge mode a client writes; other names (temporary files)
// are read without that check. used = 0 reads as an empty file, as Python
// reads it. On failure out->bad_reason says why, as a code.
// `env` nullptr: Env::Default().
Status ReadMetricsFile(Env* env, const std::string& path, FileContents* out,
                       ValueLayout preferred = ValueLayout::k16);

// One series of a native histogram file (histogram_native_<id>.ndb: see
// promdir/native_histogram.h and docs/FORMAT.md 6.5), at the coarsest
// schema it holds.
struct NativeFileEntry {
  std::string key;           // the JSON key bytes
  uint32_t max_buckets = 0;  // the writer's MaxBuckets
  NativeSeries histogram;    // its labels are left empty: they are in `key`
  uint64_t offset = 0;       // of the entry in its file
  uint64_t slots = 0;        // bucket table slots
  uint64_t slots_used = 0;   // those claimed by a bucket
};

// True if `base_name` (no directory) names a native histogram file or
// archive.
bool IsNativeFileName(std::string_view base_name);

// Reads the native histogram file at `path`, with ReadMetricsFile's rules
// (never through a symlink, only a regular file, `used` honoured). Returns
// NotFound if it vanished, Corruption naming the file, the offset and the
// problem otherwise; *reason (if given) then says why, as a code.
// `env` nullptr: Env::Default().
Status ReadNativeMetricsFile(Env* env, const std::string& path,
                             std::vector<NativeFileEntry>* out,
                             BadFileReason* reason = nullptr);

}  // namespace promdir

#endif  // PROMDIR_READER_H_
