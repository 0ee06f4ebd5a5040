#include "lib/src/reader/plan_builder.h"

#include <algorithm>

#include "lib/src/reader/exposition_internal.h"
#include "lib/src/utf8.h"

namespace promdir::merge_detail {

using reader::kNoId;

struct PlanBuilder::Scrape {
  reader::KeyTable& table;
  const std::vector<FamilyState>& fams;
  const std::vector<ScrapeFile>& files;
  Accumulator& acc;
  std::vector<AllGaugeValue>& all;
  Plan* plan;
  ScrapeStats* stats;
  const std::vector<uint32_t>* rank = nullptr;
  std::vector<std::vector<uint32_t>> fam_series{};  // touched, by family
  std::vector<std::vector<uint32_t>> all_by_family{};  // indexes into all
  std::vector<uint32_t> writer_of{};  // per file: index into plan->writers
};

void PlanBuilder::Build(const std::shared_ptr<reader::KeyTable>& table,
                        const std::vector<FamilyState>& fams,
                        const std::vector<ScrapeFile>& files,
                        Accumulator* acc, std::vector<AllGaugeValue>* all,
                        Plan* plan, ScrapeStats* stats) {
  plan->table = table;
  Scrape s{*table, fams, files, *acc, *all, plan, stats};
  s.rank = &table->Ranks();
  TouchCounts(&s);
  SeriesByFamily(&s);
  AllGaugeWinners(&s);
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < fams.size(); ++i) {
    if (fams[i].seen) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return table->family_name(a) < table->family_name(b);
  });
  s.writer_of.assign(files.size(), kNoId);
  plan->families.reserve(order.size());
  for (uint32_t fid : order) AddFamily(&s, fid);
}

void PlanBuilder::TouchCounts(Scrape* s) {
  // Each histogram group gets its _count (replacing any _count from the
  // files), computed in AddHistogramSamples from the buckets.
  std::vector<uint32_t>& touched = s->acc.touched();
  const size_t direct = touched.size();
  for (size_t i = 0; i < direct; ++i) {
    const Series& series = s->table.series(touched[i]);
    if (series.has_le && s->fams[series.family].type == FileType::kHistogram) {
      s->acc.Touch(series.count);
    }
  }
}

void PlanBuilder::SeriesByFamily(Scrape* s) {
  // (Families sorted by name; samples by labels, then sum, buckets by
  // `le`, count.) Few touched series are sorted; many are picked out of
  // the table's rank order.
  const reader::KeyTable& table = s->table;
  const std::vector<uint32_t>& rank = *s->rank;
  std::vector<uint32_t>& touched = s->acc.touched();
  const size_t n = table.series_count();
  s->fam_series.resize(s->fams.size());
  if (touched.size() * 8 < n) {
    std::sort(touched.begin(), touched.end(),
              [&](uint32_t a, uint32_t b) { return rank[a] < rank[b]; });
    for (uint32_t sid : touched) {
      s->fam_series[table.series(sid).family].push_back(sid);
    }
    return;
  }
  const std::vector<uint32_t>& by_rank = s->table.RankOrder();
  rank_mark_.resize(n, 0);
  for (uint32_t sid : touched) rank_mark_[rank[sid]] = 1;
  for (uint32_t r = 0; r < n; ++r) {
    if (!rank_mark_[r]) continue;
    rank_mark_[r] = 0;
    uint32_t sid = by_rank[r];
    s->fam_series[table.series(sid).family].push_back(sid);
  }
}

void PlanBuilder::AllGaugeWinners(Scrape* s) {
  // The last value per (series, writer id) wins. Writer ids are compared
  // by their rank among this scrape's files.
  const std::vector<ScrapeFile>& files = s->files;
  const std::vector<uint32_t>& rank = *s->rank;
  std::vector<AllGaugeValue>& all = s->all;
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
  std::sort(all.begin(), all.end(),
            [&](const AllGaugeValue& a, const AllGaugeValue& b) {
              if (a.series != b.series) return rank[a.series] < rank[b.series];
              if (id_rank[a.file] != id_rank[b.file]) {
                return id_rank[a.file] < id_rank[b.file];
              }
              return a.file < b.file;
            });
  s->all_by_family.resize(s->fams.size());
  for (uint32_t i = 0; i < all.size(); ++i) {
    bool last = i + 1 == all.size() || all[i + 1].series != all[i].series ||
                id_rank[all[i + 1].file] != id_rank[all[i].file];
    if (last) {
      s->all_by_family[s->table.series(all[i].series).family].push_back(i);
    }
  }
}

