// Adding up a scrape's files into the merged series, in exposition order.
#include "lib/src/reader/merge_internal.h"
#include "lib/src/utf8.h"

#include <algorithm>

#include "lib/src/reader/exposition_internal.h"

namespace promdir {

using merge_detail::PlanFamily;
using merge_detail::PlanSample;
using merge_detail::TypeOf;


uint32_t DirectoryCollector::Impl::PidSplit(uint32_t sid) {
  if (pid_split_.size() <= sid) pid_split_.resize(table_->series_count(), kNoId);
  if (pid_split_[sid] != kNoId) return pid_split_[sid];
  const Series& s = table_->series(sid);
  auto after = std::find_if(s.labels.begin(), s.labels.end(),
                            [](const auto& p) { return p.first > "pid"; });
  uint32_t split = 0;
  if (after == s.labels.end()) {
    split = static_cast<uint32_t>(s.text.size() - 1);  // before '}'
  } else if (after == s.labels.begin()) {
    split = static_cast<uint32_t>(s.sample_name.size() + 1);  // after '{'
  } else {
    std::string head;
    exposition::AppendSeries(NameEscaping::kUnderscores, s.sample_name,
                             s.labels.first(after - s.labels.begin()), &head);
    split = static_cast<uint32_t>(head.size());  // after the ','
  }
  pid_split_[sid] = split;
  return split;
}

void DirectoryCollector::Impl::MergeFile(const std::vector<FamilyState>& fams,
                                         uint32_t fi, ScrapeFile& f,
                                         std::vector<AllGaugeValue>* all) {
  CachedFile* cf = f.cache;
  const FileType type = f.name.type;
  const GaugeMode mode = format::BaseMode(f.name.mode);
  if (!cf->entries) return;  // no entries
  EntryTable& table = *cf->entries;
  // (Equal unless two names share an inode and one was reparsed.)
  const size_t count = std::min<size_t>(cf->count, f.values.size());
  // Every family of the file merged under the file's own type and mode (as
  // always, unless two clients disagree on a family): the precomputed
  // targets apply.
  bool own = true;
  cf->ForEachFamily([&](uint32_t family, uint32_t) {
    const FamilyState& fs = fams[family];
    if (fs.type != type ||
        (type == FileType::kGauge && format::BaseMode(fs.mode) != mode)) {
      own = false;
    }
  });
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
      const KeyMerge& k = key_merge_[table.keys[i]];
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
    switch (fmode) {
      case GaugeMode::kMin:
        if (Touch(s) || v[i] < acc_[s]) acc_[s] = v[i];
        break;
      case GaugeMode::kMax:
        if (Touch(s) || v[i] > acc_[s]) acc_[s] = v[i];
        break;
      case GaugeMode::kMostRecent: {
        // The newest timestamp wins; entries without one (8-byte layout,
        // or never set) do not count.
        double when = ts ? ts[i] : 0;
        bool fresh = stamp_[s] != now;
        if (when > (fresh ? 0.0 : acc_ts_[s])) {
          Touch(s);
          acc_[s] = v[i];
          acc_ts_[s] = when;
        }
        break;
      }
      default:  // all, liveall: one series per writer
        all->push_back({s, fi, v[i]});
        break;
    }
  }
}

bool DirectoryCollector::Impl::SeriesIsUtf8(uint32_t sid, ScrapeStats* stats) {
  if (sid >= series_utf8_.size()) series_utf8_.resize(sid + 1, 0);
  if (series_utf8_[sid] == 0) {
    const Series& s = table_->series(sid);
    const bool ok = IsStrictUtf8(s.text);
    series_utf8_[sid] = ok ? 1 : 2;
    if (!ok) stats->new_invalid_series.push_back(ShowBytes(s.text));
  }
  if (series_utf8_[sid] == 1) return true;
  ++stats->invalid_series;
  return false;
}

