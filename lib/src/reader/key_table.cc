#include "lib/src/reader/key_table.h"

#include <algorithm>

#include "lib/src/float_format.h"

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
  key_index_.emplace(std::string(key), id);
  keys_.emplace_back();
  KeyInfo info;
  // CheckKey with the histogram type also finds a non-numeric `le`; the
  // caller decides whether that matters (only in histogram files).
  info.bad = CheckKey(key, FileType::kHistogram, &info.why);
  if (info.bad == BadReason::kBadLe) {
    info.bad = BadReason::kNone;
    info.bad_le = true;
  }
  if (info.bad == BadReason::kNone) {
    DecodedKey k;
    DecodeKey(key, &k);
    info.family = InternFamily(k.metric_name);
    info.series = InternSeries(info.family, k.sample_name, k.labels);
    info.help = std::move(k.help);
  }
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

}  // namespace promdir::reader
