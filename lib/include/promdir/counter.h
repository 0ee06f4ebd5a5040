// Counter: a handle to one counter series (one set of label values) in this
// process's mapped `counter_<id>.db` file.
//
//   auto& requests = promdir::BuildCounter()
//                        .Name("http_requests_total")
//                        .Help("HTTP requests")
//                        .Labels({"method"})
//                        .Register(registry);
//   promdir::Counter get = requests.WithLabelValues("GET");  // slow: cache it
//   get.Inc();                                               // fast
//
// A handle is a small value (two pointers): copy it freely. It stays valid
// while its Registry lives (after that its updates go to private memory).
//
// Threads: Inc is noexcept and lock-free: a check of the file's write gate
// (write_gate.h) and one atomic read-modify-write on the mapped double; any
// number of threads may update one series at once and no increment is lost.
// Processes: only this process writes its file; a collector reads it at any
// time and sees each value either before or after an update. After fork()
// the child's handles write the child's own file, which its first write
// creates (see registry.h).

#ifndef PROMDIR_COUNTER_H_
#define PROMDIR_COUNTER_H_

#include <atomic>

#include "promdir/file_format.h"
#include "promdir/write_gate.h"

namespace promdir {

namespace detail {
struct Series;
// A process-private slot for handles that are not bound to a file.
double* DummySlots();
static_assert(std::atomic_ref<double>::is_always_lock_free,
              "promdir's hot path needs lock-free atomic doubles");
}  // namespace detail

class Counter {
 public:
  static constexpr FileType kFileType = FileType::kCounter;

  // A handle bound to a process-private slot (not in any file).
  Counter() : value_(detail::DummySlots()), gate_(detail::OpenWriteGate()) {}

  // Inc adds `amount` (default 1). A negative amount is ignored, as
  // counters only go up (Python raises; the hot path cannot fail).
  void Inc(double amount = 1.0) noexcept {
    if (amount < 0) return;
    detail::Pass(gate_);
    std::atomic_ref<double>(*value_).fetch_add(amount,
                                               std::memory_order_relaxed);
  }

  // Value returns the value this process stored (its own contribution).
  double Value() const noexcept {
    return std::atomic_ref<double>(*value_).load(std::memory_order_relaxed);
  }

  // Internal: binds the handle to a series' slots.
  explicit Counter(const detail::Series* series);

 private:
  double* value_;
  detail::WriteGate* gate_;
};

}  // namespace promdir

#endif  // PROMDIR_COUNTER_H_
