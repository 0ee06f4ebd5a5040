#include "lib/src/reader/native_file.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "lib/src/format.h"
#include "lib/src/native_format.h"

namespace promdir::reader {

namespace {

using Buckets = std::vector<std::pair<int32_t, uint64_t>>;
using BucketMap = std::map<int32_t, uint64_t>;

constexpr size_t kChunk = 1 << 20;
constexpr char kTrailerMagic[8] = {'p', 'd', 's', 'r', 'c', 0, 0, 0};
constexpr uint64_t kMaxTrailer = uint64_t{64} << 20;

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

Buckets ToVector(const BucketMap& m) {
  Buckets out;
  out.reserve(m.size());
  for (const auto& [i, c] : m) {
    if (c > 0) out.emplace_back(i, c);
  }
  return out;
}

// One entry's payload as a histogram at the coarsest schema it holds.
std::string ToHistogram(std::string_view data, const native::EntryRef& e,
                        NativeEntry* out) {
  using namespace native;  // NOLINT: the payload's offsets
  const char* p = data.data() + e.payload_offset;
  struct Raw {
    int32_t schema;
    bool negative;
    int32_t index;
    uint64_t count;
  };
  std::vector<Raw> raw;
  int32_t coarsest = e.config.schema;
  for (size_t i = 0; i < 2 * kDensePerSign; ++i) {
    uint64_t c = Load64(p + kDenseOffset + 8 * i);
    if (c == 0) continue;
    raw.push_back({kMinSchema, i >= kDensePerSign,
                   static_cast<int32_t>(i % kDensePerSign) + kDenseMin, c});
    coarsest = kMinSchema;
  }
  for (uint32_t i = 0; i < e.config.slots; ++i) {
    const char* slot = p + kTableOffset + 16 * size_t{i};
    uint64_t key = Load64(slot);
    if (key == 0) continue;
    ++out->slots_used;
    Raw r;
    if (!UnpackKey(key, &r.schema, &r.negative, &r.index)) {
      return "bad bucket key in slot " + std::to_string(i) + " of the entry";
    }
    r.count = Load64(slot + 8);
    if (r.count == 0) continue;
    coarsest = std::min(coarsest, r.schema);
    raw.push_back(r);
  }
  BucketMap pos, neg;
  uint64_t total = Load64(p + kZeroCountOffset);
  for (const Raw& r : raw) {
    int32_t i = ReduceIndex(r.index, r.schema - coarsest);
    (r.negative ? neg : pos)[i] += r.count;
    total += r.count;
  }
  NativeSeries& h = out->histogram;
  h.schema = coarsest;
  h.zero_threshold = e.config.zero_threshold;
  h.zero_count = Load64(p + kZeroCountOffset);
  // A writer adds to the count before the bucket: a read in between sees
  // fewer in the count than in the buckets, which Prometheus refuses.
  h.count = std::max(Load64(p + kCountOffset), total);
  std::memcpy(&h.sum, p + kSumOffset, 8);
  h.positive = ToVector(pos);
  h.negative = ToVector(neg);
  out->key = std::string(e.key);
  out->max_buckets = e.config.max_buckets;
  out->offset = e.offset;
  out->slots = e.config.slots;
  return "";
}

}  // namespace

ReadError ParseNativeFile(std::string_view data, const std::string& path,
                          std::vector<NativeEntry>* out) {
  out->clear();
  uint64_t pos = format::kHeaderSize;
  std::string why;
  std::string entry_why;
  why = native::WalkEntries(data, &pos, true, [&](const native::EntryRef& e) {
    if (!entry_why.empty()) return;
    NativeEntry ne;
    std::string w = ToHistogram(data, e, &ne);
    if (!w.empty()) {
      entry_why = w + " at offset " + std::to_string(e.offset);
      return;
    }
    out->push_back(std::move(ne));
  });
  if (why.empty()) why = entry_why;
  if (!why.empty()) {
    out->clear();
    return Bad(why.starts_with("key") ? BadReason::kBadKey
                                      : BadReason::kBadLength,
               path, why);
  }
  return {};
}

std::string EncodeArchiveSources(const std::vector<ArchiveSource>& sources) {
  std::string out(kTrailerMagic, 8);
  auto put = [&](const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
  };
  uint32_t n = static_cast<uint32_t>(sources.size());
  put(&n, 4);
  for (const ArchiveSource& a : sources) {
    put(&a.device, 8);
    put(&a.inode, 8);
    uint32_t len = static_cast<uint32_t>(a.name.size());
    put(&len, 4);
    out += a.name;
  }
  return out;
}

std::string DecodeArchiveSources(std::string_view data,
                                 std::vector<ArchiveSource>* sources) {
  sources->clear();
  if (data.size() < 12 || data.substr(0, 8) != std::string_view(kTrailerMagic, 8)) {
    return "no list of folded sources after used";
  }
  uint32_t n;
  std::memcpy(&n, data.data() + 8, 4);
  if (n > 65536) return "list of " + std::to_string(n) + " folded sources";
  size_t at = 12;
  for (uint32_t i = 0; i < n; ++i) {
    ArchiveSource a;
    uint32_t len;
    if (data.size() - at < 20) return "list of folded sources is cut off";
    std::memcpy(&a.device, data.data() + at, 8);
    std::memcpy(&a.inode, data.data() + at + 8, 8);
    std::memcpy(&len, data.data() + at + 16, 4);
    at += 20;
    if (len == 0 || len > 4096 || data.size() - at < len) {
      return "folded source name of length " + std::to_string(len);
    }
    a.name = std::string(data.substr(at, len));
    at += len;
    if (!native::ParseFileName(a.name) ||
        a.name.find('/') != std::string::npos) {
      return "folded source \"" + a.name + "\" is not a native file name";
    }
    sources->push_back(std::move(a));
  }
  return "";
}

ReadError ReadNativeFile(Env* env, const std::string& path,
                         std::vector<NativeEntry>* out, uint64_t* bytes_read,
                         NativeFileMeta* meta, bool archive) {
  out->clear();
  int fd = -1;
  FileInfo info;
  ReadError err = OpenMetricsFile(env, path, &fd, &info);
  if (fd < 0) return err;
  std::string buf(format::kHeaderSize, '\0');
  size_t got = 0;
  Status s = env->ReadAt(fd, 0, buf.data(), buf.size(), &got);
  *bytes_read += got;
  auto done = [&](ReadError e) {
    env->Close(fd);
    return e;
  };
  if (!s.ok()) return done(IoBad(path, "read: ", s));
  if (got == 0) return done(Bad(BadReason::kEmpty, path, "zero-length file"));
  if (got < format::kHeaderSize) {
    return done(Bad(BadReason::kTruncated, path,
                    "file is shorter than its 8-byte header"));
  }
  int32_t used32 = LoadInt32(buf.data());
  if (used32 == 0) used32 = format::kHeaderSize;
  if (used32 < static_cast<int32_t>(format::kHeaderSize) ||
      static_cast<uint64_t>(used32) > format::kMaxFileSize || used32 % 8 != 0) {
    return done(Bad(BadReason::kBadLayout, path,
                    "used (" + std::to_string(used32) +
                        ") is not a multiple of 8 between 8 and " +
                        std::to_string(format::kMaxFileSize)));
  }
  const uint64_t used = static_cast<uint64_t>(used32);
  if (used > info.size) {
    return done(Bad(BadReason::kTruncated, path,
                    "used (" + std::to_string(used) +
                        ") is past the end of the file (" +
                        std::to_string(info.size) + " bytes)"));
  }
  // Chunks are walked as they arrive, so a hole is found at once.
  uint64_t at = got;
  uint64_t walked = format::kHeaderSize;
  while (at < used) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, used - at));
    buf.resize(at + n);
    size_t more = 0;
    s = env->ReadAt(fd, at, buf.data() + at, n, &more);
    if (!s.ok()) return done(IoBad(path, "read: ", s));
    *bytes_read += more;
    if (more < n) {
      return done(Bad(BadReason::kTruncated, path,
                      "shorter than used (" + std::to_string(used) +
                          ") while reading"));
    }
    at += n;
    if (at == used) break;
    std::string why = native::WalkEntries(std::string_view(buf.data(), at),
                                          &walked, false,
                                          [](const native::EntryRef&) {});
    if (!why.empty()) return done(Bad(BadReason::kBadLength, path, why));
  }
  NativeFileMeta local;
  if (meta == nullptr) meta = &local;
  *meta = NativeFileMeta{used, info.size, info.device, info.inode, {}};
  if (archive) {
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(info.size - used, kMaxTrailer));
    std::string trailer(n, '\0');
    size_t more = 0;
    s = env->ReadAt(fd, used, trailer.data(), n, &more);
    if (!s.ok()) return done(IoBad(path, "read: ", s));
    *bytes_read += more;
    trailer.resize(more);
    std::string why = DecodeArchiveSources(trailer, &meta->sources);
    if (!why.empty()) return done(Bad(BadReason::kBadLayout, path, why));
  }
  env->Close(fd);
  return ParseNativeFile(std::string_view(buf.data(), used), path, out);
}

