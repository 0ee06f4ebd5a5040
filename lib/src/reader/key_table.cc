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

}  // namespace

const std::vector<uint32_t>& KeyTable::Ranks() {
  if (ranks_.size() == series_.size()) return ranks_;
  // Sort keys made once per series, so comparisons are integer and memcmp
  // work: the family's rank by name; the labels without `le` as
  // "name\0value\0..." (comparing these compares the lists label by
  // label, name then value, a shorter list first); the suffix rank.
  std::vector<uint32_t> fam_order(families_.size());
  for (uint32_t i = 0; i < fam_order.size(); ++i) fam_order[i] = i;
  std::sort(fam_order.begin(), fam_order.end(), [&](uint32_t a, uint32_t b) {
    return families_[a] < families_[b];
  });
  std::vector<uint32_t> fam_rank(families_.size());
  for (uint32_t i = 0; i < fam_order.size(); ++i) fam_rank[fam_order[i]] = i;
  struct Key {
    uint32_t family;
    int suffix;
    size_t at, len;  // the labels in `arena`
  };
  std::string arena;
  std::vector<Key> keys(series_.size());
  for (uint32_t i = 0; i < series_.size(); ++i) {
    const Series& s = series_[i];
    Key& k = keys[i];
    k.family = fam_rank[s.family];
    k.suffix = SuffixRank(s.sample_name, families_[s.family]);
    k.at = arena.size();
    for (const auto& [name, value] : s.labels) {
      if (name == "le") continue;
      arena.append(name);
      arena.push_back('\0');
      arena.append(value);
      arena.push_back('\0');
    }
    k.len = arena.size() - k.at;
  }
  std::vector<uint32_t> order(series_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const Key& ka = keys[x];
    const Key& kb = keys[y];
    if (ka.family != kb.family) return ka.family < kb.family;
    std::string_view la(arena.data() + ka.at, ka.len);
    std::string_view lb(arena.data() + kb.at, kb.len);
    if (int c = la.compare(lb)) return c < 0;
    if (ka.suffix != kb.suffix) return ka.suffix < kb.suffix;
    const Series& a = series_[x];
    const Series& b = series_[y];
    if (a.sample_name != b.sample_name) return a.sample_name < b.sample_name;
    if (a.has_le != b.has_le) return a.has_le < b.has_le;
    double lea = std::isnan(a.le) ? HUGE_VAL : a.le;
    double leb = std::isnan(b.le) ? HUGE_VAL : b.le;
    if (lea != leb) return lea < leb;
    return x < y;
  });
  ranks_.assign(series_.size(), 0);
  for (uint32_t i = 0; i < order.size(); ++i) ranks_[order[i]] = i;
  order_ = std::move(order);
  return ranks_;
}

}  // namespace promdir::reader
