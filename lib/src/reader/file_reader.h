// The low-level pieces of reading one metrics file, shared by
// ReadMetricsFile and the merge engine: open without following links, read
// the header and the bytes in use, work out the value layout, and walk the
// entries. Every failure is a BadReason (for self-metrics) plus a Status
// whose message names the file, the offset and the problem.
//
// Processes: files are read with pread(), never mapped. The caller reads
// `used` once and honours it, so it sees a consistent prefix of the entries
// even while the writer appends.
//
// Threads: free functions with no shared state; safe from any thread.

#ifndef PROMDIR_LIB_SRC_READER_FILE_READER_H_
#define PROMDIR_LIB_SRC_READER_FILE_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/key_codec.h"
#include "promdir/status.h"

namespace promdir::reader {

// The bytes "pdir" at offset 4: the file was written by a promdir writer,
// whose liveness is its OFD lock (Python writes zeros there).
inline constexpr char kWriterMagic[4] = {'p', 'd', 'i', 'r'};

enum class BadReason : uint8_t {
  kNone,
  kEmpty,          // zero-length file
  kTruncated,      // used past the end of the file
  kBadLength,      // negative or oversized key length, entry past `used`
  kBadKey,         // key not UTF-8, not JSON, not [str, str, {..}, str]
  kOldKeyFormat,   // 3-element key of clients before 0.16
  kBadLayout,      // neither value layout walks the entries to `used`
  kNotRegular,     // a directory, fifo, device...
  kSymlink,        // a symbolic link (not followed)
  kBadLe,          // a histogram bucket whose `le` is not a number
  kUnknownType,    // a file name with a type or gauge mode no client writes
  kIoError,        // open/read failed (not vanished)
};

// "empty", "truncated", ... ("" for kNone).
std::string_view BadReasonCode(BadReason reason);

// The result of a failed step: reason plus a Status naming the file.
// NotFound (vanished) has reason kNone.
struct ReadError {
  BadReason reason = BadReason::kNone;
  Status status;
  int os_error = 0;  // the errno of an I/O failure (kIoError), else 0
  bool ok() const { return status.ok(); }
};

ReadError Bad(BadReason reason, const std::string& path, std::string_view what);
// A kIoError caused by `cause`, keeping its errno.
ReadError IoBad(const std::string& path, std::string_view what,
                const Status& cause);

// lstat()s `path`, refuses symlinks and non-regular files, opens it
// O_RDONLY|O_NOFOLLOW|O_CLOEXEC and fstat()s the descriptor. On success *fd
// is open (the caller closes it) and *info describes it.
ReadError OpenMetricsFile(Env* env, const std::string& path, int* fd,
                          FileInfo* info);

// Reads the header and the bytes in use of an open file of `size` bytes
// into *buf (resized to `used`). Checks: size > 0, used >= 8 or used == 0
// (treated as 8: no entries), used 8-aligned, used <= size, and used <=
// format::kMaxFileSize (checked before anything past the header is read).
// Reads in 1 MiB chunks; a chunk that ends in 4 KiB of zero bytes (a hole
// of a sparse file: entries never hold such a run) is kBadLength at once.
// *magic is set iff offset 4 holds kWriterMagic. *bytes_read is increased.
ReadError ReadUsed(Env* env, int fd, const std::string& path, uint64_t size,
                   std::string* buf, bool* magic, uint64_t* bytes_read);

// Walks entries of `layout` in data[start, used) and checks the structure:
// key length in [0, kMaxKeyLength], every entry inside `used`, the last
// ending exactly at `used`, each key starting with '[' and ending with ']'.
// REQUIRES: start is an entry boundary, start >= 8.
// For each entry calls fn(entry_offset, key, value_offset). If fn returns
// bool, false stops the walk there (with no error).
template <typename Fn>
ReadError WalkEntries(std::string_view data, uint64_t start,
                      ValueLayout layout, const std::string& path, Fn&& fn);

// Works out the layout of data[start, used): the one stride that fits;
// `preferred` if both fit or there are no entries. kBadLayout/kBadLength
// naming the problem the preferred stride met if neither fits.
ReadError DetectLayout(std::string_view data, uint64_t start,
                       ValueLayout preferred, const std::string& path,
                       ValueLayout* layout);

// Checks a key fully (UTF-8, the 4-element list, names) as Python would
// json.loads it; for a key of a histogram file also that an `le` label is
// a number. Reason kBadKey, kOldKeyFormat or kBadLe; `why` says what.
// With `decoded` non-null, the parsed key is left there.
BadReason CheckKey(std::string_view key, FileType type, std::string* why,
                   DecodedKeyView* decoded = nullptr);

// Reads a little-endian int32 / double at data[pos].
inline int32_t LoadInt32(const char* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline double LoadDouble(const char* p) {
  double v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// --- implementation of the template ---

ReadError WalkError(const std::string& path, uint64_t pos, int64_t key_len,
                    uint64_t used, int what);

template <typename Fn>
ReadError WalkEntries(std::string_view data, uint64_t start,
                      ValueLayout layout, const std::string& path, Fn&& fn) {
  const uint64_t used = data.size();
  const size_t vsize = format::ValueSize(layout);
  uint64_t pos = start;
  const char* base = data.data();
  while (pos < used) {
    if (pos + 4 > used) return WalkError(path, pos, 0, used, 0);
    int32_t len = LoadInt32(base + pos);
    if (len < 0) return WalkError(path, pos, len, used, 1);
    if (len > format::kMaxKeyLength) return WalkError(path, pos, len, used, 2);
    uint64_t voff = pos + format::ValueOffset(static_cast<size_t>(len));
    uint64_t end = voff + vsize;
    if (end > used) return WalkError(path, pos, len, used, 3);
    if (len < 2 || base[pos + 4] != '[' || base[pos + 4 + len - 1] != ']') {
      return WalkError(path, pos, len, used, 4);
    }
    std::string_view key(base + pos + 4, static_cast<size_t>(len));
    if constexpr (std::is_same_v<std::invoke_result_t<Fn&, uint64_t,
                                                      std::string_view, uint64_t>,
                                 bool>) {
      if (!fn(pos, key, voff)) return {};
    } else {
      fn(pos, key, voff);
    }
    pos = end;
  }
  return {};
}

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_FILE_READER_H_
