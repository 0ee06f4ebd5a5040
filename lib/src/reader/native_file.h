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
#include "promdir/reader.h"

namespace promdir::reader {

// One series of a native file (promdir/reader.h).
using NativeEntry = NativeFileEntry;

// Parses data (a native file's bytes [0, used)). Errors name `path`.
ReadError ParseNativeFile(std::string_view data, const std::string& path,
                          std::vector<NativeEntry>* out);

// A source file an archive folded (see lib/src/maintenance/
// compact_native.h): readers skip a file of that name, device and inode.
struct ArchiveSource {
  std::string name;  // base name
  uint64_t device = 0;
  uint64_t inode = 0;
};

// What else ReadNativeFile tells about the file.
struct NativeFileMeta {
  uint64_t used = 0;
  uint64_t size = 0;
  uint64_t device = 0;
  uint64_t inode = 0;
  // An archive's trailer (past `used`): the sources it folded.
  std::vector<ArchiveSource> sources;
};

// The trailer of an archive: "pdsrc\0\0\0", uint32 count, then per source
// uint64 device, uint64 inode, uint32 name length, the name.
std::string EncodeArchiveSources(const std::vector<ArchiveSource>& sources);
// "" or why `data` (the bytes past `used`) is not a trailer. At most 65536
// sources of names up to 4096 bytes.
std::string DecodeArchiveSources(std::string_view data,
                                 std::vector<ArchiveSource>* sources);

// Opens and reads the native file at `path` and parses it. A vanished file
// is {kNone, NotFound}. *bytes_read grows by what was read. With `meta`,
// fills it; with `archive`, also reads and checks the trailer (at most
// 64 MiB past `used`).
ReadError ReadNativeFile(Env* env, const std::string& path,
                         std::vector<NativeEntry>* out, uint64_t* bytes_read,
                         NativeFileMeta* meta = nullptr, bool archive = false);

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