void DirectoryCollector::Impl::Merge(std::vector<ScrapeFile>& files,
                                     Plan* plan, ScrapeStats* stats) {
  plan->table = table_;
  std::vector<FamilyState> fams(table_->family_count());
  // Type and help from the first file that names the family; the gauge
  // mode from the last gauge file that does (as Python's collector).
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
  // What each key merges into, whatever its family's type turns out to be
  // (interning the pid-less series first, before sizing the accumulators).
  for (uint32_t k = key_merge_.size(); k < table_->key_count(); ++k) {
    const KeyInfo& info = table_->key(k);
    KeyMerge m{info.family, info.series, info.series, info.series};
    if (info.bad == BadReason::kNone) {
      const Series& s = table_->series(info.series);
      if (s.has_le) m.histogram = s.bucket;
      m.gauge = table_->WithoutPid(info.series);
    }
    key_merge_.push_back(m);
  }
  const size_t n = table_->series_count();
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
  // New series need a new exposition order: sort them on another thread
  // while this one adds up the values (nothing below adds series).
  reader::Executor::Group sorter(&executor_);
  if (!table_->RanksCurrent()) sorter.Spawn([this] { table_->Ranks(); });
  std::vector<AllGaugeValue> all;
  for (uint32_t fi = 0; fi < files.size(); ++fi) {
    MergeFile(fams, fi, files[fi], &all);
  }
  // Each histogram group gets its _count (replacing any _count from the
  // files), computed below from the buckets.
  const size_t direct = touched_.size();
  for (size_t i = 0; i < direct; ++i) {
    const Series& s = table_->series(touched_[i]);
    if (s.has_le && fams[s.family].type == FileType::kHistogram) {
      Touch(s.count);
    }
  }

  // Touched series by family, each list in rank order (families sorted by
  // name; samples by labels, then sum, buckets by `le`, count).
  sorter.Wait();
  const std::vector<uint32_t>& rank = table_->Ranks();
  const std::vector<uint32_t>& by_rank = table_->RankOrder();
  std::vector<std::vector<uint32_t>> fam_series(fams.size());
  if (touched_.size() * 8 < n) {
    std::sort(touched_.begin(), touched_.end(),
              [&](uint32_t a, uint32_t b) { return rank[a] < rank[b]; });
    for (uint32_t sid : touched_) {
      fam_series[table_->series(sid).family].push_back(sid);
    }
  } else {
    rank_mark_.resize(n, 0);
    for (uint32_t sid : touched_) rank_mark_[rank[sid]] = 1;
    for (uint32_t r = 0; r < n; ++r) {
      if (!rank_mark_[r]) continue;
      rank_mark_[r] = 0;
      uint32_t sid = by_rank[r];
      fam_series[table_->series(sid).family].push_back(sid);
    }
  }
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < fams.size(); ++i) {
    if (fams[i].seen) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return table_->family_name(a) < table_->family_name(b);
  });

  // all / liveall: the last value per (series, writer id) wins. Writer ids
  // are compared by their rank among this scrape's files.
  std::vector<uint32_t> id_rank(files.size(), 0);
  if (!all.empty()) {
    std::vector<uint32_t> by_id(files.size());
    for (uint32_t i = 0; i < by_id.size(); ++i) by_id[i] = i;
    std::sort(by_id.begin(), by_id.end(), [&](uint32_t a, uint32_t b) {
      return files[a].name.id < files[b].name.id;
    });
    for (uint32_t i = 1; i < by_id.size(); ++i) {
      bool same = files[by_id[i]].name.id == files[by_id[i - 1]].name.id;
      id_rank[by_id[i]] = id_rank[by_id[i - 1]] + (same ? 0 : 1);
    }
  }
  std::sort(all.begin(), all.end(), [&](const AllGaugeValue& a, const AllGaugeValue& b) {
    if (a.series != b.series) return rank[a.series] < rank[b.series];
    if (id_rank[a.file] != id_rank[b.file]) return id_rank[a.file] < id_rank[b.file];
    return a.file < b.file;
  });
  std::vector<std::vector<uint32_t>> all_by_family(fams.size());
  for (uint32_t i = 0; i < all.size(); ++i) {
    bool last = i + 1 == all.size() || all[i + 1].series != all[i].series ||
                id_rank[all[i + 1].file] != id_rank[all[i].file];
    if (last) all_by_family[table_->series(all[i].series).family].push_back(i);
  }
  std::vector<uint32_t> writer_of(files.size(), kNoId);

  plan->families.reserve(order.size());
  for (uint32_t fid : order) {
    const FamilyState& fs = fams[fid];
    const std::vector<uint32_t>& list = fam_series[fid];
    PlanFamily pf;
    pf.name = &table_->family_name(fid);
    pf.help = table_->key(fs.help_key).help;
    if (!IsStrictUtf8(*pf.name)) {  // (its series say so, once each)
      for (uint32_t sid : list) SeriesIsUtf8(sid, stats);
      continue;
    }
    static const std::string kNoHelp;
    if (!IsStrictUtf8(*pf.help)) pf.help = &kNoHelp;
    pf.type = TypeOf(fs.type);
    pf.samples.reserve(list.size() + all_by_family[fid].size());
    if (fs.type == FileType::kHistogram) {
      // Each group's _count is the total of its buckets; buckets are
      // accumulated in `le` order.
      double running = 0;
      uint32_t group = kNoId;
      for (uint32_t sid : list) {
        const Series& s = table_->series(sid);
        if (!s.has_le) continue;
        if (s.group != group) running = 0;
        group = s.group;
        running += acc_[sid];
        acc_[s.count] = running;
      }
      running = 0;
      group = kNoId;
      for (uint32_t sid : list) {
        const Series& s = table_->series(sid);
        double v = acc_[sid];
        if (s.has_le) {
          if (s.group != group) running = 0;
          group = s.group;
          running += v;
          v = running;
        }
        if (SeriesIsUtf8(sid, stats)) {
          pf.samples.push_back(PlanSample{&s, v, kNoId, 0});
        }
      }
    } else {
      for (uint32_t sid : list) {
        if (!SeriesIsUtf8(sid, stats)) continue;
        pf.samples.push_back(PlanSample{&table_->series(sid), acc_[sid], kNoId, 0});
      }
      for (uint32_t i : all_by_family[fid]) {
        const AllGaugeValue& a = all[i];
        if (!SeriesIsUtf8(a.series, stats)) continue;
        if (writer_of[a.file] == kNoId &&
            !IsStrictUtf8(files[a.file].name.id)) {
          // The file's id is its samples' `pid` label.
          writer_of[a.file] = kBadWriter;
          const std::string& id = files[a.file].name.id;
          if (bad_writer_ids_.insert(id).second) {
            stats->new_invalid_series.push_back(
                "pid=\"" + ShowBytes(id) + "\" (the id of " +
                ShowBytes(files[a.file].name.ToString()) + ")");
          }
        }
        if (writer_of[a.file] == kBadWriter) {
          ++stats->invalid_series;
          continue;
        }
        if (writer_of[a.file] == kNoId) {
          writer_of[a.file] = static_cast<uint32_t>(plan->writers.size());
          const std::string& id = files[a.file].name.id;
          plan->writers.push_back(id);
          std::string label;
          exposition::AppendSeries(NameEscaping::kUnderscores, "",
                                   Labels{{"pid", id}}, &label);
          plan->writer_labels.push_back(label.substr(1, label.size() - 2));
        }
        pf.samples.push_back(PlanSample{&table_->series(a.series), a.value,
                                        writer_of[a.file], PidSplit(a.series)});
      }
    }
    plan->families.push_back(std::move(pf));
  }
}

}  // namespace promdir
