#include "promdir/exposition.h"

#include <cmath>

#include "lib/src/float_format.h"

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
  out->append(name);
  if (!labels.empty()) {
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
  out->push_back(' ');
  AppendGoFloat(value, out);
  out->push_back('\n');
}

void AppendHeader(std::string_view name, std::string_view help,
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

// True iff OpenMetrics accepts the family's samples under its type: the
// counter-like samples (_total, _sum, _count, _bucket) are neither NaN nor
// negative, and counts are integers.
bool OpenMetricsValid(const MetricFamily& f) {
  if (f.type != MetricType::kCounter && f.type != MetricType::kHistogram &&
      f.type != MetricType::kSummary) {
    return true;
  }
  bool has_inf = f.type != MetricType::kHistogram;
  for (const Sample& s : f.samples) {
    if (s.name.size() <= f.name.size() ||
        s.name.compare(0, f.name.size(), f.name) != 0) {
      return false;
    }
    std::string_view suffix = std::string_view(s.name).substr(f.name.size());
    if (f.type == MetricType::kCounter && suffix != "_total") return false;
    if (f.type == MetricType::kSummary && suffix != "_count" &&
        suffix != "_sum") {
      return false;
    }
    if (f.type == MetricType::kHistogram && suffix != "_count" &&
        suffix != "_sum" && suffix != "_bucket") {
      return false;
    }
    if (std::isnan(s.value) || s.value < 0) return false;
    if ((suffix == "_count" || suffix == "_bucket") &&
        s.value != std::floor(s.value)) {
      return false;
    }
    if (suffix == "_bucket") {
      for (const auto& [k, v] : s.labels) {
        if (k == "le" && v == "+Inf") has_inf = true;
        if (k == "le" && !v.empty() && v[0] == '-') return false;
      }
    }
  }
  return has_inf;
}

void AppendText(const MetricFamily& f, std::string* out) {
  std::string name = f.name;
  if (f.type == MetricType::kCounter) name += "_total";
  AppendHeader(name, f.help, MetricTypeName(f.type), false, out);
  for (const Sample& s : f.samples) AppendSample(s.name, s.labels, s.value, out);
}

void AppendOpenMetrics(const MetricFamily& f, std::string* out) {
  if (OpenMetricsValid(f)) {
    std::string_view type =
        f.type == MetricType::kUntyped ? "unknown" : MetricTypeName(f.type);
    AppendHeader(f.name, f.help, type, true, out);
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
    AppendHeader(n, f.help, "unknown", true, out);
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
