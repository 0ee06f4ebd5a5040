#include "lib/src/reader/key_table.h"

#include <algorithm>
#include <cmath>

#include "lib/src/float_format.h"
#include "lib/src/reader/exposition_internal.h"
#include "lib/src/reader/exposition_names.h"

namespace promdir::reader {

namespace {

uint32_t SeriesHash(uint32_t family, std::string_view text) {
  return KeyHash(text) ^ (family * 0x9e3779b9u);
}

}  // namespace

size_t KeyTable::memory_bytes() const {
  // Constant time: records, index slots and typical strings per item.
  size_t n = arena_.bytes_reserved();
  n += keys_.size() * (sizeof(KeyInfo) + 5 + 16);  // + key_family_, flags,
  n += series_.size() * (sizeof(Series) + 16);    // index slots
  n += families_.size() * (sizeof(std::string) + 32 + 16);
  n += helps_.size() * (sizeof(std::string) + 64 + 48);
  return n + (ranks_.capacity() + order_.capacity()) * sizeof(uint32_t);
}

uint32_t KeyTable::FindHashed(uint32_t h, std::string_view key) const {
  uint32_t found = key_index_.Find(
      h, [&](uint32_t id) { return keys_[id].bytes == key; });
  return found == FlatIndex::kAbsent ? kNoId : found;
}

uint32_t KeyTable::Find(std::string_view key) const {
  return FindHashed(KeyHash(key), key);
}

uint32_t KeyTable::Intern(std::string_view key) {
  const uint32_t h = KeyHash(key);
  uint32_t found = FindHashed(h, key);
  if (found != kNoId) return found;
  const uint32_t id = static_cast<uint32_t>(keys_.size());
  KeyInfo& info = keys_.emplace_back();
  info.bytes = arena_.Copy(key);
  key_index_.Insert(h, id);
  // CheckKey with the histogram type also finds a non-numeric `le`; the
  // caller decides whether that matters (only in histogram files).
  DecodedKeyView& k = scratch_;  // reused: its buffers keep their capacity
  info.bad = CheckKey(key, FileType::kHistogram, &info.why, &k);
  if (info.bad == BadReason::kBadLe) {
    info.bad = BadReason::kNone;
    info.bad_le = true;
  }
  if (info.bad == BadReason::kNone) {
    info.family = InternFamily(k.metric_name);
    info.series = InternSeries(info.family, k.sample_name, k.labels);
    info.help = Help(k.help);
  }
  key_family_.push_back(info.family);
  key_flags_.push_back((info.bad != BadReason::kNone ? kBadFlag : 0) |
                       (info.bad_le ? kBadLeFlag : 0));
  return id;
}

const std::string* KeyTable::Help(std::string_view help) {
  auto it = help_index_.find(help);
  if (it != help_index_.end()) return it->second;
  const std::string* stored = &helps_.emplace_back(help);
  help_index_.emplace(*stored, stored);
  return stored;
}

uint32_t KeyTable::InternFamily(std::string_view name) {
  const uint32_t h = KeyHash(name);
  uint32_t found = family_index_.Find(
      h, [&](uint32_t id) { return families_[id] == name; });
  if (found != FlatIndex::kAbsent) return found;
  const uint32_t id = static_cast<uint32_t>(families_.size());
  families_.emplace_back(name);
  family_index_.Insert(h, id);
  return id;
}

uint32_t KeyTable::InternSeries(uint32_t family, std::string_view sample,
                                std::span<const LabelView> labels,
                                std::string_view skip) {
  // The exposed text names the series: legacy label names are identifiers
  // and values are escaped, so distinct (sample, labels) give distinct texts.
  std::span<const LabelView> use = labels;
  if (!skip.empty()) {
    kept_.clear();
    for (const LabelView& p : labels) {
      if (p.first != skip) kept_.push_back(p);
    }
    use = kept_;
  }
  // A series with a name that is not a legacy one is named by its quoted
  // text ({"a.b","c d"="v"}), which is as unambiguous.
  bool legacy = sample.empty() || exposition::IsLegacyMetricName(sample);
  for (const LabelView& p : use) {
    legacy = legacy && exposition::IsLegacyLabelName(p.first);
  }
  text_.clear();
  exposition::AppendSeries(
      legacy ? NameEscaping::kUnderscores : NameEscaping::kAllowUtf8, sample,
      use, &text_);
  const uint32_t h = SeriesHash(family, text_);
  uint32_t found = series_index_.Find(h, [&](uint32_t id) {
    return series_[id].family == family && series_[id].text == text_;
  });
  if (found != FlatIndex::kAbsent) return found;
  const uint32_t id = static_cast<uint32_t>(series_.size());
  Series& s = series_.emplace_back();  // chunked: references stay valid
  s.family = family;
  s.legacy = legacy;
  s.text = arena_.Copy(text_);
  if (!legacy) {
    // Names and values are copied: the text quotes them.
    s.sample_name = arena_.Copy(sample);
    if (!use.empty()) {
      auto* copy = static_cast<LabelView*>(arena_.Allocate(
          use.size() * sizeof(LabelView), alignof(LabelView)));
      for (size_t i = 0; i < use.size(); ++i) {
        new (copy + i) LabelView(arena_.Copy(use[i].first),
                                 arena_.Copy(use[i].second));
      }
      s.labels = {copy, use.size()};
    }
  } else {
    s.sample_name = s.text.substr(0, sample.size());
  }
  if (legacy && !use.empty()) {
    // Label names, and values that need no escaping, are viewed in the
    // text itself: `sample{name="value",...}`.
    auto* copy = static_cast<LabelView*>(
        arena_.Allocate(use.size() * sizeof(LabelView), alignof(LabelView)));
    size_t at = sample.size() + 1;
    for (size_t i = 0; i < use.size(); ++i) {
      const auto& [name, value] = use[i];
      std::string_view n = s.text.substr(at, name.size());
      at += name.size() + 2;
      size_t escaped = value.size();
      for (char c : value) escaped += c == '\\' || c == '\n' || c == '"';
      std::string_view v = escaped == value.size()
                               ? s.text.substr(at, value.size())
                               : arena_.Copy(value);
      at += escaped + 2;
      new (copy + i) LabelView(n, v);
    }
    s.labels = {copy, use.size()};
  }
  series_index_.Insert(h, id);
  DeriveBucket(id);  // may intern more series: text_ and kept_ are done
  return id;
}

void KeyTable::DeriveBucket(uint32_t id) {
  // Series never move, so this reference survives the interning below.
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
  if (bucketed_.size() <= family) bucketed_.resize(family + 1, false);
  bucketed_[family] = true;
  uint32_t group = InternSeries(family, "", s.labels, "le");
  count_name_.assign(fname).append("_count");
  uint32_t count = InternSeries(family, count_name_, s.labels, "le");
  uint32_t bucket = id;
  std::string canonical = GoFloat(*bound);
  const bool bucket_name = s.sample_name.size() == fname.size() + 7 &&
                           s.sample_name.starts_with(fname) &&
                           s.sample_name.ends_with("_bucket");
  if (le->second != canonical || !bucket_name) {
    std::vector<LabelView> with(s.labels.begin(), s.labels.end());
    for (auto& p : with) {
      if (p.first == "le") p.second = canonical;
    }
    bucket_name_.assign(fname).append("_bucket");
    bucket = InternSeries(family, bucket_name_, with);
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

// client_python's order: a histogram series gives _sum, its buckets, then
// _count; a summary _count, then _sum.
int SuffixRank(std::string_view sample, std::string_view family,
               bool histogram) {
  if (sample.size() > family.size() && sample.starts_with(family)) {
    std::string_view suffix = sample.substr(family.size());
    if (suffix == "_sum") return histogram ? 0 : 2;
    if (suffix == "_bucket") return 1;
    if (suffix == "_count") return histogram ? 2 : 1;
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
    k.suffix = SuffixRank(s.sample_name, families_[s.family],
                          s.family < bucketed_.size() && bucketed_[s.family]);
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
