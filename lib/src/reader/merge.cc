#include "promdir/merge.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

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
  bool magic = false;  // a promdir writer's file
  // The series each entry adds to under the file's own type (made by
  // Merge, extended as entries are parsed).
  std::vector<uint32_t> targets;
  // Unchanged since it was read: no process had it open for writing then,
  // and the directory watch has reported nothing of its name since (not
  // even an open). Scrapes serve these values without opening the file.
  bool frozen = false;
  std::vector<double> frozen_values;
  std::vector<double> frozen_timestamps;  // 16-byte layout only

  void Unfreeze() {
    frozen = false;
    frozen_values = {};
    frozen_timestamps = {};
  }
};

// The keys of the last file of a prefix parsed from the start: workers
// create their series in the same order, so entry i of the next file of
// that prefix is most likely the same key (one memcmp, no hashing).
// A prediction is published as soon as its file's entries are walked, so
// other reader threads compare their files with it (FastParse) while its
// keys are still being interned: raw, layout and entry_offsets never
// change once published; keys and families are filled, and complete or
// failed set, under table_mu_ by the thread that parses it. FastParse's
// callers take the keys only after the scrape's threads are joined.
struct Prediction {
  ValueLayout layout = ValueLayout::k16;
  std::string raw;                     // its bytes in use
  std::vector<uint32_t> entry_offsets; // where its entries start
  bool complete = false;               // keys and families are filled
  bool failed = false;                 // the file is bad: keys are not
  std::vector<uint32_t> keys;          // its key ids
  // Its families in order of first appearance: (family, key, entry).
  std::vector<std::array<uint32_t, 3>> families;
};

// One file merged by this scrape.
struct ScrapeFile {
  CachedFile* cache = nullptr;
  format::FileName name;
  // The values read by this scrape, or the cache's frozen copy (a moved
  // vector keeps its buffer, so the spans survive moving the ScrapeFile).
  std::vector<double> own_values;
  std::vector<double> own_timestamps;
  std::span<const double> values;
  std::span<const double> timestamps;  // empty in the 8-byte layout
};

struct FamilyState {
  bool seen = false;
  FileType type = FileType::kCounter;
  GaugeMode mode = GaugeMode::kNone;
  uint32_t help_key = kNoId;
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
  uint32_t writer;     // all/liveall gauges: index into Plan::writers
  uint32_t pid_split;  // where `pid` goes into series->text (see PidSplit)
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
  std::vector<std::string> writer_labels;  // each as `pid="<id>"`
};

