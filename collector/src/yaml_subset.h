// YamlNode and ParseYamlSubset: a small, strict parser for the part of YAML
// that configuration files use: block maps and block lists by indentation,
// one-line flow lists and maps ([a, b], {k: v}, [] and {}), plain, 'single'
// and "double" quoted scalars, and # comments. Anything else (anchors,
// aliases, tags, block scalars, several documents, tabs in indentation,
// duplicate keys) is refused with an error naming the line, never guessed.
//
// The parser takes arbitrary bytes and never crashes: input size, line
// count and nesting depth are bounded, and every error is a Status.
//
// Threads: pure functions and plain values; safe from any thread.

#ifndef PROMDIR_COLLECTOR_SRC_YAML_SUBSET_H_
#define PROMDIR_COLLECTOR_SRC_YAML_SUBSET_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promdir/status.h"

namespace promdir::http {

struct YamlEntry;

struct YamlNode {
  enum class Kind { kNull, kScalar, kMap, kList };
  Kind kind = Kind::kNull;
  int line = 0;        // 1-based line where the node starts
  std::string scalar;  // kScalar: the value, quotes removed and unescaped
  bool quoted = false;
  // kMap: keys in file order with their nodes; keys are unique.
  std::vector<YamlEntry> map;
  std::vector<YamlNode> list;  // kList

  // The value of `key` in a map, or nullptr.
  const YamlNode* Find(std::string_view key) const;
};

// One key of a map and its node. (A named struct, not a std::pair: a pair
// of an incomplete YamlNode is not allowed inside YamlNode itself.)
struct YamlEntry {
  std::string key;
  YamlNode value;
};

inline constexpr size_t kMaxYamlBytes = 1 << 20;
inline constexpr int kMaxYamlDepth = 32;

// Parses `text` into *root (a kNull node for an empty document).
// InvalidArgument "line N: what" on anything outside the subset.
Status ParseYamlSubset(std::string_view text, YamlNode* root);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_YAML_SUBSET_H_
