// Exposition: merged metric families as plain snapshot structs, and the
// writers that turn them into bytes: text 0.0.4 and 1.0.0, OpenMetrics 0.0.1
// and 1.0.0, and delimited protobuf (io.prometheus.client.MetricFamily).
//
// Metric and label names may be any UTF-8 (client_python >= 0.22 writes
// them). How a name that is not a legacy Prometheus name
// ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':') is shown is the
// Exposition's NameEscaping, as Prometheus 3 negotiates it with
// `escaping=`; text 0.0.4 and OpenMetrics 0.0.1 always use underscores.
//
// The writers are pure functions of their input: no state, no locks, safe
// from any thread. They escape HELP and label values as each format requires,
// write values with floatToGoString (so NaN is "NaN", and every double
// round-trips), and keep the caller's order.

#ifndef PROMDIR_EXPOSITION_H_
#define PROMDIR_EXPOSITION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace promdir {

enum class MetricType { kCounter, kGauge, kHistogram, kSummary, kUntyped };

// "counter", "gauge", "histogram", "summary", "untyped".
std::string_view MetricTypeName(MetricType type);

// True iff `name` is a legacy Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsLegacyMetricName(std::string_view name);
// True iff `name` is a legacy Prometheus label name, [a-zA-Z_][a-zA-Z0-9_]*.
bool IsLegacyLabelName(std::string_view name);

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string name;  // full sample name: "x_total", "x_bucket", "x"
  Labels labels;     // in output order
  double value = 0;
};

// The native (exponential) part of one histogram series (see
// promdir/native_histogram.h). Bucket i of `schema` holds
// (2^((i-1)/2^schema), 2^(i/2^schema)]; negative buckets mirror that.
struct NativeSeries {
  Labels labels;  // the series' labels (no `le`), as its samples have them
  int32_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  uint64_t count = 0;
  double sum = 0;
  // (index, count) by ascending index, counts > 0.
  std::vector<std::pair<int32_t, uint64_t>> positive, negative;
};

struct MetricFamily {
  // The family name as the key stores it: a counter's name without _total.
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::vector<Sample> samples;
  // Histograms: the series that have a native part. Each also has its
  // samples: its classic buckets, or (native only) _sum, a +Inf bucket and
  // _count, which is what the text formats show. Protobuf writes both.
  std::vector<NativeSeries> native;
};

enum class ExpositionFormat {
  kText004,
  kOpenMetrics100,
  kText100,          // text 0.0.4's syntax, plus quoted UTF-8 names
  kOpenMetrics001,   // OpenMetrics 1.0.0's body, legacy names only
  kProtobuf,         // delimited io.prometheus.client.MetricFamily
};

// How names that are not legacy Prometheus names are written (the
// `escaping=` of Prometheus 3's Accept header). Legacy names are written as
// they are in every scheme but kDots.
enum class NameEscaping {
  kUnderscores,  // each invalid character (and a leading digit) -> `_`
  kAllowUtf8,    // as they are; quoted in text: {"a.b",x="1"}
  kDots,         // `_` -> `__`, `.` -> `_dot_`, others -> `__`
  kValues,       // `U__` + `_` -> `__`, others -> `_<hex code point>_`
};

// "underscores", "allow-utf-8", "dots", "values".
std::string_view NameEscapingName(NameEscaping escaping);
// Parses those names. Returns false for anything else.
bool ParseNameEscaping(std::string_view text, NameEscaping* escaping);

// A format and how it writes names. Implicit from a format (underscores).
struct Exposition {
  Exposition(ExpositionFormat f = ExpositionFormat::kText004,
             NameEscaping e = NameEscaping::kUnderscores)
      : format(f), escaping(e) {}
  ExpositionFormat format;
  NameEscaping escaping;
  // The escaping in effect: the legacy versions allow only underscores.
  NameEscaping names() const {
    return format == ExpositionFormat::kText004 ||
                   format == ExpositionFormat::kOpenMetrics001
               ? NameEscaping::kUnderscores
               : escaping;
  }
  bool openmetrics() const {
    return format == ExpositionFormat::kOpenMetrics100 ||
           format == ExpositionFormat::kOpenMetrics001;
  }
  bool operator==(const Exposition&) const = default;
};

// The Content-Type header value for a format; 1.0.0 and protobuf name the
// escaping (`; escaping=underscores`).
std::string ContentType(Exposition format);

// Appends the families in `format`. Does not write OpenMetrics' "# EOF", so
// several calls (merged metrics, then self-metrics) can share one body.
// Text: a counter family is named "<name>_total" on its HELP/TYPE lines, as
// Python writes it. OpenMetrics: a family whose values its type forbids
// there (a NaN or negative counter, a negative _sum, a histogram without
// +Inf) is written as one `unknown` family per sample name, so every value
// still reaches Prometheus and the body passes OpenMetrics parsers.
// Protobuf: each family is one length-delimited MetricFamily; a counter is
// named "<name>_total"; a family the typed messages cannot hold (a sample
// name without its type's suffix, a bucket without a numeric `le`, a
// summary count that is not a whole number) is written as untyped
// families, one per sample name.
void AppendFamilies(Exposition format,
                    const std::vector<MetricFamily>& families,
                    std::string* out);

// Appends "# EOF\n" for OpenMetrics; nothing for text.
void AppendEof(Exposition format, std::string* out);

}  // namespace promdir

#endif  // PROMDIR_EXPOSITION_H_