// Appends a series of an all/liveall gauge: its text with the writer's
// `pid` label at `split`, the byte offset where the labels after `pid`
// start (or where `}` is, when `pid` sorts last).
void AppendWithPid(const Series& s, uint32_t split, const std::string& pid,
                   std::string* out) {
  const std::string& text = s.text;
  if (s.labels.empty()) {
    out->append(text);
    out->push_back('{');
    out->append(pid);
    out->push_back('}');
    return;
  }
  out->append(text, 0, split);
  const bool last = split + 1 == text.size();
  if (last) out->push_back(',');
  out->append(pid);
  if (!last) out->push_back(',');
  out->append(text, split, std::string::npos);
}

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
        AppendWithPid(*s.series, s.pid_split, plan.writer_labels[s.writer],
                      out);
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
  ~Impl() { env_->CloseChangeWatch(watch_); }

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
    // Still open after the read: the file may be frozen (see Freeze).
    int keep_fd = -1;
    FileId id;
    // Parsed by FastParse: its keys are this prediction's (TakeKeys).
    std::shared_ptr<Prediction> keys_from;
    CachedFile* keys_cf = nullptr;
  };
  // Reads one file (on any thread; the read itself runs unlocked) and
  // merges it into the cache (cache_mu_), parsing under table_mu_ what
  // FastParse cannot. `buf` is the thread's own.
  void ReadFile(const std::string& base, std::string* buf, Slot* slot);
  // Parses data[cf->parsed, used) into *cf, comparing entries with
  // `predicted` (complete, or null) before interning them. From the start
  // and with `made` non-null, also fills made's keys and families. False
  // (and *err) if bad. Under table_mu_.
  bool Parse(const std::string& path, std::string_view data,
             const format::FileName& name, const Prediction* predicted,
             CachedFile* cf, ReadError* err, Prediction* made);
  // Parses a whole new file without any lock when every entry is the
  // prediction's entry at the same offset: fills all but keys and
  // families, which TakeKeys copies once the threads are joined. False if
  // any entry differs (or the file is malformed): Parse decides then.
  static bool FastParse(const std::string& path, std::string_view data,
                        const Prediction& predicted, CachedFile* cf);
  // After the reads: gives each FastParse'd file its prediction's keys, or
  // reads it again if that prediction's file turned out bad.
  void TakeKeys(const std::vector<std::string>& names,
                std::vector<Slot>* slots);
  void Merge(std::vector<ScrapeFile>& files, Plan* plan);
  // Adds one file's values into the accumulators (all/liveall gauge values
  // go to *all instead).
  void MergeFile(const std::vector<FamilyState>& fams, uint32_t fi,
                 ScrapeFile& f, std::vector<AllGaugeValue>* all);
  // Where `pid` goes into the text of series `sid` (see AppendWithPid).
  uint32_t PidSplit(uint32_t sid);
  // Applies what the directory watch saw since the last scrape (opening
  // the watch first if needed). Returns whether files read by this scrape
  // may be frozen: the watch was open before they were read.
  bool ApplyChanges();
  // After the reads: applies the watch's news (this scrape's own opens
  // aside), then freezes each file kept open that no process has open
  // for writing. Closes every kept descriptor.
  void Freeze(const std::vector<std::string>& names, std::vector<Slot>* slots);
  void Unfreeze(CachedFile* cf);
  // Serves a frozen file without opening it.
  void ServeUnchanged(CachedFile* cf, format::FileName name, Slot* slot);
  // Marks `series` touched by this scrape; true the first time (its
  // accumulators are then reset).
  bool Touch(uint32_t series) {
    if (stamp_[series] == stamp_now_) return false;
    stamp_[series] = stamp_now_;
    acc_[series] = 0.0;
    acc_ts_[series] = 0.0;
    touched_.push_back(series);
    return true;
  }

  const CollectorOptions opt_;
  Env* const env_;
  std::mutex mu_;  // one scrape at a time
  // Everything below is guarded by mu_. While a scrape's reader threads
  // run, the cache, frozen_ and the predictions are also guarded by
  // cache_mu_ (held briefly), and the key table (with family_mark_ and the
  // parts of a Prediction said to be) by table_mu_ (held while parsing).
  // No thread holds both at once.
  std::mutex cache_mu_;
  std::mutex table_mu_;
  reader::KeyTable table_;
  std::unordered_map<FileId, CachedFile, FileIdHash> cache_;
  // Bad files already reported: path -> (file, reason).
  std::unordered_map<std::string, std::pair<FileId, BadReason>> reported_;
  uint64_t generation_ = 0;
  // The prediction of each prefix: the latest file parsed from the start.
  std::unordered_map<std::string, std::shared_ptr<Prediction>> predicted_;
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
  // stamp_[series] == stamp_now_: touched by this scrape (in touched_).
  std::vector<uint32_t> stamp_;
  uint32_t stamp_now_ = 0;
  std::vector<uint32_t> touched_;
  std::vector<uint8_t> rank_mark_;
  std::vector<uint32_t> pid_split_;  // per series; kNoId: not made yet
  std::vector<std::string> read_bufs_;  // one per reader thread
  int watch_ = -1;         // inotify on the directory, or -1
  bool freeze_ok_ = false;  // this scrape may freeze what it reads
  // Frozen files by name (all with links == 1, so one name each).
  std::unordered_map<std::string, FileId> frozen_;
  std::atomic<int> kept_fds_{0};
  // Descriptors a scrape keeps open for Freeze, at most.
  static constexpr int kMaxKeptFds = 256;
};

