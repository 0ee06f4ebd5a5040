#include "promdir/prometheus_collectable.h"

#include <cmath>
#include <map>

#include "lib/src/float_format.h"

namespace promdir {

namespace {

using PLabels = std::vector<prometheus::ClientMetric::Label>;

PLabels ToLabels(const Labels& labels, std::string_view skip = {}) {
  PLabels out;
  out.reserve(labels.size());
  for (const auto& [k, v] : labels) {
    if (k != skip) out.push_back({k, v});
  }
  return out;
}

uint64_t ToCount(double v) {
  if (!(v > 0)) return 0;  // also NaN
  if (v >= 1.8e19) return UINT64_MAX;
  return static_cast<uint64_t>(std::llround(v));
}

std::string_view Suffix(const Sample& s, const std::string& family) {
  if (s.name.size() < family.size() || s.name.compare(0, family.size(), family)) {
    return "?";
  }
  return std::string_view(s.name).substr(family.size());
}

prometheus::MetricFamily Untyped(const MetricFamily& f, const Sample& s) {
  prometheus::MetricFamily out;
  out.name = s.name;
  out.help = f.help;
  out.type = prometheus::MetricType::Untyped;
  prometheus::ClientMetric m;
  m.label = ToLabels(s.labels);
  m.untyped.value = s.value;
  out.metric.push_back(std::move(m));
  return out;
}

// Histograms and summaries: one ClientMetric per label set (without `le`).
void Grouped(const MetricFamily& f, std::vector<prometheus::MetricFamily>* out) {
  prometheus::MetricFamily pf;
  pf.name = f.name;
  pf.help = f.help;
  bool histogram = f.type == MetricType::kHistogram;
  pf.type = histogram ? prometheus::MetricType::Histogram
                      : prometheus::MetricType::Summary;
  std::map<PLabels, size_t> index;
  std::vector<prometheus::MetricFamily> odd;
  for (const Sample& s : f.samples) {
    std::string_view suffix = Suffix(s, f.name);
    bool bucket = histogram && suffix == "_bucket";
    if (suffix != "_count" && suffix != "_sum" && !bucket) {
      odd.push_back(Untyped(f, s));
      continue;
    }
    PLabels labels = ToLabels(s.labels, histogram ? "le" : "");
    auto [it, fresh] = index.try_emplace(labels, pf.metric.size());
    if (fresh) {
      pf.metric.emplace_back();
      pf.metric.back().label = std::move(labels);
    }
    prometheus::ClientMetric& m = pf.metric[it->second];
    if (bucket) {
      double le = HUGE_VAL;
      for (const auto& [k, v] : s.labels) {
        if (k == "le") le = ParsePythonFloat(v).value_or(HUGE_VAL);
      }
      // prometheus-cpp adds the +Inf bucket itself from sample_count.
      if (!(std::isinf(le) && le > 0)) {
        m.histogram.bucket.push_back({ToCount(s.value), le});
      }
    } else if (suffix == "_count") {
      (histogram ? m.histogram.sample_count : m.summary.sample_count) =
          ToCount(s.value);
    } else {
      (histogram ? m.histogram.sample_sum : m.summary.sample_sum) = s.value;
    }
  }
  out->push_back(std::move(pf));
  for (auto& o : odd) out->push_back(std::move(o));
}

}  // namespace

std::vector<prometheus::MetricFamily> ToPrometheusFamilies(
    const std::vector<MetricFamily>& families) {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(families.size());
  for (const MetricFamily& f : families) {
    if (f.type == MetricType::kHistogram || f.type == MetricType::kSummary) {
      Grouped(f, &out);
      continue;
    }
    prometheus::MetricFamily pf;
    pf.help = f.help;
    std::string expected = f.name;
    switch (f.type) {
      case MetricType::kCounter:
        pf.type = prometheus::MetricType::Counter;
        expected += "_total";
        break;
      case MetricType::kGauge:
        pf.type = prometheus::MetricType::Gauge;
        break;
      default:
        pf.type = prometheus::MetricType::Untyped;
        break;
    }
    pf.name = expected;
    std::vector<prometheus::MetricFamily> odd;
    for (const Sample& s : f.samples) {
      if (s.name != expected) {
        odd.push_back(Untyped(f, s));
        continue;
      }
      prometheus::ClientMetric m;
      m.label = ToLabels(s.labels);
      if (pf.type == prometheus::MetricType::Counter) m.counter.value = s.value;
      else if (pf.type == prometheus::MetricType::Gauge) m.gauge.value = s.value;
      else m.untyped.value = s.value;
      pf.metric.push_back(std::move(m));
    }
    out.push_back(std::move(pf));
    for (auto& o : odd) out.push_back(std::move(o));
  }
  return out;
}

DirectoryCollectable::DirectoryCollectable(
    CollectorOptions options,
    std::function<void(const Status&, const ScrapeStats&)> on_scrape)
    : collector_(std::make_unique<DirectoryCollector>(std::move(options))),
      on_scrape_(std::move(on_scrape)) {}

DirectoryCollectable::~DirectoryCollectable() = default;

std::vector<prometheus::MetricFamily> DirectoryCollectable::Collect() const {
  std::vector<MetricFamily> families;
  ScrapeStats stats;
  Status s = collector_->Collect(&families, &stats);
  if (on_scrape_) on_scrape_(s, stats);
  if (!s.ok()) return {};
  return ToPrometheusFamilies(families);
}

}  // namespace promdir
