// Exposition: merged metric families as plain snapshot structs, and the text
// 0.0.4 and OpenMetrics 1.0.0 writers that turn them into bytes.
//
// The writers are pure functions of their input: no state, no locks, safe
// from any thread. They escape HELP and label values as each format requires,
// write values with floatToGoString (so NaN is "NaN", and every double
// round-trips), and keep the caller's order.

#ifndef PROMDIR_EXPOSITION_H_
#define PROMDIR_EXPOSITION_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace promdir {

enum class MetricType { kCounter, kGauge, kHistogram, kSummary, kUntyped };

// "counter", "gauge", "histogram", "summary", "untyped".
std::string_view MetricTypeName(MetricType type);

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string name;  // full sample name: "x_total", "x_bucket", "x"
  Labels labels;     // in output order
  double value = 0;
};

struct MetricFamily {
  // The family name as the key stores it: a counter's name without _total.
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::vector<Sample> samples;
};

enum class ExpositionFormat { kText004, kOpenMetrics100 };

// The Content-Type header value for a format.
std::string_view ContentType(ExpositionFormat format);

// Appends the families in `format`. Does not write OpenMetrics' "# EOF", so
// several calls (merged metrics, then self-metrics) can share one body.
// Text: a counter family is named "<name>_total" on its HELP/TYPE lines, as
// Python writes it. OpenMetrics: a family whose values its type forbids
// there (a NaN or negative counter, a negative _sum, a histogram without
// +Inf) is written as one `unknown` family per sample name, so every value
// still reaches Prometheus and the body passes OpenMetrics parsers.
void AppendFamilies(ExpositionFormat format,
                    const std::vector<MetricFamily>& families,
                    std::string* out);

// Appends "# EOF\n" for OpenMetrics; nothing for text.
void AppendEof(ExpositionFormat format, std::string* out);

}  // namespace promdir

#endif  // PROMDIR_EXPOSITION_H_