void PlanBuilder::AddFamily(Scrape* s, uint32_t fid) {
  const FamilyState& fs = s->fams[fid];
  const std::vector<uint32_t>& list = s->fam_series[fid];
  PlanFamily pf;
  pf.name = &s->table.family_name(fid);
  pf.help = s->table.key(fs.help_key).help;
  if (!IsStrictUtf8(*pf.name)) {  // (its series say so, once each)
    for (uint32_t sid : list) SeriesIsUtf8(s->table, sid, s->stats);
    return;
  }
  static const std::string kNoHelp;
  if (!IsStrictUtf8(*pf.help)) pf.help = &kNoHelp;
  pf.type = TypeOf(fs.type);
  pf.samples.reserve(list.size() + s->all_by_family[fid].size());
  if (fs.type == FileType::kHistogram) {
    AddHistogramSamples(s, fid, &pf);
  } else {
    for (uint32_t sid : list) {
      if (!SeriesIsUtf8(s->table, sid, s->stats)) continue;
      pf.samples.push_back(
          PlanSample{&s->table.series(sid), s->acc.value(sid), kNoId, 0});
    }
    AddAllGaugeSamples(s, fid, &pf);
  }
  s->plan->families.push_back(std::move(pf));
}

void PlanBuilder::AddHistogramSamples(Scrape* s, uint32_t fid,
                                      PlanFamily* pf) {
  // Each group's _count is the total of its buckets; buckets are
  // accumulated in `le` order.
  const std::vector<uint32_t>& list = s->fam_series[fid];
  double running = 0;
  uint32_t group = kNoId;
  for (uint32_t sid : list) {
    const Series& series = s->table.series(sid);
    if (!series.has_le) continue;
    if (series.group != group) running = 0;
    group = series.group;
    running += s->acc.value(sid);
    s->acc.value(series.count) = running;
  }
  running = 0;
  group = kNoId;
  for (uint32_t sid : list) {
    const Series& series = s->table.series(sid);
    double v = s->acc.value(sid);
    if (series.has_le) {
      if (series.group != group) running = 0;
      group = series.group;
      running += v;
      v = running;
    }
    if (SeriesIsUtf8(s->table, sid, s->stats)) {
      pf->samples.push_back(PlanSample{&series, v, kNoId, 0});
    }
  }
}

void PlanBuilder::AddAllGaugeSamples(Scrape* s, uint32_t fid,
                                     PlanFamily* pf) {
  Plan* plan = s->plan;
  for (uint32_t i : s->all_by_family[fid]) {
    const AllGaugeValue& a = s->all[i];
    if (!SeriesIsUtf8(s->table, a.series, s->stats)) continue;
    uint32_t& writer = s->writer_of[a.file];
    const format::FileName& name = s->files[a.file].name;
    if (writer == kNoId && !IsStrictUtf8(name.id)) {
      // The file's id is its samples' `pid` label.
      writer = kBadWriter;
      if (bad_writer_ids_.insert(name.id).second) {
        s->stats->new_invalid_series.push_back(
            "pid=\"" + ShowBytes(name.id) + "\" (the id of " +
            ShowBytes(name.ToString()) + ")");
      }
    }
    if (writer == kBadWriter) {
      ++s->stats->invalid_series;
      continue;
    }
    if (writer == kNoId) {
      writer = static_cast<uint32_t>(plan->writers.size());
      plan->writers.push_back(name.id);
      std::string label;
      exposition::AppendSeries(NameEscaping::kUnderscores, "",
                               Labels{{"pid", name.id}}, &label);
      plan->writer_labels.push_back(label.substr(1, label.size() - 2));
    }
    pf->samples.push_back(PlanSample{&s->table.series(a.series), a.value,
                                     writer, PidSplit(s->table, a.series)});
  }
}

bool PlanBuilder::SeriesIsUtf8(const reader::KeyTable& table, uint32_t sid,
                               ScrapeStats* stats) {
  if (sid >= series_utf8_.size()) series_utf8_.resize(sid + 1, 0);
  if (series_utf8_[sid] == 0) {
    const Series& s = table.series(sid);
    const bool ok = IsStrictUtf8(s.text);
    series_utf8_[sid] = ok ? 1 : 2;
    if (!ok) stats->new_invalid_series.push_back(ShowBytes(s.text));
  }
  if (series_utf8_[sid] == 1) return true;
  ++stats->invalid_series;
  return false;
}

uint32_t PlanBuilder::PidSplit(const reader::KeyTable& table, uint32_t sid) {
  if (pid_split_.size() <= sid) pid_split_.resize(table.series_count(), kNoId);
  if (pid_split_[sid] != kNoId) return pid_split_[sid];
  const Series& s = table.series(sid);
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

}  // namespace promdir::merge_detail
