#include "promdir/merge.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <unordered_map>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/reader/dir_guard.h"
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

int SuffixRank(std::string_view sample, std::string_view family) {
  if (sample.size() > family.size()) {
    std::string_view suffix = sample.substr(family.size());
    if (suffix == "_bucket") return 0;
    if (suffix == "_count") return 1;
    if (suffix == "_sum") return 2;
  }
  return 3;
}

// Orders a family's samples: by labels (without `le`), then bucket, count,
// sum, others by name, then by numeric `le`.
struct SampleOrder {
  std::string_view family;
  static std::optional<double> Le(const Labels& labels) {
    for (const auto& [k, v] : labels) {
      if (k == "le") return ParseLe(v);
    }
    return std::nullopt;
  }
  static double ParseLe(const std::string& v) {
    if (v == "+Inf") return HUGE_VAL;
    if (v == "-Inf") return -HUGE_VAL;
    return std::strtod(v.c_str(), nullptr);
  }
  bool operator()(const Sample& a, const Sample& b) const {
    auto ia = a.labels.begin(), ib = b.labels.begin();
    while (true) {
      while (ia != a.labels.end() && ia->first == "le") ++ia;
      while (ib != b.labels.end() && ib->first == "le") ++ib;
      if (ia == a.labels.end() || ib == b.labels.end()) {
        if ((ia == a.labels.end()) != (ib == b.labels.end())) {
          return ia == a.labels.end();
        }
        break;
      }
      if (ia->first != ib->first) return ia->first < ib->first;
      if (ia->second != ib->second) return ia->second < ib->second;
      ++ia;
      ++ib;
    }
    int ra = SuffixRank(a.name, family), rb = SuffixRank(b.name, family);
    if (ra != rb) return ra < rb;
    if (a.name != b.name) return a.name < b.name;
    auto la = Le(a.labels), lb = Le(b.labels);
    if (la && lb) return *la < *lb;
    return la.has_value() < lb.has_value();
  }
};

}  // namespace

class DirectoryCollector::Impl {
 public:
  explicit Impl(CollectorOptions options)
      : opt_(std::move(options)),
        env_(opt_.env ? opt_.env : Env::Default()) {}

  Status Collect(std::vector<MetricFamily>* families, ScrapeStats* stats);

 private:
  enum class Outcome { kMerged, kVanished, kBad, kLeftOut };

  Outcome ReadFile(const std::string& base, ScrapeFile* sf, ReadError* err,
                   WriterState* state, ScrapeStats* stats);
  // Parses data[cf->parsed, used) into *cf. False (and *err) if bad.
  bool Parse(const std::string& path, std::string_view data, FileType type,
             CachedFile* cf, ReadError* err);
  void Merge(const std::vector<ScrapeFile>& files,
             std::vector<MetricFamily>* out);
  void Add(uint32_t series, double v, FamilyState* fs) {
    if (!seen_[series]) {
      seen_[series] = 1;
      acc_[series] = 0.0;
      fs->series.push_back(series);
    }
    acc_[series] += v;
  }
  bool Touch(uint32_t series, FamilyState* fs) {
    if (seen_[series]) return false;
    seen_[series] = 1;
    fs->series.push_back(series);
    return true;
  }

  const CollectorOptions opt_;
  Env* const env_;
  std::mutex mu_;
  // Everything below is guarded by mu_.
  reader::KeyTable table_;
  std::unordered_map<FileId, CachedFile, FileIdHash> cache_;
  // Bad files already reported: path -> (file, reason).
  std::unordered_map<std::string, std::pair<FileId, BadReason>> reported_;
  uint64_t generation_ = 0;
  std::string buf_;
  std::vector<uint32_t> family_mark_;
  uint32_t mark_stamp_ = 0;
  std::vector<double> acc_;
  std::vector<double> acc_ts_;
  std::vector<uint8_t> seen_;
};

