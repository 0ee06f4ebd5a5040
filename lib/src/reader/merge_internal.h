// The merge engine's internals (DirectoryCollector::Impl), shared by its
// source files: merge.cc (scrapes), merge_read.cc (reading and parsing
// files), merge_unchanged.cc (files served without reading), merge_sum.cc
// (adding up and ordering the samples) and merge_plan.cc (the merged view
// and its rendering). Threads and locks: see DirectoryCollector::Impl.

#ifndef PROMDIR_LIB_SRC_READER_MERGE_INTERNAL_H_
#define PROMDIR_LIB_SRC_READER_MERGE_INTERNAL_H_

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/reader/executor.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/key_table.h"
#include "promdir/liveness.h"
#include "promdir/merge.h"

namespace promdir {
namespace merge_detail {

using reader::BadReason;
using reader::kNoId;
using reader::KeyInfo;
using reader::ReadError;
using reader::Series;


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

// The entries of a file, as parsed: which key each entry holds and where
// its value is. Workers create their series in the same order, so most
// files of a prefix have the same entries at the same offsets: they share
// one table (or the first entries of one), so memory grows with the
// distinct tables, not with the files. A table shared by several owners
// never changes; a file that grows gets its own copy first (Own).
struct EntryTable {
  std::vector<uint32_t> keys;     // key id of each entry
  std::vector<uint32_t> offsets;  // value offset of each entry
  // The families in order of first appearance: (family, the key that
  // first named it, whose help is the family's help; that entry's index).
  std::vector<std::array<uint32_t, 3>> families;
  // The series each entry adds to under its files' own type (they share a
  // prefix). Made by Merge, on the scrape's thread, up to keys.size(), for
  // a table that several hold (one file's own is looked up instead).
  std::vector<uint32_t> targets;
};

// What the engine keeps of one file between scrapes. Files only append, so
// the entries parsed up to `parsed` stay valid while the file keeps its
// device, inode, name and birth time (a file deleted and made again under
// the same name may get the same inode number, never the same birth).
struct CachedFile {
  std::string name;
  uint64_t birth_ns = 0;  // 0: the file system records none
  bool layout_known = false;
  ValueLayout layout = ValueLayout::k16;
  uint64_t parsed = format::kHeaderSize;
  // The file's entries: the first `count` of *entries (null until the
  // first entries are parsed, or taken from a prediction: TakeKeys).
  std::shared_ptr<EntryTable> entries;
  uint32_t count = 0;
  uint64_t generation = 0;
  bool magic = false;  // a promdir writer's file
  // Unchanged since it was read: no process had it open for writing then,
  // and the directory watch has reported nothing of its name since (not
  // even an open). Scrapes serve these values without opening the file.
  bool frozen = false;
  std::vector<double> frozen_values;
  std::vector<double> frozen_timestamps;  // 16-byte layout only
  // The values the last scrape read (unless frozen), served again if the
  // file cannot be read for a reason that passes (see ServeLastGood).
  std::vector<double> last_values;
  std::vector<double> last_timestamps;