void DirectoryCollector::Impl::Unfreeze(CachedFile* cf) {
  if (!cf->frozen) return;
  frozen_.erase(cf->name);
  cf->Unfreeze();
}

bool DirectoryCollector::Impl::ApplyChanges() {
  if (!opt_.reuse_unchanged) return false;
  auto unfreeze_all = [&] {
    for (auto& [id, cf] : cache_) cf.Unfreeze();
    frozen_.clear();
  };
  if (watch_ < 0) {
    // Nothing frozen before the watch existed can be trusted.
    unfreeze_all();
    if (!env_->OpenChangeWatch(opt_.directory, &watch_).ok()) {
      watch_ = -1;
      return false;
    }
    return true;
  }
  std::vector<Env::Change> changes;
  bool everything = false;
  Status s = env_->ReadChanges(watch_, &changes, &everything);
  if (!s.ok() || everything) {
    // Events were lost, or the directory was replaced: start over.
    env_->CloseChangeWatch(watch_);
    watch_ = -1;
    return ApplyChanges();
  }
  // Every open since the last scrape's Freeze is another process's.
  for (const Env::Change& c : changes) {
    auto it = frozen_.find(c.name);
    if (it == frozen_.end()) continue;
    auto f = cache_.find(it->second);
    frozen_.erase(it);
    if (f != cache_.end()) f->second.Unfreeze();
  }
  return true;
}

void DirectoryCollector::Impl::Freeze(const std::vector<std::string>& names,
                                      std::vector<Slot>* slots) {
  std::unordered_set<std::string> changed;  // not to be frozen now
  std::unordered_set<std::string> read_now;
  bool any = false;
  for (size_t i = 0; i < slots->size(); ++i) {
    if ((*slots)[i].keep_fd >= 0) {
      read_now.insert(names[i]);
      any = true;
    }
  }
  std::vector<Env::Change> changes;
  bool everything = false;
  Status s = watch_ >= 0 && (any || !frozen_.empty())
                 ? env_->ReadChanges(watch_, &changes, &everything)
                 : Status::OK();
  if (!s.ok() || everything) {
    env_->CloseChangeWatch(watch_);
    watch_ = -1;  // the next scrape starts over
  }
  for (const Env::Change& c : changes) {
    // This scrape's own opens of the files it read are expected; an open
    // by another process before the lease probe below is seen by it.
    if (c.open_only && read_now.count(c.name)) continue;
    changed.insert(c.name);
    auto it = frozen_.find(c.name);
    if (it == frozen_.end()) continue;
    auto f = cache_.find(it->second);
    frozen_.erase(it);
    if (f != cache_.end()) f->second.Unfreeze();
  }
  for (size_t i = 0; i < slots->size(); ++i) {
    Slot& slot = (*slots)[i];
    if (slot.keep_fd < 0) continue;
    bool open = true;
    if (watch_ >= 0 && !changed.count(names[i]) &&
        slot.file.cache != nullptr) {
      if (!env_->WritersOpen(slot.keep_fd, &open).ok()) open = true;
    }
    env_->Close(slot.keep_fd);
    slot.keep_fd = -1;
    if (open) continue;
    CachedFile* cf = slot.file.cache;
    ScrapeFile& sf = slot.file;
    cf->frozen = true;
    cf->frozen_values = std::move(sf.own_values);
    cf->frozen_timestamps = std::move(sf.own_timestamps);
    sf.values = cf->frozen_values;
    sf.timestamps = cf->frozen_timestamps;
    frozen_[cf->name] = slot.id;
  }
  kept_fds_ = 0;
}

