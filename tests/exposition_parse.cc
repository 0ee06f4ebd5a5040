#include "tests/exposition_parse.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace promdir::test {

namespace {

double ParseValue(const std::string& s) {
  if (s == "NaN" || s == "Nan") return std::nan("");
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  return std::stod(s);
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

namespace {

// Reads a name at line[*i]: a legacy one up to any of `stops`, or a quoted
// one ("a.b", escapes undone). False if a quote is not closed.
bool ReadName(const std::string& line, size_t* i, const char* stops,
              std::string* name) {
  name->clear();
  if (*i < line.size() && line[*i] == '"') {
    size_t j = *i + 1;
    std::string raw;
    for (; j < line.size() && line[j] != '"'; ++j) {
      if (line[j] == '\\' && j + 1 < line.size()) raw.push_back(line[j++]);
      raw.push_back(line[j]);
    }
    if (j >= line.size()) return false;
    *name = Unescape(raw);
    *i = j + 1;
    return true;
  }
  size_t end = line.find_first_of(stops, *i);
  if (end == std::string::npos) end = line.size();
  *name = line.substr(*i, end - *i);
  *i = end;
  return true;
}

// Parses `name{labels} value` or `{"name",labels} value` into the
// canonical key and value text.
bool ParseSample(const std::string& line, std::string* key,
                 std::string* value) {
  size_t i = 0;
  std::string name;
  if (line[0] != '{' && !ReadName(line, &i, "{ ", &name)) return false;
  std::vector<std::string> labels;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      std::string label;
      if (!ReadName(line, &i, "=,}", &label)) return false;
      if (i < line.size() && line[i] == '=') {
        if (i + 1 >= line.size() || line[i + 1] != '"') return false;
        size_t j = i + 1;
        std::string v;
        if (!ReadName(line, &j, "", &v)) return false;
        if (label == "le" || label == "quantile") {  // bounds as numbers
          std::ostringstream os;
          os.precision(17);
          os << ParseValue(v);
          v = os.str();
        }
        labels.push_back(label + "=\"" + v + "\"");
        i = j;
      } else if (name.empty()) {
        name = label;  // the quoted metric name inside the braces
      } else {
        return false;
      }
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;
  }
  std::sort(labels.begin(), labels.end());
  *key = name + "{";
  for (size_t k = 0; k < labels.size(); ++k) key->append((k ? "," : "") + labels[k]);
  key->append("}");
  while (i < line.size() && line[i] == ' ') ++i;
  *value = line.substr(i);
  *value = value->substr(0, value->find(' '));
  return true;
}

}  // namespace

Parsed ParseExposition(const std::string& body) {
  Parsed p;
  std::istringstream in(body);
  std::string line;
  std::string current;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# ", 0) == 0) {
      if (line == "# EOF") continue;
      size_t a = line.find(' ', 2);
      if (a == std::string::npos) {
        p.error = "bad comment line: " + line;
        return p;
      }
      std::string kind = line.substr(2, a - 2);
      size_t b = a + 1;
      std::string name;
      if (!ReadName(line, &b, " ", &name)) {
        p.error = "bad comment line: " + line;
        return p;
      }
      std::string rest = b >= line.size() ? "" : line.substr(b + 1);
      current = name;
      if (kind == "HELP") p.families[name].help = Unescape(rest);
      if (kind == "TYPE") p.families[name].type = rest;
      continue;
    }
    std::string key, value;
    if (!ParseSample(line, &key, &value)) {
      p.error = "bad sample line: " + line;
      return p;
    }
    try {
      p.families[current].samples[key] = ParseValue(value);
    } catch (...) {
      p.error = "bad value: " + line;
      return p;
    }
  }
  return p;
}

std::string DiffExpositions(const Parsed& want, const Parsed& got,
                            bool tolerance) {
  if (!want.error.empty()) return "expected: " + want.error;
  if (!got.error.empty()) return "got: " + got.error;
  for (const auto& [name, f] : want.families) {
    auto it = got.families.find(name);
    if (it == got.families.end()) return "missing family " + name;
    const ParsedFamily& g = it->second;
    if (g.type != f.type) return name + ": type " + g.type + " != " + f.type;
    if (g.help != f.help) return name + ": help '" + g.help + "' != '" + f.help + "'";
    for (const auto& [key, v] : f.samples) {
      auto s = g.samples.find(key);
      if (s == g.samples.end()) return "missing sample " + key;
      double w = s->second;
      bool same = (std::isnan(v) && std::isnan(w)) || v == w ||
                  (tolerance && std::fabs(v - w) <= 1e-12 * std::fabs(v));
      if (!same) {
        std::ostringstream os;
        os.precision(17);
        os << key << ": " << w << " != " << v;
        return os.str();
      }
    }
    for (const auto& [key, v] : g.samples) {
      if (!f.samples.count(key)) return "extra sample " + key;
    }
  }
  for (const auto& [name, f] : got.families) {
    if (!want.families.count(name)) return "extra family " + name;
  }
  return "";
}

}  // namespace promdir::test
