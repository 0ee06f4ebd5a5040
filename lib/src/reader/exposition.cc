#include "promdir/exposition.h"

#include <cmath>

#include "lib/src/float_format.h"
#include "lib/src/reader/exposition_internal.h"
#include "lib/src/reader/exposition_names.h"

namespace promdir {

using exposition::AppendEscaped;

namespace {

void AppendSample(Exposition format, std::string_view name,
                  const Labels& labels, double value, std::string* out) {
  exposition::AppendSeries(format.names(), name, labels, out,
                           exposition::EscapeLegacySampleNames(format));
  exposition::AppendValue(value, out);
}

void WriteHeaderLines(NameEscaping names, std::string_view name,
                      std::string_view help, std::string_view type, bool quote,
                      std::string* out) {
  const size_t at = out->size();
  out->append("# HELP ");
  exposition::AppendTextName(name, false, names, out);
  const size_t name_end = out->size();
  out->push_back(' ');
  AppendEscaped(help, quote, out);
  out->append("\n# TYPE ");
  out->append(*out, at + 7, name_end - at - 7);
  out->push_back(' ');
  out->append(type);
  out->push_back('\n');
}

}  // namespace

namespace exposition {

namespace {

template <typename LabelList>
void AppendSeriesOf(NameEscaping names, std::string_view name,
                    const LabelList& labels, std::string* out,
                    bool escape_name) {
  // A quoted metric name goes inside the braces: {"a.b",x="1"}.
  const bool inside =
      names == NameEscaping::kAllowUtf8 && !IsLegacyMetricName(name);
  if (inside) {
    out->append("{\"");
    AppendEscaped(name, true, out);
    out->push_back('"');
    if (labels.empty()) {
      out->push_back('}');
      return;
    }
  } else {
    AppendEscapedName(name, false, names, out, escape_name);
    if (labels.empty()) return;
  }
  out->push_back(inside ? ',' : '{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    AppendTextName(k, true, names, out);
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

void AppendSeries(NameEscaping names, std::string_view name,
                  const Labels& labels, std::string* out, bool escape_name) {
  AppendSeriesOf(names, name, labels, out, escape_name);
}

void AppendSeries(NameEscaping names, std::string_view name,
                  std::span<const LabelView> labels, std::string* out,
                  bool escape_name) {
  AppendSeriesOf(names, name, labels, out, escape_name);
}

void AppendValue(double value, std::string* out) {
  out->push_back(' ');
  AppendGoFloat(value, out);
  out->push_back('\n');
}

void AppendHeader(Exposition format, std::string_view family,
                  std::string_view help, MetricType type, std::string* out) {
  const NameEscaping names = format.names();
  if (format.openmetrics()) {
    WriteHeaderLines(
        names, family, help,
        type == MetricType::kUntyped ? "unknown" : MetricTypeName(type), true,
        out);
    return;
  }
  if (type == MetricType::kCounter) {
    std::string name(family);
    name += "_total";
    WriteHeaderLines(names, name, help, MetricTypeName(type), false, out);
    return;
  }
  WriteHeaderLines(names, family, help, MetricTypeName(type), false, out);
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

void AppendText(Exposition format, const MetricFamily& f, std::string* out) {
  exposition::AppendHeader(format, f.name, f.help, f.type, out);
  for (const Sample& s : f.samples) {
    AppendSample(format, s.name, s.labels, s.value, out);
  }
}

void AppendOpenMetrics(Exposition format, const MetricFamily& f,
                       std::string* out) {
  const NameEscaping names = format.names();
  if (exposition::OpenMetricsValid(f)) {
    exposition::AppendHeader(format, f.name, f.help, f.type, out);
    for (const Sample& s : f.samples) {
      AppendSample(format, s.name, s.labels, s.value, out);
    }
    return;
  }
  // Values OpenMetrics does not allow for the type (a NaN or negative
  // counter, a negative _sum): each sample name becomes an `unknown`
  // family of that name, which keeps every value and passes parsers.
  std::vector<std::string_view> sample_names;
  for (const Sample& s : f.samples) {
    bool seen = false;
    for (std::string_view n : sample_names) seen = seen || n == s.name;
    if (!seen) sample_names.push_back(s.name);
  }
  for (std::string_view n : sample_names) {
    WriteHeaderLines(names, n, f.help, "unknown", true, out);
    for (const Sample& s : f.samples) {
      if (s.name == n) AppendSample(format, s.name, s.labels, s.value, out);
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

std::string_view NameEscapingName(NameEscaping escaping) {
  switch (escaping) {
    case NameEscaping::kUnderscores: return "underscores";
    case NameEscaping::kAllowUtf8: return "allow-utf-8";
    case NameEscaping::kDots: return "dots";
    case NameEscaping::kValues: return "values";
  }
  return "underscores";
}

bool ParseNameEscaping(std::string_view text, NameEscaping* escaping) {
  for (NameEscaping e : {NameEscaping::kUnderscores, NameEscaping::kAllowUtf8,
                         NameEscaping::kDots, NameEscaping::kValues}) {
    if (text == NameEscapingName(e)) {
      *escaping = e;
      return true;
    }
  }
  return false;
}

std::string ContentType(Exposition format) {
  std::string type;
  switch (format.format) {
    case ExpositionFormat::kText004:
      return "text/plain; version=0.0.4; charset=utf-8";
    case ExpositionFormat::kOpenMetrics001:
      return "application/openmetrics-text; version=0.0.1; charset=utf-8";
    case ExpositionFormat::kText100:
      type = "text/plain; version=1.0.0; charset=utf-8";
      break;
    case ExpositionFormat::kOpenMetrics100:
      type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
      break;
    case ExpositionFormat::kProtobuf:
      type = "application/vnd.google.protobuf; "
             "proto=io.prometheus.client.MetricFamily; encoding=delimited";
      break;
  }
  type += "; escaping=";
  type += NameEscapingName(format.escaping);
  return type;
}

void AppendFamilies(Exposition format,
                    const std::vector<MetricFamily>& families,
                    std::string* out) {
  if (format.format == ExpositionFormat::kProtobuf) {
    exposition::AppendProtobuf(format.names(), families, out);
    return;
  }
  size_t estimate = 0;
  for (const MetricFamily& f : families) {
    estimate += 64 + f.help.size() + f.samples.size() * 64;
  }
  out->reserve(out->size() + estimate);
  for (const MetricFamily& f : families) {
    if (format.openmetrics()) {
      AppendOpenMetrics(format, f, out);
    } else {
      AppendText(format, f, out);
    }
  }
}

void AppendEof(Exposition format, std::string* out) {
  if (format.openmetrics()) out->append("# EOF\n");
}

}  // namespace promdir