void DirectoryCollector::Impl::ServeUnchanged(CachedFile* cf,
                                              format::FileName name,
                                              Slot* slot) {
  Verdict verdict =
      reader::ProbeUnopened(env_, name.id, opt_.liveness, cf->magic);
  slot->state = verdict.state;
  ++slot->stats.cache_hits;
  ++slot->stats.files_unchanged;
  ScrapeFile* sf = &slot->file;
  sf->cache = cf;
  sf->values = cf->frozen_values;
  sf->timestamps = cf->frozen_timestamps;
  if (verdict.state == WriterState::kDead && format::IsLiveMode(name.mode)) {
    slot->stats.pruned_series += cf->keys.size();
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  sf->name = std::move(name);
  slot->stats.entries += cf->frozen_values.size();
  slot->outcome = Outcome::kMerged;
}

bool DirectoryCollector::Impl::FastParse(const std::string& path,
                                         std::string_view data,
                                         const Prediction& predicted,
                                         CachedFile* cf) {
  // DetectLayout's choice without its walks: the prediction's layout if
  // it walks the file, where the 16-byte one is preferred when both do.
  const ValueLayout layout = predicted.layout;
  if (layout == ValueLayout::k8 &&
      reader::WalkEntries(data, format::kHeaderSize, ValueLayout::k16, path,
                          [](uint64_t, std::string_view, uint64_t) {})
          .ok()) {
    return false;  // (the 16-byte walk of an 8-byte file fails at once)
  }
  const size_t limit = predicted.entry_offsets.size();
  cf->offsets.reserve(limit);
  const std::string& raw = predicted.raw;
  bool same = true;
  ReadError e = reader::WalkEntries(
      data, format::kHeaderSize, layout, path,
      [&](uint64_t off, std::string_view key, uint64_t voff) {
        size_t index = cf->offsets.size();
        if (!same || index >= limit || predicted.entry_offsets[index] != off ||
            raw.size() < off + 4 + key.size() ||
            std::memcmp(raw.data() + off, data.data() + off,
                        4 + key.size()) != 0) {
          same = false;
          return;
        }
        cf->offsets.push_back(static_cast<uint32_t>(voff));
      });
  if (!e.ok() || !same) return false;
  cf->layout = layout;
  cf->layout_known = true;
  cf->parsed = data.size();
  return true;
}

bool DirectoryCollector::Impl::Parse(const std::string& path,
                                     std::string_view data,
                                     const format::FileName& name,
                                     const Prediction* predicted,
                                     CachedFile* cf, ReadError* err,
                                     Prediction* made) {
  if (data.size() <= cf->parsed) return true;
  const FileType type = name.type;
  const bool from_start = cf->keys.empty();
  static const Prediction kNone;
  const Prediction& pred = predicted ? *predicted : kNone;
  std::vector<std::array<uint32_t, 3>> families_at;
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
        if (index < pred.keys.size() && pred.entry_offsets[index] == off &&
            pred.raw.size() >= off + 4 + key.size() &&
            reader::LoadInt32(pred.raw.data() + off) ==
                static_cast<int32_t>(key.size()) &&
            std::memcmp(pred.raw.data() + off + 4, key.data(),
                        key.size()) == 0) {
          id = pred.keys[index];
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
          if (from_start) {
            families_at.push_back({family, id, static_cast<uint32_t>(index)});
          }
        }
        cf->keys.push_back(id);
        cf->offsets.push_back(static_cast<uint32_t>(voff));
      });
  if (!err->ok()) return false;
  if (bad != BadReason::kNone) {
    *err = reader::Bad(bad, path,
                       why + " (entry at offset " + std::to_string(bad_at) + ")");
    return false;
  }
  cf->parsed = data.size();
  if (from_start && made != nullptr) {
    made->keys = cf->keys;
    made->families = std::move(families_at);
  }
  return true;
}

