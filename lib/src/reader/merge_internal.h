// DirectoryCollector::Impl: the merge engine, as a scrape that drives its
// parts. Each part has its own header, which states what it owns and its
// thread contract:
//
//   Executor        executor.h          every thread (read_threads of them)
//   FileCache       file_cache.h        parsed files, last good values,
//                                       bad-file memo, what was reported
//   PrefixPredictor prefix_predictor.h  predictions and matched parses
//   ChangeTracker   change_tracker.h    directory watch, lease probe,
//                                       frozen files
//   EntryParser     entry_parser.h      the key table and parsing into it
//   Accumulator     accumulator.h       per-series merge of values
//   PlanBuilder     plan_builder.h      the merged view and its rendering
//
// A scrape (merge.cc): list the directory under its ReadGuard; read every
// file on the executor (merge_read.cc: ReadFile, a short sequence of
// steps per file, and merge_file_steps.cc); give matched files their keys
// (TakeKeys); freeze what no process has open; tally the outcomes into
// ScrapeStats (merge_tally.cc); add up and build the plan; release the
// key table if most of it is no longer on disk (merge_release.cc).
//
// Threads: one scrape at a time (mu_). While its reads run on the
// executor, reader threads share the FileCache (its mutex), the
// PrefixPredictor (its mutex) and the EntryParser (its shared mutex); no
// thread holds two of those at once. Everything else is the scrape
// thread's. Rendering runs outside mu_ on the plan alone.

#ifndef PROMDIR_LIB_SRC_READER_MERGE_INTERNAL_H_
#define PROMDIR_LIB_SRC_READER_MERGE_INTERNAL_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/reader/accumulator.h"
#include "lib/src/reader/change_tracker.h"
#include "lib/src/reader/entry_parser.h"
#include "lib/src/reader/executor.h"
#include "lib/src/reader/file_cache.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/key_table.h"
#include "lib/src/reader/liveness_internal.h"
#include "lib/src/reader/plan_builder.h"
#include "lib/src/reader/prefix_predictor.h"
#include "promdir/directory_env.h"
#include "promdir/liveness.h"
#include "promdir/merge.h"

namespace promdir {
namespace merge_detail {

// "EMFILE", "EIO", ... for an errno that passes (the process or system is
// short of something, or the disk or a permission hiccups); null for any
// other. A file read before that fails so keeps its last good values.
const char* TransientErrorName(int err);

}  // namespace merge_detail

class DirectoryCollector::Impl {
 public:
  using Plan = merge_detail::Plan;

  explicit Impl(CollectorOptions options)
      : opt_(std::move(options)),
        env_(DirectoryEnv::Bind(opt_.env, opt_.directory, &own_env_)),
        executor_(opt_.read_threads),
        tracker_(env_, opt_.directory, opt_.reuse_unchanged) {}

  // Reads and merges the directory into *plan.
  Status Collect(Plan* plan, ScrapeStats* stats);
  // The threads of this collector (reads, sorting, rendering).
  reader::Executor* executor() { return &executor_; }
  // The Env bound to the directory (a DirectoryEnv).
  Env* env() const { return env_; }

 private:
  using CachedFile = merge_detail::CachedFile;
  using FileId = merge_detail::FileId;
  using Prediction = merge_detail::Prediction;
  using ReadError = reader::ReadError;
  using ScrapeFile = merge_detail::ScrapeFile;
  enum class Outcome { kMerged, kVanished, kBad, kLeftOut, kStarting };

  // What one file contributed to a scrape.
  struct Slot {
    Outcome outcome = Outcome::kVanished;
    ReadError err;
    WriterState state = WriterState::kUnknown;
    ScrapeFile file;
    std::unique_ptr<CachedFile> own;  // a hard link's own parse
    ScrapeStats stats;  // bytes_read, entries, cache hits/misses, pruned
    // Still open after the read: the file may be frozen (ChangeTracker).
    int keep_fd = -1;
    FileId id;
    FileInfo info;       // as opened (fstat), for the bad-file memo
    double read_at = 0;  // Unix time it was opened
    // Parsed by MatchPrediction: its keys are this prediction's (TakeKeys):
    // in its order (keys_cf->entries null), or (keys_cf->entries holding
    // the prediction's entry index of each entry) in another.
    std::shared_ptr<Prediction> keys_from;
    CachedFile* keys_cf = nullptr;
    // Served from its last good values: the errno name and the error.
    const char* transient_error = nullptr;
    std::string transient_message;
    // The kernel could not be asked whether it is open for writing: why.
    std::string liveness_problem;
  };
  // One file as ReadFile's steps see it.
  struct Reading {
    std::string base, path;
    std::optional<format::FileName> name;
    std::string prefix;
    int fd = -1;
    FileInfo info;
    FileId id;
    bool magic = false;
    Verdict verdict;
    std::string_view data;  // the bytes in use (in the buffer or `made`)
    std::shared_ptr<Prediction> predicted;  // the prefix's, when looked up
    CachedFile* cf = nullptr;  // claimed by this read
    bool reuse = false;        // cf's parse is extended, not redone
    std::shared_ptr<Prediction> made;  // this file as its prefix's
  };

