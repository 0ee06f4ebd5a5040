#include "collector/src/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace promdir::http {
namespace {
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper
constexpr size_t kChunk = 1 << 20;         // zlib counts in uInt
}  // namespace

Status GzipCompress(std::string_view input, int level, std::string* out) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::IOError("gzip: deflateInit2 failed");
  }
  out->clear();
  out->resize(deflateBound(&zs, input.size()) + 64);
  const char* in = input.data();
  size_t in_left = input.size();
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_left > 0) {
      size_t n = std::min(in_left, kChunk);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
      zs.avail_in = static_cast<uInt>(n);
      in += n;
      in_left -= n;
    }
    if (produced == out->size()) out->resize(out->size() * 2);
    size_t room = std::min(out->size() - produced, kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    rc = deflate(&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return Status::IOError("gzip: deflate failed");
    }
  }
  deflateEnd(&zs);
  out->resize(produced);
  return Status::OK();
}

Status GzipDecompress(std::string_view input, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    return Status::IOError("gzip: inflateInit2 failed");
  }
  out->clear();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  char buf[1 << 15];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::Corruption("gzip: not a complete gzip stream");
    }
    out->append(buf, sizeof(buf) - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Status::Corruption("gzip: stream ends early");
    }
  }
  inflateEnd(&zs);
  return Status::OK();
}

}  // namespace promdir::http
