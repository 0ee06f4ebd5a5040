// promdir-bench: the cost of one update through a promdir handle, against
// the floor (a bare atomic_ref<double> fetch_add on an aligned double).
//
// Workload: one Registry in a fresh directory under $TMPDIR (removed at
// exit), 16-byte layout. Handles are cached, as users are told to, except
// in BM_CounterWithLabelValues, which looks the series up every time.
// The multi-thread variants (/threads:2) update ONE shared series, the
// worst case (cache-line contention); the *Private variants give each
// thread its own series.
//
// bench/bench_writer.py runs this together with Python's client and prints
// the ratios.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "promdir/promdir.h"

namespace {

struct Fixture {
  std::string dir;
  promdir::Registry* registry;
  promdir::Family<promdir::Counter>* counters;
  promdir::Family<promdir::Counter>* labelled;
  promdir::Family<promdir::Histogram>* histograms;
  promdir::Family<promdir::Gauge>* gauges;
  promdir::Family<promdir::Summary>* summaries;
  promdir::Family<promdir::NativeHistogram>* natives;

  Fixture() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base && *base ? base : "/tmp") + "/promdir-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    promdir::Options options;
    options.directory = dir;
    registry = new promdir::Registry(options);
    counters = &promdir::BuildCounter()
                    .Name("bench_total")
                    .Help("c")
                    .Labels({"t"})
                    .Register(*registry);
    labelled = &promdir::BuildCounter()
                    .Name("bench_requests_total")
                    .Help("c")
                    .Labels({"method", "route"})
                    .Register(*registry);
    histograms = &promdir::BuildHistogram()
                      .Name("bench_seconds")
                      .Help("h")
                      .Labels({"t"})
                      .Register(*registry);
    gauges = &promdir::BuildGauge()
                  .Name("bench_level")
                  .Help("g")
                  .Labels({"t"})
                  .Mode(promdir::GaugeMode::kLiveSum)
                  .Register(*registry);
    summaries = &promdir::BuildSummary()
                     .Name("bench_bytes")
                     .Help("s")
                     .Labels({"t"})
                     .Register(*registry);
    natives = &promdir::BuildNativeHistogram()
                   .Name("bench_native_seconds")
                   .Help("n")
                   .Labels({"t"})
                   .Register(*registry);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(Get().dir, ec);
    });
  }
  static Fixture& Get() {
    static Fixture* f = new Fixture();
    return *f;
  }
};

std::string ThreadLabel(const benchmark::State& state, bool private_series) {
  return private_series ? std::to_string(state.thread_index()) : "shared";
}

void BM_AtomicBaseline(benchmark::State& state) {
  alignas(64) static double shared = 0;
  for (auto _ : state) {
    std::atomic_ref<double>(shared).fetch_add(1.0, std::memory_order_relaxed);
  }
  benchmark::DoNotOptimize(shared);
}
BENCHMARK(BM_AtomicBaseline);
BENCHMARK(BM_AtomicBaseline)->Threads(2);

void CounterInc(benchmark::State& state, bool private_series) {
  promdir::Counter c = Fixture::Get().counters->WithLabelValues(
      ThreadLabel(state, private_series));
  for (auto _ : state) c.Inc();
}
void BM_CounterInc(benchmark::State& state) { CounterInc(state, false); }
void BM_CounterIncPrivate(benchmark::State& state) { CounterInc(state, true); }
BENCHMARK(BM_CounterInc);
BENCHMARK(BM_CounterInc)->Threads(2);
BENCHMARK(BM_CounterIncPrivate)->Threads(2);

void HistogramObserve(benchmark::State& state, bool private_series) {
  promdir::Histogram h = Fixture::Get().histograms->WithLabelValues(
      ThreadLabel(state, private_series));
  double v = 0;
  for (auto _ : state) {
    h.Observe(v);  // walks the default buckets: 0 .. 0.99
    v = v >= 0.99 ? 0 : v + 0.01;
  }
}
void BM_HistogramObserve(benchmark::State& state) {
  HistogramObserve(state, false);
}
void BM_HistogramObservePrivate(benchmark::State& state) {
  HistogramObserve(state, true);
}
BENCHMARK(BM_HistogramObserve);
BENCHMARK(BM_HistogramObserve)->Threads(2);
BENCHMARK(BM_HistogramObservePrivate)->Threads(2);

// A native histogram (schema 3, no classic buckets) with the same values
// as BM_HistogramObserve: the bucket index from frexp and a binary search
// of 8 bounds, a probe of the slot table, three atomic adds.
void NativeObserve(benchmark::State& state, bool private_series) {
  promdir::NativeHistogram h = Fixture::Get().natives->WithLabelValues(
      ThreadLabel(state, private_series));
  double v = 0;
  for (auto _ : state) {
    h.Observe(v);
    v = v >= 0.99 ? 0 : v + 0.01;
  }
}
void BM_NativeHistogramObserve(benchmark::State& state) {
  NativeObserve(state, false);
}
void BM_NativeHistogramObservePrivate(benchmark::State& state) {
  NativeObserve(state, true);
}
BENCHMARK(BM_NativeHistogramObserve);
BENCHMARK(BM_NativeHistogramObserve)->Threads(2);
BENCHMARK(BM_NativeHistogramObservePrivate)->Threads(2);

void BM_GaugeSet(benchmark::State& state) {
  promdir::Gauge g = Fixture::Get().gauges->WithLabelValues("shared");
  double v = 0;
  for (auto _ : state) g.Set(v += 1);
}
BENCHMARK(BM_GaugeSet);
BENCHMARK(BM_GaugeSet)->Threads(2);

void BM_GaugeInc(benchmark::State& state) {
  promdir::Gauge g = Fixture::Get().gauges->WithLabelValues("inc");
  for (auto _ : state) g.Inc();
}
BENCHMARK(BM_GaugeInc);

void BM_SummaryObserve(benchmark::State& state) {
  promdir::Summary s = Fixture::Get().summaries->WithLabelValues("shared");
  for (auto _ : state) s.Observe(0.25);
}
BENCHMARK(BM_SummaryObserve);

void BM_CounterWithLabelValues(benchmark::State& state) {
  auto* family = Fixture::Get().labelled;
  for (auto _ : state) family->WithLabelValues("GET", "/api/v1/items").Inc();
}
BENCHMARK(BM_CounterWithLabelValues);
BENCHMARK(BM_CounterWithLabelValues)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
