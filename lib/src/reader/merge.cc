#include "promdir/merge.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <set>
#include <unordered_map>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/exposition_internal.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/key_table.h"
#include "lib/src/reader/liveness_internal.h"
#include "promdir/liveness.h"

namespace promdir {

using reader::BadReason;
using reader::kNoId;
using reader::KeyInfo;
using reader::ReadError;
using reader::Series;

namespace {

struct FileId {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool operator==(const FileId&) const = default;
};

struct FileIdHash {
  size_t operator()(const FileId& f) const {
    return std::hash<uint64_t>()(f.inode * 0x9e3779b97f4a7c15ull ^ f.device);
  }
};

// What the engine keeps of one file between scrapes. Files only append, so
// the entries parsed up to `parsed` stay valid while the file keeps its
// device, inode and name.
struct CachedFile {
  std::string name;
  bool layout_known = false;
  ValueLayout layout = ValueLayout::k16;
  uint64_t parsed = format::kHeaderSize;
  std::vector<uint32_t> keys;     // key id of each entry
  std::vector<uint32_t> offsets;  // value offset of each entry
  // The families of the file in order of first appearance, with the key
  // that first named each (its help is the family's help).
  std::vector<std::pair<uint32_t, uint32_t>> families;
  uint64_t generation = 0;
};

// One file merged by this scrape.
struct ScrapeFile {
  const CachedFile* cache = nullptr;
  format::FileName name;
  std::vector<double> values;
  std::vector<double> timestamps;  // empty in the 8-byte layout
};

struct FamilyState {
  bool seen = false;
  FileType type = FileType::kCounter;
  GaugeMode mode = GaugeMode::kNone;
  uint32_t help_key = kNoId;
  std::vector<uint32_t> series;  // touched series, in first-touch order
};

struct AllGaugeValue {
  uint32_t series;  // without pid
  uint32_t file;    // index into the scrape's files
  double value;
};

MetricType TypeOf(FileType t) {
  switch (t) {
    case FileType::kCounter: return MetricType::kCounter;
    case FileType::kGauge: return MetricType::kGauge;
    case FileType::kHistogram: return MetricType::kHistogram;
    case FileType::kSummary: return MetricType::kSummary;
  }
  return MetricType::kUntyped;
}

// The merged view of one scrape. It points into the KeyTable, whose Series
// and strings never move or change once made, so it is read without the
// engine's lock.
struct PlanSample {
  const Series* series;
  double value;
  uint32_t writer;  // all/liveall gauges: index into Plan::writers
};

struct PlanFamily {
  const std::string* name;
  const std::string* help;
  MetricType type;
  std::vector<PlanSample> samples;
};

struct Plan {
  std::vector<PlanFamily> families;
  std::vector<std::string> writers;  // writer ids of all/liveall samples
};

// The labels of a sample, with the writer's `pid` in its sorted place.
Labels LabelsOf(const Plan& plan, const PlanSample& s) {
  Labels labels = s.series->labels;
  if (s.writer != kNoId) {
    auto pos = std::find_if(labels.begin(), labels.end(),
                            [](const auto& p) { return p.first > "pid"; });
    labels.insert(pos, {"pid", plan.writers[s.writer]});
  }
  return labels;
}

MetricFamily ToModel(const Plan& plan, const PlanFamily& pf) {
  MetricFamily mf;
  mf.name = *pf.name;
  mf.help = *pf.help;
  mf.type = pf.type;
  mf.samples.reserve(pf.samples.size());
  for (const PlanSample& s : pf.samples) {
    mf.samples.push_back(Sample{s.series->sample_name, LabelsOf(plan, s), s.value});
  }
  return mf;
}

bool OpenMetricsValid(const Plan& plan, const PlanFamily& pf) {
  bool has_inf = pf.type != MetricType::kHistogram;
  for (const PlanSample& s : pf.samples) {
    if (!exposition::OpenMetricsSampleValid(pf.type, *pf.name,
                                            s.series->sample_name,
                                            s.series->labels, s.value,
                                            &has_inf)) {
      return false;
    }
  }
  (void)plan;
  return has_inf;
}

// Renders the plan; the same bytes as AppendFamilies on its model.
void RenderPlan(const Plan& plan, ExpositionFormat format, std::string* out) {
  size_t estimate = 0;
  for (const PlanFamily& pf : plan.families) {
    estimate += 128 + pf.samples.size() *
                          (pf.samples.empty() ? 0
                                              : pf.samples[0].series->text.size() + 32);
  }
  out->reserve(out->size() + estimate);
  for (const PlanFamily& pf : plan.families) {
    if (format == ExpositionFormat::kOpenMetrics100 && !OpenMetricsValid(plan, pf)) {
      AppendFamilies(format, {ToModel(plan, pf)}, out);
      continue;
    }
    exposition::AppendHeader(format, *pf.name, *pf.help, pf.type, out);
    for (const PlanSample& s : pf.samples) {
      if (s.writer == kNoId) {
        out->append(s.series->text);
      } else {
        exposition::AppendSeries(s.series->sample_name, LabelsOf(plan, s), out);
      }
      exposition::AppendValue(s.value, out);
    }
  }
}

}  // namespace

class DirectoryCollector::Impl {
 public:
  explicit Impl(CollectorOptions options)
      : opt_(std::move(options)),
        env_(opt_.env ? opt_.env : Env::Default()) {}

