// Histogram: a handle to one histogram series in this process's mapped
// `histogram_<id>.db` file.
//
//   auto& latency = promdir::BuildHistogram()
//                       .Name("request_latency_seconds")
//                       .Help("Request latency")
//                       .Labels({"route"})
//                       .Buckets({0.01, 0.1, 1})   // +Inf is appended
//                       .Register(registry);
//   promdir::Histogram h = latency.WithLabelValues("/api");
//   h.Observe(0.042);
//
// As in Python's files, each bucket holds a per-bucket (non-cumulative)
// count; collectors accumulate. A value lands in the first bucket whose
// upper bound is >= the value; NaN lands in none but is added to _sum.
//
// Threads: Observe is noexcept and lock-free: the write gate's check
// (write_gate.h) and two atomic additions (the bucket and _sum), no lost
// update under any number of threads. A reader may see the bucket's
// increment before the _sum's.
// Processes: as for Counter (see counter.h).

#ifndef PROMDIR_HISTOGRAM_H_
#define PROMDIR_HISTOGRAM_H_

#include <atomic>
#include <cstddef>

#include "promdir/file_format.h"
#include "promdir/write_gate.h"

namespace promdir {

namespace detail {
struct Series;
const Series* DummyHistogramSeries();
}  // namespace detail

class Histogram {
 public:
  static constexpr FileType kFileType = FileType::kHistogram;

  // A handle bound to process-private slots (not in any file).
  Histogram();

  void Observe(double value) noexcept {
    detail::Pass(gate_);
    std::atomic_ref<double>(*sum_).fetch_add(value, std::memory_order_relaxed);
    for (size_t i = 0; i < num_buckets_; ++i) {
      if (value <= bounds_[i]) {
        std::atomic_ref<double>(*buckets_[i])
            .fetch_add(1.0, std::memory_order_relaxed);
        return;
      }
    }
  }

  // This process's _sum and per-bucket count of bucket i (non-cumulative).
  double Sum() const noexcept {
    return std::atomic_ref<double>(*sum_).load(std::memory_order_relaxed);
  }
  double BucketCount(size_t i) const noexcept {
    return std::atomic_ref<double>(*buckets_[i])
        .load(std::memory_order_relaxed);
  }
  size_t num_buckets() const noexcept { return num_buckets_; }

  // Internal: binds the handle to a series' slots.
  explicit Histogram(const detail::Series* series);

 private:
  double* sum_;
  double* const* buckets_;
  const double* bounds_;
  size_t num_buckets_;
  detail::WriteGate* gate_;
};

}  // namespace promdir

#endif  // PROMDIR_HISTOGRAM_H_