void DirectoryCollector::Impl::ReadFile(const std::string& base,
                                        std::string* buf, Slot* slot) {
  const std::string path = opt_.directory + "/" + base;
  ScrapeStats* stats = &slot->stats;
  ReadError* err = &slot->err;
  slot->outcome = Outcome::kBad;
  if (freeze_ok_) {
    CachedFile* frozen = nullptr;
    {
      std::lock_guard<std::mutex> g(cache_mu_);
      auto it = frozen_.find(base);
      if (it != frozen_.end()) {
        auto c = cache_.find(it->second);
        if (c != cache_.end() && c->second.frozen &&
            c->second.generation != generation_) {
          frozen = &c->second;
          frozen->generation = generation_;  // claimed by this scrape
        }
      }
    }
    std::optional<format::FileName> name = format::ParseFileName(base);
    if (frozen != nullptr && name) {
      ServeUnchanged(frozen, std::move(*name), slot);
      return;
    }
  }
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
  const FileId id{info.device, info.inode};
  slot->id = id;
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
  // A file with no live writer is kept open for Freeze, which probes
  // whether anything has it open for writing (with liveness checks off,
  // any file).
  const bool no_writer = verdict.state != WriterState::kLive ||
                         opt_.liveness == LivenessMode::kNone;
  if (freeze_ok_ && info.links == 1 && no_writer &&
      kept_fds_.fetch_add(1) < kMaxKeptFds) {
    slot->keep_fd = fd;
  } else {
    env_->Close(fd);
  }
  slot->state = verdict.state;

  // A new file whose entries are all its prefix's prediction (workers
  // create their series in the same order) is parsed without any lock;
  // anything else is parsed under table_mu_.
  std::string_view data = *buf;
  const std::string prefix = name->Prefix();
  std::shared_ptr<Prediction> predicted;
  bool cached = false;
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    auto c = cache_.find(id);
    cached = c != cache_.end() && c->second.name == base;
    auto p = predicted_.find(prefix);
    if (p != predicted_.end()) predicted = p->second;
  }
  std::unique_ptr<CachedFile> fast;
  if (predicted && !cached) {
    fast = std::make_unique<CachedFile>();
    if (!FastParse(path, data, *predicted, fast.get())) fast.reset();
  }

  CachedFile* cf = nullptr;
  bool reuse = false;
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    auto [it, inserted] = cache_.try_emplace(id);
    cf = &it->second;
    if (!inserted && cf->generation == generation_) {
      // Another name of the same inode (a hard link) was read by this
      // scrape: parse this one on its own, leaving the cached one alone.
      slot->own = std::make_unique<CachedFile>();
      cf = slot->own.get();
      inserted = true;
    }
    Unfreeze(cf);
    reuse = !inserted && cf->name == base && data.size() >= cf->parsed;
    if (!reuse) *cf = fast ? std::move(*fast) : CachedFile();
    cf->name = base;
    cf->generation = generation_;  // claimed: no other thread touches *cf
  }
  if (slot->own && slot->keep_fd >= 0) {  // a hard link is never frozen
    env_->Close(slot->keep_fd);
    slot->keep_fd = -1;
  }
  // A file parsed from the start becomes its prefix's prediction, its bytes
  // moving there: `made` keeps them alive while `data` points into them.
  std::shared_ptr<Prediction> made;
  if (fast && !reuse) {
    slot->keys_from = predicted;  // keys once the threads are joined
    slot->keys_cf = cf;
  } else if (data.size() > cf->parsed) {
    // The prediction is published at once if the prefix has none, so other
    // threads can match their files against it while this one interns its
    // keys.
    bool early = false;
    std::shared_ptr<Prediction> newer;  // published since the lookup
    if (cf->keys.empty() && !slot->own) {
      made = std::make_shared<Prediction>();
      if (reader::DetectLayout(data, format::kHeaderSize, ValueLayout::k16,
                               path, &made->layout).ok() &&
          reader::WalkEntries(data, format::kHeaderSize, made->layout, path,
                              [&](uint64_t off, std::string_view, uint64_t) {
                                made->entry_offsets.push_back(
                                    static_cast<uint32_t>(off));
                              }).ok()) {
        std::swap(made->raw, *buf);  // the bytes move, no copy
        data = made->raw;
        std::lock_guard<std::mutex> g(cache_mu_);
        auto p = predicted_.find(prefix);
        if (p == predicted_.end()) {
          predicted_[prefix] = made;
          early = true;
        } else if (p->second != predicted) {
          newer = p->second;
        }
      } else {
        made.reset();  // a bad file: Parse says why
      }
    }
    // Another thread began the same prefix at the same time and published
    // first: match against its file rather than wait to intern.
    if (newer) {
      auto f = std::make_unique<CachedFile>();
      if (FastParse(path, data, *newer, f.get())) {
        f->name = base;
        f->generation = generation_;
        *cf = std::move(*f);  // still claimed by this thread
        slot->keys_from = newer;
        slot->keys_cf = cf;
      }
    }
    bool ok = true;
    if (!slot->keys_from) {
      std::lock_guard<std::mutex> t(table_mu_);
      const Prediction* use =
          predicted && predicted->complete && !predicted->failed
              ? predicted.get()
              : nullptr;
      ok = Parse(path, data, *name, use, cf, err, made.get());
      if (!ok && reuse) {  // not an append after all: from the start
        *cf = CachedFile();
        cf->name = base;
        cf->generation = generation_;
        reuse = false;
        ok = Parse(path, data, *name, use, cf, err, nullptr);
      }
      if (made) (ok ? made->complete : made->failed) = true;
    }
    std::lock_guard<std::mutex> g(cache_mu_);
    if (made && !slot->keys_from) {  // (else it only holds `data`)
      auto p = predicted_.find(prefix);
      if (ok && !early) {
        predicted_[prefix] = made;  // the latest file parsed from the start
      } else if (!ok && p != predicted_.end() && p->second == made) {
        predicted_.erase(p);
      }
    }
    if (!ok) {
      if (!slot->own) cache_.erase(id);
      return;
    }
  }
  ++(reuse ? stats->cache_hits : stats->cache_misses);
  cf->magic = magic;
  const bool candidate = slot->keep_fd >= 0;
  const bool left_out =
      verdict.state == WriterState::kDead && format::IsLiveMode(name->mode);
  ScrapeFile* sf = &slot->file;
  const size_t n = cf->offsets.size();
  if (left_out && !candidate) {
    stats->pruned_series += n;
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  sf->own_values.resize(n);
  const char* p = data.data();
  for (size_t i = 0; i < n; ++i) {
    sf->own_values[i] = reader::LoadDouble(p + cf->offsets[i]);
  }
  if (cf->layout == ValueLayout::k16) {
    sf->own_timestamps.resize(n);
    for (size_t i = 0; i < n; ++i) {
      sf->own_timestamps[i] = reader::LoadDouble(p + cf->offsets[i] + 8);
    }
  }
  sf->values = sf->own_values;
  sf->timestamps = sf->own_timestamps;
  sf->cache = cf;
  if (left_out) {
    stats->pruned_series += n;
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  sf->name = std::move(*name);
  stats->entries += n;
  slot->outcome = Outcome::kMerged;
}

void DirectoryCollector::Impl::TakeKeys(const std::vector<std::string>& names,
                                        std::vector<Slot>* slots) {
  for (size_t i = 0; i < slots->size(); ++i) {
    Slot& slot = (*slots)[i];
    while (slot.keys_from) {
      const Prediction& p = *slot.keys_from;
      CachedFile* cf = slot.keys_cf;
      if (p.complete && !p.failed) {
        const size_t n = cf->offsets.size();
        cf->keys.assign(p.keys.begin(), p.keys.begin() + n);
        for (const auto& [family, key, entry] : p.families) {
          if (entry < n) cf->families.emplace_back(family, key);
        }
        slot.keys_from.reset();
        break;
      }
      // The file it matched was bad, so this one (the same keys) is too:
      // read it again, alone now, to say why. (Every prediction left is
      // complete, so this ends.)
      if (slot.keep_fd >= 0) env_->Close(slot.keep_fd);
      cache_.erase(slot.id);
      slot = Slot();
      ReadFile(names[i], &read_bufs_[0], &slot);
    }
  }
}

Status DirectoryCollector::Impl::Collect(Plan* plan, ScrapeStats* stats_out) {
  uint64_t start = env_->NowMonotonicNanos();
  ScrapeStats local;
  ScrapeStats* stats = stats_out ? stats_out : &local;
  *stats = ScrapeStats();

  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  freeze_ok_ = ApplyChanges();
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
    // of a scrape. Parsing and the cache are serialized by cache_mu_.
    std::vector<Slot> slots(names.size());
    std::atomic<size_t> next{0};
    size_t threads = std::min<size_t>(std::max(1u, opt_.read_threads),
                                      (names.size() + 7) / 8);
    // Each thread's buffer lives on between scrapes: no fresh pages to
    // fault in for every file of every scrape.
    if (read_bufs_.size() < threads) read_bufs_.resize(threads);
    auto worker = [&](size_t t) {
      for (size_t i; (i = next.fetch_add(1)) < names.size();) {
        ReadFile(names[i], &read_bufs_[t], &slots[i]);
      }
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (std::thread& t : pool) t.join();
    TakeKeys(names, &slots);
    if (freeze_ok_) Freeze(names, &slots);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& base = names[i];
      Slot& slot = slots[i];
      stats->bytes_read += slot.stats.bytes_read;
      stats->entries += slot.stats.entries;
      stats->cache_hits += slot.stats.cache_hits;
      stats->cache_misses += slot.stats.cache_misses;
      stats->pruned_series += slot.stats.pruned_series;
      stats->files_unchanged += slot.stats.files_unchanged;
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
    if (c.second.generation == generation_) return false;
    auto f = frozen_.find(c.second.name);
    if (f != frozen_.end() && f->second == c.first) frozen_.erase(f);
    return true;
  });
  Merge(files, plan);
  stats->duration_seconds =
      static_cast<double>(env_->NowMonotonicNanos() - start) / 1e9;
  return Status::OK();
}