void ReduceSchema(NativeSeries* h, int32_t schema) {
  if (schema >= h->schema) return;
  const int by = h->schema - schema;
  for (Buckets* b : {&h->positive, &h->negative}) {
    BucketMap m;
    for (const auto& [i, c] : *b) m[native::ReduceIndex(i, by)] += c;
    *b = ToVector(m);
  }
  h->schema = schema;
}

void WidenZeroBucket(NativeSeries* h, double threshold) {
  threshold = std::max(threshold, h->zero_threshold);
  for (Buckets* b : {&h->positive, &h->negative}) {
    auto keep = std::remove_if(b->begin(), b->end(), [&](const auto& bc) {
      if (native::BucketUpperBound(h->schema, bc.first) > threshold) {
        return false;
      }
      h->zero_count += bc.second;
      return true;
    });
    b->erase(keep, b->end());
  }
  h->zero_threshold = threshold;
}

void AddNative(NativeSeries* into, NativeSeries from) {
  const int32_t schema = std::min(into->schema, from.schema);
  ReduceSchema(into, schema);
  ReduceSchema(&from, schema);
  const double zt = std::max(into->zero_threshold, from.zero_threshold);
  WidenZeroBucket(into, zt);
  WidenZeroBucket(&from, zt);
  into->zero_count += from.zero_count;
  into->count += from.count;
  into->sum += from.sum;
  for (auto [mine, theirs] : {std::pair{&into->positive, &from.positive},
                              std::pair{&into->negative, &from.negative}}) {
    BucketMap m(mine->begin(), mine->end());
    for (const auto& [i, c] : *theirs) m[i] += c;
    *mine = ToVector(m);
  }
}

void LimitBuckets(NativeSeries* h, uint32_t max_buckets) {
  while (max_buckets > 0 && h->schema > native::kMinSchema &&
         h->positive.size() + h->negative.size() > max_buckets) {
    ReduceSchema(h, h->schema - 1);
  }
}

}  // namespace promdir::reader
