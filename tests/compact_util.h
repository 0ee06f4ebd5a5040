// Helpers for the maintenance and compaction tests: hand-made metrics files
// in either layout, promdir's merged view as a map, and Python's view.
#ifndef PROMDIR_TESTS_COMPACT_UTIL_H_
#define PROMDIR_TESTS_COMPACT_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lib/src/format.h"
#include "lib/src/key_codec.h"
#include "promdir/maintenance.h"
#include "promdir/merge.h"
#include "tests/test_util.h"

namespace promdir::test {

struct RawEntry {
  std::string key;
  double value = 0;
  double timestamp = 0;
};

inline std::string Key(const std::string& metric, const std::string& sample,
                       LabelPairs labels, const std::string& help = "h") {
  return EncodeKey(metric, sample, std::move(labels), help).value();
}

// Writes a metrics file as Python does: `used`, zero padding, entries, and
// the rest of 64 KiB zero.
inline void WriteDb(const std::string& path, ValueLayout layout,
                    const std::vector<RawEntry>& entries) {
  std::string data(format::kHeaderSize, '\0');
  for (const RawEntry& e : entries) {
    int32_t len = static_cast<int32_t>(e.key.size());
    data.append(reinterpret_cast<const char*>(&len), 4);
    data += e.key;
    data.append(format::PadLength(e.key.size()), ' ');
    data.append(reinterpret_cast<const char*>(&e.value), 8);
    if (layout == ValueLayout::k16) {
      data.append(reinterpret_cast<const char*>(&e.timestamp), 8);
    }
  }
  int32_t used = static_cast<int32_t>(data.size());
  std::memcpy(data.data(), &used, 4);
  if (data.size() < format::kInitialFileSize) {
    data.resize(format::kInitialFileSize, '\0');
  }
  WriteFile(path, data);
}

// promdir's merged view: "sample{labels}" -> value, leaving out families
// named in `skip`.
// The same of one scrape by `c` (stats into *stats if not null).
inline std::map<std::string, double> CollectorView(
    DirectoryCollector* c, ScrapeStats* stats = nullptr,
    const std::set<std::string>& skip = {}) {
  std::vector<MetricFamily> families;
  std::map<std::string, double> out;
  if (!c->Collect(&families, stats).ok()) return out;
  for (const MetricFamily& f : families) {
    if (skip.count(f.name)) continue;
    for (const Sample& s : f.samples) {
      std::string k = s.name + "{";
      Labels labels = s.labels;
      std::sort(labels.begin(), labels.end());
      for (const auto& [n, v] : labels) k += n + "=" + v + ",";
      out[k + "}"] = s.value;
    }
  }
  return out;
}

inline std::map<std::string, double> PromdirView(
    const std::string& dir, const std::set<std::string>& skip = {},
    LivenessMode liveness = LivenessMode::kAuto) {
  CollectorOptions o;
  o.directory = dir;
  o.liveness = liveness;
  DirectoryCollector c(o);
  return CollectorView(&c, nullptr, skip);
}

// Python's MultiProcessCollector on `dir`: one "sample{labels} value" line
// per sample, sorted, leaving out families named in `skip` (comma list).
inline std::map<std::string, double> PythonView(const std::string& dir,
                                                const std::string& skip = "") {
  std::string script =
      "import sys\n"
      "from prometheus_client import CollectorRegistry, multiprocess\n"
      "skip = set(x for x in sys.argv[2].split(',') if x)\n"
      "for m in multiprocess.MultiProcessCollector(None, "
      "path=sys.argv[1]).collect():\n"
      "    if m.name in skip: continue\n"
      "    for s in m.samples:\n"
      "        lab = ''.join('%s=%r,' % kv for kv in "
      "sorted(s.labels.items()))\n"
      "        print('%s{%s}\\t%r' % (s.name, lab, s.value))\n";
  TempDir tmp;
  WriteFile(tmp.File("view.py"), script);
  int rc = 0;
  std::string out =
      RunCommand(std::string(kPython) + " " + tmp.File("view.py") + " '" + dir +
                     "' '" + skip + "'",
                 "", &rc);
  std::map<std::string, double> view;
  if (rc != 0) {
    view["<python failed>"] = rc;
    return view;
  }
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    view[line.substr(0, tab)] = std::strtod(line.c_str() + tab + 1, nullptr);
  }
  return view;
}

// Equal keys, and values equal up to rounding of a different summation
// order (relative 1e-12). Returns "" or the first difference.
inline std::string DiffViews(const std::map<std::string, double>& want,
                             const std::map<std::string, double>& got) {
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end()) return "missing " + k;
    double g = it->second;
    bool same =
        (std::isnan(v) && std::isnan(g)) || v == g ||
        std::fabs(v - g) <= 1e-12 * std::max(std::fabs(v), std::fabs(g));
    if (!same) {
      return k + ": want " + std::to_string(v) + " got " + std::to_string(g);
    }
  }
  for (const auto& [k, v] : got) {
    if (!want.count(k)) return "unexpected " + k;
  }
  return "";
}

// Maintenance options for `dir`, everything else at its default.
inline MaintenanceOptions Options(const std::string& dir) {
  MaintenanceOptions o;
  o.directory = dir;
  return o;
}

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_COMPACT_UTIL_H_
