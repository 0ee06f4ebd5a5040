// Builders: the prometheus-cpp way to declare a family.
//
//   auto& f = promdir::BuildHistogram()
//                 .Name("latency_seconds")     // required
//                 .Help("Request latency")     // optional, "" by default
//                 .Labels({"route"})           // label names, optional
//                 .Buckets({0.1, 0.5, 1})      // Python's defaults if omitted
//                 .Register(registry);         // -> Family<Histogram>&
//
// BuildCounter: a name ending in `_total` is the family name without it,
// as in Python (the sample is always `<family>_total`).
// BuildGauge().Mode(m): the multiprocess mode, GaugeMode::kAll by default.
// BuildHistogram().Buckets(b): strictly increasing upper bounds; +Inf is
// appended when missing. Default: .005 .01 .025 .05 .075 .1 .25 .5 .75 1
// 2.5 5 7.5 10 +Inf.
//
// Register throws on a bad declaration (see registry.h). Builders are plain
// values; Register is safe from any thread.

#ifndef PROMDIR_BUILDER_H_
#define PROMDIR_BUILDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "promdir/counter.h"
#include "promdir/family.h"
#include "promdir/gauge.h"
#include "promdir/histogram.h"
#include "promdir/native_histogram.h"
#include "promdir/registry.h"
#include "promdir/summary.h"

namespace promdir {

namespace detail {

template <typename Derived, typename T>
class BuilderBase {
 public:
  BuilderBase() { spec_.type = T::kFileType; }
  Derived& Name(std::string name) {
    spec_.name = std::move(name);
    return self();
  }
  Derived& Help(std::string help) {
    spec_.help = std::move(help);
    return self();
  }
  Derived& Labels(std::vector<std::string> label_names) {
    spec_.label_names = std::move(label_names);
    return self();
  }
  // Registers the family (or finds the identical one) in `registry`.
  Family<T>& Register(Registry& registry) const {
    FamilyBase& f = registry.Register(
        spec_,
        [](RegistryCore* core, FamilySpec spec) -> std::unique_ptr<FamilyBase> {
          return std::make_unique<Family<T>>(core, std::move(spec));
        });
    return static_cast<Family<T>&>(f);
  }

 protected:
  Derived& self() { return static_cast<Derived&>(*this); }
  FamilySpec spec_;
};

}  // namespace detail

class CounterBuilder : public detail::BuilderBase<CounterBuilder, Counter> {};

class GaugeBuilder : public detail::BuilderBase<GaugeBuilder, Gauge> {
 public:
  GaugeBuilder() { spec_.mode = GaugeMode::kAll; }
  GaugeBuilder& Mode(GaugeMode mode) {
    spec_.mode = mode;
    return *this;
  }
};

class HistogramBuilder
    : public detail::BuilderBase<HistogramBuilder, Histogram> {
 public:
  HistogramBuilder& Buckets(std::vector<double> upper_bounds) {
    spec_.buckets = std::move(upper_bounds);
    return *this;
  }
};

// BuildNativeHistogram (see native_histogram.h): Schema(s) in [-4, 8] (3 by
// default) or BucketFactor(f > 1); ZeroThreshold (2^-128 by default);
// MaxBuckets (160 by default, 0: no limit); ClassicBuckets (none by
// default) as Buckets above.
class NativeHistogramBuilder
    : public detail::BuilderBase<NativeHistogramBuilder, NativeHistogram> {
 public:
  NativeHistogramBuilder() { spec_.native_enabled = true; }
  NativeHistogramBuilder& Schema(int32_t schema) {
    spec_.native_schema = schema;
    return *this;
  }
  NativeHistogramBuilder& BucketFactor(double factor);
  NativeHistogramBuilder& ZeroThreshold(double threshold) {
    spec_.native_zero_threshold = threshold;
    return *this;
  }
  NativeHistogramBuilder& MaxBuckets(uint32_t max_buckets) {
    spec_.native_max_buckets = max_buckets;
    return *this;
  }
  NativeHistogramBuilder& ClassicBuckets(std::vector<double> upper_bounds) {
    spec_.buckets = std::move(upper_bounds);
    return *this;
  }
};

class SummaryBuilder : public detail::BuilderBase<SummaryBuilder, Summary> {};

inline CounterBuilder BuildCounter() { return {}; }
inline GaugeBuilder BuildGauge() { return {}; }
inline HistogramBuilder BuildHistogram() { return {}; }
inline SummaryBuilder BuildSummary() { return {}; }
inline NativeHistogramBuilder BuildNativeHistogram() { return {}; }

}  // namespace promdir

#endif  // PROMDIR_BUILDER_H_
