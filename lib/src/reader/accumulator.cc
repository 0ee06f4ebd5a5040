#include "lib/src/reader/accumulator.h"

#include <algorithm>

namespace promdir::merge_detail {

std::vector<FamilyState> FamilyStates(const reader::KeyTable& table,
                                      const std::vector<ScrapeFile>& files) {
  std::vector<FamilyState> fams(table.family_count());
  for (const ScrapeFile& f : files) {
    f.cache->ForEachFamily([&](uint32_t family, uint32_t key) {
      FamilyState& fs = fams[family];
      if (!fs.seen) {
        fs.seen = true;
        fs.type = f.name.type;
        fs.help_key = key;
      }
      if (f.name.type == FileType::kGauge) fs.mode = f.name.mode;
    });
  }
  return fams;
}

void Accumulator::Begin(reader::KeyTable* table) {
  // What each key merges into, whatever its family's type turns out to be
  // (interning the pid-less series first, before sizing the accumulators).
  for (uint32_t k = key_merge_.size(); k < table->key_count(); ++k) {
    const reader::KeyInfo& info = table->key(k);
    KeyMerge m{info.family, info.series, info.series, info.series};
    if (info.bad == reader::BadReason::kNone) {
      const reader::Series& s = table->series(info.series);
      if (s.has_le) m.histogram = s.bucket;
      m.gauge = table->WithoutPid(info.series);
    }
    key_merge_.push_back(m);
  }
  const size_t n = table->series_count();
  if (acc_.size() < n) {
    acc_.resize(n);
    acc_ts_.resize(n);
    stamp_.resize(n, 0);
  }
  if (++stamp_now_ == 0) {  // wrapped: no stale stamp may match
    std::fill(stamp_.begin(), stamp_.end(), 0);
    stamp_now_ = 1;
  }
  touched_.clear();
}

bool Accumulator::OwnTypes(const std::vector<FamilyState>& fams,
                           const CachedFile& cf, FileType type,
                           GaugeMode mode) {
  bool own = true;
  cf.ForEachFamily([&](uint32_t family, uint32_t) {
    const FamilyState& fs = fams[family];
    if (fs.type != type ||
        (type == FileType::kGauge && format::BaseMode(fs.mode) != mode)) {
      own = false;
    }
  });
  return own;
}

void Accumulator::AddGauge(GaugeMode mode, uint32_t s, uint32_t fi, double v,
                           double ts, std::vector<AllGaugeValue>* all) {
  switch (mode) {
    case GaugeMode::kMin:
      if (Touch(s) || v < acc_[s]) acc_[s] = v;
      break;
    case GaugeMode::kMax:
      if (Touch(s) || v > acc_[s]) acc_[s] = v;
      break;
    case GaugeMode::kMostRecent: {
      // The newest timestamp wins; entries without one (8-byte layout,
      // or never set) do not count.
      bool fresh = stamp_[s] != stamp_now_;
      if (ts > (fresh ? 0.0 : acc_ts_[s])) {
        Touch(s);
        acc_[s] = v;
        acc_ts_[s] = ts;
      }
      break;
    }
    default:  // all, liveall: one series per writer
      all->push_back({s, fi, v});
      break;
  }
}

void Accumulator::AddFile(const std::vector<FamilyState>& fams, uint32_t fi,
                          ScrapeFile& f, std::vector<AllGaugeValue>* all) {
  CachedFile* cf = f.cache;
  const FileType type = f.name.type;
  const GaugeMode mode = format::BaseMode(f.name.mode);
  if (!cf->entries) return;  // no entries
  EntryTable& table = *cf->entries;
  // (Equal unless two names share an inode and one was reparsed.)
  const size_t count = std::min<size_t>(cf->count, f.values.size());
  const bool own = OwnTypes(fams, *cf, type, mode);
  auto own_target = [&](uint32_t key) { return key_merge_[key].For(type); };
  // A table shared by files of one prefix keeps its targets, made once for
  // all of them; a file's own table is looked up as it is added.
  const bool materialize = own && cf->entries.use_count() > 1;
  if (materialize) {
    for (size_t i = table.targets.size(); i < table.keys.size(); ++i) {
      table.targets.push_back(own_target(table.keys[i]));
    }
  }
  const uint32_t* t = table.targets.data();
  const uint32_t* keys = table.keys.data();
  const double* v = f.values.data();
  const double* ts = f.timestamps.empty() ? nullptr : f.timestamps.data();
  const uint32_t now = stamp_now_;
  if (own && (type != FileType::kGauge || mode == GaugeMode::kSum)) {
    for (size_t i = 0; i < count; ++i) {
      uint32_t s = materialize ? t[i] : own_target(keys[i]);
      if (stamp_[s] != now) Touch(s);
      acc_[s] += v[i];
    }
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    FileType ftype = type;
    GaugeMode fmode = mode;
    uint32_t s;
    if (own) {
      s = materialize ? t[i] : own_target(keys[i]);
    } else {
      const KeyMerge& k = key_merge_[keys[i]];
      const FamilyState& fs = fams[k.family];
      ftype = fs.type;
      fmode = format::BaseMode(fs.mode);
      s = k.For(ftype);
    }
    if (ftype != FileType::kGauge || fmode == GaugeMode::kSum) {
      Touch(s);
      acc_[s] += v[i];
      continue;
    }
    AddGauge(fmode, s, fi, v[i], ts ? ts[i] : 0, all);
  }
}

}  // namespace promdir::merge_detail
