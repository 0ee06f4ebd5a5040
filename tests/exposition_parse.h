// Parses text 0.0.4 / OpenMetrics bodies into plain data so tests compare
// expositions as data (families, types, help, samples, values), not bytes.
#ifndef PROMDIR_TESTS_EXPOSITION_PARSE_H_
#define PROMDIR_TESTS_EXPOSITION_PARSE_H_

#include <map>
#include <string>

namespace promdir::test {

struct ParsedFamily {
  std::string type;
  std::string help;
  // "name{a=\"b\",c=\"d\"}" with labels sorted and values unescaped -> value.
  std::map<std::string, double> samples;
};

struct Parsed {
  std::map<std::string, ParsedFamily> families;  // by the TYPE line's name
  std::string error;                             // empty if it parsed
};

Parsed ParseExposition(const std::string& body);

// Empty iff equal as data (NaN equals NaN; values equal within a relative
// 1e-12 when `tolerance`); otherwise the first difference, in words.
std::string DiffExpositions(const Parsed& want, const Parsed& got,
                            bool tolerance = false);

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_EXPOSITION_PARSE_H_