  // Calls f(family, key) for the file's families in order.
  template <typename F>
  void ForEachFamily(F&& f) const {
    if (!entries) return;
    for (const auto& [family, key, entry] : entries->families) {
      if (entry >= count) break;
      f(family, key);
    }
  }
  // True iff this is still the file `name` whose identity is `info` (same
  // device and inode, as the cache's key says): its name and a known birth
  // time match. Where the file system records no birth time it is never
  // trusted, and the file is parsed again from the start.
  bool SameFile(const std::string& base, const FileInfo& info) const {
    return name == base && birth_ns != 0 && birth_ns == info.birth_ns;
  }
  // Makes *entries this file's alone, holding exactly its entries, before
  // it is extended.
  EntryTable& Own();
  void Unfreeze() {
    frozen = false;
    last_values = std::move(frozen_values);
    last_timestamps = std::move(frozen_timestamps);
    frozen_values = {};
    frozen_timestamps = {};
  }
};

// The entries of the longest file of a prefix parsed from the start (the
// first, when they are alike): entry i of the next file of that prefix is
// most likely the same key at the same offset (one memcmp, no hashing), and
// any of its keys most likely one of these (index).
// A prediction is published as soon as its file's entries are walked, so
// other reader threads compare their files with it (FastParse) while its
// keys are still being interned: raw, layout, entry_offsets, value_offsets
// and index never change once published; entries is set, and complete or
// failed, under table_mu_ (exclusive) by the thread that parses it. FastParse's callers take the entries only after the scrape's
// threads are joined.
struct Prediction {
  ValueLayout layout = ValueLayout::k16;
  std::string raw;                      // its bytes in use
  std::vector<uint32_t> entry_offsets;  // where its entries start
  std::vector<uint32_t> value_offsets;  // where their values are
  bool complete = false;                // entries is set
  bool failed = false;                  // the file is bad: no entries
  std::shared_ptr<EntryTable> entries;  // its file's table, shared
  // Its entries by the hash of their key (KeyHash), made before it is
  // published, so files that list the same keys in another order are
  // matched too.
  reader::FlatIndex index;
  // The index of an entry of this file with the key of the entry at `entry`
  // (its length field, then key_size key bytes), or kNoId.
  uint32_t Find(const char* entry, size_t key_size) const;
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
  // The key table the samples point into, kept alive while the plan is
  // (the engine may replace its table to release memory).
  std::shared_ptr<const reader::KeyTable> table;
  std::vector<PlanFamily> families;
  std::vector<std::string> writers;  // writer ids of all/liveall samples
  std::vector<std::string> writer_labels;  // each as `pid="<id>"`
};

MetricType TypeOf(FileType t);
// "EMFILE", "EIO", ... for an errno that passes (the process or system is
// short of something, or the disk or a permission hiccups); null for any
// other. A file read before that fails so keeps its last good values.
const char* TransientErrorName(int err);
// Appends a series of an all/liveall gauge: its text with the writer's
// `pid` label at `split` (see DirectoryCollector::Impl::PidSplit).
void AppendWithPid(const Series& s, uint32_t split, const std::string& pid,
                   std::string* out);
// The merged view as the model (prometheus-cpp and AppendFamilies).
MetricFamily ToModel(const Plan& plan, const PlanFamily& pf);
// Renders the plan; the same bytes as AppendFamilies on its model.
// Protobuf goes through the model, family by family. A large view is
// rendered in two halves, the second on `executor`.
void RenderPlan(const Plan& plan, Exposition format,
                reader::Executor* executor, std::string* out);

}  // namespace merge_detail

class DirectoryCollector::Impl {
 public:
  using BadReason = merge_detail::BadReason;
  using ReadError = merge_detail::ReadError;
  using Series = merge_detail::Series;
  using KeyInfo = merge_detail::KeyInfo;
  using FileId = merge_detail::FileId;
  using FileIdHash = merge_detail::FileIdHash;
  using CachedFile = merge_detail::CachedFile;
  using Prediction = merge_detail::Prediction;
  using EntryTable = merge_detail::EntryTable;
  using ScrapeFile = merge_detail::ScrapeFile;
  using FamilyState = merge_detail::FamilyState;
  using AllGaugeValue = merge_detail::AllGaugeValue;
  using Plan = merge_detail::Plan;
  static constexpr uint32_t kNoId = merge_detail::kNoId;

  explicit Impl(CollectorOptions options)
      : opt_(std::move(options)),
        env_(opt_.env ? opt_.env : Env::Default()) {}
  ~Impl() { env_->CloseChangeWatch(watch_); }

