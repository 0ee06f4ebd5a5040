#include "lib/src/native_format.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "lib/src/format.h"
#include "lib/src/key_codec.h"

namespace promdir::native {

namespace {

// client_golang's nativeHistogramBounds: for schema s > 0, the 2^s lower
// bounds 2^(i/2^s) / 2 of the fractions frexp() returns, i = 0..2^s-1.
struct Bounds {
  double all[(1 << (kMaxSchema + 1)) - 2];
  const double* of[kMaxSchema + 1];
  Bounds() {
    size_t at = 0;
    of[0] = all;
    for (int s = 1; s <= kMaxSchema; ++s) {
      of[s] = all + at;
      const int n = 1 << s;
      for (int i = 0; i < n; ++i) {
        all[at++] = std::exp2(static_cast<double>(i) / n) / 2;
      }
    }
  }
};

const Bounds& GetBounds() {
  static const Bounds bounds;  // no allocation; thread-safe first use
  return bounds;
}

}  // namespace

std::string ConfigBytes(const Config& c) {
  std::string b(kConfigSize, '\0');
  const uint32_t size = static_cast<uint32_t>(PayloadSize(c.slots));
  std::memcpy(b.data() + kSizeOffset, &size, 4);
  std::memcpy(b.data() + kSchemaOffset, &c.schema, 4);
  std::memcpy(b.data() + kZeroThresholdOffset, &c.zero_threshold, 8);
  std::memcpy(b.data() + kSlotsOffset, &c.slots, 4);
  std::memcpy(b.data() + kMaxBucketsOffset, &c.max_buckets, 4);
  return b;
}

std::string ParseConfig(const char* p, size_t avail, Config* out) {
  if (avail < kTableOffset) {
    return "payload of " + std::to_string(avail) + " bytes is cut off";
  }
  uint32_t size;
  std::memcpy(&size, p + kSizeOffset, 4);
  std::memcpy(&out->schema, p + kSchemaOffset, 4);
  std::memcpy(&out->zero_threshold, p + kZeroThresholdOffset, 8);
  std::memcpy(&out->slots, p + kSlotsOffset, 4);
  std::memcpy(&out->max_buckets, p + kMaxBucketsOffset, 4);
  if (out->schema < kMinSchema || out->schema > kMaxSchema) {
    return "schema " + std::to_string(out->schema) + " is out of range";
  }
  if (!(out->zero_threshold >= 0) || std::isinf(out->zero_threshold)) {
    return "zero threshold is not a finite number >= 0";
  }
  if (out->slots > kMaxSlots || (out->slots & (out->slots - 1)) != 0) {
    return "table of " + std::to_string(out->slots) +
           " slots is not a power of two up to " + std::to_string(kMaxSlots);
  }
  if (size != PayloadSize(out->slots)) {
    return "payload size " + std::to_string(size) + " does not match " +
           std::to_string(out->slots) + " slots";
  }
  if (size > avail) {
    return "payload of " + std::to_string(size) + " bytes runs past used";
  }
  return "";
}

uint32_t SlotsFor(uint32_t max_buckets) {
  if (max_buckets == 0) return 512;
  uint32_t slots = 16;
  while (slots < kMaxSlots && slots < 2 * uint64_t{max_buckets}) slots *= 2;
  return slots;
}

int32_t SchemaForFactor(double factor) {
  const double floor = std::floor(std::log2(std::log2(factor)));
  if (floor <= -kMaxSchema) return kMaxSchema;
  if (floor >= -kMinSchema) return kMinSchema;
  return -static_cast<int32_t>(floor);
}

int32_t BucketIndex(double v, int32_t schema) {
  const bool inf = std::isinf(v);
  if (inf) v = DBL_MAX;
  int exp = 0;
  const double frac = std::frexp(v, &exp);
  int32_t key;
  if (schema > 0) {
    const double* b = GetBounds().of[schema];
    const int n = 1 << schema;
    key = static_cast<int32_t>(std::lower_bound(b, b + n, frac) - b) +
          (exp - 1) * n;
  } else {
    key = exp;
    if (frac == 0.5) --key;
    const int32_t offset = (1 << -schema) - 1;
    key = (key + offset) >> -schema;
  }
  return inf ? key + 1 : key;
}

double BucketUpperBound(int32_t schema, int32_t index) {
  return std::exp2(std::ldexp(static_cast<double>(index), -schema));
}

bool UnpackKey(uint64_t key, int32_t* schema, bool* negative, int32_t* index) {
  if ((key & 1) == 0 || (key & 0xffffff80u) != 0) return false;
  *negative = (key >> 1) & 1;
  *schema = static_cast<int32_t>((key >> 2) & 31) + kMinSchema;
  *index = static_cast<int32_t>(static_cast<uint32_t>(key >> 32));
  return *schema <= kMaxSchema;
}

std::string WalkEntries(std::string_view data, uint64_t* pos, bool final,
                        const std::function<void(const EntryRef&)>& fn) {
  const uint64_t end = data.size();
  while (*pos < end) {
    const uint64_t at = *pos;
    const std::string where = " at offset " + std::to_string(at);
    if (end - at < 4) return final ? "entry" + where + " is cut off" : "";
    int32_t key_len;
    std::memcpy(&key_len, data.data() + at, 4);
    if (key_len <= 0 || key_len > format::kMaxKeyLength) {
      return "bad key length " + std::to_string(key_len) + where;
    }
    EntryRef e;
    e.offset = at;
    e.payload_offset = at + format::ValueOffset(static_cast<size_t>(key_len));
    if (e.payload_offset + kTableOffset > end) {
      return final ? "entry" + where + " runs past used" : "";
    }
    std::string why = ParseConfig(data.data() + e.payload_offset,
                                  end - e.payload_offset, &e.config);
    if (!why.empty()) {
      if (!final && why.ends_with("runs past used")) return "";
      return "entry" + where + ": " + why;
    }
    e.key = data.substr(at + 4, static_cast<size_t>(key_len));
    DecodedKey decoded;
    Status s = DecodeKey(e.key, &decoded);
    if (!s.ok()) return "key" + where + ": " + s.message();
    fn(e);
    *pos = e.payload_offset + PayloadSize(e.config.slots);
  }
  return "";
}

std::string FileName(std::string_view id) {
  std::string s = kPrefix;
  s += '_';
  s += id;
  s += kSuffix;
  return s;
}

std::optional<std::string> ParseFileName(std::string_view base) {
  const std::string_view prefix = std::string_view(kPrefix);
  const std::string_view suffix = std::string_view(kSuffix);
  if (base.size() <= prefix.size() + 1 + suffix.size() ||
      !base.starts_with(prefix) || base[prefix.size()] != '_' ||
      !base.ends_with(suffix)) {
    return std::nullopt;
  }
  return std::string(base.substr(
      prefix.size() + 1, base.size() - prefix.size() - 1 - suffix.size()));
}

}  // namespace promdir::native