uint32_t DirectoryCollector::Impl::PidSplit(uint32_t sid) {
  if (pid_split_.size() <= sid) pid_split_.resize(table_.series_count(), kNoId);
  if (pid_split_[sid] != kNoId) return pid_split_[sid];
  const Series& s = table_.series(sid);
  auto after = std::find_if(s.labels.begin(), s.labels.end(),
                            [](const auto& p) { return p.first > "pid"; });
  uint32_t split = 0;
  if (after == s.labels.end()) {
    split = static_cast<uint32_t>(s.text.size() - 1);  // before '}'
  } else if (after == s.labels.begin()) {
    split = static_cast<uint32_t>(s.sample_name.size() + 1);  // after '{'
  } else {
    std::string head;
    exposition::AppendSeries(s.sample_name,
                             Labels(s.labels.begin(), after), &head);
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
  // (Equal unless two names share an inode and one was reparsed.)
  const size_t count = std::min(cf->keys.size(), f.values.size());
  // Every family of the file merged under the file's own type and mode (as
  // always, unless two clients disagree on a family): the precomputed
  // targets apply.
  bool own = true;
  for (const auto& [family, key] : cf->families) {
    const FamilyState& fs = fams[family];
    if (fs.type != type ||
        (type == FileType::kGauge && format::BaseMode(fs.mode) != mode)) {
      own = false;
    }
  }
  if (own) {
    for (size_t i = cf->targets.size(); i < cf->keys.size(); ++i) {
      const KeyMerge& m = key_merge_[cf->keys[i]];
      cf->targets.push_back(type == FileType::kHistogram ? m.histogram
                            : type == FileType::kGauge   ? m.gauge
                                                         : m.series);
    }
  }
  const uint32_t* t = cf->targets.data();
  const double* v = f.values.data();
  const double* ts = f.timestamps.empty() ? nullptr : f.timestamps.data();
  const uint32_t now = stamp_now_;
  if (own && (type != FileType::kGauge || mode == GaugeMode::kSum)) {
    for (size_t i = 0; i < count; ++i) {
      uint32_t s = t[i];
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
      s = t[i];
    } else {
      const KeyMerge& k = key_merge_[cf->keys[i]];
      const FamilyState& fs = fams[k.family];
      ftype = fs.type;
      fmode = format::BaseMode(fs.mode);
      s = ftype == FileType::kHistogram ? k.histogram
          : ftype == FileType::kGauge   ? k.gauge
                                        : k.series;
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

void DirectoryCollector::Impl::Merge(std::vector<ScrapeFile>& files,
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
  const size_t n = table_.series_count();
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
  std::thread sorter;
  if (!table_.RanksCurrent()) sorter = std::thread([this] { table_.Ranks(); });
  std::vector<AllGaugeValue> all;
  for (uint32_t fi = 0; fi < files.size(); ++fi) {
    MergeFile(fams, fi, files[fi], &all);
  }
  // Each histogram group gets its _count (replacing any _count from the
  // files), computed below from the buckets.
  const size_t direct = touched_.size();
  for (size_t i = 0; i < direct; ++i) {
    const Series& s = table_.series(touched_[i]);
    if (s.has_le && fams[s.family].type == FileType::kHistogram) {
      Touch(s.count);
    }
  }

  // Touched series by family, each list in rank order (families sorted by
  // name; samples by labels, then bucket, count, sum, then `le`).
  if (sorter.joinable()) sorter.join();
  const std::vector<uint32_t>& rank = table_.Ranks();
  const std::vector<uint32_t>& by_rank = table_.RankOrder();
  std::vector<std::vector<uint32_t>> fam_series(fams.size());
  if (touched_.size() * 8 < n) {
    std::sort(touched_.begin(), touched_.end(),
              [&](uint32_t a, uint32_t b) { return rank[a] < rank[b]; });
    for (uint32_t sid : touched_) {
      fam_series[table_.series(sid).family].push_back(sid);
    }
  } else {
    rank_mark_.resize(n, 0);
    for (uint32_t sid : touched_) rank_mark_[rank[sid]] = 1;
    for (uint32_t r = 0; r < n; ++r) {
      if (!rank_mark_[r]) continue;
      rank_mark_[r] = 0;
      uint32_t sid = by_rank[r];
      fam_series[table_.series(sid).family].push_back(sid);
    }
  }
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < fams.size(); ++i) {
    if (fams[i].seen) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return table_.family_name(a) < table_.family_name(b);
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
    if (last) all_by_family[table_.series(all[i].series).family].push_back(i);
  }
  std::vector<uint32_t> writer_of(files.size(), kNoId);

  plan->families.reserve(order.size());
  for (uint32_t fid : order) {
    const FamilyState& fs = fams[fid];
    const std::vector<uint32_t>& list = fam_series[fid];
    PlanFamily pf;
    pf.name = &table_.family_name(fid);
    pf.help = table_.key(fs.help_key).help;
    pf.type = TypeOf(fs.type);
    pf.samples.reserve(list.size() + all_by_family[fid].size());
    if (fs.type == FileType::kHistogram) {
      // Each group's _count is the total of its buckets; buckets are
      // accumulated in `le` order.
      double running = 0;
      uint32_t group = kNoId;
      for (uint32_t sid : list) {
        const Series& s = table_.series(sid);
        if (!s.has_le) continue;
        if (s.group != group) running = 0;
        group = s.group;
        running += acc_[sid];
        acc_[s.count] = running;
      }
      running = 0;
      group = kNoId;
      for (uint32_t sid : list) {
        const Series& s = table_.series(sid);
        double v = acc_[sid];
        if (s.has_le) {
          if (s.group != group) running = 0;
          group = s.group;
          running += v;
          v = running;
        }
        pf.samples.push_back(PlanSample{&s, v, kNoId, 0});
      }
    } else {
      for (uint32_t sid : list) {
        pf.samples.push_back(PlanSample{&table_.series(sid), acc_[sid], kNoId, 0});
      }
      for (uint32_t i : all_by_family[fid]) {
        const AllGaugeValue& a = all[i];
        if (writer_of[a.file] == kNoId) {
          writer_of[a.file] = static_cast<uint32_t>(plan->writers.size());
          const std::string& id = files[a.file].name.id;
          plan->writers.push_back(id);
          std::string label;
          exposition::AppendSeries("", {{"pid", id}}, &label);
          plan->writer_labels.push_back(label.substr(1, label.size() - 2));
        }
        pf.samples.push_back(PlanSample{&table_.series(a.series), a.value,
                                        writer_of[a.file], PidSplit(a.series)});
      }
    }
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
