// Reading and merging native histograms (lib/src/native_format.h): one
// `.ndb` file's entries as NativeSeries values, and the arithmetic of
// merging them (schema reduction, zero threshold, bucket limit).
//
// Files are read as metrics files are (file_reader.h): never mapped, opened
// without following links, only regular files, `used` honoured and bounded
// by format::kMaxFileSize, read in 1 MiB chunks that are walked as they
// arrive (a hole of a sparse file is a zero key length, found in the first
// chunk that reaches it). Anything malformed is a ReadError naming the file
// and the offset, never a crash.
//
// Threads: free functions with no shared state; safe from any thread.

#ifndef PROMDIR_LIB_SRC_READER_NATIVE_FILE_H_
#define PROMDIR_LIB_SRC_READER_NATIVE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/src/reader/file_reader.h"
#include "promdir/exposition.h"

namespace promdir::reader {

// One series of a native file, at the coarsest schema it holds.
struct NativeEntry {
  std::string key;  // the JSON key bytes
  uint32_t max_buckets = 0;
  NativeSeries histogram;  // labels empty
  uint64_t offset = 0;        // of the entry in its file
  uint64_t slots = 0;         // table slots
  uint64_t slots_used = 0;    // claimed ones
};

// Parses data (a native file's bytes [0, used)). Errors name `path`.
ReadError ParseNativeFile(std::string_view data, const std::string& path,
                          std::vector<NativeEntry>* out);

// Opens and reads the native file at `path` and parses it. A vanished file
// is {kNone, NotFound}. *bytes_read grows by what was read; *used and *size
// (if not null) are set to the file's `used` and size.
ReadError ReadNativeFile(Env* env, const std::string& path,
                         std::vector<NativeEntry>* out, uint64_t* bytes_read,
                         uint64_t* used = nullptr, uint64_t* size = nullptr);

// Reduces `h` to `schema` (<= h->schema): bucket i becomes ceil(i / 2^d).
void ReduceSchema(NativeSeries* h, int32_t schema);
// Raises h's zero threshold to `threshold` (if higher); buckets whose upper
// bound is within the threshold move into the zero bucket.
void WidenZeroBucket(NativeSeries* h, double threshold);
// Adds `from` into `into`: both at the lower schema and the higher zero
// threshold, then counts, sums and buckets added.
void AddNative(NativeSeries* into, NativeSeries from);
// Reduces the schema until h has at most max_buckets buckets (0: no limit)
// or is at schema -4.
void LimitBuckets(NativeSeries* h, uint32_t max_buckets);

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_NATIVE_FILE_H_
