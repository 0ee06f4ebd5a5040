// The pieces of the exposition writers that the merge engine's fast render
// path shares with AppendFamilies, so both paths write the same bytes.
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_READER_EXPOSITION_INTERNAL_H_
#define PROMDIR_LIB_SRC_READER_EXPOSITION_INTERNAL_H_

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/src/key_codec.h"
#include "promdir/exposition.h"

namespace promdir::exposition {

// Appends `name{k="v",...}` (label values escaped; no braces without
// labels), names written as `names` has them (under kAllowUtf8 a quoted
// metric name goes inside the braces: `{"a.b",k="v"}`). The same in every
// text format. `escape_name`: escape a legacy sample name too (see
// AppendEscapedName and EscapeLegacySampleNames).
void AppendSeries(NameEscaping names, std::string_view name,
                  const Labels& labels, std::string* out,
                  bool escape_name = false);
// The same for labels viewed elsewhere (the merge engine's key table).
void AppendSeries(NameEscaping names, std::string_view name,
                  std::span<const LabelView> labels, std::string* out,
                  bool escape_name = false);

// True iff `format` escapes legacy sample names too: OpenMetrics under
// kValues, as client_python writes it.
inline bool EscapeLegacySampleNames(Exposition format) {
  return format.openmetrics() && format.names() == NameEscaping::kValues;
}

// Appends " <value>\n".
void AppendValue(double value, std::string* out);

// Appends the # HELP and # TYPE lines of a family as `format` names it
// (text: a counter as <name>_total; OpenMetrics: untyped as unknown).
void AppendHeader(Exposition format, std::string_view family,
                  std::string_view help, MetricType type, std::string* out);

// Appends each family as one length-delimited MetricFamily message.
void AppendProtobuf(NameEscaping names,
                    const std::vector<MetricFamily>& families,
                    std::string* out);

// True iff OpenMetrics accepts `f` under its own type; otherwise
// AppendFamilies writes it as `unknown` families, one per sample name.
bool OpenMetricsValid(const MetricFamily& f);

// One sample's part of OpenMetricsValid: false if OpenMetrics refuses it in
// a family of `type` named `family`. Sets *has_inf on a +Inf bucket.
bool OpenMetricsSampleValid(MetricType type, std::string_view family,
                            std::string_view name, const Labels& labels,
                            double value, bool* has_inf);
bool OpenMetricsSampleValid(MetricType type, std::string_view family,
                            std::string_view name,
                            std::span<const LabelView> labels, double value,
                            bool* has_inf);

}  // namespace promdir::exposition

#endif  // PROMDIR_LIB_SRC_READER_EXPOSITION_INTERNAL_H_