  // Reads and merges the directory into *plan.
  Status Collect(Plan* plan, ScrapeStats* stats);

 private:
  enum class Outcome { kMerged, kVanished, kBad, kLeftOut, kStarting };

  // What one file contributed to a scrape.
  struct Slot {
    Outcome outcome = Outcome::kVanished;
    ReadError err;
    WriterState state = WriterState::kUnknown;
    ScrapeFile file;
    std::unique_ptr<CachedFile> own;  // a hard link's own parse
    ScrapeStats stats;  // bytes_read, entries, cache hits/misses, pruned
  };
  // Reads one file (on any thread; the read itself runs unlocked) and
  // merges it into the cache under parse_mu_. `buf` is the thread's own.
  void ReadFile(const std::string& base, std::string* buf, Slot* slot);
  // Parses data[cf->parsed, used) into *cf. False (and *err) if bad.
  bool Parse(const std::string& path, std::string_view data,
             const format::FileName& name, CachedFile* cf, ReadError* err);
  void Merge(const std::vector<ScrapeFile>& files, Plan* plan);
  void Add(uint32_t series, double v, FamilyState* fs) {
    if (!seen_[series]) {
      seen_[series] = 1;
      acc_[series] = 0.0;
      fs->series.push_back(series);
    }
    acc_[series] += v;
  }
  void TakePrediction(std::string* buf) {
    if (pending_prediction_ == nullptr) return;
    std::swap(pending_prediction_->raw, *buf);
    pending_prediction_ = nullptr;
  }
  bool Touch(uint32_t series, FamilyState* fs) {
    if (seen_[series]) return false;
    seen_[series] = 1;
    fs->series.push_back(series);
    return true;
  }