bool DirectoryCollector::Impl::Parse(const std::string& path,
                                     std::string_view data, FileType type,
                                     CachedFile* cf, ReadError* err) {
  if (data.size() <= cf->parsed) return true;
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
        uint32_t id = table_.Intern(key);
        const KeyInfo& k = table_.key(id);
        if (k.bad != BadReason::kNone ||
            (k.bad_le && type == FileType::kHistogram)) {
          bad = k.bad != BadReason::kNone ? k.bad : BadReason::kBadLe;
          why = k.bad_le && k.bad == BadReason::kNone
                    ? "histogram bucket has a non-numeric le"
                    : k.why;
          bad_at = off;
          return;
        }
        if (family_mark_.size() <= k.family) {
          family_mark_.resize(table_.family_count(), 0);
        }
        if (family_mark_[k.family] != mark_stamp_) {
          family_mark_[k.family] = mark_stamp_;
          cf->families.emplace_back(k.family, id);
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
  return true;
}

DirectoryCollector::Impl::Outcome DirectoryCollector::Impl::ReadFile(
    const std::string& base, ScrapeFile* sf, ReadError* err,
    WriterState* state, ScrapeStats* stats) {
  const std::string path = opt_.directory + "/" + base;
  int fd = -1;
  FileInfo info;
  *err = reader::OpenMetricsFile(env_, path, &fd, &info);
  if (err->status.IsNotFound()) return Outcome::kVanished;
  if (!err->ok()) return Outcome::kBad;
  std::optional<format::FileName> name = format::ParseFileName(base);
  if (!name) {
    env_->Close(fd);
    *err = reader::Bad(BadReason::kUnknownType, path,
                       "the name has a type or gauge mode no client writes");
    return Outcome::kBad;
  }
  bool magic = false;
  *err = reader::ReadUsed(env_, fd, path, info.size, &buf_, &magic,
                          &stats->bytes_read);
  if (!err->ok()) {
    env_->Close(fd);
    return Outcome::kBad;
  }
  Verdict verdict =
      reader::ProbeWriterWithMagic(env_, fd, name->id, opt_.liveness, magic);
  env_->Close(fd);
  *state = verdict.state;

  FileId id{info.device, info.inode};
  auto [it, inserted] = cache_.try_emplace(id);
  CachedFile* cf = &it->second;
  std::string_view data = buf_;
  bool reuse = !inserted && cf->name == base && data.size() >= cf->parsed;
  if (!reuse) *cf = CachedFile();
  cf->name = base;
  if (!Parse(path, data, name->type, cf, err)) {
    bool retry = reuse;
    *cf = CachedFile();
    cf->name = base;
    if (!retry || !Parse(path, data, name->type, cf, err)) {
      cache_.erase(it);
      return Outcome::kBad;
    }
    reuse = false;
  }
  if (reuse) {
    ++stats->cache_hits;
  } else {
    ++stats->cache_misses;
  }
  cf->generation = generation_;
  if (verdict.state == WriterState::kDead && format::IsLiveMode(name->mode)) {
    stats->pruned_series += cf->keys.size();
    return Outcome::kLeftOut;
  }
  sf->cache = cf;
  sf->name = std::move(*name);
  size_t n = cf->offsets.size();
  sf->values.resize(n);
  const char* p = buf_.data();
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
  return Outcome::kMerged;
}

Status DirectoryCollector::Impl::Collect(std::vector<MetricFamily>* families,
                                         ScrapeStats* stats_out) {
  uint64_t start = env_->NowMonotonicNanos();
  ScrapeStats local;
  ScrapeStats* stats = stats_out ? stats_out : &local;
  *stats = ScrapeStats();
  families->clear();

  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  std::vector<ScrapeFile> files;
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
    files.reserve(names.size());
    for (const std::string& base : names) {
      if (hidden.count(base)) continue;
      ScrapeFile sf;
      ReadError err;
      WriterState state = WriterState::kUnknown;
      Outcome o = ReadFile(base, &sf, &err, &state, stats);
      std::optional<format::FileName> fname = format::ParseFileName(base);
      std::string prefix = fname ? fname->Prefix() : "unknown";
      if (o == Outcome::kVanished) continue;
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
  Merge(files, families);
  stats->duration_seconds =
      static_cast<double>(env_->NowMonotonicNanos() - start) / 1e9;
  return Status::OK();
}

void DirectoryCollector::Impl::Merge(const std::vector<ScrapeFile>& files,
                                     std::vector<MetricFamily>* out) {
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
  // Gauge merging may intern pid-less series; do that before sizing.
  for (const ScrapeFile& f : files) {
    if (f.name.type != FileType::kGauge) continue;
    for (uint32_t k : f.cache->keys) table_.WithoutPid(table_.key(k).series);
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
    for (size_t i = 0; i < keys.size(); ++i) {
      const KeyInfo& k = table_.key(keys[i]);
      FamilyState& fs = fams[k.family];
      double v = f.values[i];
      switch (fs.type) {
        case FileType::kCounter:
        case FileType::kSummary:
          Add(k.series, v, &fs);
          break;
        case FileType::kHistogram: {
          const Series& s = table_.series(k.series);
          Add(s.has_le ? s.bucket : k.series, v, &fs);
          break;
        }
        case FileType::kGauge: {
          uint32_t np = table_.WithoutPid(k.series);
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

  // Families sorted by name.
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < fams.size(); ++i) {
    if (fams[i].seen) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return table_.family_name(a) < table_.family_name(b);
  });
  std::vector<std::vector<const AllGaugeValue*>> all_by_family(fams.size());
  for (const AllGaugeValue& a : all) {
    all_by_family[table_.series(a.series).family].push_back(&a);
  }

  out->reserve(order.size());
  for (uint32_t fid : order) {
    FamilyState& fs = fams[fid];
    MetricFamily mf;
    mf.name = table_.family_name(fid);
    mf.help = table_.key(fs.help_key).help;
    mf.type = TypeOf(fs.type);
    if (fs.type == FileType::kHistogram) {
      // Sum and accumulate buckets per group, in order of `le`.
      std::vector<uint32_t> buckets;
      for (uint32_t sid : fs.series) {
        if (table_.series(sid).has_le) buckets.push_back(sid);
      }
      std::stable_sort(buckets.begin(), buckets.end(), [&](uint32_t a, uint32_t b) {
        const Series& x = table_.series(a);
        const Series& y = table_.series(b);
        if (x.group != y.group) return x.group < y.group;
        return x.le < y.le;
      });
      std::set<uint32_t> counts;
      double running = 0;
      for (size_t i = 0; i < buckets.size(); ++i) {
        const Series& s = table_.series(buckets[i]);
        if (i == 0 || table_.series(buckets[i - 1]).group != s.group) running = 0;
        running += acc_[buckets[i]];
        mf.samples.push_back(Sample{s.sample_name, s.labels, running});
        bool last = i + 1 == buckets.size() ||
                    table_.series(buckets[i + 1]).group != s.group;
        if (last) {
          const Series& c = table_.series(s.count);
          mf.samples.push_back(Sample{c.sample_name, c.labels, running});
          counts.insert(s.count);
        }
      }
      for (uint32_t sid : fs.series) {
        const Series& s = table_.series(sid);
        if (s.has_le || counts.count(sid)) continue;
        mf.samples.push_back(Sample{s.sample_name, s.labels, acc_[sid]});
      }
    } else {
      for (uint32_t sid : fs.series) {
        const Series& s = table_.series(sid);
        mf.samples.push_back(Sample{s.sample_name, s.labels, acc_[sid]});
      }
      // all / liveall: the last value per (series, writer id) wins.
      std::map<std::pair<uint32_t, std::string_view>, double> per_writer;
      for (const AllGaugeValue* a : all_by_family[fid]) {
        per_writer[{a->series, files[a->file].name.id}] = a->value;
      }
      for (const auto& [key, value] : per_writer) {
        const Series& s = table_.series(key.first);
        Sample sample{s.sample_name, s.labels, value};
        auto pos = std::find_if(sample.labels.begin(), sample.labels.end(),
                                [](const auto& p) { return p.first > "pid"; });
        sample.labels.insert(pos, {"pid", std::string(key.second)});
        mf.samples.push_back(std::move(sample));
      }
    }
    for (uint32_t sid : fs.series) seen_[sid] = 0;
    std::sort(mf.samples.begin(), mf.samples.end(), SampleOrder{mf.name});
    out->push_back(std::move(mf));
  }
}

DirectoryCollector::DirectoryCollector(CollectorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

DirectoryCollector::~DirectoryCollector() = default;

Status DirectoryCollector::Collect(std::vector<MetricFamily>* families,
                                   ScrapeStats* stats) {
  return impl_->Collect(families, stats);
}

Status DirectoryCollector::Render(ExpositionFormat format, std::string* out,
                                  ScrapeStats* stats) {
  std::vector<MetricFamily> families;
  Status s = impl_->Collect(&families, stats);
  if (!s.ok()) return s;
  AppendFamilies(format, families, out);
  return Status::OK();
}

}  // namespace promdir
