// Float text exactly as the Python client writes it.
//
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_FLOAT_FORMAT_H_
#define PROMDIR_LIB_SRC_FLOAT_FORMAT_H_

#include <optional>
#include <string>
#include <string_view>

namespace promdir {

// Appends Python's repr(d): the shortest text that round-trips, "1.0",
// "0.005", "1e-05", "1e+16", "nan", "inf", "-inf".
void AppendPythonRepr(double d, std::string* out);

// Appends prometheus_client's floatToGoString(d): "+Inf", "-Inf", "NaN",
// "1e+06" for large positive numbers, otherwise repr(d). This is the text of
// a histogram's `le` label and of every sample value Python exposes.
void AppendGoFloat(double d, std::string* out);
std::string GoFloat(double d);

// Parses a float the way Python's float() does for the texts clients write:
// decimal and exponent forms, "+Inf"/"inf"/"-Inf"/"NaN" in any case, with
// surrounding whitespace. Returns nullopt for anything else.
std::optional<double> ParsePythonFloat(std::string_view text);

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_FLOAT_FORMAT_H_
