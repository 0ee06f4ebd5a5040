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
#include <utility>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/key_codec.h"
#include "promdir/reader.h"
#include "promdir/status.h"

namespace promdir::reader {

// The public reasons (promdir/reader.h), under the reader's old names.
using BadReason = BadFileReason;
inline std::string_view BadReasonCode(BadReason reason) {
  return BadFileReasonCode(reason);
}

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
// The ReadError for a problem format::WalkEntries met in `used` bytes.
ReadError WalkError(const std::string& path, const format::WalkProblem& p,
                    uint64_t used);

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
// *magic is set iff offset 4 holds format::kWriterMark. *bytes_read is
// increased.
ReadError ReadUsed(Env* env, int fd, const std::string& path, uint64_t size,
                   std::string* buf, bool* magic, uint64_t* bytes_read);

// format::WalkEntries over data[start, used) (see there), with a problem
// as a ReadError naming `path`: kBadLength, or kBadKey for a key that is
// not a list.
template <typename Fn>
ReadError WalkEntries(std::string_view data, uint64_t start,
                      ValueLayout layout, const std::string& path, Fn&& fn) {
  format::WalkProblem p =
      format::WalkEntries(data, start, layout, std::forward<Fn>(fn));
  if (p.ok()) return {};
  return WalkError(path, p, data.size());
}

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

using format::LoadDouble;
using format::LoadInt32;

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_FILE_READER_H_
