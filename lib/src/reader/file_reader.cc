#include "lib/src/reader/file_reader.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "lib/src/float_format.h"
#include "lib/src/key_codec.h"

namespace promdir::reader {

namespace {

constexpr size_t kFirstRead = 4096;
constexpr size_t kChunk = 1 << 20;
// Entries hold no run of zero bytes this long (every entry has a non-zero
// key length and key text; a value is at most 16 zero bytes): the last
// kZeroProbe bytes of each chunk read are checked.
constexpr size_t kZeroProbe = 4096;

bool AllZero(const char* p, size_t n) {
  static const char kZeros[kZeroProbe] = {};
  return n <= kZeroProbe && std::memcmp(p, kZeros, n) == 0;
}

// client_python (>= 0.22) accepts any non-empty UTF-8 metric and label name
// (the key parser has checked the UTF-8); the exposition escapes the ones
// that are not legacy names as the scrape asks.
bool ValidName(std::string_view s) { return !s.empty(); }

}  // namespace

ReadError Bad(BadReason reason, const std::string& path,
              std::string_view what) {
  std::string msg = path;
  msg += ": ";
  msg += what;
  ReadError e;
  e.reason = reason;
  e.status = reason == BadReason::kIoError ? Status::IOError(msg)
                                           : Status::Corruption(msg);
  return e;
}

ReadError IoBad(const std::string& path, std::string_view what,
                const Status& cause) {
  ReadError e = Bad(BadReason::kIoError, path, std::string(what) + cause.message());
  e.os_error = cause.os_error();
  return e;
}

ReadError OpenMetricsFile(Env* env, const std::string& path, int* fd,
                          FileInfo* info) {
  *fd = -1;
  FileInfo link;
  Status s = env->LinkStat(path, &link);
  if (!s.ok()) {
    if (s.IsNotFound()) return {BadReason::kNone, s};
    return IoBad(path, "cannot stat: ", s);
  }
  if (link.is_symlink) {
    return Bad(BadReason::kSymlink, path,
               "is a symbolic link, which is not followed");
  }
  if (!link.is_regular) {
    return Bad(BadReason::kNotRegular, path,
               link.is_directory ? "is a directory, not a regular file"
                                 : "is not a regular file");
  }
  s = env->Open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0, fd);
  if (!s.ok()) {
    *fd = -1;
    if (s.IsNotFound()) return {BadReason::kNone, s};
    return IoBad(path, "cannot open: ", s);
  }
  s = env->Stat(*fd, info);
  if (!s.ok()) {
    env->Close(*fd);
    *fd = -1;
    return IoBad(path, "cannot stat: ", s);
  }
  if (!info->is_regular) {  // replaced between lstat and open
    env->Close(*fd);
    *fd = -1;
    return Bad(BadReason::kNotRegular, path, "is not a regular file");
  }
  return {};
}

ReadError ReadUsed(Env* env, int fd, const std::string& path, uint64_t size,
                   std::string* buf, bool* magic, uint64_t* bytes_read) {
  *magic = false;
  if (size == 0) {
    return Bad(BadReason::kEmpty, path, "zero-length file");
  }
  size_t first = static_cast<size_t>(std::min<uint64_t>(size, kFirstRead));
  if (buf->size() < first) buf->resize(first);
  size_t got = 0;
  Status s = env->ReadAt(fd, 0, buf->data(), first, &got);
  if (!s.ok()) return IoBad(path, "read: ", s);
  *bytes_read += got;
  if (got < format::kHeaderSize) {
    if (got == 0) return Bad(BadReason::kEmpty, path, "zero-length file");
    return Bad(BadReason::kTruncated, path,
               "file (" + std::to_string(got) +
                   " bytes) is shorter than its 8-byte header");
  }
  int32_t used32 = LoadInt32(buf->data());
  *magic = format::HasWriterMark(buf->data());
  if (used32 == 0) used32 = format::kHeaderSize;  // Python: no entries
  if (used32 < static_cast<int32_t>(format::kHeaderSize)) {
    return Bad(BadReason::kBadLayout, path,
               "used (" + std::to_string(used32) + ") is below the header size 8");
  }
  uint64_t used = static_cast<uint64_t>(used32);
  if (used > format::kMaxFileSize) {
    return Bad(BadReason::kBadLayout, path,
               "used (" + std::to_string(used) +
                   ") is beyond the largest metrics file (" +
                   std::to_string(format::kMaxFileSize) + " bytes)");
  }
  if (used > size) {
    return Bad(BadReason::kTruncated, path,
               "used (" + std::to_string(used) +
                   ") is past the end of the file (" + std::to_string(size) +
                   " bytes)");
  }
  if (used % 8 != 0) {
    return Bad(BadReason::kBadLayout, path,
               "used (" + std::to_string(used) + ") is not a multiple of 8");
  }
  // The rest in chunks, the buffer growing with them, so a `used` that
  // claims a sparse file's hole is found after a chunk or two, not after
  // reading (and zero-filling a buffer of) all of it.
  uint64_t at = got;
  while (at < used) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, used - at));
    buf->resize(at + n);
    size_t more = 0;
    s = env->ReadAt(fd, at, buf->data() + at, n, &more);
    if (!s.ok()) return IoBad(path, "read: ", s);
    *bytes_read += more;
    if (more < n) {
      return Bad(BadReason::kTruncated, path,
                 "used (" + std::to_string(used) +
                     ") is past the end of the file (" +
                     std::to_string(at + more) + " bytes)");
    }
    at += n;
    if (n == kChunk && AllZero(buf->data() + at - kZeroProbe, kZeroProbe)) {
      return Bad(BadReason::kBadLength, path,
                 std::to_string(kZeroProbe) + " zero bytes at offset " +
                     std::to_string(at - kZeroProbe) + ", inside used (" +
                     std::to_string(used) + "), where entries must be");
    }
  }
  buf->resize(used);
  return {};
}

