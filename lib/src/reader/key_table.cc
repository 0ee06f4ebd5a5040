#include "lib/src/reader/key_table.h"

#include <algorithm>
#include <cmath>

#include "lib/src/float_format.h"
#include "lib/src/reader/exposition_internal.h"

namespace promdir::reader {

namespace {

// The identity of a series in series_index_: family, sample name and
// labels, NUL-separated, skipping the label named `skip` (if any).
void AppendSeriesId(uint32_t family, std::string_view sample,
                    const LabelPairs& labels, std::string_view skip,
                    std::string* id) {
  id->clear();
  id->append(reinterpret_cast<const char*>(&family), sizeof family);
  id->append(sample);
  id->push_back('\0');
  for (const auto& [k, v] : labels) {
    if (!skip.empty() && k == skip) continue;
    id->append(k);
    id->push_back('\0');
    id->append(v);
    id->push_back('\0');
  }
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
  DecodedKey& k = scratch_;  // reused: its strings keep their capacity
  info.bad = CheckKey(key, FileType::kHistogram, &info.why, &k);
  if (info.bad == BadReason::kBadLe) {
    info.bad = BadReason::kNone;
    info.bad_le = true;
  }
  if (info.bad == BadReason::kNone) {
    info.family = InternFamily(k.metric_name);
    info.series = InternSeries(info.family, k.sample_name, k.labels);
    info.help = &*helps_.insert(k.help).first;  // one copy per distinct help
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
                                const LabelPairs& labels,
                                std::string_view skip) {
  AppendSeriesId(family, sample, labels, skip, &sid_);
  const uint32_t id = static_cast<uint32_t>(series_.size());
  auto [it, inserted] = series_index_.try_emplace(sid_, id);  // one hash
  if (!inserted) return it->second;
  Series& s = series_.emplace_back();  // a deque: references stay valid
  s.family = family;
  s.sample_name = std::string(sample);
  s.labels.reserve(labels.size());
  for (const auto& p : labels) {
    if (skip.empty() || p.first != skip) s.labels.push_back(p);
  }
  exposition::AppendSeries(s.sample_name, s.labels, &s.text);
  DeriveBucket(id);
  return id;
}

void KeyTable::DeriveBucket(uint32_t id) {
  // series_ is a deque, so these references survive the interning below.
  Series& s = series_[id];
  auto le = std::find_if(s.labels.begin(), s.labels.end(),
                         [](const auto& p) { return p.first == "le"; });
  if (le == s.labels.end()) return;
  std::optional<double> bound = ParsePythonFloat(le->second);
  if (!bound) return;
  const uint32_t family = s.family;
  const std::string& fname = families_[family];
  s.has_le = true;
  s.le = *bound;
  std::string canonical = GoFloat(*bound);
  uint32_t group = InternSeries(family, "", s.labels, "le");
  uint32_t count = InternSeries(family, fname + "_count", s.labels, "le");
  uint32_t bucket = id;
  if (le->second != canonical || s.sample_name != fname + "_bucket") {
    LabelPairs with = s.labels;
    for (auto& p : with) {
      if (p.first == "le") p.second = canonical;
    }
    bucket = InternSeries(family, fname + "_bucket", with);
  }
  s.bucket = bucket;
  s.group = group;
  s.count = count;
  Series& b = series_[bucket];
  b.has_le = true;
  b.le = *bound;
  b.bucket = bucket;
  b.group = group;
  b.count = count;
}

uint32_t KeyTable::WithoutPid(uint32_t id) {
  if (series_[id].without_pid != kNoId) return series_[id].without_pid;
  const Series& s = series_[id];
  bool has_pid = std::any_of(s.labels.begin(), s.labels.end(),
                             [](const auto& p) { return p.first == "pid"; });
  uint32_t result = id;
  if (has_pid) {
    result = InternSeries(s.family, s.sample_name, s.labels, "pid");
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
