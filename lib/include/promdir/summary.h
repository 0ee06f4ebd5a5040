// Summary: a handle to one summary series (`_count` and `_sum`, no
// quantiles, as in Python's multiprocess mode) in this process's mapped
// `summary_<id>.db` file.
//
// Threads: Observe is noexcept and lock-free: the write gate's check
// (write_gate.h) and two atomic additions, no lost update under any number
// of threads. A reader may see the new _count before the new _sum.
// Processes: as for Counter (see counter.h).

#ifndef PROMDIR_SUMMARY_H_
#define PROMDIR_SUMMARY_H_

#include <atomic>

#include "promdir/file_format.h"
#include "promdir/write_gate.h"

namespace promdir {

namespace detail {
struct Series;
double* DummySlots();
}  // namespace detail

class Summary {
 public:
  static constexpr FileType kFileType = FileType::kSummary;

  // A handle bound to process-private slots (not in any file).
  Summary()
      : count_(detail::DummySlots()),
        sum_(detail::DummySlots() + 1),
        gate_(detail::OpenWriteGate()) {}

  void Observe(double value) noexcept {
    detail::Pass(gate_);
    std::atomic_ref<double>(*count_).fetch_add(1.0, std::memory_order_relaxed);
    std::atomic_ref<double>(*sum_).fetch_add(value, std::memory_order_relaxed);
  }

  double Count() const noexcept {
    return std::atomic_ref<double>(*count_).load(std::memory_order_relaxed);
  }
  double Sum() const noexcept {
    return std::atomic_ref<double>(*sum_).load(std::memory_order_relaxed);
  }

  // Internal: binds the handle to a series' slots.
  explicit Summary(const detail::Series* series);

 private:
  double* count_;
  double* sum_;
  detail::WriteGate* gate_;
};

}  // namespace promdir

#endif  // PROMDIR_SUMMARY_H_