  // --- merge_read.cc: reading one file, step by step ---
  // Reads one file (on any thread) into *slot; `buf` is the thread's own.
  void ReadFile(const std::string& base, std::string* buf, Slot* slot);
  // Serves a frozen file without opening it; true if it was one.
  bool ServeFrozen(Reading* r, Slot* slot);
  // Opens the file and reads its bytes in use into *buf; false if there
  // is nothing more to do (vanished, bad, starting, served last good).
  bool Open(Reading* r, std::string* buf, Slot* slot);
  // Asks whether a writer has it open, and keeps fd for freezing if not.
  void ProbeWriter(Reading* r, Slot* slot);
  // Claims the file's CachedFile, taking a match of the prefix's
  // prediction if there is one; false if the file is bad.
  bool ParseInto(Reading* r, std::string* buf, Slot* slot);
  // Copies the file's values into slot->file (unless left out).
  void TakeValues(Reading* r, Slot* slot);
  // After the reads: gives each matched file its prediction's keys, or
  // reads it again if that prediction's file turned out bad.
  void TakeKeys(const std::vector<std::string>& names,
                std::vector<Slot>* slots);

  // --- merge_file_steps.cc ---
  // Claims r->cf for this scrape (a hard link's second name gets its own);
  // *fast (a match of the prediction), if any, replaces a parse not reused.
  void Claim(Reading* r, std::unique_ptr<CachedFile> fast, Slot* slot);
  // Parses what is new in the file, making it its prefix's prediction if
  // it is the first or longest from the start. False if bad.
  bool ParseNew(Reading* r, std::string* buf, Slot* slot);
  // Matches r's file against a prediction published since it was looked
  // up; true (keys_from set) if every key is the prediction's.
  bool MatchNewer(Reading* r, const std::shared_ptr<Prediction>& newer,
                  Slot* slot);
  // After a transient failure (slot->err: EMFILE, EIO, ...) to open or read
  // a file an earlier scrape read: serves its last good values and returns
  // true. False if it has none (then it is reported as bad).
  bool ServeLastGood(const Reading& r, Slot* slot);

  // --- merge_tally.cc: the scrape's outcomes ---
  struct Tally {
    std::vector<ScrapeFile> files;  // merged
    std::vector<std::unique_ptr<CachedFile>> owned;  // hard links' parses
    std::vector<std::string> dead_live_files;
    std::unordered_set<std::string> bad_now;  // paths
    std::unordered_map<std::string, FileId> ids_now;
    std::unordered_set<std::string> failing_now;
  };
  // Reads every file of `names` on the executor, then TakeKeys and freezes.
  void ReadAll(const std::vector<std::string>& names, std::vector<Slot>* slots);
  // Adds one slot to the scrape's stats and lists.
  void Count(const std::string& base, Slot& slot, Tally* tally,
             ScrapeStats* stats);
  void CountBad(const std::string& base, const std::string& prefix,
                const Slot& slot, Tally* tally, ScrapeStats* stats);
  // Reports, once per collector, that the kernel could not be asked.
  void NoteLiveness(const Slot& slot, ScrapeStats* stats);
  // The *.db names to read, sorted, without those compaction hides.
  Status ListFiles(std::vector<std::string>* names, ScrapeStats* stats);
  // Deletes (prune) the live* files of dead writers, each proved dead again.
  void Prune(const std::vector<std::string>& dead, ScrapeStats* stats);
  // After Merge: keeps each merged file's values as its last good ones.
  void KeepLastGood(std::vector<ScrapeFile>& files);

  // Adds up the scrape's files into *plan.
  void Merge(std::vector<ScrapeFile>& files, Plan* plan, ScrapeStats* stats);
  // After a scrape: when the key table has grown to twice the keys its
  // cached files hold (and past kReleaseMinKeys), drops the table and
  // every part built on it, so memory follows the files on disk; the next
  // scrape reads every file again, as a first scrape does. Checks are
  // spaced by the table's growth, so their cost is amortized.
  void ReleaseUnused(ScrapeStats* stats);
  static constexpr size_t kReleaseMinKeys = 50000;

  const CollectorOptions opt_;
  std::unique_ptr<Env> own_env_;  // a DirectoryEnv, unless opt_.env is one
  Env* const env_;
  reader::Executor executor_;
  std::mutex mu_;  // one scrape at a time; guards everything below
  merge_detail::FileCache cache_;
  merge_detail::ChangeTracker tracker_;
  merge_detail::PrefixPredictor predictor_;
  merge_detail::EntryParser parser_;
  merge_detail::Accumulator acc_;
  merge_detail::PlanBuilder builder_;
  std::vector<std::string> read_bufs_;  // one per reader thread
  // Names served from their last good values by the last scrape (their
  // error is logged once, when they start failing).
  std::unordered_set<std::string> failing_;
  bool liveness_reported_ = false;
  size_t live_keys_ = 0;  // keys held by files at the last release check
};

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_READER_MERGE_INTERNAL_H_
