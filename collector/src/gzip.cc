#include "gzip.h"

#include <zlib.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace promdir::http {
namespace {
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper
constexpr int kRawWindowBits = -15;       // 32 KiB window, no wrapper
constexpr size_t kWindow = 32 * 1024;
constexpr size_t kChunk = 1 << 20;         // zlib counts in uInt
// Bodies at least this large are compressed in parts on several threads.
constexpr size_t kMinParallel = 256 * 1024;

// Appends the raw deflate data of `input` to *out, with the `dict` bytes
// (the input just before, if any) as the window it may refer back to.
// Unless `last`, ends with a sync flush: byte-aligned, not final, so the
// next part's data may follow it directly. Sets *crc to input's CRC-32.
Status DeflatePart(std::string_view input, std::string_view dict, int level,
                   bool last, std::string* out, uLong* crc) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kRawWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::IOError("gzip: deflateInit2 failed");
  }
  if (!dict.empty() &&
      deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(dict.data()),
                           static_cast<uInt>(dict.size())) != Z_OK) {
    deflateEnd(&zs);
    return Status::IOError("gzip: deflateSetDictionary failed");
  }
  *crc = crc32(0L, Z_NULL, 0);
  out->resize(deflateBound(&zs, input.size()) + 64);
  const char* in = input.data();
  size_t in_left = input.size();
  size_t produced = 0;
  const int finish = last ? Z_FINISH : Z_SYNC_FLUSH;
  while (true) {
    if (zs.avail_in == 0 && in_left > 0) {
      size_t n = std::min(in_left, kChunk);
      *crc = crc32(*crc, reinterpret_cast<const Bytef*>(in),
                   static_cast<uInt>(n));
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
      zs.avail_in = static_cast<uInt>(n);
      in += n;
      in_left -= n;
    }
    if (produced == out->size()) out->resize(out->size() * 2);
    size_t room = std::min(out->size() - produced, kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    const bool flushing = in_left == 0;
    int rc = deflate(&zs, flushing ? finish : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return Status::IOError("gzip: deflate failed");
    }
    // Done: the stream ended, or the flush completed with room to spare.
    if (rc == Z_STREAM_END ||
        (!last && flushing && zs.avail_in == 0 && zs.avail_out != 0)) {
      break;
    }
  }
  deflateEnd(&zs);
  out->resize(produced);
  return Status::OK();
}

void AppendLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

Status GzipCompress(std::string_view input, int level, std::string* out) {
  // One gzip member whose deflate data is made in parts, each on its own
  // thread (as pigz does): every part but the last ends byte-aligned and
  // not final, so the parts' data simply follow one another; each part
  // starts with the 32 KiB before it as its dictionary, so the output is
  // about as small as one stream's.
  size_t parts = 1;
  if (input.size() >= kMinParallel) {
    parts = std::clamp<size_t>(std::thread::hardware_concurrency(), 1,
                               input.size() / (kMinParallel / 2));
  }
  const size_t step = (input.size() + parts - 1) / std::max<size_t>(parts, 1);
  std::vector<std::string> data(parts);
  std::vector<uLong> crcs(parts, 0);
  std::vector<size_t> sizes(parts, 0);
  std::vector<Status> status(parts);
  auto run = [&](size_t i) {
    size_t from = std::min(input.size(), i * step);
    size_t to = i + 1 == parts ? input.size() : std::min(input.size(), from + step);
    sizes[i] = to - from;
    size_t dict_from = from > kWindow ? from - kWindow : 0;
    status[i] = DeflatePart(input.substr(from, to - from),
                            input.substr(dict_from, from - dict_from), level,
                            i + 1 == parts, &data[i], &crcs[i]);
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < parts; ++i) threads.emplace_back(run, i);
  run(0);
  for (std::thread& t : threads) t.join();
  for (const Status& s : status) {
    if (!s.ok()) return s;
  }
  size_t total = 18;
  for (const std::string& d : data) total += d.size();
  out->clear();
  out->reserve(total);
  // RFC 1952 header: magic, deflate, no flags, no time, no extra flags,
  // OS unknown.
  out->append("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  uLong crc = crcs[0];
  out->append(data[0]);
  for (size_t i = 1; i < parts; ++i) {
    crc = crc32_combine(crc, crcs[i], static_cast<z_off_t>(sizes[i]));
    out->append(data[i]);
  }
  AppendLe32(static_cast<uint32_t>(crc), out);
  AppendLe32(static_cast<uint32_t>(input.size()), out);
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
