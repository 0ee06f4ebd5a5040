// NativeHistogram: a handle to one native (exponential, sparse) histogram
// series, as client_golang's NativeHistogramBucketFactor histograms, merged
// across processes by the collector and served in protobuf.
//
//   auto& latency = promdir::BuildNativeHistogram()
//                       .Name("request_latency_seconds")
//                       .Help("Request latency")
//                       .Labels({"route"})
//                       .BucketFactor(1.1)       // or .Schema(3)
//                       .ZeroThreshold(1e-9)     // default 2^-128
//                       .MaxBuckets(160)         // default 160; 0: no limit
//                       .ClassicBuckets({0.01, 0.1, 1})  // optional
//                       .Register(registry);
//   promdir::NativeHistogram h = latency.WithLabelValues("/api");
//   h.Observe(0.042);
//
// Buckets: at schema s, bucket i holds (2^((i-1)/2^s), 2^(i/2^s)] (and the
// mirror image for negative values); values within the zero threshold go to
// the zero bucket. BucketFactor(f) picks the largest schema whose bucket
// growth 2^(2^-s) is at most f (s in [-4, 8]), as client_golang does; the
// default schema is 3 (growth 1.09). The relative error of a quantile is at
// most half a bucket's growth.
//
// Files: the native buckets live in `histogram_native_<id>.ndb` (not *.db:
// Python's MultiProcessCollector never reads them); classic buckets, when
// configured, go to the usual `histogram_<id>.db`, so Python and text
// scrapes see them. docs/FORMAT.md section 7 has the bytes.
//
// Resolution: each series has a fixed table of 2 x MaxBuckets slots (a
// power of two, 512 for no limit) in its file, claimed lock-free. A bucket
// that finds no free slot in 8 probes is counted in the bucket that holds it
// one schema lower (then two lower, ..., down to schema -4, which has room
// for every value). Nothing is ever lost; a series that overflowed is shown
// at the coarsest schema it holds. The collector also reduces a merged
// series' schema until it has at most MaxBuckets buckets.
//
// Threads: Observe is noexcept, lock-free and allocation-free: the write
// gate's check, atomic adds to count, sum and one bucket (a compare-and-
// swap on a bucket's first use), never a lost update. A reader may see the
// count before the bucket (it then shows count >= the buckets' total).
// Processes: as for Counter (see counter.h).

#ifndef PROMDIR_NATIVE_HISTOGRAM_H_
#define PROMDIR_NATIVE_HISTOGRAM_H_

#include <cstdint>

#include "promdir/file_format.h"
#include "promdir/histogram.h"
#include "promdir/write_gate.h"

namespace promdir {

class NativeHistogram {
 public:
  static constexpr FileType kFileType = FileType::kHistogram;

  // A handle bound to process-private memory (not in any file).
  NativeHistogram();

  void Observe(double value) noexcept;

  // This process's count and sum of observations.
  uint64_t Count() const noexcept;
  double Sum() const noexcept;
  // The schema of the finest buckets this handle counts in.
  int32_t schema() const noexcept { return schema_; }

  // Internal: binds the handle to a series.
  explicit NativeHistogram(const detail::Series* series);

 private:
  Histogram classic_;
  bool has_classic_ = false;
  char* payload_;
  int32_t schema_;
  double zero_threshold_;
  uint32_t mask_;  // slots - 1; 0 with no table
  bool has_table_;
  detail::WriteGate* gate_;
};

}  // namespace promdir

#endif  // PROMDIR_NATIVE_HISTOGRAM_H_
