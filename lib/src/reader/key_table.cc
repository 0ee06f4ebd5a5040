#include "lib/src/reader/key_table.h"

#include <algorithm>
#include <cmath>

#include "lib/src/float_format.h"
#include "lib/src/reader/exposition_internal.h"

namespace promdir::reader {

namespace {

std::string SeriesId(uint32_t family, std::string_view sample,
                     const LabelPairs& labels) {
  std::string id(reinterpret_cast<const char*>(&family), sizeof family);
  id.append(sample);
  id.push_back('\0');
  for (const auto& [k, v] : labels) {
    id.append(k);
    id.push_back('\0');
    id.append(v);
    id.push_back('\0');
  }
  return id;
}

}  // namespace

uint32_t KeyTable::Intern(std::string_view key) {
  auto it = key_index_.find(key);
  if (it != key_index_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(keys_.size());
  auto node = key_index_.emplace(std::string(key), id).first;
  keys_.emplace_back();
  KeyInfo info;
  info.bytes = node->first;  // nodes never move
  // CheckKey with the histogram type also finds a non-numeric `le`; the
  // caller decides whether that matters (only in histogram files).
  DecodedKey k;
  info.bad = CheckKey(key, FileType::kHistogram, &info.why, &k);
  if (info.bad == BadReason::kBadLe) {
    info.bad = BadReason::kNone;
    info.bad_le = true;
  }
  if (info.bad == BadReason::kNone) {
    info.family = InternFamily(k.metric_name);
    info.series = InternSeries(info.family, k.sample_name, k.labels);
    info.help = std::move(k.help);
  }
  key_family_.push_back(info.family);
  key_flags_.push_back((info.bad != BadReason::kNone ? kBadFlag : 0) |
                       (info.bad_le ? kBadLeFlag : 0));
  keys_[id] = std::move(info);
  return id;
}

uint32_t KeyTable::InternFamily(std::string_view name) {
  auto it = family_index_.find(name);
  if (it != family_index_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(families_.size());
  families_.emplace_back(name);
  family_index_.emplace(std::string(name), id);
  return id;
}

uint32_t KeyTable::InternSeries(uint32_t family, std::string_view sample,
                                const LabelPairs& labels) {
  std::string sid = SeriesId(family, sample, labels);
  auto it = series_index_.find(sid);
  if (it != series_index_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(series_.size());
  series_index_.emplace(std::move(sid), id);
  Series s;
  s.family = family;
  s.sample_name = std::string(sample);
  s.labels = labels;
  exposition::AppendSeries(s.sample_name, s.labels, &s.text);
  series_.push_back(std::move(s));
  DeriveBucket(id);
  return id;
}

void KeyTable::DeriveBucket(uint32_t id) {
  // A copy: interning below may move series_.
  const LabelPairs labels = series_[id].labels;
  auto le = std::find_if(labels.begin(), labels.end(),
                         [](const auto& p) { return p.first == "le"; });
  if (le == labels.end()) return;
  std::optional<double> bound = ParsePythonFloat(le->second);
  if (!bound) return;
  uint32_t family = series_[id].family;
  const std::string sample = series_[id].sample_name;
  std::string canonical = GoFloat(*bound);
  LabelPairs without;
  for (const auto& p : labels) {
    if (p.first != "le") without.push_back(p);
  }
  series_[id].has_le = true;
  series_[id].le = *bound;
  const std::string fname = families_[family];
  uint32_t group = InternSeries(family, "", without);
  uint32_t count = InternSeries(family, fname + "_count", without);
  uint32_t bucket = id;
  if (le->second != canonical || sample != fname + "_bucket") {
    LabelPairs with = labels;
    for (auto& p : with) {
      if (p.first == "le") p.second = canonical;
    }
    bucket = InternSeries(family, fname + "_bucket", with);
  }
  series_[id].bucket = bucket;
  series_[id].group = group;
  series_[id].count = count;
  series_[bucket].has_le = true;
  series_[bucket].le = *bound;
  series_[bucket].bucket = bucket;
  series_[bucket].group = group;
  series_[bucket].count = count;
}

uint32_t KeyTable::WithoutPid(uint32_t id) {
  if (series_[id].without_pid != kNoId) return series_[id].without_pid;
  const Series& s = series_[id];
  bool has_pid = std::any_of(s.labels.begin(), s.labels.end(),
                             [](const auto& p) { return p.first == "pid"; });
  uint32_t result = id;
  if (has_pid) {
    LabelPairs without;
    for (const auto& p : s.labels) {
      if (p.first != "pid") without.push_back(p);
    }
    uint32_t family = s.family;
    std::string sample = s.sample_name;
    result = InternSeries(family, sample, without);
  }
  series_[id].without_pid = result;
  return result;
}

namespace {

int SuffixRank(std::string_view sample, std::string_view family) {
  if (sample.size() > family.size() && sample.starts_with(family)) {
    std::string_view suffix = sample.substr(family.size());
    if (suffix == "_bucket") return 0;
    if (suffix == "_count") return 1;
    if (suffix == "_sum") return 2;
  }
  return 3;
}

// Compares label lists, skipping `le`.
int CompareWithoutLe(const LabelPairs& a, const LabelPairs& b) {
  auto ia = a.begin(), ib = b.begin();
  while (true) {
    while (ia != a.end() && ia->first == "le") ++ia;
    while (ib != b.end() && ib->first == "le") ++ib;
    if (ia == a.end() || ib == b.end()) {
      return (ia == a.end() ? 0 : 1) - (ib == b.end() ? 0 : 1);
    }
    if (int c = ia->first.compare(ib->first)) return c;
    if (int c = ia->second.compare(ib->second)) return c;
    ++ia;
    ++ib;
  }
}

}  // namespace

const std::vector<uint32_t>& KeyTable::Ranks() {
  if (ranks_.size() == series_.size()) return ranks_;
  std::vector<uint32_t> order(series_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const Series& a = series_[x];
    const Series& b = series_[y];
    if (a.family != b.family) {
      return families_[a.family] < families_[b.family];
    }
    if (int c = CompareWithoutLe(a.labels, b.labels)) return c < 0;
    const std::string& f = families_[a.family];
    int ra = SuffixRank(a.sample_name, f), rb = SuffixRank(b.sample_name, f);
    if (ra != rb) return ra < rb;
    if (a.sample_name != b.sample_name) return a.sample_name < b.sample_name;
    if (a.has_le != b.has_le) return a.has_le < b.has_le;
    double la = std::isnan(a.le) ? HUGE_VAL : a.le;
    double lb = std::isnan(b.le) ? HUGE_VAL : b.le;
    if (la != lb) return la < lb;
    return x < y;
  });
  ranks_.assign(series_.size(), 0);
  for (uint32_t i = 0; i < order.size(); ++i) ranks_[order[i]] = i;
  order_ = std::move(order);
  return ranks_;
}

}  // namespace promdir::reader