ReadError WalkError(const std::string& path, const format::WalkProblem& p,
                    uint64_t used) {
  BadReason reason = p.stop == format::WalkStop::kNotList
                         ? BadReason::kBadKey
                         : BadReason::kBadLength;
  return Bad(reason, path, format::DescribeWalkProblem(p, used));
}

ReadError DetectLayout(std::string_view data, uint64_t start,
                       ValueLayout preferred, const std::string& path,
                       ValueLayout* layout) {
  *layout = preferred;
  if (data.size() <= start) return {};
  ValueLayout other =
      preferred == ValueLayout::k16 ? ValueLayout::k8 : ValueLayout::k16;
  ReadError e = WalkEntries(data, start, preferred, path,
                            [](uint64_t, std::string_view, uint64_t) {});
  if (e.ok()) return e;
  ReadError e2 = WalkEntries(data, start, other, path,
                             [](uint64_t, std::string_view, uint64_t) {});
  if (e2.ok()) {
    *layout = other;
    return e2;
  }
  // Neither stride fits. A bad first key length is reported as such (it is
  // the same for both strides), then a key that is not JSON, then the
  // layout.
  int32_t first = LoadInt32(data.data() + start);
  if (first < 0 || first > format::kMaxKeyLength) return e;
  if (e.reason == BadReason::kBadKey) return e;
  if (e2.reason == BadReason::kBadKey) return e2;
  std::string what = "neither the 8- nor the 16-byte value layout walks the "
                     "entries to used (" + std::to_string(data.size()) +
                     "); with the " +
                     std::to_string(static_cast<int>(preferred)) +
                     "-byte layout: ";
  std::string_view msg = e.status.message();
  what += msg.substr(std::min(msg.size(), path.size() + 2));
  return Bad(BadReason::kBadLayout, path, what);
}

BadReason CheckKey(std::string_view key, FileType type, std::string* why,
                   DecodedKeyView* decoded) {
  DecodedKeyView local;
  DecodedKeyView& k = decoded ? *decoded : local;
  Status s = DecodeKeyView(key, &k);
  if (!s.ok()) {
    *why = s.message();
    if (s.message().find("3-element") != std::string::npos) {
      return BadReason::kOldKeyFormat;
    }
    return BadReason::kBadKey;
  }
  if (!ValidName(k.metric_name)) {
    *why = "key has an empty metric name";
    return BadReason::kBadKey;
  }
  if (!ValidName(k.sample_name)) {
    *why = "key has an empty sample name";
    return BadReason::kBadKey;
  }
  for (const auto& [name, value] : k.labels) {
    if (!ValidName(name)) {
      *why = "key has an empty label name";
      return BadReason::kBadKey;
    }
    if (type == FileType::kHistogram && name == "le" &&
        !ParsePythonFloat(value)) {
      *why = "histogram bucket has a non-numeric le";
      return BadReason::kBadLe;
    }
  }
  return BadReason::kNone;
}

}  // namespace promdir::reader
