// Names in the exposition formats: which metric and label names are legacy
// Prometheus names, and how the others are written under each escaping
// scheme (Prometheus 3's `escaping=`), exactly as client_python writes them.
// Pure functions; safe from any thread. Names are valid UTF-8 (the key
// parser checked them).

#ifndef PROMDIR_LIB_SRC_READER_EXPOSITION_NAMES_H_
#define PROMDIR_LIB_SRC_READER_EXPOSITION_NAMES_H_

#include <string>
#include <string_view>

#include "promdir/exposition.h"

namespace promdir::exposition {

// IsLegacyMetricName and IsLegacyLabelName are public: promdir/exposition.h.
using promdir::IsLegacyLabelName;
using promdir::IsLegacyMetricName;

// Appends `name` as `escaping` writes it, without quotes: a legacy name as
// it is (but for kDots, which doubles its underscores), kAllowUtf8 as it
// is. `label` picks the legacy rule of a label name. With `always`, a
// legacy name is escaped too (client_python's OpenMetrics writer does so
// to sample names under kValues: `U__plain__requests__total`, which
// Prometheus unescapes back).
void AppendEscapedName(std::string_view name, bool label,
                       NameEscaping escaping, std::string* out,
                       bool always = false);

// Appends `s` with `\` -> `\\`, newline -> `\n`, and `"` -> `\"` if quote.
void AppendEscaped(std::string_view s, bool quote, std::string* out);

// Appends a name as a text format shows it: escaped, or under kAllowUtf8
// quoted ("a.b", with `\`, newline and `"` escaped) when it is not legacy.
void AppendTextName(std::string_view name, bool label, NameEscaping escaping,
                    std::string* out);

}  // namespace promdir::exposition

#endif  // PROMDIR_LIB_SRC_READER_EXPOSITION_NAMES_H_
