// Gauge: a handle to one gauge series in this process's mapped
// `gauge_<mode>_<id>.db` file.
//
//   auto& inflight = promdir::BuildGauge()
//                        .Name("inflight_requests")
//                        .Help("Requests being served")
//                        .Mode(promdir::GaugeMode::kLiveSum)
//                        .Register(registry);
//   promdir::Gauge g = inflight.Add({});
//   g.Inc(); ...; g.Dec();
//
// The mode says how a collector merges the processes' values (Python's
// multiprocess_mode): kAll (default: one series per process, labelled
// pid="<id>"), kSum, kMin, kMax, kMostRecent, and the live* variants, which
// drop a process's series once it is dead.
//
// Threads: Inc, Dec, Set, SetToCurrentTime are noexcept and lock-free (the
// write gate's check, write_gate.h, and one atomic operation on the mapped
// double; Inc/Dec lose no update under any number of threads). Gauges of
// the mostrecent modes also store the wall-clock time in the entry's
// timestamp slot on every update, as a second 8-byte store after the value.
// When two threads update one mostrecent series at the same instant, the file
// may briefly pair one thread's value with the other's timestamp; both are from
// the same instant, so the collector's choice of the most recent process is
// unaffected. Processes: as for Counter (see counter.h).

#ifndef PROMDIR_GAUGE_H_
#define PROMDIR_GAUGE_H_

#include <atomic>

#include "promdir/file_format.h"
#include "promdir/write_gate.h"

namespace promdir {

namespace detail {
struct Series;
double* DummySlots();
}  // namespace detail

class Gauge {
 public:
  static constexpr FileType kFileType = FileType::kGauge;

  // A handle bound to a process-private slot (not in any file).
  Gauge() : value_(detail::DummySlots()), gate_(detail::OpenWriteGate()) {}

  void Inc(double amount = 1.0) noexcept {
    detail::Pass(gate_);
    std::atomic_ref<double>(*value_).fetch_add(amount,
                                               std::memory_order_relaxed);
    if (stamped_) Stamp();
  }
  void Dec(double amount = 1.0) noexcept { Inc(-amount); }
  void Set(double value) noexcept {
    detail::Pass(gate_);
    std::atomic_ref<double>(*value_).store(value, std::memory_order_relaxed);
    if (stamped_) Stamp();
  }
  // Sets the gauge to the current Unix time in seconds.
  void SetToCurrentTime() noexcept;

  // Value returns the value this process stored.
  double Value() const noexcept {
    return std::atomic_ref<double>(*value_).load(std::memory_order_relaxed);
  }

  // Internal: binds the handle to a series' slots.
  explicit Gauge(const detail::Series* series);

 private:
  // Stores the current time in the timestamp slot (value_ + 1).
  void Stamp() noexcept;

  double* value_;
  detail::WriteGate* gate_;
  bool stamped_ = false;
};

}  // namespace promdir

#endif  // PROMDIR_GAUGE_H_
