// The text inside metrics files, for tools that show them (`promdir dump`,
// `promdir ls --json`, a collector's own metrics): entry keys decoded as
// Python's json.loads reads them, JSON strings as Python's json.dumps
// writes them, and floats as prometheus_client prints them.
//
//   promdir::DecodedKey k;
//   if (promdir::DecodeKey(entry.key, &k).ok()) {
//     std::string text = k.sample_name + " " + promdir::GoFloat(entry.value);
//   }
//
// Threads: pure functions; safe from any thread.

#ifndef PROMDIR_TEXT_H_
#define PROMDIR_TEXT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promdir/status.h"

namespace promdir {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// A parsed entry key: [metric name, sample name, {labels}, help]. Labels
// are sorted by name, unique.
struct DecodedKey {
  std::string metric_name;
  std::string sample_name;
  LabelPairs labels;
  std::string help;
};

// Parses a key as Python's json.loads would and checks it is the 4-element
// list [str, str, {str: str}, str]. Whitespace between tokens is allowed.
// Returns Corruption with a short reason ("key is not valid UTF-8", "key is
// not JSON", "key is a 3-element list (client before 0.16)", ...) otherwise.
Status DecodeKey(std::string_view key, DecodedKey* out);

// Appends json.dumps(s) with ensure_ascii=True: quotes, \" \\ \n \r \t \b \f,
// \u00XX for other control characters and DEL, \uXXXX (lower-case hex) for
// everything above 0x7e, surrogate pairs above U+FFFF. `/` is not escaped.
// Returns false iff `utf8` is not valid UTF-8 (surrogates encoded as three
// bytes, as a lone-surrogate decode writes them, are accepted); `out` is
// then unspecified.
bool AppendJsonString(std::string_view utf8, std::string* out);

// Appends Python's repr(d): the shortest text that round-trips, "1.0",
// "0.005", "1e-05", "1e+16", "nan", "inf", "-inf".
void AppendPythonRepr(double d, std::string* out);

// Appends prometheus_client's floatToGoString(d): "+Inf", "-Inf", "NaN",
// "1e+06" for large positive numbers, otherwise repr(d). This is the text of
// a histogram's `le` label and of every sample value Python exposes.
void AppendGoFloat(double d, std::string* out);
std::string GoFloat(double d);

}  // namespace promdir

#endif  // PROMDIR_TEXT_H_
