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
      size_t b = line.find(' ', a + 1);
      std::string name = line.substr(a + 1, b == std::string::npos ? b : b - a - 1);
      std::string rest = b == std::string::npos ? "" : line.substr(b + 1);
      current = name;
      if (kind == "HELP") p.families[name].help = Unescape(rest);
      if (kind == "TYPE") p.families[name].type = rest;
      continue;
    }
    size_t brace = line.find('{');
    size_t space = line.find(' ');
    std::string name;
    std::vector<std::string> labels;
    size_t value_at;
    if (brace != std::string::npos && brace < space) {
      name = line.substr(0, brace);
      size_t i = brace + 1;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) {
          p.error = "bad labels: " + line;
          return p;
        }
        std::string key = line.substr(i, eq - i);
        std::string raw;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') raw.push_back(line[j++]);
          raw.push_back(line[j]);
        }
        std::string value = Unescape(raw);
        if (key == "le" || key == "quantile") {  // compare bounds as numbers
          std::ostringstream os;
          os.precision(17);
          os << ParseValue(value);
          value = os.str();
        }
        labels.push_back(key + "=\"" + value + "\"");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      value_at = line.find(' ', i) + 1;
    } else {
      name = line.substr(0, space);
      value_at = space + 1;
    }
    std::sort(labels.begin(), labels.end());
    std::string key = name + "{";
    for (size_t k = 0; k < labels.size(); ++k) {
      key += (k ? "," : "") + labels[k];
    }
    key += "}";
    std::string value = line.substr(value_at);
    value = value.substr(0, value.find(' '));
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
