// ChangeTracker: which files may be served from memory without being read
// (CollectorOptions::reuse_unchanged). It owns the directory watch
// (inotify, through Env) and the set of frozen files: files no process had
// open for writing when a scrape read them (a momentary read lease,
// Env::WritersOpen) and whose name the watch has reported nothing of
// since, not even an open. A frozen file's values live in its CachedFile.
//
// A scrape calls BeginScrape (applies what the watch saw since the last
// scrape, unfreezing those names), lets its readers claim frozen files
// (ClaimFrozen) and keep the descriptors of files they read (KeepFd), then
// after the reads FreezeRead (the watch's news again, this scrape's own
// opens aside, and the lease probe of each kept file). If the watch
// cannot be opened or lost events, nothing is frozen until it is open
// again, and the scrape after that trusts nothing frozen before.
//
// Threads: BeginScrape, FreezeRead, Forget and Clear run on the scrape's
// thread with no reader running. ClaimFrozen and Unfreeze run on reader
// threads under the FileCache's mutex, which also guards the frozen set;
// KeepFd is lock-free.

#ifndef PROMDIR_LIB_SRC_READER_CHANGE_TRACKER_H_
#define PROMDIR_LIB_SRC_READER_CHANGE_TRACKER_H_

#include <atomic>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/src/env.h"
#include "lib/src/reader/file_cache.h"

namespace promdir::merge_detail {

class ChangeTracker {
 public:
  ChangeTracker(Env* env, std::string directory, bool enabled)
      : env_(env), dir_(std::move(directory)), enabled_(enabled) {}
  ~ChangeTracker() { env_->CloseChangeWatch(watch_); }
  ChangeTracker(const ChangeTracker&) = delete;
  ChangeTracker& operator=(const ChangeTracker&) = delete;

  // Applies what the watch saw since the last scrape (opening it first if
  // needed). Sets and returns may_freeze(): the watch was open before
  // this scrape's files are read.
  bool BeginScrape(FileCache* cache);
  bool may_freeze() const { return may_freeze_; }

  // The frozen file named `base`, claimed for this scrape (*id set), or
  // null. REQUIRES: cache->mu() held.
  CachedFile* ClaimFrozen(const std::string& base, FileCache* cache,
                          FileId* id);
  // Unfreezes *cf (about to be read). REQUIRES: cache->mu() held.
  void Unfreeze(CachedFile* cf);
  // True iff a reader may keep one more descriptor open for FreezeRead.
  bool KeepFd() { return kept_fds_.fetch_add(1) < kMaxKeptFds; }

  // A file this scrape read and kept open (KeepFd), to freeze if nothing
  // has it open for writing.
  struct Candidate {
    const std::string* name;
    int* fd;  // closed and set to -1 by FreezeRead
    FileId id;
    ScrapeFile* file;  // file->cache null: not merged, never frozen
  };
  // After the reads: applies the watch's news (this scrape's own opens of
  // the candidates aside), then freezes each candidate that no process
  // has open for writing, moving its values into its CachedFile (the
  // ScrapeFile's spans then view them). Closes every candidate's fd.
  void FreezeRead(const std::vector<Candidate>& candidates, FileCache* cache);

  // The cache dropped file `id`, last named `name`.
  void Forget(const std::string& name, const FileId& id);
  void Clear() { frozen_.clear(); }

 private:
  void UnfreezeNamed(const std::string& name, FileCache* cache);
  void CloseWatch();

  Env* const env_;
  const std::string dir_;
  const bool enabled_;
  int watch_ = -1;  // inotify on the directory, or -1
  bool may_freeze_ = false;
  // Frozen files by name (all with links == 1, so one name each).
  std::unordered_map<std::string, FileId> frozen_;
  std::atomic<int> kept_fds_{0};
  // Descriptors a scrape keeps open for FreezeRead, at most.
  static constexpr int kMaxKeptFds = 256;
};

}  // namespace promdir::merge_detail

#endif  // PROMDIR_LIB_SRC_READER_CHANGE_TRACKER_H_
