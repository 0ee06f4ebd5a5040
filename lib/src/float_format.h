// Float text exactly as the Python client writes it.
//
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_FLOAT_FORMAT_H_
#define PROMDIR_LIB_SRC_FLOAT_FORMAT_H_

#include <optional>
#include <string>
#include <string_view>

#include "promdir/text.h"

namespace promdir {

// AppendPythonRepr, AppendGoFloat and GoFloat are public: promdir/text.h.

// Parses a float the way Python's float() does for the texts clients write:
// decimal and exponent forms, "+Inf"/"inf"/"-Inf"/"NaN" in any case, with
// surrounding whitespace. Returns nullopt for anything else.
std::optional<double> ParsePythonFloat(std::string_view text);

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_FLOAT_FORMAT_H_
