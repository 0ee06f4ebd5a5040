// The out-of-line parts of the metric handles.

#include <cmath>
#include <limits>

#include "lib/src/env.h"
#include "promdir/counter.h"
#include "promdir/family.h"
#include "promdir/gauge.h"
#include "promdir/histogram.h"
#include "promdir/summary.h"

namespace promdir {

namespace detail {

double* DummySlots() {
  // Shared by default-constructed handles; the values are never exported.
  alignas(16) static double slots[4] = {0, 0, 0, 0};
  return slots;
}

WriteGate* OpenWriteGate() noexcept {
  static WriteGate gate;  // never closed
  return &gate;
}

const Series* DummyHistogramSeries() {
  static const Series* series = [] {
    static double bounds[1] = {std::numeric_limits<double>::infinity()};
    auto* s = new Series();
    s->slots = {DummySlots(), DummySlots() + 2};
    s->gate = OpenWriteGate();
    s->bounds = bounds;
    s->num_buckets = 1;
    return s;
  }();
  return series;
}

}  // namespace detail

Counter::Counter(const detail::Series* series)
    : value_(series->slots[0]), gate_(series->gate) {}

Gauge::Gauge(const detail::Series* series)
    : value_(series->slots[0]),
      gate_(series->gate),
      stamped_(series->stamped) {}

void Gauge::Stamp() noexcept {
  std::atomic_ref<double>(value_[1]).store(Env::Default()->NowUnixSeconds(),
                                           std::memory_order_relaxed);
}

void Gauge::SetToCurrentTime() noexcept {
  Set(Env::Default()->NowUnixSeconds());
}

Histogram::Histogram() : Histogram(detail::DummyHistogramSeries()) {}

Histogram::Histogram(const detail::Series* series)
    : sum_(series->slots[0]),
      buckets_(series->slots.data() + 1),
      bounds_(series->bounds),
      num_buckets_(series->num_buckets),
      gate_(series->gate) {}

Summary::Summary(const detail::Series* series)
    : count_(series->slots[0]), sum_(series->slots[1]), gate_(series->gate) {}

}  // namespace promdir