  const CollectorOptions opt_;
  Env* const env_;
  std::mutex mu_;  // one scrape at a time
  // Everything below is guarded by mu_; the cache, key table and
  // predictions also by parse_mu_ while a scrape's reader threads run.
  std::mutex parse_mu_;
  reader::KeyTable table_;
  std::unordered_map<FileId, CachedFile, FileIdHash> cache_;
  // Bad files already reported: path -> (file, reason).
  std::unordered_map<std::string, std::pair<FileId, BadReason>> reported_;
  uint64_t generation_ = 0;
  // The keys of the last file parsed from the start, per prefix: workers
  // create their series in the same order, so entry i of the next file of
  // that prefix is most likely the same key (one memcmp, no hashing).
  struct Prediction {
    std::string raw;                     // its bytes in use
    std::vector<uint32_t> keys;          // its key ids
    std::vector<uint32_t> entry_offsets; // where its entries start
  };
  std::unordered_map<std::string, Prediction> predicted_;
  // Set by Parse when the file just parsed becomes its prefix's prediction;
  // ReadFile then hands its buffer over (a swap, no copy).
  Prediction* pending_prediction_ = nullptr;
  std::vector<uint32_t> family_mark_;
  // Per key id: the series it adds to under each family type.
  struct KeyMerge {
    uint32_t family;
    uint32_t series;     // counter, summary
    uint32_t histogram;  // the canonical bucket, or the series
    uint32_t gauge;      // the series without `pid`
  };
  std::vector<KeyMerge> key_merge_;
  uint32_t mark_stamp_ = 0;
  std::vector<double> acc_;
  std::vector<double> acc_ts_;
  std::vector<uint8_t> seen_;
};

bool DirectoryCollector::Impl::Parse(const std::string& path,
                                     std::string_view data,
                                     const format::FileName& name,
                                     CachedFile* cf, ReadError* err) {
  if (data.size() <= cf->parsed) return true;
  const FileType type = name.type;
  const bool from_start = cf->keys.empty();
  Prediction& predicted = predicted_[name.Prefix()];
  std::vector<uint32_t> entry_offsets;
  if (!cf->layout_known) {
    *err = reader::DetectLayout(data, cf->parsed, ValueLayout::k16, path,
                                &cf->layout);
    if (!err->ok()) return false;
    cf->layout_known = true;
  }
  if (family_mark_.size() < table_.family_count()) {
    family_mark_.resize(table_.family_count(), 0);
  }
  ++mark_stamp_;
  for (const auto& [family, key] : cf->families) family_mark_[family] = mark_stamp_;
  BadReason bad = BadReason::kNone;
  uint64_t bad_at = 0;
  std::string why;
  *err = reader::WalkEntries(
      data, cf->parsed, cf->layout, path,
      [&](uint64_t off, std::string_view key, uint64_t voff) {
        if (bad != BadReason::kNone) return;
        size_t index = cf->keys.size();
        uint32_t id;
        // The same key at the same offset of the previous file: two
        // sequential buffers compared, no hashing.
        if (index < predicted.keys.size() &&
            predicted.entry_offsets[index] == off &&
            predicted.raw.size() >= off + 4 + key.size() &&
            reader::LoadInt32(predicted.raw.data() + off) ==
                static_cast<int32_t>(key.size()) &&
            std::memcmp(predicted.raw.data() + off + 4, key.data(),
                        key.size()) == 0) {
          id = predicted.keys[index];
        } else {
          id = table_.Intern(key);
        }
        if (table_.bad_in(id, type)) {
          const KeyInfo& k = table_.key(id);
          bad = k.bad != BadReason::kNone ? k.bad : BadReason::kBadLe;
          why = k.bad == BadReason::kNone
                    ? "histogram bucket has a non-numeric le"
                    : k.why;
          bad_at = off;
          return;
        }
        uint32_t family = table_.family_of(id);
        if (family_mark_.size() <= family) {
          family_mark_.resize(table_.family_count(), 0);
        }
        if (family_mark_[family] != mark_stamp_) {
          family_mark_[family] = mark_stamp_;
          cf->families.emplace_back(family, id);
        }
        cf->keys.push_back(id);
        cf->offsets.push_back(static_cast<uint32_t>(voff));
        if (from_start) entry_offsets.push_back(static_cast<uint32_t>(off));
      });
  if (!err->ok()) return false;
  if (bad != BadReason::kNone) {
    *err = reader::Bad(bad, path,
                       why + " (entry at offset " + std::to_string(bad_at) + ")");
    return false;
  }
  cf->parsed = data.size();
  if (from_start) {
    predicted.keys = cf->keys;
    predicted.entry_offsets = std::move(entry_offsets);
    pending_prediction_ = &predicted;
  }
  return true;
}

void DirectoryCollector::Impl::ReadFile(const std::string& base,
                                        std::string* buf, Slot* slot) {
  const std::string path = opt_.directory + "/" + base;
  ScrapeStats* stats = &slot->stats;
  ReadError* err = &slot->err;
  slot->outcome = Outcome::kBad;
  int fd = -1;
  FileInfo info;
  *err = reader::OpenMetricsFile(env_, path, &fd, &info);
  if (err->status.IsNotFound()) {
    slot->outcome = Outcome::kVanished;
    return;
  }
  if (!err->ok()) return;
  std::optional<format::FileName> name = format::ParseFileName(base);
  if (!name) {
    env_->Close(fd);
    *err = reader::Bad(BadReason::kUnknownType, path,
                       "the name has a type or gauge mode no client writes");
    return;
  }
  bool magic = false;
  *err = reader::ReadUsed(env_, fd, path, info.size, buf, &magic,
                          &stats->bytes_read);
  if (!err->ok()) {
    // Python's writer creates a file empty and sizes it a moment later: an
    // empty file whose writer is alive is starting, not corrupt.
    if (err->reason == BadReason::kEmpty &&
        opt_.liveness != LivenessMode::kNone &&
        reader::ProbeWriterWithMagic(env_, fd, name->id, opt_.liveness, false)
                .state == WriterState::kLive) {
      slot->state = WriterState::kLive;
      slot->outcome = Outcome::kStarting;
      *err = ReadError();
    }
    env_->Close(fd);
    return;
  }
  Verdict verdict =
      reader::ProbeWriterWithMagic(env_, fd, name->id, opt_.liveness, magic);
  env_->Close(fd);
  slot->state = verdict.state;

  std::unique_lock<std::mutex> lock(parse_mu_);
  FileId id{info.device, info.inode};
  auto [it, inserted] = cache_.try_emplace(id);
  CachedFile* cf = &it->second;
  if (!inserted && cf->generation == generation_) {
    // Another name of the same inode (a hard link) was read by this scrape:
    // parse this one on its own, leaving the cached one alone.
    slot->own = std::make_unique<CachedFile>();
    cf = slot->own.get();
    inserted = true;
  }
  std::string_view data = *buf;
  bool reuse = !inserted && cf->name == base && data.size() >= cf->parsed;
  if (!reuse) *cf = CachedFile();
  cf->name = base;
  if (!Parse(path, data, *name, cf, err)) {
    bool retry = reuse;
    *cf = CachedFile();
    cf->name = base;
    if (!retry || !Parse(path, data, *name, cf, err)) {
      if (!slot->own) cache_.erase(it);
      pending_prediction_ = nullptr;
      return;
    }
    reuse = false;
  }
  ++(reuse ? stats->cache_hits : stats->cache_misses);
  cf->generation = generation_;
  if (verdict.state == WriterState::kDead && format::IsLiveMode(name->mode)) {
    stats->pruned_series += cf->keys.size();
    TakePrediction(buf);
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  // Claimed for this scrape, so nothing changes *cf until the next one:
  // values are read outside the lock unless buf becomes a prediction.
  if (pending_prediction_ == nullptr) lock.unlock();
  ScrapeFile* sf = &slot->file;
  sf->cache = cf;
  sf->name = std::move(*name);
  size_t n = cf->offsets.size();
  sf->values.resize(n);
  const char* p = buf->data();
  for (size_t i = 0; i < n; ++i) {
    sf->values[i] = reader::LoadDouble(p + cf->offsets[i]);
  }
  if (cf->layout == ValueLayout::k16) {
    sf->timestamps.resize(n);
    for (size_t i = 0; i < n; ++i) {
      sf->timestamps[i] = reader::LoadDouble(p + cf->offsets[i] + 8);
    }
  }
  stats->entries += n;
  if (lock.owns_lock()) TakePrediction(buf);
  slot->outcome = Outcome::kMerged;
}

Status DirectoryCollector::Impl::Collect(Plan* plan, ScrapeStats* stats_out) {
  uint64_t start = env_->NowMonotonicNanos();
  ScrapeStats local;
  ScrapeStats* stats = stats_out ? stats_out : &local;
  *stats = ScrapeStats();

  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  std::vector<ScrapeFile> files;
  std::vector<std::unique_ptr<CachedFile>> owned;  // hard links' own parses
  std::vector<std::string> dead_live_files;
  std::set<std::string> bad_now;
  {
    ReadGuard guard(env_, opt_.directory);
    std::vector<std::string> names;
    Status s = env_->ListDir(opt_.directory, &names);
    if (!s.ok()) return s;
    std::erase_if(names, [](const std::string& n) {
      return n.size() <= 3 || !n.ends_with(".db");
    });
    std::sort(names.begin(), names.end());
    std::set<std::string> hidden;
    HiddenByCompaction(env_, opt_.directory, names, &hidden);
    std::erase_if(names, [&](const std::string& n) { return hidden.count(n); });
    files.reserve(names.size());
    // Files are read on several threads: reading the bytes in use is most
    // of a scrape. Parsing and the cache are serialized by parse_mu_.
    std::vector<Slot> slots(names.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
      std::string buf;
      for (size_t i; (i = next.fetch_add(1)) < names.size();) {
        ReadFile(names[i], &buf, &slots[i]);
      }
    };
    size_t threads = std::min<size_t>(std::max(1u, opt_.read_threads),
                                      (names.size() + 7) / 8);
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& base = names[i];
      Slot& slot = slots[i];
      stats->bytes_read += slot.stats.bytes_read;
      stats->entries += slot.stats.entries;
      stats->cache_hits += slot.stats.cache_hits;
      stats->cache_misses += slot.stats.cache_misses;
      stats->pruned_series += slot.stats.pruned_series;
      Outcome o = slot.outcome;
      const ReadError& err = slot.err;
      WriterState state = slot.state;
      ScrapeFile& sf = slot.file;
      std::optional<format::FileName> fname = format::ParseFileName(base);
      std::string prefix = fname ? fname->Prefix() : "unknown";
      if (o == Outcome::kVanished) continue;
      if (o == Outcome::kStarting) {
        ++stats->files[{prefix, "live"}];
        continue;
      }
      if (o == Outcome::kBad) {
        std::string code(reader::BadReasonCode(err.reason));
        ++stats->files[{prefix, "bad"}];
        ++stats->bad_files_by_reason[code];
        std::string path = opt_.directory + "/" + base;
        bad_now.insert(path);
        FileInfo info;
        env_->LinkStat(path, &info);
        std::pair<FileId, BadReason> seen{{info.device, info.inode}, err.reason};
        auto r = reported_.find(path);
        if (r == reported_.end() || !(r->second == seen)) {
          reported_[path] = seen;
          stats->new_bad_files.push_back(
              BadFile{path, code, err.status.message()});
        }
        continue;
      }
      ++stats->files[{prefix, std::string(WriterStateName(state))}];
      if (o == Outcome::kLeftOut) {
        dead_live_files.push_back(opt_.directory + "/" + base);
        continue;
      }
      files.push_back(std::move(sf));
      if (slot.own) owned.push_back(std::move(slot.own));
    }
    if (opt_.prune) {
      for (const std::string& path : dead_live_files) {
        if (env_->Unlink(path).ok()) ++stats->pruned_files;
      }
    }
  }
  std::erase_if(reported_,
                [&](const auto& r) { return !bad_now.count(r.first); });
  std::erase_if(cache_, [&](const auto& c) {
    return c.second.generation != generation_;
  });
  Merge(files, plan);
  stats->duration_seconds =
      static_cast<double>(env_->NowMonotonicNanos() - start) / 1e9;
  return Status::OK();
}

void DirectoryCollector::Impl::Merge(const std::vector<ScrapeFile>& files,
                                     Plan* plan) {
  std::vector<FamilyState> fams(table_.family_count());
  // Type and help from the first file that names the family; the gauge
  // mode from the last gauge file that does (as Python's collector).
  for (const ScrapeFile& f : files) {
    for (const auto& [family, key] : f.cache->families) {
      FamilyState& fs = fams[family];
      if (!fs.seen) {
        fs.seen = true;
        fs.type = f.name.type;
        fs.help_key = key;
      }
      if (f.name.type == FileType::kGauge) fs.mode = f.name.mode;
    }
  }
  // What each key merges into, whatever its family's type turns out to be
  // (interning the pid-less series first, before sizing the accumulators).
  for (uint32_t k = key_merge_.size(); k < table_.key_count(); ++k) {
    const KeyInfo& info = table_.key(k);
    KeyMerge m{info.family, info.series, info.series, info.series};
    if (info.bad == BadReason::kNone) {
      const Series& s = table_.series(info.series);
      if (s.has_le) m.histogram = s.bucket;
      m.gauge = table_.WithoutPid(info.series);
    }
    key_merge_.push_back(m);
  }
  size_t n = table_.series_count();
  if (acc_.size() < n) {
    acc_.resize(n);
    acc_ts_.resize(n);
    seen_.resize(n, 0);
  }
  std::vector<AllGaugeValue> all;
  for (uint32_t fi = 0; fi < files.size(); ++fi) {
    const ScrapeFile& f = files[fi];
    const std::vector<uint32_t>& keys = f.cache->keys;
    // (Equal unless two names share an inode and one was reparsed.)
    const size_t count = std::min(keys.size(), f.values.size());
    for (size_t i = 0; i < count; ++i) {
      const KeyMerge& k = key_merge_[keys[i]];
      FamilyState& fs = fams[k.family];
      double v = f.values[i];
      switch (fs.type) {
        case FileType::kCounter:
        case FileType::kSummary:
          Add(k.series, v, &fs);
          break;
        case FileType::kHistogram:
          Add(k.histogram, v, &fs);
          break;
        case FileType::kGauge: {
          uint32_t np = k.gauge;
          switch (format::BaseMode(fs.mode)) {
            case GaugeMode::kSum:
              Add(np, v, &fs);
              break;
            case GaugeMode::kMin:
              if (Touch(np, &fs) || v < acc_[np]) acc_[np] = v;
              break;
            case GaugeMode::kMax:
              if (Touch(np, &fs) || v > acc_[np]) acc_[np] = v;
              break;
            case GaugeMode::kMostRecent: {
              double ts = f.timestamps.empty() ? 0 : f.timestamps[i];
              bool fresh = !seen_[np];
              if (fresh) acc_ts_[np] = 0;
              if (ts > acc_ts_[np]) {
                Touch(np, &fs);
                acc_[np] = v;
                acc_ts_[np] = ts;
              }
              break;
            }
            default:  // all, liveall: one series per writer
              all.push_back({np, fi, v});
              break;
          }
          break;
        }
      }
    }
  }

  // Families sorted by name; samples in rank order.
  const std::vector<uint32_t>& rank = table_.Ranks();
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < fams.size(); ++i) {
    if (fams[i].seen) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return table_.family_name(a) < table_.family_name(b);
  });
  // all / liveall: the last value per (series, writer id) wins.
  std::sort(all.begin(), all.end(), [&](const AllGaugeValue& a, const AllGaugeValue& b) {
    if (a.series != b.series) return rank[a.series] < rank[b.series];
    const std::string& x = files[a.file].name.id;
    const std::string& y = files[b.file].name.id;
    if (x != y) return x < y;
    return a.file < b.file;
  });
  std::vector<std::vector<uint32_t>> all_by_family(fams.size());
  for (uint32_t i = 0; i < all.size(); ++i) {
    bool last = i + 1 == all.size() || all[i + 1].series != all[i].series ||
                files[all[i + 1].file].name.id != files[all[i].file].name.id;
    if (last) all_by_family[table_.series(all[i].series).family].push_back(i);
  }
  std::vector<uint32_t> writer_of(files.size(), kNoId);

  plan->families.reserve(order.size());
  for (uint32_t fid : order) {
    FamilyState& fs = fams[fid];
    PlanFamily pf;
    pf.name = &table_.family_name(fid);
    pf.help = &table_.key(fs.help_key).help;
    pf.type = TypeOf(fs.type);
    std::sort(fs.series.begin(), fs.series.end(),
              [&](uint32_t a, uint32_t b) { return rank[a] < rank[b]; });
    pf.samples.reserve(fs.series.size() + all_by_family[fid].size());
    if (fs.type == FileType::kHistogram) {
      // Buckets come sorted by group, then `le`: accumulate them, and give
      // each group its _count (replacing any _count from the files).
      std::vector<std::pair<uint32_t, double>> counts;
      double running = 0;
      uint32_t group = kNoId;
      for (uint32_t sid : fs.series) {
        const Series& s = table_.series(sid);
        if (!s.has_le) continue;
        if (s.group != group) running = 0;
        group = s.group;
        running += acc_[sid];
        if (counts.empty() || counts.back().first != s.count) {
          counts.emplace_back(s.count, 0);
        }
        counts.back().second = running;
      }
      std::vector<uint32_t> merged = fs.series;
      for (const auto& c : counts) {
        if (!seen_[c.first]) merged.push_back(c.first);  // else replaced
        acc_[c.first] = c.second;
      }
      std::sort(merged.begin(), merged.end(),
                [&](uint32_t a, uint32_t b) { return rank[a] < rank[b]; });
      running = 0;
      group = kNoId;
      for (uint32_t sid : merged) {
        const Series& s = table_.series(sid);
        double v = acc_[sid];
        if (s.has_le) {
          if (s.group != group) running = 0;
          group = s.group;
          running += v;
          v = running;
        }
        pf.samples.push_back(PlanSample{&s, v, kNoId});
      }
    } else {
      for (uint32_t sid : fs.series) {
        pf.samples.push_back(PlanSample{&table_.series(sid), acc_[sid], kNoId});
      }
      for (uint32_t i : all_by_family[fid]) {
        const AllGaugeValue& a = all[i];
        if (writer_of[a.file] == kNoId) {
          writer_of[a.file] = static_cast<uint32_t>(plan->writers.size());
          plan->writers.push_back(files[a.file].name.id);
        }
        pf.samples.push_back(
            PlanSample{&table_.series(a.series), a.value, writer_of[a.file]});
      }
    }
    for (uint32_t sid : fs.series) seen_[sid] = 0;
    plan->families.push_back(std::move(pf));
  }
}

DirectoryCollector::DirectoryCollector(CollectorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

DirectoryCollector::~DirectoryCollector() = default;

Status DirectoryCollector::Collect(std::vector<MetricFamily>* families,
                                   ScrapeStats* stats) {
  Plan plan;
  Status s = impl_->Collect(&plan, stats);
  families->clear();
  if (!s.ok()) return s;
  families->reserve(plan.families.size());
  for (const PlanFamily& pf : plan.families) {
    families->push_back(ToModel(plan, pf));
  }
  return Status::OK();
}

Status DirectoryCollector::Render(ExpositionFormat format, std::string* out,
                                  ScrapeStats* stats) {
  Plan plan;
  Status s = impl_->Collect(&plan, stats);
  if (!s.ok()) return s;
  RenderPlan(plan, format, out);
  return Status::OK();
}

}  // namespace promdir
