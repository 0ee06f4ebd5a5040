#include "promdir/exposition.h"

#include <cmath>

#include "lib/src/float_format.h"
#include "lib/src/reader/exposition_internal.h"

namespace promdir {

namespace {

// Appends s with `\` -> `\\`, newline -> `\n`, and `"` -> `\"` if quote.
void AppendEscaped(std::string_view s, bool quote, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    const char* rep = nullptr;
    if (c == '\\') rep = "\\\\";
    else if (c == '\n') rep = "\\n";
    else if (c == '"' && quote) rep = "\\\"";
    if (rep == nullptr) continue;
    out->append(s.data() + start, i - start);
    out->append(rep);
    start = i + 1;
  }
  out->append(s.data() + start, s.size() - start);
}

void AppendSample(std::string_view name, const Labels& labels, double value,
                  std::string* out) {
  exposition::AppendSeries(name, labels, out);
  exposition::AppendValue(value, out);
}

void WriteHeaderLines(std::string_view name, std::string_view help,
                  std::string_view type, bool quote, std::string* out) {
  out->append("# HELP ");
  out->append(name);
  out->push_back(' ');
  AppendEscaped(help, quote, out);
  out->append("\n# TYPE ");
  out->append(name);
  out->push_back(' ');
  out->append(type);
  out->push_back('\n');
}

}  // namespace

namespace exposition {

namespace {

template <typename LabelList>
void AppendSeriesOf(std::string_view name, const LabelList& labels,
                    std::string* out) {
  out->append(name);
  if (labels.empty()) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    out->append(k);
    out->append("=\"");
    AppendEscaped(v, true, out);
    out->push_back('"');
  }
  out->push_back('}');
}

template <typename LabelList>
bool SampleValid(MetricType type, std::string_view family,
                 std::string_view name, const LabelList& labels, double value,
                 bool* has_inf) {
  if (type != MetricType::kCounter && type != MetricType::kHistogram &&
      type != MetricType::kSummary) {
    return true;
  }
  if (name.size() <= family.size() || !name.starts_with(family)) return false;
  std::string_view suffix = name.substr(family.size());
  if (type == MetricType::kCounter && suffix != "_total") return false;
  if (type == MetricType::kSummary && suffix != "_count" && suffix != "_sum") {
    return false;
  }
  if (type == MetricType::kHistogram && suffix != "_count" &&
      suffix != "_sum" && suffix != "_bucket") {
    return false;
  }
  if (std::isnan(value) || value < 0) return false;
  if ((suffix == "_count" || suffix == "_bucket") &&
      value != std::floor(value)) {
    return false;
  }
  if (suffix == "_bucket") {
    for (const auto& [k, v] : labels) {
      if (k == "le" && v == "+Inf") *has_inf = true;
      if (k == "le" && !v.empty() && v[0] == '-') return false;
    }
  }
  return true;
}

}  // namespace

void AppendSeries(std::string_view name, const Labels& labels,
                  std::string* out) {
  AppendSeriesOf(name, labels, out);
}

void AppendSeries(std::string_view name, std::span<const LabelView> labels,
                  std::string* out) {
  AppendSeriesOf(name, labels, out);
}

void AppendValue(double value, std::string* out) {
  out->push_back(' ');
  AppendGoFloat(value, out);
  out->push_back('\n');
}

void AppendHeader(ExpositionFormat format, std::string_view family,
                  std::string_view help, MetricType type, std::string* out) {
  if (format == ExpositionFormat::kOpenMetrics100) {
    WriteHeaderLines(
        family, help,
        type == MetricType::kUntyped ? "unknown" : MetricTypeName(type), true,
        out);
    return;
  }
  if (type == MetricType::kCounter) {
    std::string name(family);
    name += "_total";
    WriteHeaderLines(name, help, MetricTypeName(type), false, out);
    return;
  }
  WriteHeaderLines(family, help, MetricTypeName(type), false, out);
}

// The counter-like samples (_total, _sum, _count, _bucket) are neither NaN
// nor negative, counts are integers, and a histogram has its +Inf bucket.
bool OpenMetricsSampleValid(MetricType type, std::string_view family,
                            std::string_view name, const Labels& labels,
                            double value, bool* has_inf) {
  return SampleValid(type, family, name, labels, value, has_inf);
}

bool OpenMetricsSampleValid(MetricType type, std::string_view family,
                            std::string_view name,
                            std::span<const LabelView> labels, double value,
                            bool* has_inf) {
  return SampleValid(type, family, name, labels, value, has_inf);
}

bool OpenMetricsValid(const MetricFamily& f) {
  bool has_inf = f.type != MetricType::kHistogram;
  for (const Sample& s : f.samples) {
    if (!OpenMetricsSampleValid(f.type, f.name, s.name, s.labels, s.value,
                                &has_inf)) {
      return false;
    }
  }
  return has_inf;
}

}  // namespace exposition

namespace {

void AppendText(const MetricFamily& f, std::string* out) {
  exposition::AppendHeader(ExpositionFormat::kText004, f.name, f.help, f.type,
                           out);
  for (const Sample& s : f.samples) AppendSample(s.name, s.labels, s.value, out);
}

void AppendOpenMetrics(const MetricFamily& f, std::string* out) {
  if (exposition::OpenMetricsValid(f)) {
    exposition::AppendHeader(ExpositionFormat::kOpenMetrics100, f.name, f.help,
                             f.type, out);
    for (const Sample& s : f.samples) {
      AppendSample(s.name, s.labels, s.value, out);
    }
    return;
  }
  // Values OpenMetrics does not allow for the type (a NaN or negative
  // counter, a negative _sum): each sample name becomes an `unknown`
  // family of that name, which keeps every value and passes parsers.
  std::vector<std::string_view> names;
  for (const Sample& s : f.samples) {
    bool seen = false;
    for (std::string_view n : names) seen = seen || n == s.name;
    if (!seen) names.push_back(s.name);
  }
  for (std::string_view n : names) {
    WriteHeaderLines(n, f.help, "unknown", true, out);
    for (const Sample& s : f.samples) {
      if (s.name == n) AppendSample(s.name, s.labels, s.value, out);
    }
  }
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kSummary: return "summary";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

std::string_view ContentType(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics100
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

void AppendFamilies(ExpositionFormat format,
                    const std::vector<MetricFamily>& families,
                    std::string* out) {
  size_t estimate = 0;
  for (const MetricFamily& f : families) {
    estimate += 64 + f.help.size() + f.samples.size() * 64;
  }
  out->reserve(out->size() + estimate);
  for (const MetricFamily& f : families) {
    if (format == ExpositionFormat::kOpenMetrics100) {
      AppendOpenMetrics(f, out);
    } else {
      AppendText(f, out);
    }
  }
}

void AppendEof(ExpositionFormat format, std::string* out) {
  if (format == ExpositionFormat::kOpenMetrics100) out->append("# EOF\n");
}

}  // namespace promdir
