// NativeHistogram's observe path (see promdir/native_histogram.h and
// lib/src/native_format.h for the payload it writes).

#include "promdir/native_histogram.h"

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>

#include "lib/src/native_format.h"
#include "promdir/builder.h"
#include "promdir/family.h"

namespace promdir {

namespace {

using namespace native;  // NOLINT: the payload's offsets

inline std::atomic_ref<uint64_t> U64(char* p, size_t offset) {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(p + offset));
}

// A payload with no table, for handles bound to no file.
char* DummyPayload() {
  alignas(8) static char payload[kTableOffset] = {};
  return payload;
}

}  // namespace

NativeHistogram::NativeHistogram()
    : payload_(DummyPayload()),
      schema_(kMinSchema),
      zero_threshold_(0),
      mask_(0),
      has_table_(false),
      gate_(detail::OpenWriteGate()) {}

NativeHistogram::NativeHistogram(const detail::Series* series)
    : payload_(series->native),
      schema_(series->native_schema),
      zero_threshold_(series->native_zero_threshold),
      mask_(series->native_slots ? series->native_slots - 1 : 0),
      has_table_(series->native_slots != 0),
      gate_(series->native_gate) {
  if (series->num_buckets > 0) {
    classic_ = Histogram(series);
    has_classic_ = true;
  }
}

void NativeHistogram::Observe(double value) noexcept {
  if (has_classic_) classic_.Observe(value);
  detail::Pass(gate_);
  char* p = payload_;
  // The count first: a reader that sees a bucket's add sees this one.
  U64(p, kCountOffset).fetch_add(1, std::memory_order_relaxed);
  std::atomic_ref<double>(*reinterpret_cast<double*>(p + kSumOffset))
      .fetch_add(value, std::memory_order_relaxed);
  if (std::isnan(value)) return;
  const double a = std::fabs(value);
  if (a <= zero_threshold_) {
    U64(p, kZeroCountOffset).fetch_add(1, std::memory_order_release);
    return;
  }
  const bool negative = value < 0;
  int32_t index = BucketIndex(a, schema_);
  int32_t schema = schema_;
  if (has_table_) {
    uint64_t* table = reinterpret_cast<uint64_t*>(p + kTableOffset);
    for (; schema > kMinSchema; --schema, index = ReduceIndex(index, 1)) {
      const uint64_t key = PackKey(schema, negative, index);
      const uint32_t h = SlotHash(key);
      for (uint32_t probe = 0; probe < kProbe; ++probe) {
        uint64_t* slot = table + 2 * ((h + probe) & mask_);
        std::atomic_ref<uint64_t> k(slot[0]);
        uint64_t cur = k.load(std::memory_order_acquire);
        if (cur == 0 &&
            !k.compare_exchange_strong(cur, key, std::memory_order_acq_rel)) {
          // Another thread or process claimed it meanwhile: cur is its key.
        } else if (cur == 0) {
          cur = key;
        }
        if (cur == key) {
          std::atomic_ref<uint64_t>(slot[1]).fetch_add(
              1, std::memory_order_release);
          return;
        }
      }
    }
  } else {
    index = ReduceIndex(index, schema - kMinSchema);
  }
  // Schema -4: the dense array has a counter for every index a double has.
  if (index < kDenseMin) index = kDenseMin;
  if (index > kDenseMax) index = kDenseMax;
  const size_t at = (negative ? kDensePerSign : 0) +
                    static_cast<size_t>(index - kDenseMin);
  U64(p, kDenseOffset + 8 * at).fetch_add(1, std::memory_order_release);
}

uint64_t NativeHistogram::Count() const noexcept {
  return U64(payload_, kCountOffset).load(std::memory_order_relaxed);
}

double NativeHistogram::Sum() const noexcept {
  return std::atomic_ref<double>(*reinterpret_cast<double*>(payload_ +
                                                            kSumOffset))
      .load(std::memory_order_relaxed);
}

}  // namespace promdir

namespace promdir {

NativeHistogramBuilder& NativeHistogramBuilder::BucketFactor(double factor) {
  if (!(factor > 1)) {
    throw std::invalid_argument("promdir: native histogram \"" + spec_.name +
                                "\": bucket factor " + std::to_string(factor) +
                                " is not above 1");
  }
  spec_.native_schema = native::SchemaForFactor(factor);
  return *this;
}

}  // namespace promdir