  // Reads and merges the directory into *plan.
  Status Collect(Plan* plan, ScrapeStats* stats);
  // The threads of this collector (reads, sorting, rendering).
  reader::Executor* executor() { return &executor_; }

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
    FileInfo info;      // as opened (fstat), for the bad-file memo
    double read_at = 0;  // Unix time it was opened
    // Parsed by FastParse: its keys are this prediction's (TakeKeys): in
    // its order (keys_cf->entries null), or (keys_cf->entries holding the
    // prediction's entry index of each entry) in another.
    std::shared_ptr<Prediction> keys_from;
    CachedFile* keys_cf = nullptr;
    // Served from its last good values: the errno name and the error.
    const char* transient_error = nullptr;
    std::string transient_message;
    // The kernel could not be asked whether it is open for writing: why.
    std::string liveness_problem;
  };
  // After a transient failure (slot->err: EMFILE, EIO, ...) to open or read
  // `base`, which an earlier scrape read: serves its last good values and
  // returns true. False if it has none (then it is reported as bad).
  bool ServeLastGood(const std::string& base,
                     const std::optional<format::FileName>& name, Slot* slot);
  // After Merge: keeps each merged file's values as its last good ones.
  void KeepLastGood(std::vector<ScrapeFile>& files);
  // Reports, once per collector, that the kernel could not be asked.
  void NoteLiveness(const Slot& slot, ScrapeStats* stats);
  // True iff series `sid`'s exposed text is valid UTF-8; the first time one
  // is not, it is added to stats->new_invalid_series.
  bool SeriesIsUtf8(uint32_t sid, ScrapeStats* stats);
  // Reads one file (on any thread; the read itself runs unlocked) and
  // merges it into the cache (cache_mu_), parsing with Parse what
  // FastParse cannot. `buf` is the thread's own.
  void ReadFile(const std::string& base, std::string* buf, Slot* slot);
  // Parses data[cf->parsed, used) into *cf, comparing entries with
  // `predicted` (used if complete) before looking them up. Takes table_mu_
  // itself: shared to look keys up and check them, so reader threads parse
  // side by side, and exclusive only to intern new keys. False (and *err)
  // if bad.
  bool Parse(const std::string& path, std::string_view data,
             const format::FileName& name, const Prediction* predicted,
             CachedFile* cf, ReadError* err);
  // Parses a whole new file without any lock when every entry's key is
  // one of the prediction's: in its order at the same offsets (cf->entries
  // left null, to share the prediction's), or in another (cf->entries its
  // own, holding the prediction's entry index of each key for now).
  // TakeKeys gives it the key ids once the threads are joined. False if a
  // key is not the prediction's (or the file is malformed): Parse decides.
  static bool FastParse(const std::string& path, std::string_view data,
                        const Prediction& predicted, CachedFile* cf);
  // Appends to t->families those of entries [from, end) that it lacks, in
  // order of first appearance. Reads the key table (under table_mu_ while
  // reader threads run).
  void AddFamilies(EntryTable* t, size_t from) const;
  // After the reads: gives each FastParse'd file its prediction's keys, or
  // reads it again if that prediction's file turned out bad.
  void TakeKeys(const std::vector<std::string>& names,
                std::vector<Slot>* slots);
  void Merge(std::vector<ScrapeFile>& files, Plan* plan, ScrapeStats* stats);
  // After a scrape: when the key table has grown to twice the keys its
  // cached files hold (and past kReleaseMinKeys), drops the table and
  // every cache built on it, so memory follows the files on disk; the next
  // scrape reads every file again, as a first scrape does. Checks are
  // spaced by the table's growth, so their cost is amortized.
  void ReleaseUnused(ScrapeStats* stats);
  static constexpr size_t kReleaseMinKeys = 50000;
  size_t live_keys_ = 0;  // keys held by files at the last check
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
  // Unfreezes the file frozen under `name`, if any.
  void UnfreezeNamed(const std::string& name);
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
  reader::Executor executor_{opt_.read_threads};
  std::mutex mu_;  // one scrape at a time
  // Everything below is guarded by mu_. While a scrape's reader threads
  // run, the cache, frozen_ and the predictions are also guarded by
  // cache_mu_ (held briefly), and the key table (with the parts of a
  // Prediction said to be) by table_mu_: shared to read, exclusive to
  // add keys or complete a prediction. No thread holds both at once.
  std::mutex cache_mu_;
  std::shared_mutex table_mu_;
  // Replaced by a new one when most of its keys are no longer in any file
  // (ReleaseUnused); a Plan holds the one it points into.
  std::shared_ptr<reader::KeyTable> table_ =
      std::make_shared<reader::KeyTable>();
  std::unordered_map<FileId, CachedFile, FileIdHash> cache_;
  // Bad files already reported: path -> (file, reason).
  std::unordered_map<std::string, std::pair<FileId, BadReason>> reported_;
  // Bad files that are not read again while unchanged: by name, the file
  // (device, inode, size, mtime) and what was wrong. Only files whose mtime
  // was well before the read that found them bad (a change within the
  // same timestamp tick would go unseen otherwise). Guarded as cache_.
  struct BadMemo {
    FileInfo info;
    ReadError err;
  };
  std::unordered_map<std::string, BadMemo> bad_memo_;
  // A bad file is remembered once its mtime is this far behind the read.
  static constexpr double kBadMemoQuietSeconds = 2.0;
  // True (and slot->err set) if `base` is remembered bad and unchanged.
  bool KnownBad(const std::string& base, const FileInfo& info, Slot* slot);
  // Remembers a file the scrape found bad, if its content was at fault.
  void RememberBad(const std::string& base, const Slot& slot);
  uint64_t generation_ = 0;
  // The prediction of each prefix: the latest file parsed from the start.
  std::unordered_map<std::string, std::shared_ptr<Prediction>> predicted_;
  // Per key id: the series it adds to under each family type.
  struct KeyMerge {
    uint32_t family;
    uint32_t series;     // counter, summary
    uint32_t histogram;  // the canonical bucket, or the series
    uint32_t gauge;      // the series without `pid`
    // The series the key adds to in a family of type `t`.
    uint32_t For(FileType t) const {
      return t == FileType::kHistogram ? histogram
             : t == FileType::kGauge   ? gauge
                                       : series;
    }
  };
  std::vector<KeyMerge> key_merge_;
  std::vector<double> acc_;
  std::vector<double> acc_ts_;
  // stamp_[series] == stamp_now_: touched by this scrape (in touched_).
  std::vector<uint32_t> stamp_;
  uint32_t stamp_now_ = 0;
  std::vector<uint32_t> touched_;
  std::vector<uint8_t> rank_mark_;
  std::vector<uint32_t> pid_split_;  // per series; kNoId: not made yet
  std::vector<std::string> read_bufs_;  // one per reader thread
  // The file each name was at the last scrape (for ServeLastGood).
  std::unordered_map<std::string, FileId> last_ids_;
  // Names served from their last good values by the last scrape (their
  // error is logged once, when they start failing).
  std::unordered_set<std::string> failing_;
  bool liveness_reported_ = false;
  // Per series: 0 not checked yet, 1 valid UTF-8, 2 not (left out).
  std::vector<uint8_t> series_utf8_;
  // Writer ids that are not UTF-8 already reported (all/liveall gauges).
  std::unordered_set<std::string> bad_writer_ids_;
  static constexpr uint32_t kBadWriter = kNoId - 1;
  int watch_ = -1;         // inotify on the directory, or -1
  bool freeze_ok_ = false;  // this scrape may freeze what it reads
  // Frozen files by name (all with links == 1, so one name each).
  std::unordered_map<std::string, FileId> frozen_;
  std::atomic<int> kept_fds_{0};
  // Descriptors a scrape keeps open for Freeze, at most.
  static constexpr int kMaxKeptFds = 256;
};

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_READER_MERGE_INTERNAL_H_
